#!/usr/bin/env bash
# Builds the CRIU that pause, resume, clone and snapshots use: 4.1.1 from Debian 13's source (Debian
# 12's 3.17 cannot start on this kernel), with our fixes in scripts/criu/ (socket options that
# Linux ≥ 6.16 refuses on TCP/UDP sockets; rlimits of other users' processes when root lacks
# CAP_SYS_RESOURCE; `network-lock nftables` from a configuration file, and its restore into the
# network namespace the dump left locked; a freeze polled every 2 ms, not every 100 ms; pages
# past an image's first 128 MiB written, and such images read back, with O_DIRECT; tmpfs mounts
# saved without gzip, and by CRIU itself, without tar, when small; restored memory faulted in a
# range at a time), then `criu check`. Built without GnuTLS (only its TLS page server, unused
# here, needs it): every CRIU run then loads 8 fewer libraries, 8.1 → 4.3 ms of CPU a start, and
# runc starts CRIU twice a restore.
# The source comes through apt with a throw-away configuration; the system's sources are untouched.
# Its build dependencies are among the packages scripts/setup-host.sh installs, which runs this.
# Skipped when the installed binary was built from the same source and patch.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${SANDCASTLE_CRIU_DIR:-/usr/local/lib/sandcastle}"
work="${SANDCASTLE_CRIU_BUILD_DIR:-/var/cache/sandcastle/criu-build}"
mirror="${SANDCASTLE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
tarball=criu_4.1.1.orig.tar.xz
tarball_sha256=f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe
patches=("$repo"/scripts/criu/*.patch)
say() { printf '[criu] %s\n' "$*"; }
die() { printf '[criu] error: %s\n' "$*" >&2; exit 1; }

# CRIU caches what it learns about the kernel (about 20 ms of probing per run) only on a tmpfs, so
# that a reboot into another kernel drops it; /run is not one on every machine (here it is not).
# /dev/shm is, and is emptied at boot like /run: the folder is made again on every setup, root's
# alone (a folder someone else made first is refused).
rundir=/dev/shm/sandcastle-criu
ensure_rundir() {
  install -d -m 0700 "$rundir"
  [ "$(stat -c %u "$rundir")" = 0 ] || die "$rundir is not owned by root; remove it and run setup again"
  # A CRIU that stopped between writing and renaming its cache file leaves this, and none
  # writes the cache again (it opens it with O_EXCL).
  find "$rundir" -maxdepth 1 -name criu.kdat.tmp -mmin +1 -delete
}

make_flags=(NO_GNUTLS=1 RUNDIR="$rundir")
stamp="$tarball_sha256 ${make_flags[*]} $(cat "${patches[@]}" | sha256sum | cut -d' ' -f1)"
if [ -x "$prefix/criu" ] && [ "$(cat "$prefix/criu.stamp" 2>/dev/null)" = "$stamp" ]; then
  ensure_rundir
  "$prefix/criu" check >/dev/null 2>&1 || die "$prefix/criu check fails on this machine"
  say "criu 4.1.1 (patched) present at $prefix/criu"
  exit 0
fi

mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/src"
echo "deb-src $mirror trixie main" > "$work/apt/sources.list"
apt_alt=(-o "Dir::Etc::SourceList=$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache" -o Acquire::Retries=2)
cd "$work/src"
if ! echo "$tarball_sha256  $tarball" | sha256sum -c --status 2>/dev/null; then
  say "fetching the CRIU 4.1.1 source from Debian 13 (trixie)"
  apt-get "${apt_alt[@]}" update -q >/tmp/sandcastle-criu-apt.log 2>&1 || { tail -n 5 /tmp/sandcastle-criu-apt.log >&2; die "apt-get update of the trixie source list failed"; }
  # The mirror serves the orig tarball but not always the .dsc: judge by the tarball's checksum,
  # not by apt's exit status.
  apt-get "${apt_alt[@]}" source --download-only criu=4.1.1-1 >>/tmp/sandcastle-criu-apt.log 2>&1 || true
  echo "$tarball_sha256  $tarball" | sha256sum -c --status || die "could not get $tarball with sha256 $tarball_sha256 (see /tmp/sandcastle-criu-apt.log)"
fi

say "building (about 20 s)"
rm -rf criu-4.1.1
tar xf "$tarball"
for p in "${patches[@]}"; do patch -s -p1 -d criu-4.1.1 < "$p"; done
ensure_rundir
make -s -C criu-4.1.1 -j"$(nproc)" "${make_flags[@]}" criu >/tmp/sandcastle-criu-make.log 2>&1 || { tail -n 20 /tmp/sandcastle-criu-make.log >&2; die "make criu failed"; }
mkdir -p "$prefix"
install -m 0755 criu-4.1.1/criu/criu "$prefix/criu"
"$prefix/criu" check || die "criu check failed: this kernel lacks what checkpoint/restore needs"
echo "$stamp" > "$prefix/criu.stamp"
say "criu 4.1.1 (patched) installed at $prefix/criu"
