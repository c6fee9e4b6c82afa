// Users and groups of the sandbox, read from its own /etc/passwd and /etc/group (envd runs inside
// the sandbox, so these are the template's files). Parsed once and re-read when a file changed,
// because users may be added at runtime (`useradd` in a command): that is looked at once per
// request (refreshUsers), not per lookup, which a list of 150 entries made 600 stat calls
// (4.5-10 ms here).
import { statSync, readFileSync } from 'node:fs';

export interface User {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  /** Supplementary group ids from /etc/group membership (the primary gid excluded). */
  groups: number[];
}

const passwdPath = process.env.ENVD_PASSWD || '/etc/passwd';
const groupPath = process.env.ENVD_GROUP || '/etc/group';

interface Db {
  stamp: string;
  byName: Map<string, User>;
  userNames: Map<number, string>;
  groupNames: Map<number, string>;
}

let db: Db | undefined;

function stampOf(file: string): string {
  try {
    const st = statSync(file);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return 'missing';
  }
}

function readLines(file: string): string[][] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'));
}

/** Re-reads the files if either changed since they were read: at the start of every request
 *  (services.ts), so a user a finished command added is known to the next request. */
export function refreshUsers(): void {
  const stamp = `${stampOf(passwdPath)}|${stampOf(groupPath)}`;
  if (db?.stamp !== stamp) db = parse(stamp);
}

function load(): Db {
  if (!db) refreshUsers();
  return db!;
}

function parse(stamp: string): Db {
  const groupNames = new Map<number, string>();
  const memberOf = new Map<string, number[]>();
  for (const [name, , gidText, members] of readLines(groupPath)) {
    const gid = Number(gidText);
    if (!name || !Number.isInteger(gid)) continue;
    if (!groupNames.has(gid)) groupNames.set(gid, name);
    for (const member of (members ?? '').split(',')) {
      if (member === '') continue;
      const list = memberOf.get(member) ?? [];
      list.push(gid);
      memberOf.set(member, list);
    }
  }

  const byName = new Map<string, User>();
  const userNames = new Map<number, string>();
  for (const [name, , uidText, gidText, , home, shell] of readLines(passwdPath)) {
    const uid = Number(uidText);
    const gid = Number(gidText);
    if (!name || !Number.isInteger(uid) || !Number.isInteger(gid) || byName.has(name)) continue;
    const groups = [...new Set(memberOf.get(name) ?? [])].filter((g) => g !== gid);
    byName.set(name, { name, uid, gid, home: home || '/', shell: shell || '/bin/sh', groups });
    if (!userNames.has(uid)) userNames.set(uid, name);
  }

  return { stamp, byName, userNames, groupNames };
}

export function lookupUser(name: string): User | undefined {
  return load().byName.get(name);
}

/** Owner name of a uid as `ls -l` shows it: the name, or the number when there is none. */
export function userName(uid: number): string {
  return load().userNames.get(uid) ?? String(uid);
}

export function groupName(gid: number): string {
  return load().groupNames.get(gid) ?? String(gid);
}
