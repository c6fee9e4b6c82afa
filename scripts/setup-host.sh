#!/usr/bin/env bash
# Prepares a Debian 12 host for Sandcastle: the host packages the server shells out to, then the
# project's npm dependencies and build. Safe to run again: every step first checks whether it is
# needed, so a second run takes a few seconds.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages)"

# Host packages and why:
#   runc                  the container runtime sandboxes run under
#   debootstrap gpgv debian-archive-keyring wget
#                         build template root filesystems (signed Release files, downloads)
#   nftables iproute2     sandbox network namespaces, veth pairs; outbound rules and NAT (nft)
#   libnss-myhostname     makes *.localhost resolve to loopback for the sandbox domain
#   tini procps util-linux mount ca-certificates
#                         init, ps/pkill, unshare/nsenter, mount, TLS roots
#   openssl               the test CA and certificates of fake hosts (s3-mount test)
#   patchelf              points the node copy mounted into sandboxes at its own loader and libraries
#   busybox-static musl   tiny root filesystems without glibc for the any-image tests
#   wrk                   HTTP load generator used by the benchmarks
#   skopeo umoci          pull template base images from OCI registries; unpack/make image layers
#   attr zstd             image layers: setfattr marks opaque overlay dirs; tar unpacks zstd layers
#   e2fsprogs             per-sandbox disks: mkfs.ext4/e2fsck for each sandbox's file-backed disk
#   docker-registry apache2-utils
#                         a loopback registry for the image tests (htpasswd for its auth test)
#   python3               the server's tool launcher (posix_spawn, src/runtime/run-command.ts)
#   python3 make g++      node-gyp fallback when a native npm module (better-sqlite3) has no
#                         prebuilt binary reachable
#   build-essential lib…-dev pkgconf protobuf…
#                         building CRIU (scripts/build-criu.sh)
#   seccomp               scmp_sys_resolver: the seccomp profile's test checks its names against libseccomp
#   chromium              the web console's browser test (driven headless by playwright-core)
#   haproxy               the public URLs' data plane: relays the bytes, the server configures it
packages=(
  runc debootstrap gpgv debian-archive-keyring wget
  nftables iproute2 libnss-myhostname
  tini procps util-linux mount ca-certificates openssl
  patchelf busybox-static musl
  wrk
  skopeo umoci docker-registry apache2-utils attr zstd e2fsprogs
  python3 make g++
  build-essential libbsd-dev libcap-dev libnet1-dev libnftables-dev libnl-3-dev
  libprotobuf-c-dev libprotobuf-dev pkgconf protobuf-c-compiler protobuf-compiler uuid-dev python3-protobuf
  seccomp
  chromium
  haproxy
)

# dpkg-query is cheap; only missing packages send us to apt.
missing=()
for p in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
  [ "$status" = installed ] || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  say "host packages: all ${#packages[@]} present"
else
  say "host packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Unreachable third-party sources must not stall the update for minutes.
  apt_timeouts=(-o Acquire::http::Timeout=20 -o Acquire::https::Timeout=20 -o Acquire::Retries=1)
  # Refresh the package lists only when they are missing or older than a day. A failing update
  # (e.g. an extra third-party source that is unreachable) is reported, not fatal: the install
  # below decides whether what we have is enough.
  lists_fresh="$(find /var/lib/apt/lists -maxdepth 1 -name '*_InRelease' -mmin -1440 -print -quit 2>/dev/null || true)"
  if [ -z "$lists_fresh" ]; then
    say "apt-get update"
    apt-get update -q "${apt_timeouts[@]}" >/tmp/sandcastle-apt-update.log 2>&1 \
      || say "apt-get update reported errors (see /tmp/sandcastle-apt-update.log); trying the install anyway"
  fi
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/sandcastle-apt-install.log 2>&1; then
    # Lists may be stale even if recent (a package moved); update once and retry.
    say "install failed; running apt-get update and retrying"
    apt-get update -q "${apt_timeouts[@]}" >/tmp/sandcastle-apt-update.log 2>&1 || true
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/sandcastle-apt-install.log 2>&1 \
      || { tail -n 20 /tmp/sandcastle-apt-install.log >&2; die "apt-get install failed"; }
  fi
  say "host packages: installed"
fi

# The server runs HAProxy itself with a configuration it generates; Debian's own haproxy service
# (enabled on install where systemd runs) would only be an idle second copy.
if [ -d /run/systemd/system ] && systemctl is-enabled --quiet haproxy 2>/dev/null; then
  systemctl disable --now haproxy >/dev/null 2>&1 || say "could not disable Debian's haproxy service"
fi

# CRIU for pause/resume/clone/snapshots, built from Debian 13's source (cached after the first run).
bash "$repo/scripts/build-criu.sh"

# Node 20+ is a prerequisite we cannot install from Debian 12 (its nodejs is 18): the host's node
# runs the server, and a copy of it with its own loader and libraries runs envd in every sandbox.
command -v node >/dev/null || die "node (>= 20) is not installed; install Node.js 20 first"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "node $(node --version) is too old; Sandcastle needs >= 20"
say "node $(node --version) at $(command -v node)"

cd "$repo"
# npm writes node_modules/.package-lock.json on every install; if package-lock.json is newer,
# the installed tree is out of date.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
else
  say "npm dependencies: up to date"
fi

say "npm run build"
if ! npm run build --silent >/tmp/sandcastle-build.log 2>&1; then
  tail -n 25 /tmp/sandcastle-build.log >&2
  die "npm run build failed (full log: /tmp/sandcastle-build.log)"
fi
say "done"
