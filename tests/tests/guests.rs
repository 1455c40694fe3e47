//! Interpreter guests end to end through the Session API: CPython 3.12 for WASI against the
//! host's `python3` under the `local` runtime, QuickJS-ng with the Node-like shim against the
//! output Node gives, Python guests at their limits and at the edge of their grants, and a
//! guest SDK example built for `wasm32-wasip1`.
//!
//! The guest files must be installed (`scripts/fetch-guests.sh`, which CI runs first): a
//! missing file fails these tests with a message naming the script; nothing is skipped.

#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use subrun::{ExecRequest, Outcome, Resource, RuntimeResult, Session, SpawnOptions};
use subrun_tests::{Kind, Target, block_on};
use subrun_wasi::guests::{FETCH_SCRIPT, GUESTS, guest_dir, installed_programs};

/// The guest directory, with every guest file present.
///
/// # Panics
/// When a file is missing, naming it and the script that installs it.
fn guests() -> PathBuf {
    let dir = guest_dir().unwrap_or_else(|| {
        panic!("no guest directory (set SUBRUN_GUEST_DIR or HOME), then run {FETCH_SCRIPT}")
    });
    for guest in GUESTS {
        let missing = guest.missing_in(&dir);
        assert!(
            missing.is_empty(),
            "the {} guest is not installed: {missing:?} missing; run {FETCH_SCRIPT} (it installs into $SUBRUN_GUEST_DIR, else $XDG_DATA_HOME/subrun/guests, else ~/.local/share/subrun/guests)",
            guest.what
        );
    }
    dir
}

/// The `wasi:` section that maps `python`, `python3` and `node` to the installed guests (JSON
/// is YAML).
fn wasi_programs() -> String {
    let programs = serde_json::to_string(&installed_programs(&guests())).unwrap();
    format!("wasi:\n  programs: {programs}\n")
}

/// One run: a fresh session on `kind` with `extra` spec sections, `files` written into the
/// workspace and `assets` as static assets; returns the result and the workspace files
/// matching `collect` (read before the session closes).
async fn run(
    kind: Kind,
    extra: &str,
    files: &[(&str, &[u8])],
    assets: &[(&str, &Path)],
    request: ExecRequest,
    collect: &[&str],
) -> (RuntimeResult, Vec<(String, Vec<u8>)>) {
    let (mut results, found) = run_all(kind, extra, files, assets, vec![request], collect).await;
    (results.remove(0), found)
}

