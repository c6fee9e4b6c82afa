// The sandbox's seccomp profile (design §3): an allow-list. Every call not named here fails with
// EPERM; a few that libc or runtimes probe and fall back from fail with ENOSYS, as if the kernel
// lacked them. The list follows what Docker's and Podman's default profiles allow a container with
// Docker's capability set, plus what a sandbox's root does in its own user namespace (FUSE mounts).
// Left out, so refused: kernel keyrings (not namespaced), BPF, perf events, userfaultfd, new
// namespaces (unshare, setns, clone with CLONE_NEW*), modules, kexec, reboot, swap, accounting,
// quotas, setting clocks, file handles, the kernel log, host names, NUMA policies, raw I/O ports,
// kcmp and pidfd_getfd, pivot_root and obsolete calls. Calls newer than the newest one named here
// fail with ENOSYS (runc adds that stub), so a libc that tries them falls back.

const EPERM = 1;
const ENOSYS = 38;
const AF_VSOCK = 40;

/** clone's flags that make new namespaces (CLONE_NEWTIME only fits clone3 and unshare). */
const CLONE_NEWNS = 0x00020000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
const cloneNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

/** personality(2) values: Linux, its 32-bit flavour, UNAME26 with either, the query (0xffffffff),
 *  and ADDR_NO_RANDOMIZE, which gdb sets on the programs it runs. */
const PER_LINUX32 = 0x0008;
const UNAME26 = 0x0020000;
const ADDR_NO_RANDOMIZE = 0x0040000;
const personalities = [0, PER_LINUX32, UNAME26, UNAME26 | PER_LINUX32, ADDR_NO_RANDOMIZE, 0xffffffff];

const files = [
  'read', 'write', 'readv', 'writev', 'pread64', 'pwrite64', 'preadv', 'pwritev', 'preadv2', 'pwritev2',
  'open', 'openat', 'openat2', 'creat', 'close', 'close_range', 'lseek', 'dup', 'dup2', 'dup3', 'fcntl', 'ioctl', 'flock',
  'access', 'faccessat', 'faccessat2', 'stat', 'fstat', 'lstat', 'newfstatat', 'statx', 'statfs', 'fstatfs',
  'truncate', 'ftruncate', 'fallocate', 'fadvise64', 'readahead', 'fsync', 'fdatasync', 'sync', 'syncfs', 'sync_file_range',
  'getdents', 'getdents64', 'getcwd', 'chdir', 'fchdir', 'mkdir', 'mkdirat', 'rmdir', 'mknod', 'mknodat',
  'rename', 'renameat', 'renameat2', 'link', 'linkat', 'unlink', 'unlinkat', 'symlink', 'symlinkat', 'readlink', 'readlinkat',
  'chmod', 'fchmod', 'fchmodat', 'fchmodat2', 'chown', 'fchown', 'lchown', 'fchownat', 'umask',
  'utimes', 'utimensat', 'futimesat',
  'setxattr', 'lsetxattr', 'fsetxattr', 'getxattr', 'lgetxattr', 'fgetxattr',
  'listxattr', 'llistxattr', 'flistxattr', 'removexattr', 'lremovexattr', 'fremovexattr',
  'pipe', 'pipe2', 'splice', 'tee', 'vmsplice', 'sendfile', 'copy_file_range', 'cachestat',
  'inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch', 'fanotify_mark',
  'io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents', 'io_pgetevents',
  'poll', 'ppoll', 'pselect6', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2',
  'eventfd', 'eventfd2', 'signalfd', 'signalfd4', 'timerfd_create', 'timerfd_settime', 'timerfd_gettime',
  // chroot: Docker's capability set has CAP_SYS_CHROOT (debootstrap, build tools).
  'chroot',
];

const memory = [
  'brk', 'mmap', 'munmap', 'mremap', 'mprotect', 'madvise', 'mincore', 'msync', 'remap_file_pages',
  'mlock', 'mlock2', 'munlock', 'mlockall', 'munlockall', 'membarrier', 'memfd_create', 'memfd_secret',
  'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'map_shadow_stack', 'process_mrelease',
];

const processes = [
  'fork', 'vfork', 'execve', 'execveat', 'exit', 'exit_group', 'wait4', 'waitid', 'kill', 'tkill', 'tgkill',
  'getpid', 'getppid', 'gettid', 'getpgid', 'setpgid', 'getpgrp', 'getsid', 'setsid',
  'set_tid_address', 'set_robust_list', 'get_robust_list', 'rseq', 'restart_syscall',
  'futex', 'futex_waitv', 'futex_wake', 'futex_wait', 'futex_requeue',
  'prctl', 'capget', 'capset', 'seccomp', 'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self',
  'pidfd_open', 'pidfd_send_signal', 'uname', 'sysinfo', 'getcpu', 'getrandom',
  'getrlimit', 'setrlimit', 'prlimit64', 'getrusage', 'times', 'getpriority', 'setpriority', 'ioprio_get', 'ioprio_set',
  'sched_yield', 'sched_getaffinity', 'sched_setaffinity', 'sched_getattr', 'sched_setattr', 'sched_getparam', 'sched_setparam',
  'sched_getscheduler', 'sched_setscheduler', 'sched_get_priority_max', 'sched_get_priority_min', 'sched_rr_get_interval',
  'getuid', 'geteuid', 'getgid', 'getegid', 'getresuid', 'getresgid', 'getgroups',
  'setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'setresgid', 'setgroups', 'setfsuid', 'setfsgid',
  // gdb, strace, py-spy. Since Linux 4.8 the filter is checked again after a tracer changes a call,
  // so tracing cannot step around it; without CAP_SYS_PTRACE a process traces only its own uid's
  // processes, and the sandbox's pid namespace holds only its own.
  'ptrace', 'process_vm_readv', 'process_vm_writev',
];

