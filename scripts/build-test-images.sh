#!/usr/bin/env bash
# Builds the Docker test image `subrun-test/busybox:latest` through the Docker Engine API
# (no docker CLI, no registry): Debian's busybox-static unpacked into a root filesystem and
# imported by `cargo run -p subrun-docker --example build-test-image`.
#
# Idempotent: does nothing when the image already exists (pass --force to rebuild).
# Needs: a running Docker engine, cargo, apt-get + dpkg-deb (Debian). In CI it runs as root and
# installs what is missing; elsewhere it only downloads the .deb (no root needed).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
force=""
[ "${1:-}" = "--force" ] && force="--force"

# Same profile as the tests (release), so CI compiles the crate once.
builder=(cargo run --quiet --release --manifest-path "$root/Cargo.toml" -p subrun-docker --example build-test-image --)

if [ -z "$force" ] && "${builder[@]}" --check; then
  echo "build-test-images: subrun-test/busybox:latest exists; nothing to do"
  exit 0
fi

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "build-test-images: need root for: $*" >&2; return 1; fi
}

for tool in apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "build-test-images: $tool is required (Debian/Ubuntu)" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download busybox-static >/dev/null 2>&1; then
  echo "build-test-images: refreshing the apt package lists" >&2
  as_root apt-get update -qq
  apt-get download busybox-static
fi
deb="$(ls busybox-static_*.deb)"
dpkg-deb -x "$deb" rootfs
busybox="$work/rootfs/bin/busybox"
[ -x "$busybox" ] || { echo "build-test-images: $deb has no bin/busybox" >&2; exit 1; }
echo "build-test-images: building subrun-test/busybox:latest from $deb"
"${builder[@]}" --busybox "$busybox" $force