/// As [`run`], with several requests in turn on the same runtime.
async fn run_all(
    kind: Kind,
    extra: &str,
    files: &[(&str, &[u8])],
    assets: &[(&str, &Path)],
    requests: Vec<ExecRequest>,
    collect: &[&str],
) -> (Vec<RuntimeResult>, Vec<(String, Vec<u8>)>) {
    let target = Target::get(kind).await;
    let session: Session = target
        .session_with(extra, |mut b| {
            for (name, path) in assets {
                b = b.asset(*name, *path);
            }
            b
        })
        .await;
    for (path, bytes) in files {
        session.workspace().write_file(path, bytes).unwrap();
    }
    let runtime = session.spawn(SpawnOptions::new()).await.unwrap();
    let mut results = Vec::new();
    for request in requests {
        results.push(runtime.execute(request).await.unwrap());
    }
    let found = session
        .get_file_contents(collect)
        .unwrap()
        .into_iter()
        .map(|(path, content)| (path, content.into_bytes()))
        .collect();
    session.close().await.unwrap();
    (results, found)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------- Python: same as python3

/// Reads argv, stdin, a JSON input file and a static asset (its path is the first argument:
/// `{{static:weights}}` renders to `/static/weights.txt` under wasi and to the host path under
/// local, so it is not printed), writes `out/result.json`, writes every byte value and
/// non-ASCII text, and exits 3. Nothing in it depends on the Python version (3.11 on the
/// host, 3.12 in the guest).
const PARITY_PY: &str = r#"import json
import os
import sys


def main():
    asset_path, *args = sys.argv[1:]
    print("args:", args)
    text = sys.stdin.read()
    lines = text.splitlines()
    print(f"stdin: {len(lines)} lines, {len(text.encode())} bytes, last {lines[-1]!r}")
    with open("case.json", encoding="utf-8") as f:
        case = json.load(f)
    with open(asset_path, encoding="utf-8") as f:
        weights = dict(line.split("=", 1) for line in f.read().split())
    words = text.split()
    score = sum(float(weights.get(w.lower(), 0)) for w in words) * case["scale"]
    result = {
        "args": args,
        "case": case["name"],
        "words": len(words),
        "score": round(score, 6),
        "top": sorted({w.lower() for w in words})[: case["top"]],
        "text": "h\u00e9llo \u2713 \U0001F600",
    }
    os.makedirs("out", exist_ok=True)
    with open("out/result.json", "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps(result, ensure_ascii=False, sort_keys=True))
    sys.stdout.flush()
    sys.stdout.buffer.write(bytes(range(256)) + b"\n")
    print("warning: score below threshold" if score < 10 else "ok", file=sys.stderr)
    print(f"{sum(range(10**5))} {2**100} {1/3!r} {float('inf')}", file=sys.stderr)
    sys.exit(3)


main()
"#;

const CASE_JSON: &str = "{\"name\": \"case-1\", \"scale\": 1.5, \"top\": 3}\n";
const WEIGHTS: &str = "apple=2\nbanana=0.5\ncherry=3.25\n";
const STDIN_TEXT: &str = "Apple banana\nCHERRY apple kiwi\n\nlast line h\u{e9}llo \u{2713}";

/// The weights asset, in a directory that lives as long as the returned guard.
fn weights_asset() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights.txt");
    std::fs::write(&path, WEIGHTS).unwrap();
    (dir, path)
}

#[test]
fn python_guest_matches_native_python3_byte_for_byte() {
    let programs = wasi_programs();
    let (_dir, weights) = weights_asset();
    let files: &[(&str, &[u8])] = &[
        ("main.py", PARITY_PY.as_bytes()),
        ("case.json", CASE_JSON.as_bytes()),
    ];
    let assets: &[(&str, &Path)] = &[("weights", &weights)];
    let request = |word: &str| {
        ExecRequest::new(format!("{word} main.py {{{{static:weights}}}} a 'b c'"))
            .stdin(STDIN_TEXT.as_bytes().to_vec())
    };
    let (wasi, wasi_files) = block_on(run(
        Kind::Wasi,
        &programs,
        files,
        assets,
        request("python"),
        &["out/*"],
    ));
    let (local, local_files) = block_on(run(
        Kind::Local,
        "",
        files,
        assets,
        request("python3"),
        &["out/*"],
    ));
    assert_eq!(
        local.outcome,
        Outcome::Exited { code: 3 },
        "the host's python3 (local runtime) must run the program: {}",
        local.stderr_text()
    );

    // What a grader checks, first on its own (so two equally broken runs cannot agree)...
    let mut expected_stdout = String::from(
        "args: ['a', 'b c']\n\
         stdin: 4 lines, 52 bytes, last 'last line h\u{e9}llo \u{2713}'\n\
         {\"args\": [\"a\", \"b c\"], \"case\": \"case-1\", \"score\": 11.625, \"text\": \"h\u{e9}llo \u{2713} \u{1F600}\", \"top\": [\"apple\", \"banana\", \"cherry\"], \"words\": 9}\n",
    )
    .into_bytes();
    expected_stdout.extend(0..=255u8);
    expected_stdout.push(b'\n');
    assert_eq!(wasi.stdout, expected_stdout, "{}", wasi.stderr_text());
    assert_eq!(
        wasi.stderr_text(),
        "ok\n4999950000 1267650600228229401496703205376 0.3333333333333333 inf\n"
    );
    assert_eq!(wasi.outcome, Outcome::Exited { code: 3 });
    assert_eq!(wasi_files.len(), 1, "{wasi_files:?}");
    assert_eq!(wasi_files[0].0, "out/result.json");
    assert!(text(&wasi_files[0].1).contains("\"text\": \"h\u{e9}llo \u{2713} \u{1F600}\""));

    // ...then against native python3: byte-identical.
    assert_eq!(wasi.stdout, local.stdout, "stdout differs");
    assert_eq!(wasi.stderr, local.stderr, "stderr differs");
    assert_eq!(wasi.exit_code, local.exit_code);
    assert_eq!(wasi.outcome, local.outcome);
    assert_eq!(wasi_files, local_files, "out/result.json differs");
}

#[test]
fn python_guest_reports_its_deadline_factor() {
    let (r, _) = block_on(run(
        Kind::Wasi,
        &format!("{}limits: {{ timeout: 3s }}\n", wasi_programs()),
        &[("main.py", b"print('hi')\n")],
        &[],
        ExecRequest::new("python3 main.py"),
        &[],
    ));
    assert_eq!(
        r.outcome,
        Outcome::Exited { code: 0 },
        "{}",
        r.stderr_text()
    );
    assert_eq!(r.stdout_text(), "hi\n");
    assert_eq!(r.usage.deadline_factor, Some(8.0));
    assert_eq!(r.usage.deadline, Some(Duration::from_secs(24)));
}

// ---------------------------------------------------------------- JavaScript: Node's output

/// The JavaScript counterpart of [`PARITY_PY`], through the shim's `process` and `fs`.
const PARITY_JS: &str = r#"// Reads argv, stdin, a JSON input file and a static asset; writes a result file; exits 3.
const fs = require('fs');

const [assetPath, ...args] = process.argv.slice(2);
console.log('args:', args);
const text = fs.readFileSync(0, 'utf8');
const lines = text.split('\n');
process.stdout.write(`stdin: ${lines.length} lines, last ${JSON.stringify(lines[lines.length - 1])}\n`);
const caseData = JSON.parse(fs.readFileSync('case.json', 'utf8'));
const weights = Object.fromEntries(
  fs.readFileSync(assetPath).toString().split(/\s+/).filter(Boolean).map((l) => l.split('=')),
);
const words = text.split(/\s+/).filter(Boolean).map((w) => w.toLowerCase());
const score = words.reduce((s, w) => s + Number(weights[w] || 0), 0) * caseData.scale;
const result = { args, case: caseData.name, words: words.length, score, top: [...new Set(words)].sort().slice(0, caseData.top) };
fs.writeFileSync('result.json', JSON.stringify(result, null, 2) + '\n');
console.log(result);
console.log('%s scored %d', caseData.name, score, new Map([['k', [1, 2]]]));
console.error('warning:', { score, ok: score > 10 });
if (fs.existsSync('missing.txt')) console.log('unexpected');
try {
  fs.readFileSync('missing.txt');
} catch (e) {
  console.error(e.code, e.message);
}
process.exit(3);
"#;

/// What Node 20 prints for [`PARITY_JS`] with the same inputs (checked with
/// `node main.js weights.txt a 'b c' < stdin.txt`).
const PARITY_JS_STDOUT: &str = "args: [ 'a', 'b c' ]
stdin: 4 lines, last \"last line h\u{e9}llo \u{2713}\"
{
  args: [ 'a', 'b c' ],
  case: 'case-1',
  words: 9,
  score: 11.625,
  top: [ 'apple', 'banana', 'cherry' ]
}
case-1 scored 11.625 Map(1) { 'k' => [ 1, 2 ] }
";
const PARITY_JS_STDERR: &str = "warning: { score: 11.625, ok: true }
ENOENT ENOENT: no such file or directory, open 'missing.txt'
";
const PARITY_JS_RESULT: &str = r#"{
  "args": [
    "a",
    "b c"
  ],
  "case": "case-1",
  "words": 9,
  "score": 11.625,
  "top": [
    "apple",
    "banana",
    "cherry"
  ]
}
"#;

