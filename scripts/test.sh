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
echo "test: the Python package (pytest, mypy --strict), on the workspace's own build"
cargo build --release --workspace --all-targets --quiet
pythonpath="$(scripts/stage-python.sh)"
(cd bindings/python && PYTHONPATH="$pythonpath" python3 -m pytest -q -p no:cacheprovider) || status=$?
(cd bindings/python && PYTHONPATH="$pythonpath" MYPYPATH="$pythonpath" python3 -m mypy --strict --no-incremental tests examples) || status=$?
leftovers="$(curl -s --unix-socket /var/run/docker.sock 'http://localhost/containers/json?all=1&filters=%7B%22label%22%3A%5B%22subrun.session%22%5D%7D' 2>/dev/null | grep -c '"Id"' || true)"
echo "test: containers left with a subrun.session label: ${leftovers:-0}"
exit "$status"