const signalsAndTime = [
  'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigpending', 'rt_sigtimedwait', 'rt_sigsuspend',
  'rt_sigqueueinfo', 'rt_tgsigqueueinfo', 'sigaltstack', 'pause', 'nanosleep', 'clock_nanosleep',
  'clock_gettime', 'clock_getres', 'gettimeofday', 'getitimer', 'setitimer',
  'timer_create', 'timer_settime', 'timer_gettime', 'timer_getoverrun', 'timer_delete',
];

const ipc = [
  'shmget', 'shmat', 'shmdt', 'shmctl', 'semget', 'semop', 'semtimedop', 'semctl', 'msgget', 'msgsnd', 'msgrcv', 'msgctl',
  'mq_open', 'mq_unlink', 'mq_timedsend', 'mq_timedreceive', 'mq_notify', 'mq_getsetattr',
];

/** socket itself is allowed below for every family but AF_VSOCK. */
const network = [
  'socketpair', 'bind', 'listen', 'accept', 'accept4', 'connect', 'getsockname', 'getpeername', 'setsockopt', 'getsockopt',
  'sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg', 'shutdown',
];

/** FUSE (s3fs, bindfs, fusermount3) as the root of the sandbox's own user namespace; without a user
 *  namespace the sandbox lacks CAP_SYS_ADMIN and the kernel refuses these itself. */
const mounts = ['mount', 'umount2'];

/** The 32-bit ABIs' own names (i386 on x86_64 hosts, arm on arm64 hosts): 64-bit file offsets, ids
 *  and times. */
const compat32 = [
  '_llseek', '_newselect', 'mmap2', 'fcntl64', 'fstat64', 'fstatat64', 'lstat64', 'stat64', 'statfs64', 'fstatfs64',
  'truncate64', 'ftruncate64', 'sendfile64', 'ugetrlimit', 'sigreturn', 'sigprocmask',
  'chown32', 'fchown32', 'lchown32', 'getuid32', 'geteuid32', 'getgid32', 'getegid32', 'getgroups32', 'setgroups32',
  'getresuid32', 'getresgid32', 'setuid32', 'setgid32', 'setreuid32', 'setregid32', 'setresuid32', 'setresgid32',
  'setfsuid32', 'setfsgid32',
  'clock_gettime64', 'clock_getres_time64', 'clock_nanosleep_time64', 'futex_time64', 'ppoll_time64', 'pselect6_time64',
  'recvmmsg_time64', 'semtimedop_time64', 'rt_sigtimedwait_time64', 'timer_gettime64', 'timer_settime64',
  'timerfd_gettime64', 'timerfd_settime64', 'utimensat_time64', 'mq_timedsend_time64', 'mq_timedreceive_time64',
  'io_pgetevents_time64', 'sched_rr_get_interval_time64',
];

/** Calls only x86 has (some only its i386 ABI). */
const x86 = [
  'arch_prctl', 'modify_ldt', 'set_thread_area', 'get_thread_area', 'utime', 'select', 'alarm', 'time', 'umount',
  'fadvise64_64', 'waitpid',
  // The multiplexed socket and System V IPC calls of i386. socketcall hides its arguments behind a
  // pointer, so the AF_VSOCK rule does not reach sockets made through it, and any process can make
  // i386 calls (int 0x80). Leaving socketcall out would not close that: libseccomp turns the socket
  // rule into an allowed socketcall(SYS_SOCKET) for i386. Docker's profile has the same gap.
  'socketcall', 'ipc',
];
/** Calls only arm has (its 32-bit ABI's cache flush, TLS and socket calls). */
const arm = ['arm_fadvise64_64', 'arm_sync_file_range', 'breakpoint', 'cacheflush', 'set_tls', 'send', 'recv'];

/** Probed and fallen back from: glibc's clone3 → clone; libuv's io_uring → its thread pool; and
 *  the new mount API → mount(2) in libmount (util-linux ≥ 2.39), whose parameter parsing (fsconfig)
 *  root of a user namespace could reach in CVE-2022-0185. */
const absent = [
  'clone3', 'io_uring_setup', 'io_uring_enter', 'io_uring_register',
  'fsopen', 'fsconfig', 'fsmount', 'fspick', 'open_tree', 'move_mount', 'mount_setattr',
];

export type HostArch = 'x64' | 'arm64';

/** The host's own architecture and the 32-bit ones it runs, so no call slips through them. */
function architectures(arch: HostArch): string[] {
  return arch === 'arm64' ? ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'] : ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
}

export function seccompProfile(arch: HostArch = process.arch === 'arm64' ? 'arm64' : 'x64') {
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: architectures(arch),
    syscalls: [
      {
        names: [...files, ...memory, ...processes, ...signalsAndTime, ...ipc, ...network, ...mounts, ...compat32, ...(arch === 'arm64' ? arm : x86)],
        action: 'SCMP_ACT_ALLOW',
      },
      // fork, threads and posix_spawn; not new namespaces.
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: cloneNamespaceFlags, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
      // AF_VSOCK reaches the hypervisor's host, which no network namespace fences off.
      { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] },
      ...personalities.map((value) => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
      { names: absent, action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
    ],
  };
}