#[test]
fn node_guest_gives_the_output_node_gives() {
    let (_dir, weights) = weights_asset();
    let (r, files) = block_on(run(
        Kind::Wasi,
        &wasi_programs(),
        &[
            ("main.js", PARITY_JS.as_bytes()),
            ("case.json", CASE_JSON.as_bytes()),
        ],
        &[("weights", &weights)],
        ExecRequest::new("node main.js {{static:weights}} a 'b c'")
            .stdin(STDIN_TEXT.as_bytes().to_vec()),
        &["result.json"],
    ));
    assert_eq!(r.stdout_text(), PARITY_JS_STDOUT);
    assert_eq!(r.stderr_text(), PARITY_JS_STDERR);
    assert_eq!(r.outcome, Outcome::Exited { code: 3 });
    assert_eq!(r.usage.deadline_factor, Some(4.0));
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(text(&files[0].1), PARITY_JS_RESULT);
}

#[test]
fn node_guest_reads_stdin_through_events_and_readline() {
    let script = r#"const rl = require('readline').createInterface({ input: process.stdin });
const seen = [];
rl.on('line', (line) => seen.push(line.toUpperCase()));
rl.on('close', () => {
  console.log(seen.join('|'));
  let chunks = 0;
  process.stdin.on('data', () => chunks++);
  process.stdin.on('end', () => console.log('chunks after the end:', chunks));
});
"#;
    let (r, _) = block_on(run(
        Kind::Wasi,
        &wasi_programs(),
        &[("main.js", script.as_bytes())],
        &[],
        ExecRequest::new("node main.js").stdin(&b"one\r\ntwo\nthree"[..]),
        &[],
    ));
    assert_eq!(r.stderr_text(), "");
    assert_eq!(r.stdout_text(), "ONE|TWO|THREE\nchunks after the end: 0\n");
    assert_eq!(r.outcome, Outcome::Exited { code: 0 });
}

