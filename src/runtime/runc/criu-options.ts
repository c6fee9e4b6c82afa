// What Sandcastle tells CRIU besides runc's own arguments: the options every checkpoint and
// restore reads from the bundle's criu.conf, and the environment runc runs CRIU in.

/**
 * CRIU options, read from the bundle's criu.conf by every checkpoint and restore. Established TCP
 * connections are saved; a sandbox resuming in place gets them back (loopback connections inside
 * it keep working). A restore into another sandbox (clone, snapshot) gets them closed: their peers
 * would answer the original sandbox, and the copies would retransmit for minutes, holding their
 * network namespace. Half-open connections are skipped; files deleted while open are kept. The
 * network is locked with nftables, in CRIU's own process: the iptables method runs iptables-restore
 * five times per restore (about 85 ms here).
 */
export function criuOptions(restoreInto: 'same' | 'other'): string {
  const tcp = restoreInto === 'same' ? 'tcp-established' : 'tcp-close';
  const irmap = watchedFolders.map((dir) => `irmap-scan-path ${dir}`);
  return [tcp, 'network-lock nftables', 'skip-in-flight', 'link-remap', 'ghost-limit 67108864', ...irmap].join('\n') + '\n';
}

/**
 * Where CRIU looks for what an inotify watch watches (a dev server's reload, an editor, envd's
 * polling watchers). The kernel names a watched file only by device and inode, and CRIU cannot
 * open an overlay's file by its handle (that needs `nfs_export`), so it finds the path by
 * walking folders (its "irmap") until a device and inode match: these first, then its own
 * hints (/etc, /var/log, …). Only a pause of a sandbox with watches pays for the walk; a watch
 * elsewhere still fails that pause, which says "Can't dump that handle". Network mounts (/mnt,
 * buckets) are left out: walking them could take for ever.
 */
export const watchedFolders = ['/home', '/root', '/tmp', '/workspace', '/app', '/code', '/srv', '/var/www', '/opt'];

/**
 * CRIU's fault code 130 makes it step its parasite out with PTRACE_SYSCALL instead of a hardware
 * breakpoint. In KVM guests the breakpoint may never fire (seen on an AMD guest with kernel 6.18:
 * the first dump of a sandbox hung in `parasite_fini_seized`, its task run past the breakpoint);
 * CRIU does the same by itself on Xen. 30 dumps and restores in a row: none hung, against a hang
 * on the first without it.
 */
export const criuEnv = { CRIU_FAULT: '130' };
