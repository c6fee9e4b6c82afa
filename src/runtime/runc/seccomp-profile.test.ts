import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { seccompProfile, type HostArch } from './seccomp-profile.js';

type Profile = ReturnType<typeof seccompProfile>;
interface Arg { index: number; value: number; valueTwo?: number; op: string }
interface Rule { names: string[]; action: string; errnoRet?: number; args?: Arg[] }

const EPERM = 1;
const ENOSYS = 38;

function rules(profile: Profile): Rule[] {
  return profile.syscalls as Rule[];
}

function holds(arg: Arg, args: number[]): boolean {
  const actual = args[arg.index] ?? 0;
  switch (arg.op) {
    case 'SCMP_CMP_EQ': return actual === arg.value;
    case 'SCMP_CMP_NE': return actual !== arg.value;
    case 'SCMP_CMP_MASKED_EQ': return (Number(BigInt(actual) & BigInt(arg.value))) === (arg.valueTwo ?? 0);
    default: throw new Error(`the test does not know the operator ${arg.op}`);
  }
}

/** What the filter answers to a call, the way libseccomp reads the profile: the first rule whose
 *  arguments all hold, else the default action. */
function verdict(profile: Profile, name: string, args: number[] = []): 'allow' | 'EPERM' | 'ENOSYS' {
  const rule = rules(profile).find((r) => r.names.includes(name) && (r.args ?? []).every((a) => holds(a, args)));
  if (rule?.action === 'SCMP_ACT_ALLOW') return 'allow';
  const errno = rule ? rule.errnoRet : profile.defaultErrnoRet;
  if (errno === EPERM) return 'EPERM';
  if (errno === ENOSYS) return 'ENOSYS';
  throw new Error(`${name}: unexpected action ${JSON.stringify(rule)}`);
}

/** libseccomp's number for each name on an architecture, -1 (or below, a pseudo number for a call
 *  the architecture lacks) otherwise; one process per architecture. */
function resolve(arch: string, names: string[]): Map<string, number> {
  let out: string;
  try {
    out = execFileSync('sh', ['-c', 'for n in "$@"; do echo "$n $(scmp_sys_resolver -a "$0" "$n")"; done', arch, ...names]).toString();
  } catch (err) {
    throw new Error(`scmp_sys_resolver failed (${(err as Error).message}); install it with scripts/setup-host.sh (Debian package seccomp)`);
  }
  return new Map(out.trim().split('\n').map((l) => { const [n, v] = l.split(' '); return [n!, Number(v)]; }));
}

const libseccompArch: Record<string, string> = {
  SCMP_ARCH_X86_64: 'x86_64', SCMP_ARCH_X86: 'x86', SCMP_ARCH_X32: 'x32', SCMP_ARCH_AARCH64: 'aarch64', SCMP_ARCH_ARM: 'arm',
};

/** Must stay refused: what widens the kernel's attack surface or reaches past the sandbox. */
const dangerous = [
  'keyctl', 'add_key', 'request_key', 'bpf', 'perf_event_open', 'userfaultfd', 'unshare', 'setns',
  'init_module', 'finit_module', 'delete_module', 'kexec_load', 'kexec_file_load', 'reboot', 'swapon', 'swapoff',
  'acct', 'quotactl', 'quotactl_fd', 'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex',
  'open_by_handle_at', 'name_to_handle_at', 'lookup_dcookie', 'nfsservctl', 'uselib', 'syslog', 'pivot_root',
  'sethostname', 'setdomainname', 'iopl', 'ioperm', 'kcmp', 'pidfd_getfd', 'process_madvise', 'fanotify_init', 'vhangup',
  'mbind', 'set_mempolicy', 'migrate_pages', 'move_pages', '_sysctl', 'ustat', 'sysfs',
];