#[test]
fn node_guest_has_no_modules_beyond_the_shim() {
    let (r, _) = block_on(run(
        Kind::Wasi,
        &wasi_programs(),
        &[("main.js", b"require('child_process').execSync('id');\n")],
        &[],
        ExecRequest::new("node main.js"),
        &[],
    ));
    assert_eq!(r.outcome, Outcome::Exited { code: 1 });
    assert!(
        r.stderr_text()
            .starts_with("Error: Cannot find module 'child_process'"),
        "{}",
        r.stderr_text()
    );
}

// ---------------------------------------------------------------- Python: what it has

/// The scripts and the output native CPython gives for them (`tests/scripts/python/`).
const STDLIB_PY: &str = include_str!("../scripts/python/stdlib.py");
const STDLIB_OUT: &str = include_str!("../scripts/python/stdlib.out");
const TZ_PY: &str = include_str!("../scripts/python/tz.py");
const TZ_OUT: &str = include_str!("../scripts/python/tz.out");
const WASI_ONLY_PY: &str = include_str!("../scripts/python/wasi_only.py");

/// `python main.py` with `script` as main.py, on `kind` with the spec sections `spec`.
fn python_script(kind: Kind, spec: &str, word: &str, script: &str) -> RuntimeResult {
    let files: &[(&str, &[u8])] = &[("main.py", script.as_bytes())];
    let request = ExecRequest::new(format!("{word} main.py"));
    block_on(run(kind, spec, files, &[], request, &[])).0
}

/// `script` as main.py under the Python guest (wasi) and under the host's python3 (local).
fn python_both(script: &str) -> (RuntimeResult, RuntimeResult) {
    (
        python_script(Kind::Wasi, &wasi_programs(), "python", script),
        python_script(Kind::Local, "", "python3", script),
    )
}

