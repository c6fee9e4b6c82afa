// Edits of CRIU image files that a restore under a new identity needs. Image files are an 8-byte
// header (IMG_COMMON_MAGIC, then the image type's magic) followed by entries, each a
// little-endian u32 length and a protobuf message.
import { link, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

function protoString(field: number, value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(bytes.length)]), bytes]);
}

/** A `utsns_entry` (nodename = 1, domainname = 2) with the given host name. */
export function utsnsImage(header: Buffer, hostname: string): Buffer {
  const entry = Buffer.concat([protoString(1, hostname), protoString(2, '(none)')]);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(entry.length);
  return Buffer.concat([header.subarray(0, 8), size, entry]);
}

/**
 * A private view of a shared checkpoint image for one restore: every file hard-linked (no copy of
 * memory pages), except the UTS namespace image, rewritten so the sandbox gets its own host name.
 */
export async function imageWithHostname(sharedImage: string, target: string, hostname: string): Promise<void> {
  await mkdir(target, { recursive: true });
  const files = await readdir(sharedImage);
  await Promise.all(
    files.map(async (name) => {
      const from = path.join(sharedImage, name);
      const to = path.join(target, name);
      if (name.startsWith('utsns-')) await writeFile(to, utsnsImage(await readFile(from), hostname));
      else await link(from, to);
    }),
  );
}
