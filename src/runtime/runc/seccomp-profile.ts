// The sandbox's seccomp profile (design §3): everything is allowed except what a container's root
// has no business doing and that widens the kernel's attack surface beyond what its capabilities
// already deny. Refused calls fail with EPERM; the few that libc or runtimes probe and fall back
// from (clone3, io_uring) fail with ENOSYS, as if the kernel lacked them.

const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEWUSER = 0x10000000;

/** Kernel keyrings (not namespaced), BPF and perf events, userfaultfd, new user namespaces and
 *  joining namespaces, modules, kexec, reboot, swap, accounting, clock setting, raw handles. */
const refused = [
  'keyctl', 'add_key', 'request_key',
  'bpf', 'perf_event_open', 'userfaultfd',
  'unshare', 'setns',
  'init_module', 'finit_module', 'delete_module', 'kexec_load', 'kexec_file_load',
  'reboot', 'swapon', 'swapoff', 'acct', 'quotactl',
  'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex',
  'open_by_handle_at', 'name_to_handle_at', 'lookup_dcookie', 'nfsservctl', 'uselib', 'syslog',
];

/** Probed and fallen back from: glibc's clone3 → clone, libuv's io_uring → thread pool. */
const absent = ['clone3', 'io_uring_setup', 'io_uring_enter', 'io_uring_register'];

export function seccompProfile() {
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    // The host's own architecture and the 32-bit ones it runs, so no call slips through them.
    architectures: process.arch === 'arm64' ? ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'] : ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: refused, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
      { names: absent, action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
      // A new user namespace through clone (fork and threads pass).
      {
        names: ['clone'],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: EPERM,
        args: [{ index: 0, value: CLONE_NEWUSER, valueTwo: CLONE_NEWUSER, op: 'SCMP_CMP_MASKED_EQ' }],
      },
    ],
  };
}