/// Every module docs/guests.md lists as working does its job (not only imports): each line of
/// the script's output is one module used for real (sqlite3 on a file in the workspace, zlib
/// and bz2 round trips, unittest running a suite...). The guest prints what
/// the host's CPython prints, and that is the recorded output (so two equally broken runs
/// cannot agree).
#[test]
fn python_guest_standard_library_modules_the_docs_list_work_as_natively() {
    let (wasi, local) = python_both(STDLIB_PY);
    assert_eq!(local.stdout_text(), STDLIB_OUT, "{}", local.stderr_text());
    for (got, want) in wasi.stdout_text().lines().zip(STDLIB_OUT.lines()) {
        assert_eq!(got, want, "the guest differs from native CPython");
    }
    assert_eq!(wasi.stdout_text(), STDLIB_OUT, "{}", wasi.stderr_text());
    assert_eq!(wasi.stderr_text(), "");
    assert_eq!(wasi.outcome, Outcome::Exited { code: 0 });
}

/// What the docs say the guest lacks, as the guest shows it.
#[test]
fn python_guest_lacks_what_the_docs_say_it_lacks() {
    let r = python_script(Kind::Wasi, &wasi_programs(), "python", WASI_ONLY_PY);
    assert_eq!(
        r.outcome,
        Outcome::Exited { code: 0 },
        "{}",
        r.stderr_text()
    );
    assert_eq!(r.stdout_text(), WASI_ONLY_OUT, "{}", r.stderr_text());
}

const WASI_ONLY_OUT: &str = "ssl: ModuleNotFoundError
ctypes: ModuleNotFoundError
lzma: ModuleNotFoundError
threading: RuntimeError: can't start new thread
subprocess: OSError: [Errno 58] wasi does not support processes.
os.system: False
socket: AttributeError
asyncio.run: OSError: [Errno 58] Not supported
platform: wasi cwd: / version: (3, 12)
";

/// Named time zones work in the guest from the database subrun ships (the tzdata wheel's,
/// mounted read-only at /usr/share/zoneinfo), with the host's CPython's results: UTC, Paris
/// across both 2024 DST changes (gap, overlap and `fold`), zones with 45- and 30-minute
/// offsets, `%Z`/`%z`, and an unknown zone.
#[test]
fn python_guest_time_zones_match_native_python3_across_dst() {
    let (wasi, local) = python_both(TZ_PY);
    assert_eq!(local.stdout_text(), TZ_OUT, "{}", local.stderr_text());
    assert_eq!(wasi.stdout_text(), TZ_OUT, "{}", wasi.stderr_text());
    assert_eq!(wasi.stderr_text(), "");
    assert_eq!(wasi.outcome, Outcome::Exited { code: 0 });
}

/// The zone data the guest reads is subrun's pinned copy, not the host's: its tzdata.zi is
/// the guest directory's, and with the mount removed from the program entry no zone is found
/// at all (nothing of the host's /usr/share/zoneinfo is visible to the guest).
#[test]
fn python_guest_reads_the_shipped_zone_database_and_nothing_of_the_hosts() {
    let script = "import zoneinfo\n\
                  print(zoneinfo.TZPATH[0])\n\
                  print(open('/usr/share/zoneinfo/tzdata.zi').readline(), end='')\n\
                  try:\n    zoneinfo.ZoneInfo('UTC')\n    print('UTC found')\n\
                  except zoneinfo.ZoneInfoNotFoundError:\n    print('UTC not found')\n";
    let shipped = std::fs::read_to_string(guests().join("zoneinfo/tzdata.zi")).unwrap();
    let version = shipped.lines().next().unwrap();
    assert!(version.starts_with("# version 20"), "{version}");
    let r = python_script(Kind::Wasi, &wasi_programs(), "python", script);
    assert_eq!(
        r.stdout_text(),
        format!("/usr/share/zoneinfo\n{version}\nUTC found\n"),
        "{}",
        r.stderr_text()
    );

    // The same guest without the zoneinfo mount: no database anywhere.
    let mut programs = installed_programs(&guests());
    for program in programs.values_mut() {
        program.mounts.clear();
    }
    let spec = format!(
        "wasi:\n  programs: {}\n",
        serde_json::to_string(&programs).unwrap()
    );
    let script = "import os, zoneinfo\n\
                  print(os.path.exists('/usr/share/zoneinfo'))\n\
                  try:\n    zoneinfo.ZoneInfo('UTC')\n    print('UTC found')\n\
                  except zoneinfo.ZoneInfoNotFoundError:\n    print('UTC not found')\n";
    let r = python_script(Kind::Wasi, &spec, "python", script);
    assert_eq!(
        r.stdout_text(),
        "False\nUTC not found\n",
        "{}",
        r.stderr_text()
    );
}

