#!/usr/bin/env bash
# Stages the Python package from the workspace's own release build, for the tests: the
# extension module built by `cargo build --release --workspace` (target/release/lib_subrun.so)
# next to the package's Python sources, in target/python/subrun. `pip install ./bindings/python`
# (maturin) is the user's install; it builds the same crate in a build of its own.
# Usage: scripts/stage-python.sh   (prints the directory to put on PYTHONPATH)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
so="$root/target/release/lib_subrun.so"
[ -f "$so" ] || { echo "stage-python: $so is missing: run cargo build --release --workspace first" >&2; exit 1; }
dest="$root/target/python/subrun"
rm -rf "$dest"
mkdir -p "$dest"
cp "$root"/bindings/python/python/subrun/* "$dest/"
cp "$so" "$dest/_subrun.abi3.so"
echo "$root/target/python"
