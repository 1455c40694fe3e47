#!/usr/bin/env bash
# Runs every cargo-fuzz target of engine/fuzz for SECONDS each (default 10) on the stable
# toolchain, starting from the seeds committed in engine/fuzz/corpus/<target>/, and fails if
# any target crashes, hangs or runs out of memory. Prints per target: runs executed, time,
# coverage at start and at the end, crashes. Longer campaigns: docs/fuzzing.md.
#
#   scripts/fuzz.sh [SECONDS]
#
# Stable works because the targets are built without a sanitizer (`-s none`): the flags
# cargo-fuzz then passes (`-Cpasses=sancov-module`, `-Cllvm-args=-sanitizer-coverage-*`) are
# stable; only the default AddressSanitizer needs `-Zsanitizer` (nightly). Safe Rust needs no
# ASan to find panics, aborts, stack overflows, hangs and out-of-memory.
#
# Environment: CARGO_TARGET_DIR (default: target/ of the repository; the fuzz build lands in
# its x86_64-unknown-linux-gnu/ directory, apart from the workspace build), FUZZ_WORK_DIR
# (where the corpus grown by this run goes; default: <target dir>/fuzz-corpus).
set -euo pipefail

seconds="${1:-10}"
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fuzz_dir="$root/engine/fuzz"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
work_dir="${FUZZ_WORK_DIR:-$target_dir/fuzz-corpus}"
artifacts="$fuzz_dir/artifacts"
# cargo-fuzz must not try the default AddressSanitizer, and 16 codegen units build the
# targets about twice as fast as cargo-fuzz's default of 1 (fuzzing speed is not the bottleneck
# of a seconds-long run).
build_flags=(--fuzz-dir "$fuzz_dir" --target-dir "$target_dir" -s none --codegen-units 16)

now() { date +%s; }

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (cargo install cargo-fuzz --locked)"
  t=$(now)
  cargo install cargo-fuzz --locked
  echo "fuzz: cargo-fuzz installed in $(( $(now) - t ))s"
fi
echo "fuzz: $(cargo fuzz --version), $(rustc --version)"

t=$(now)
cargo fuzz build "${build_flags[@]}"
echo "fuzz: targets built in $(( $(now) - t ))s"

mapfile -t targets < <(cargo fuzz list --fuzz-dir "$fuzz_dir")
if [ "${#targets[@]}" -eq 0 ]; then
  echo "fuzz: no fuzz targets found in $fuzz_dir" >&2
  exit 1
fi

# Number of crash, timeout, OOM and slow-unit files of a target.
# (A fresh clone has no artifacts directory: `find` on it would fail the pipeline.)
findings() {
  if [ -d "$artifacts/$1" ]; then find "$artifacts/$1" -type f | wc -l; else echo 0; fi
}

failed=0
rows=()
for target in "${targets[@]}"; do
  seeds="$fuzz_dir/corpus/$target"
  if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
    echo "fuzz: $target has no seed corpus in $seeds" >&2
    exit 1
  fi
  mkdir -p "$work_dir/$target"
  log="$work_dir/$target.log"
  before=$(findings "$target")
  echo "fuzz: $target for ${seconds}s"
  t=$(now)
  status=0
  # The first corpus directory receives what the run finds; the committed seeds are only read.
  cargo fuzz run "${build_flags[@]}" "$target" "$work_dir/$target" "$seeds" -- \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  elapsed=$(( $(now) - t ))
  runs=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$log" | tail -1)
  cov_start=$(sed -n 's/.*INITED cov: \([0-9]*\).*/\1/p' "$log" | head -1)
  cov_end=$(sed -n 's/.*\(DONE\|pulse\|NEW\|REDUCE\) *cov: \([0-9]*\).*/\2/p' "$log" | tail -1)
  crashes=$(( $(findings "$target") - before ))
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  if [ "$status" -ne 0 ] || [ -z "$runs" ]; then
    failed=1
    echo "fuzz: $target FAILED (exit $status); the end of its log ($log):" >&2
    tail -n 40 "$log" >&2
    echo "fuzz: findings are in $artifacts/$target/; reproduce with" \
      "cargo fuzz run -s none --fuzz-dir engine/fuzz $target <file>" >&2
  fi
  rows+=("$(printf '%-18s %12s %7ss %10s %10s %8s' "$target" "${runs:--}" "$elapsed" \
    "${cov_start:--}" "${cov_end:--}" "$crashes")")
done

echo
printf '%-18s %12s %8s %10s %10s %8s\n' target runs time "cov start" "cov end" crashes
printf '%s\n' "${rows[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED: a target crashed, hung or ran out of memory (see above)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, 0 crashes"