// ---------------------------------------------------------------- Python at its limits

/// A Python guest with `script` as main.py, under `limits`. A first command loads the
/// interpreter, so the measured run's wall time holds no compilation (the very first use of
/// the module compiles it for seconds; that is not charged to the deadline, but it would be
/// to `elapsed`).
fn python_at_limits(script: &str, limits: &str) -> RuntimeResult {
    let (mut results, _) = block_on(run_all(
        Kind::Wasi,
        &format!("{}limits: {limits}\n", wasi_programs()),
        &[("main.py", script.as_bytes()), ("warm.py", b"")],
        &[],
        vec![
            ExecRequest::new("python warm.py"),
            ExecRequest::new("python main.py"),
        ],
        &[],
    ));
    let warm = results.remove(0);
    assert_eq!(
        warm.outcome,
        Outcome::Exited { code: 0 },
        "{}",
        warm.stderr_text()
    );
    results.remove(0)
}

#[test]
fn python_infinite_loop_times_out_at_the_scaled_deadline() {
    let r = python_at_limits(
        "print('start', flush=True)\nwhile True:\n    pass\n",
        "{ timeout: 250ms }",
    );
    assert_eq!(r.outcome, Outcome::TimedOut);
    assert_eq!(r.exit_code, 124);
    assert!(r.timed_out);
    assert_eq!(
        r.stdout_text(),
        "start\n",
        "output before the deadline is kept"
    );
    assert_eq!(r.usage.deadline, Some(Duration::from_secs(2)));
    assert_eq!(r.usage.deadline_factor, Some(8.0));
    assert!(
        r.elapsed >= Duration::from_secs(2) && r.elapsed < Duration::from_secs(4),
        "ended after {:?}, deadline 2s",
        r.elapsed
    );
}

#[test]
fn python_sleeping_forever_times_out_too() {
    let r = python_at_limits(
        "import time\nprint('sleeping', flush=True)\ntime.sleep(3600)\n",
        "{ timeout: 250ms }",
    );
    assert_eq!(r.outcome, Outcome::TimedOut);
    assert_eq!(r.stdout_text(), "sleeping\n");
    assert!(
        r.elapsed < Duration::from_secs(4),
        "ended after {:?}",
        r.elapsed
    );
}

#[test]
fn python_unbounded_allocation_ends_in_memory_error_at_the_limit() {
    let r = python_at_limits(
        "print('start', flush=True)\nchunks = []\nwhile True:\n    chunks.append(bytearray(1 << 20))\n",
        "{ memory: 64MiB, timeout: 2s }",
    );
    assert_eq!(
        r.outcome,
        Outcome::ResourceExceeded {
            resource: Resource::Memory
        },
        "{}",
        r.stderr_text()
    );
    // CPython saw the denied memory.grow as a failed allocation: MemoryError, exit 1.
    assert_eq!(r.exit_code, 1);
    assert!(
        r.stderr_text().ends_with("MemoryError\n"),
        "{}",
        r.stderr_text()
    );
    assert_eq!(r.stdout_text(), "start\n");
    assert!(r.usage.peak_memory.unwrap() <= 64 << 20);
}

#[test]
fn python_recursion_past_the_limit_is_a_recursion_error_as_natively() {
    let script = "def f(n):\n    return f(n + 1) + 1\n\nf(0)\n";
    let r = python_at_limits(script, "{ timeout: 2s }");
    assert_eq!(
        r.outcome,
        Outcome::Exited { code: 1 },
        "{}",
        r.stderr_text()
    );
    assert!(
        r.stderr_text()
            .ends_with("RecursionError: maximum recursion depth exceeded\n"),
        "{}",
        r.stderr_text()
    );
    // The host's python3 ends the same way (the traceback's paths differ, the error does not).
    let (native, _) = block_on(run(
        Kind::Local,
        "",
        &[("main.py", script.as_bytes())],
        &[],
        ExecRequest::new("python3 main.py"),
        &[],
    ));
    assert_eq!(native.outcome, r.outcome);
    assert_eq!(
        native.stderr_text().lines().last(),
        r.stderr_text().lines().last()
    );
}

