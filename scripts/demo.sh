#!/usr/bin/env bash
# The demo: untrusted submissions running in the WASI runtime (wasmtime, in-process) on
# subrun's default spec. Sets up what it needs (the wasm32-wasip1 target and the CPython/QuickJS
# guests; no Docker, no root), builds the CLI in release, then runs:
#   1. a Rust submission built to wasm32-wasip1, with arguments and stdin;
#   2. a Python program with `python main.py`, the way a grader runs one;
#   3. a Python grader on a correct and a buggy submission;
#   4. what a hostile submission gets: no file outside its workspace, a deadline;
#   5. grading: submissions against a problem's cases, with verdicts and points.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh --no-docker --no-apt
echo "demo: building the CLI (release)"
cargo build --release --quiet -p subrun-cli
subrun="$root/target/release/subrun"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
say() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "$2"; }

mkdir -p "$work/rust"
"$subrun" build guest-sdk/examples/hello -o "$work/rust/hello.wasm" >/dev/null
say "1. A Rust submission (wasm32-wasip1) on the default spec: the current directory is the workspace" \
    "printf 'one\\ntwo\\n' | subrun run --stdin - -- hello.wasm Ada Grace"
(cd "$work/rust" && printf 'one\ntwo\n' | "$subrun" run --stdin - -- hello.wasm Ada Grace)

mkdir -p "$work/py"
cat > "$work/py/main.py" <<'PY'
import json, sys
numbers = [int(x) for x in sys.stdin.read().split()]
result = {"argv": sys.argv[1:], "sum": sum(numbers), "max": max(numbers)}
with open("result.json", "w") as f:
    json.dump(result, f)
print(json.dumps(result))
sys.exit(0 if result["sum"] == 10 else 3)
PY
say "2. python main.py in the CPython 3.12 WASI guest, default spec, --json result" \
    "echo '1 2 3 4' | subrun run --stdin - --json -- python main.py --fast"
(cd "$work/py" && echo '1 2 3 4' | "$subrun" run --stdin - --json -- python main.py --fast) \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({k: r[k] for k in ("outcome","exit_code","stdout")}, indent=1)); print("wall time: %.1f ms | deadline: %g s (x%g for the interpreter)" % (r["usage"]["wall_time"] * 1e3, r["usage"]["deadline"], r["usage"]["deadline_factor"]))'

say "3. A Python grader (static test cases, read-only) on a correct submission" \
    "subrun run --spec examples/python-grader/grader.yaml --workspace examples/python-grader/submission -- python /static/grader/grade.py"
"$subrun" run --spec examples/python-grader/grader.yaml --workspace examples/python-grader/submission -- python /static/grader/grade.py
say "   ... and on a buggy one (the grader exits 1)" \
    "subrun run --spec examples/python-grader/grader.yaml --workspace examples/python-grader/submission-buggy -- python /static/grader/grade.py"
"$subrun" run --spec examples/python-grader/grader.yaml --workspace examples/python-grader/submission-buggy -- python /static/grader/grade.py \
  || echo "(exit code $?)"

mkdir -p "$work/evil"
cat > "$work/evil/main.py" <<'PY'
import os
for path in ["/etc/passwd", "../../../../etc/passwd", os.path.expanduser("~/.bashrc")]:
    try:
        open(path).read()
        print("READ", path, flush=True)
    except OSError as e:
        print("blocked:", path, "-", e.strerror, flush=True)
print("HOME =", os.environ.get("HOME"), flush=True)
while True:
    pass
PY
say "4. A hostile submission: reads outside the workspace, the host's env, then spins" \
    "subrun run --timeout 250ms -- python main.py   # x8 for the interpreter: 2 s"
(cd "$work/evil" && "$subrun" run --timeout 250ms -- python main.py) || echo "(exit code $?: 124 is a timeout)"

say "5. Grading: four Python submissions against a problem's cases (tokens checker, sealed answers)" \
    "subrun grade examples/grade/sum examples/grade/submissions/{correct,wrong,crash,slow}.py"
"$subrun" grade examples/grade/sum examples/grade/submissions/{correct,wrong,crash,slow}.py \
  || echo "(exit code $?: 1 means not every case was accepted)"
echo
echo "demo: done"