/** What envd, the interpreter, apt-get, sudo, compilers, FUSE and PTYs use. */
const needed = [
  'read', 'write', 'openat', 'close', 'execve', 'fork', 'vfork', 'wait4', 'mmap', 'mprotect', 'futex', 'rseq',
  'epoll_pwait', 'statx', 'getrandom', 'pidfd_open', 'inotify_add_watch', 'setresuid', 'setgroups', 'capset',
  'prctl', 'ioctl', 'setsid', 'bind', 'listen', 'connect', 'sendmsg', 'recvmsg', 'mount', 'umount2', 'chroot',
  'splice', 'memfd_create', 'restart_syscall', 'rt_sigreturn', 'seccomp', 'ptrace', 'close_range', 'faccessat2',
];

for (const arch of ['x64', 'arm64'] as HostArch[]) {
  describe(`seccomp profile (${arch})`, () => {
    const profile = seccompProfile(arch);
    const named = rules(profile).flatMap((r) => r.names);

    it('is an allow-list: anything unnamed is refused with EPERM', () => {
      assert.equal(profile.defaultAction, 'SCMP_ACT_ERRNO');
      assert.equal(profile.defaultErrnoRet, EPERM);
      assert.equal(verdict(profile, 'some_future_call'), 'EPERM');
    });

    it('covers the host architecture and its 32-bit ones', () => {
      assert.deepEqual(profile.architectures, arch === 'arm64' ? ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'] : ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    });

    it('refuses the dangerous calls with EPERM', () => {
      for (const name of dangerous) assert.equal(verdict(profile, name), 'EPERM', name);
    });

    it('answers ENOSYS to what libc and runtimes probe and fall back from', () => {
      for (const name of ['clone3', 'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'fsopen', 'fsconfig', 'fsmount', 'open_tree', 'move_mount']) {
        assert.equal(verdict(profile, name), 'ENOSYS', name);
      }
    });

    it('allows what sandboxes run', () => {
      for (const name of needed) assert.equal(verdict(profile, name), 'allow', name);
      assert.equal(verdict(profile, arch === 'arm64' ? 'set_tls' : 'arch_prctl'), 'allow');
    });

    it('clone makes processes and threads, never namespaces', () => {
      const SIGCHLD = 17;
      const thread = 0x3d0f00; // glibc's pthread_create flags
      assert.equal(verdict(profile, 'clone', [SIGCHLD]), 'allow');
      assert.equal(verdict(profile, 'clone', [thread]), 'allow');
      for (const ns of [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000]) {
        assert.equal(verdict(profile, 'clone', [ns | SIGCHLD]), 'EPERM', `clone flag ${ns.toString(16)}`);
      }
    });

    it('socket opens any family but AF_VSOCK; personality takes only the harmless values', () => {
      for (const family of [1, 2, 10, 16]) assert.equal(verdict(profile, 'socket', [family]), 'allow', `family ${family}`);
      assert.equal(verdict(profile, 'socket', [40]), 'EPERM');
      for (const p of [0, 8, 0x40000, 0xffffffff]) assert.equal(verdict(profile, 'personality', [p]), 'allow', `personality ${p}`);
      assert.equal(verdict(profile, 'personality', [0x0400000]), 'EPERM', 'READ_IMPLIES_EXEC');
    });

    it('names each call once, except the ones whose arguments pick the answer', () => {
      const conditional = new Set(rules(profile).filter((r) => r.args).flatMap((r) => r.names));
      const plain = rules(profile).filter((r) => !r.args).flatMap((r) => r.names);
      assert.deepEqual(plain.filter((n, i) => plain.indexOf(n) !== i), []);
      assert.deepEqual(plain.filter((n) => conditional.has(n)), []);
    });

    it('names only calls libseccomp knows on one of its architectures', () => {
      const names = [...new Set(named)];
      const known = new Set<string>();
      for (const a of profile.architectures) {
        for (const [name, nr] of resolve(libseccompArch[a]!, names)) if (nr >= 0) known.add(name);
      }
      assert.deepEqual(names.filter((n) => !known.has(n)), []);
    });
  });
}