#[test]
fn python_deep_recursion_within_a_raised_limit_completes() {
    // CPython 3.12 keeps Python frames off the C stack: 100,000 frames fit the wasm stack.
    let r = python_at_limits(
        "import sys\nsys.setrecursionlimit(10**6)\ndef f(n):\n    return 0 if n == 0 else f(n - 1) + 1\nprint(f(100_000))\n",
        "{ timeout: 2s }",
    );
    assert_eq!(
        r.outcome,
        Outcome::Exited { code: 0 },
        "{}",
        r.stderr_text()
    );
    assert_eq!(r.stdout_text(), "100000\n");
}

#[test]
fn python_unbounded_recursion_with_the_limit_lifted_ends_at_the_memory_limit() {
    let r = python_at_limits(
        "import sys\nsys.setrecursionlimit(10**8)\ndef f(n):\n    return f(n + 1) + 1\nf(0)\n",
        "{ memory: 64MiB, timeout: 2s }",
    );
    assert_eq!(
        r.outcome,
        Outcome::ResourceExceeded {
            resource: Resource::Memory
        },
        "{}",
        r.stderr_text()
    );
    assert_eq!(r.exit_code, 1);
    assert!(r.elapsed < Duration::from_secs(16), "took {:?}", r.elapsed);
}

// ---------------------------------------------------------------- Python inside its grants

#[test]
fn python_guest_cannot_read_or_write_outside_its_grants() {
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("secret.txt");
    std::fs::write(&secret, "TOP-SECRET\n").unwrap();
    let (_dir, weights) = weights_asset();
    let script = format!(
        r#"import os

SECRET = {secret:?}


def attempt(what, f):
    try:
        result = f()
        print(what, "SUCCEEDED", repr(result)[:60])
    except OSError as e:
        print(what, type(e).__name__)


attempt("read /etc/passwd", lambda: open("/etc/passwd").read())
attempt("read ../etc/passwd", lambda: open("../etc/passwd").read())
attempt("read ../../../../etc/passwd", lambda: open("../../../../etc/passwd").read())
attempt("read the secret by its host path", lambda: open(SECRET).read())
attempt("write the secret by its host path", lambda: open(SECRET, "w").write("pwned"))
attempt("read the secret's directory", lambda: os.listdir(os.path.dirname(SECRET)))
attempt("write into /static", lambda: open("/static/weights.txt", "a").write("x"))
attempt("see the guest directory", lambda: os.listdir("/usr/lib/subrun/guests"))


def make_link(name, target):
    try:
        os.symlink(target, name)
        return "created"
    except OSError as e:
        return type(e).__name__


print("make an absolute symlink", make_link("abs-link", "/etc/passwd"))
print("make a relative symlink out", make_link("rel-link", "../../../../../../etc/passwd"))
attempt("read through the relative symlink", lambda: open("rel-link").read())
print("asset", open("/static/weights.txt").read().split()[0])
print("root", sorted(os.listdir("/")))
"#,
        secret = secret.display().to_string(),
    );
    let (r, _) = block_on(run(
        Kind::Wasi,
        &wasi_programs(),
        &[("main.py", script.as_bytes())],
        &[("weights.txt", &weights)],
        ExecRequest::new("python main.py"),
        &[],
    ));
    assert_eq!(
        r.outcome,
        Outcome::Exited { code: 0 },
        "{}",
        r.stderr_text()
    );
    // A relative symlink pointing out may be created (it stays a dangling name inside the
    // workspace); nothing is ever read or written through it.
    let out = r.stdout_text();
    assert!(!out.contains("SUCCEEDED"), "{out}");
    assert!(!out.contains("root:"), "{out}");
    assert_eq!(
        out,
        "read /etc/passwd FileNotFoundError\n\
         read ../etc/passwd PermissionError\n\
         read ../../../../etc/passwd PermissionError\n\
         read the secret by its host path FileNotFoundError\n\
         write the secret by its host path FileNotFoundError\n\
         read the secret's directory FileNotFoundError\n\
         write into /static PermissionError\n\
         see the guest directory FileNotFoundError\n\
         make an absolute symlink PermissionError\n\
         make a relative symlink out created\n\
         read through the relative symlink PermissionError\n\
         asset apple=2\n\
         root ['main.py', 'rel-link']\n"
    );
    // The host side: the secret and the asset are untouched, nothing was added beside them.
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "TOP-SECRET\n");
    assert_eq!(std::fs::read_dir(secret_dir.path()).unwrap().count(), 1);
    assert_eq!(std::fs::read_to_string(&weights).unwrap(), WEIGHTS);
}

