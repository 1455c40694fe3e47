#!/usr/bin/env bash
# Sets up a fresh machine (scripts/setup.sh) and runs every test of the workspace in release
# mode: doc tests, the unit, integration and conformance tests under cargo-nextest, then the
# Python package's pytest suite and mypy --strict (their summary lines close the output).
# Needs a running Docker engine for the docker runtime.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh

echo "test: doc tests"
cargo test --release --workspace --doc

echo "test: unit, integration and conformance tests"
status=0
cargo nextest run --release --workspace --no-fail-fast || status=$?
echo "test: the Python package: a wheel built by maturin, installed in a venv (pytest, mypy --strict)"
cargo build --release --workspace --all-targets --quiet
# maturin's cargo builds subrun-python alone; its dependencies' features unify differently from
# the whole workspace's, so the first wheel build in a target dir compiles wasmtime once more
# (7 min measured on 2 cores); the shared target dir keeps those artifacts, later builds take 3-4 s.
rm -rf target/wheels
CARGO_TARGET_DIR="$root/target" maturin build --release --quiet -m bindings/python/Cargo.toml -o target/wheels
wheel="$(ls target/wheels/subrun-*.whl)"
size="$(stat -c %s "$wheel")"
echo "test: wheel $wheel: $size bytes"
[ "$size" -lt 100000000 ] || { echo "test: the wheel is over PyPI's 100 MB limit" >&2; status=1; }
venv="$root/target/python-venv"
rm -rf "$venv"
python3 -m venv --system-site-packages "$venv"  # pytest and mypy come from setup.sh's install
"$venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel"
# The README's one-liner, against the installed wheel (run outside the source tree).
hello="$(cd /tmp && "$venv/bin/python" -c "import subrun; print(subrun.run('hello.wasm', workspace='$root/examples/python-harness/hello').stdout)")"
echo "test: README one-liner printed $hello"
[ "$hello" = "b'hello, world\\n'" ] || { echo "test: the README one-liner printed $hello" >&2; status=1; }
(cd bindings/python && "$venv/bin/python" -m pytest -q -p no:cacheprovider) || status=$?
(cd bindings/python && "$venv/bin/python" -m mypy --strict --no-incremental tests examples bench ../../examples/python-harness) || status=$?
leftovers="$(curl -s --unix-socket /var/run/docker.sock 'http://localhost/containers/json?all=1&filters=%7B%22label%22%3A%5B%22subrun.session%22%5D%7D' 2>/dev/null | grep -c '"Id"' || true)"
echo "test: containers left with a subrun.session label: ${leftovers:-0}"
exit "$status"
