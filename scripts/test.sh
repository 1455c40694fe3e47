#!/usr/bin/env bash
# Sets up a fresh machine (scripts/setup.sh) and runs every test of the workspace in release
# mode: doc tests, then the unit, integration and conformance tests under cargo-nextest (its
# summary line closes the output). Needs a running Docker engine for the docker runtime.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh

echo "test: doc tests"
cargo test --release --workspace --doc

echo "test: unit, integration and conformance tests"
status=0
cargo nextest run --release --workspace --no-fail-fast || status=$?
leftovers="$(curl -s --unix-socket /var/run/docker.sock 'http://localhost/containers/json?all=1&filters=%7B%22label%22%3A%5B%22subrun.session%22%5D%7D' 2>/dev/null | grep -c '"Id"' || true)"
echo "test: containers left with a subrun.session label: ${leftovers:-0}"
exit "$status"