// ---------------------------------------------------------------- a guest SDK example

/// Builds `guest-sdk/examples/<name>` for `wasm32-wasip1` as `subrun build` does (the CLI's
/// own tests run `subrun build` itself) and returns the module.
fn build_sdk_example(name: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../guest-sdk/examples")
        .join(name)
        .join("Cargo.toml");
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guest-sdk-examples");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["build", "--release", "--quiet", "--target", "wasm32-wasip1"])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building {} failed (is the target installed? rustup target add wasm32-wasip1):\n{}",
        manifest.display(),
        text(&out.stderr)
    );
    target_dir.join(format!("wasm32-wasip1/release/{name}.wasm"))
}

#[test]
fn the_grader_submission_example_reads_its_case_and_asset_and_writes_its_result() {
    let wasm = build_sdk_example("grader-submission");
    let assets = tempfile::tempdir().unwrap();
    let stopwords = assets.path().join("stopwords.txt");
    std::fs::write(&stopwords, "the a of and\n").unwrap();
    let module = std::fs::read(&wasm).unwrap();
    let text_in = "The cat and the hat. A cat of a cat; the hat!\n";
    let (r, files) = block_on(run(
        Kind::Wasi,
        "",
        &[("submission.wasm", &module), ("case.json", b"{\"top\": 2}")],
        &[("stopwords.txt", &stopwords)],
        ExecRequest::new("submission.wasm").stdin(text_in.as_bytes().to_vec()),
        &["out/result.json"],
    ));
    assert_eq!(
        r.outcome,
        Outcome::Exited { code: 0 },
        "{}",
        r.stderr_text()
    );
    assert_eq!(r.stdout_text(), "   3 cat\n   2 hat\n");
    assert_eq!(
        files,
        [(
            "out/result.json".to_string(),
            b"{\n  \"words\": 5,\n  \"top\": [\n    [\n      \"cat\",\n      3\n    ],\n    [\n      \"hat\",\n      2\n    ]\n  ]\n}\n".to_vec()
        )]
    );

    // A case asking for nothing: exit 2 and a message, no result file.
    let (r, files) = block_on(run(
        Kind::Wasi,
        "",
        &[("submission.wasm", &module), ("case.json", b"{\"top\": 0}")],
        &[("stopwords.txt", &stopwords)],
        ExecRequest::new("submission.wasm"),
        &["out/*"],
    ));
    assert_eq!(r.outcome, Outcome::Exited { code: 2 });
    assert_eq!(
        r.stderr_text(),
        "case.json asks for the top 0 words: nothing to do\n"
    );
    assert!(files.is_empty());

    // A missing case file: the SDK's error chain on stderr, exit 1.
    let (r, _) = block_on(run(
        Kind::Wasi,
        "",
        &[("submission.wasm", &module)],
        &[("stopwords.txt", &stopwords)],
        ExecRequest::new("submission.wasm"),
        &[],
    ));
    assert_eq!(r.outcome, Outcome::Exited { code: 1 });
    assert!(
        r.stderr_text()
            .starts_with("error: cannot read case.json\n  caused by: "),
        "{}",
        r.stderr_text()
    );
}
