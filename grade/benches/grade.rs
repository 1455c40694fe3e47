//! # subrun grading benchmark
//!
//! One run, side by side, on the machine it runs on: `N` stdin/stdout cases of a small C
//! submission (sum of two integers) graded with the `tokens` checker
//!
//! - by `subrun grade` on `wasi` (the CLI binary, the whole process: engine, problem load,
//!   compile-or-load of the module, every case, the report);
//! - by the [`Grader`] in-process on `wasi` (what an embedder pays), with the workspace reset
//!   cost per case;
//! - by a plain native loop, `for f in cases/*.in; do ./a.out < $f > out; cmp ...; done` in
//!   bash: the least any process-based judge pays;
//! - by the [`Grader`] on the `local` runtime, running the same program built natively;
//!
//! and a Python submission on the python guest: `subrun grade` per case against the guest's
//! own warm `execute` per case (both one case at a time). Medians over rounds, ratios, and
//! the aims of the grading issue marked PASS or MISS. See `docs/benchmarks.md`.
//!
//! ```text
//! cargo build --release --workspace          # the `subrun` binary the CLI rows run
//! cargo bench --bench grade [-- --quick] [-- --json FILE]
//! ```
//!
//! Every round checks what it graded: every case AC (the report, the loop's own `cmp`). A
//! round that gets anything else, or a tool that is missing, fails the run (exit 1).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use subrun::{EnvironmentSpec, ExecRequest, Registry, Session, SpawnOptions};
use subrun_grade::{Grader, Problem, Report, Submission};
use subrun_wasi::{WasiEngineConfig, WasiRuntimeFactory};

type Error = String;

/// The C submission: the sum of the integers on stdin.
const SUM_C: &str = "#include <stdio.h>\nint main(void) {\n  long long x, s = 0;\n  while (scanf(\"%lld\", &x) == 1) s += x;\n  printf(\"%lld\\n\", s);\n  return 0;\n}\n";
/// The Python submission: the same.
const SUM_PY: &str = "import sys\nprint(sum(int(t) for t in sys.stdin.read().split()))\n";

/// The native loop: one process per case, `cmp` against the answer.
const LOOP_SH: &str = r#"set -u
n=0
for f in cases/*.in; do
  ./a.out < "$f" > out
  cmp -s out "${f%.in}.ans" || echo "WA $f"
  n=$((n+1))
done
echo "cases $n"
"#;

struct Options {
    quick: bool,
    json: Option<PathBuf>,
}

impl Options {
    fn parse() -> Result<Self, Error> {
        let mut opts = Options {
            quick: false,
            json: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => opts.quick = true,
                "--json" => {
                    opts.json = Some(args.next().ok_or("--json needs a FILE")?.into());
                }
                // Passed by `cargo bench`.
                "--bench" => {}
                other if other.starts_with("--") => return Err(format!("unknown option {other}")),
                _ => {}
            }
        }
        Ok(opts)
    }

    fn n(&self, full: usize, quick: usize) -> usize {
        if self.quick { quick } else { full }
    }
}

/// One row: a rate in case-runs per second, one value per round.
struct Row {
    id: &'static str,
    label: String,
    rates: Vec<f64>,
    note: String,
}

impl Row {
    fn median(&self) -> f64 {
        let mut v = self.rates.clone();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
}

fn main() -> ExitCode {
    match Options::parse().and_then(|opts| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("build the tokio runtime: {e}"))?
            .block_on(run(&opts))
            .map(|rows| finish(&opts, &rows))
    }) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bench: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The `subrun` binary next to this bench's directory (`target/release/subrun`).
fn subrun_bin() -> Result<PathBuf, Error> {
    if let Some(p) = std::env::var_os("SUBRUN_BIN") {
        return Ok(p.into());
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("subrun"))
        .ok_or("no target directory above the bench binary")?;
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "{} is missing: run `cargo build --release --workspace` first (or set SUBRUN_BIN)",
            bin.display()
        ))
    }
}

fn cmd_ok(cmd: &mut Command, what: &str) -> Result<Vec<u8>, Error> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out.stdout)
}

/// A plain-layout problem of `n` cases, `cases/NNNN.in` (two integers) and `.ans`.
fn write_problem(dir: &Path, n: usize) -> Result<(), Error> {
    let cases = dir.join("cases");
    std::fs::create_dir_all(&cases).map_err(|e| format!("create {}: {e}", cases.display()))?;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..n {
        let mut next = || {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            i64::try_from(x >> 34).unwrap_or(0) - (1 << 29)
        };
        let (a, b) = (next(), next());
        let write = |ext: &str, text: String| {
            let p = cases.join(format!("{i:04}.{ext}"));
            std::fs::write(&p, text).map_err(|e| format!("write {}: {e}", p.display()))
        };
        write("in", format!("{a} {b}\n"))?;
        write("ans", format!("{}\n", a + b))?;
    }
    Ok(())
}

fn time_rounds(
    rounds: usize,
    cases: usize,
    mut round: impl FnMut() -> Result<(), Error>,
) -> Result<Vec<f64>, Error> {
    (0..rounds)
        .map(|_| {
            let started = Instant::now();
            round()?;
            Ok(cases as f64 / started.elapsed().as_secs_f64())
        })
        .collect()
}

/// Checks a `subrun grade --json` report: one submission, `cases` cases, all AC.
fn check_cli_report(stdout: &[u8], cases: usize) -> Result<(), Error> {
    let doc: Value =
        serde_json::from_slice(stdout).map_err(|e| format!("subrun grade --json: {e}"))?;
    let sub = &doc["submissions"][0];
    let got = sub["cases"].as_array().map_or(0, Vec::len);
    if got != cases || sub["all_accepted"] != json!(true) {
        return Err(format!(
            "subrun grade graded {got} cases (want {cases}), all_accepted = {}",
            sub["all_accepted"]
        ));
    }
    Ok(())
}

fn check_report(report: &Report, cases: usize, what: &str) -> Result<(), Error> {
    let got = report.submissions.first().map_or(0, |s| s.cases.len());
    if got != cases || !report.all_accepted() {
        let bad = report
            .submissions
            .iter()
            .flat_map(|s| &s.cases)
            .find(|c| !c.verdict.is_accepted())
            .map(|c| format!("; {} is {} ({:?})", c.case, c.verdict, c.message))
            .unwrap_or_default();
        return Err(format!("{what}: {got} cases (want {cases}){bad}"));
    }
    Ok(())
}

fn registry(cache: &Path) -> Result<Registry, Error> {
    let mut cfg = WasiEngineConfig::default();
    cfg.cache_dir = Some(cache.to_path_buf());
    let wasi = WasiRuntimeFactory::new(cfg).map_err(|e| format!("wasi engine: {e}"))?;
    let mut r = Registry::new();
    r.register(Arc::new(wasi)).map_err(|e| e.to_string())?;
    r.register(Arc::new(subrun_local::LocalRuntimeFactory::new()))
        .map_err(|e| e.to_string())?;
    Ok(r)
}

/// A wasi spec with the installed interpreter guests (as `subrun grade` has them).
fn wasi_spec() -> Result<EnvironmentSpec, Error> {
    let guests = subrun_wasi::guests::guest_dir()
        .ok_or("no guest directory: run scripts/fetch-guests.sh")?;
    let programs = subrun_wasi::guests::installed_programs(&guests);
    if !programs.contains_key("python") {
        return Err(format!(
            "the python guest is not installed in {} (scripts/fetch-guests.sh)",
            guests.display()
        ));
    }
    EnvironmentSpec::from_value(
        json!({ "type": "wasi", "wasi": { "programs": programs } }),
        "bench spec",
        "/",
    )
    .map_err(|e| format!("bench spec: {e}"))
}

fn local_spec() -> Result<EnvironmentSpec, Error> {
    EnvironmentSpec::from_value(json!({ "type": "local" }), "bench spec", "/")
        .map_err(|e| format!("bench spec: {e}"))
}

async fn grade(
    registry: &Registry,
    problem: &Path,
    spec: EnvironmentSpec,
    submission: Submission,
    jobs: usize,
) -> Result<Report, Error> {
    let problem = Problem::load(problem).map_err(|e| format!("load the problem: {e}"))?;
    Grader::builder(problem, registry)
        .spec(spec)
        .submission(submission)
        .jobs(jobs)
        .build()
        .map_err(|e| format!("grader: {e}"))?
        .run()
        .await
        .map_err(|e| format!("grade: {e}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

async fn run(opts: &Options) -> Result<Vec<Row>, Error> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let n = opts.n(1000, 200);
    let n_py = opts.n(200, 30);
    let rounds = opts.n(5, 2);
    let bin = subrun_bin()?;
    let tmp = tempfile::Builder::new()
        .prefix("subrun-grade-bench-")
        .tempdir()
        .map_err(|e| format!("tempdir: {e}"))?;
    let dir = tmp.path();
    let problem = dir.join("problem");
    write_problem(&problem, n)?;
    let problem_py = dir.join("problem-py");
    write_problem(&problem_py, n_py)?;
    std::fs::write(dir.join("sum.c"), SUM_C).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("sum.py"), SUM_PY).map_err(|e| e.to_string())?;
    eprintln!("building sum.c to wasm (subrun build) and natively (cc -O2)");
    cmd_ok(
        Command::new(&bin)
            .current_dir(dir)
            .args(["build", "sum.c", "-o", "sum.wasm"]),
        "subrun build sum.c",
    )?;
    cmd_ok(
        Command::new("cc")
            .current_dir(dir)
            .args(["-O2", "-o", "problem/a.out", "sum.c"]),
        "cc -O2 sum.c",
    )?;
    let native = problem.join("a.out");
    // `subrun grade` on this run's own compiled-module cache, not the user's.
    let cache = dir.join("cache");
    let cli = |problem: &Path, submission: &str, jobs: usize| -> Result<(), Error> {
        let out = cmd_ok(
            Command::new(&bin)
                .env("XDG_CACHE_HOME", &cache)
                .arg("grade")
                .arg(problem)
                .arg(dir.join(submission))
                .args(["--json", "-j", &jobs.to_string()]),
            &format!("subrun grade {submission}"),
        )?;
        let cases = std::fs::read_dir(problem.join("cases")).map_or(0, |d| d.count()) / 2;
        check_cli_report(&out, cases)
    };
    let mut rows = Vec::new();

    eprintln!("== C, {n} cases, {rounds} rounds each");
    cli(&problem, "sum.wasm", cores)?; // warm-up: fills the module cache
    rows.push(Row {
        id: "c.wasi.cli",
        label: format!("subrun grade, wasi, -j {cores} (whole process)"),
        rates: time_rounds(rounds, n, || cli(&problem, "sum.wasm", cores))?,
        note: "CLI process start, engine, problem load, module from the disk cache".into(),
    });

    let registry = registry(&dir.join("engine-cache"))?;
    let wasm = Submission::from_path(dir.join("sum.wasm")).map_err(|e| e.to_string())?;
    let mut resets = Vec::new();
    let mut rates = Vec::new();
    for round in 0..=rounds {
        let started = Instant::now();
        let report = grade(&registry, &problem, wasi_spec()?, wasm.clone(), cores).await?;
        let rate = n as f64 / started.elapsed().as_secs_f64();
        check_report(&report, n, "Grader on wasi")?;
        if round > 0 {
            rates.push(rate);
            resets.extend(report.submissions[0].cases.iter().map(|c| c.reset_time));
        }
    }
    let reset = median(resets.clone());
    let reset_p90 = {
        resets.sort_by(f64::total_cmp);
        resets
            .get(resets.len() * 9 / 10)
            .copied()
            .unwrap_or(f64::NAN)
    };
    rows.push(Row {
        id: "c.wasi.grader",
        label: format!("Grader in-process, wasi, -j {cores}"),
        rates,
        note: format!(
            "workspace reset per case: median {:.1} µs, p90 {:.1} µs",
            reset * 1e6,
            reset_p90 * 1e6
        ),
    });

    let loop_round = || -> Result<(), Error> {
        let out = cmd_ok(
            Command::new("bash")
                .current_dir(&problem)
                .args(["-c", LOOP_SH]),
            "the native loop",
        )?;
        let text = String::from_utf8_lossy(&out);
        if text.trim() != format!("cases {n}") {
            return Err(format!("the native loop: {}", text.trim()));
        }
        Ok(())
    };
    loop_round()?;
    rows.push(Row {
        id: "c.native.loop",
        label: "native loop: bash for + ./a.out + cmp (1 at a time)".into(),
        rates: time_rounds(rounds, n, loop_round)?,
        note: "one fork/exec of a.out and of cmp per case".into(),
    });

    let native_sub = Submission::command(
        "sum-native",
        shell_words::quote(&native.to_string_lossy()).into_owned(),
    );
    let mut rates = Vec::new();
    for round in 0..=rounds {
        let started = Instant::now();
        let report = grade(
            &registry,
            &problem,
            local_spec()?,
            native_sub.clone(),
            cores,
        )
        .await?;
        let rate = n as f64 / started.elapsed().as_secs_f64();
        check_report(&report, n, "Grader on local")?;
        if round > 0 {
            rates.push(rate);
        }
    }
    rows.push(Row {
        id: "c.local.grader",
        label: format!("Grader in-process, local (native a.out), -j {cores}"),
        rates,
        note: "a process per case: sh -c, process group, rlimits, reaping".into(),
    });

    eprintln!("== Python, {n_py} cases");
    let py_rounds = opts.n(3, 1);
    cli(&problem_py, "sum.py", 1)?; // warm-up
    rows.push(Row {
        id: "py.wasi.cli",
        label: "subrun grade sum.py, wasi python guest, -j 1".into(),
        rates: time_rounds(py_rounds, n_py, || cli(&problem_py, "sum.py", 1))?,
        note: "whole process".into(),
    });
    rows.push(Row {
        id: "py.wasi.cli.jobs",
        label: format!("subrun grade sum.py, wasi python guest, -j {cores}"),
        rates: time_rounds(py_rounds, n_py, || cli(&problem_py, "sum.py", cores))?,
        note: "whole process".into(),
    });
    rows.push(Row {
        id: "py.wasi.execute",
        label: "warm execute of `python sum.py` (stdin), 1 at a time, no grading".into(),
        rates: warm_python(&registry, &problem_py, n_py, py_rounds).await?,
        note: "one Session, one spawn, N executes: the guest's own cost".into(),
    });
    Ok(rows)
}

/// The guest's own warm cost: `python sum.py` executed once per case input on one spawned
/// runtime, stdout checked against the answer.
async fn warm_python(
    registry: &Registry,
    problem: &Path,
    n: usize,
    rounds: usize,
) -> Result<Vec<f64>, Error> {
    let session = Session::builder(registry, wasi_spec()?)
        .prepare()
        .await
        .map_err(|e| format!("prepare: {e}"))?;
    session
        .workspace()
        .write_file("sum.py", SUM_PY.as_bytes())
        .map_err(|e| format!("write sum.py: {e}"))?;
    let rt = session
        .spawn(SpawnOptions::new())
        .await
        .map_err(|e| format!("spawn: {e}"))?;
    let mut inputs = Vec::with_capacity(n);
    for i in 0..n {
        let read = |ext: &str| {
            let p = problem.join(format!("cases/{i:04}.{ext}"));
            std::fs::read(&p).map_err(|e| format!("read {}: {e}", p.display()))
        };
        inputs.push((read("in")?, read("ans")?));
    }
    let mut rates = Vec::new();
    for round in 0..=rounds {
        let started = Instant::now();
        for (input, answer) in &inputs {
            let r = rt
                .execute(ExecRequest::new("python sum.py").stdin(input.clone()))
                .await
                .map_err(|e| format!("execute: {e}"))?;
            if !r.success() || r.stdout != *answer {
                return Err(format!(
                    "python sum.py: {:?}, stdout {:?}",
                    r.outcome,
                    r.stdout_text()
                ));
            }
        }
        if round > 0 {
            rates.push(n as f64 / started.elapsed().as_secs_f64());
        }
    }
    session.close().await.map_err(|e| format!("close: {e}"))?;
    Ok(rates)
}

fn get(rows: &[Row], id: &str) -> Option<f64> {
    rows.iter().find(|r| r.id == id).map(Row::median)
}

fn finish(opts: &Options, rows: &[Row]) -> ExitCode {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!();
    println!(
        "subrun grading benchmark{} — {cores} CPUs, load {}",
        if opts.quick { " (--quick)" } else { "" },
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!();
    println!(
        "{:<66} {:>12} {:>12} {:>12}  note",
        "row", "median", "min", "max"
    );
    for r in rows {
        let (lo, hi) = r
            .rates
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        println!(
            "{:<66} {:>10.0}/s {:>10.0}/s {:>10.0}/s  {} ({} rounds; {:.2} ms/case)",
            r.label,
            r.median(),
            lo,
            hi,
            r.note,
            r.rates.len(),
            1e3 / r.median()
        );
    }
    let ratio = |a: &str, b: &str| get(rows, a).zip(get(rows, b)).map(|(x, y)| x / y);
    let cli = get(rows, "c.wasi.cli");
    let vs_loop = ratio("c.wasi.cli", "c.native.loop");
    let vs_local = ratio("c.wasi.cli", "c.local.grader");
    // Per-case time of grading over the guest's own per-case time: the inverse rate ratio.
    let py = ratio("py.wasi.execute", "py.wasi.cli");
    let aims = [
        (
            "subrun grade on wasi, C cases",
            ">= 2,000 case-runs/s",
            cli.map(|c| format!("{c:.0}/s")),
            cli.map(|c| c >= 2000.0),
        ),
        (
            "subrun grade on wasi vs the native fork/exec loop",
            ">= 10x",
            vs_loop.map(|x| {
                format!(
                    "{x:.1}x (and {:.1}x the local runtime)",
                    vs_local.unwrap_or(f64::NAN)
                )
            }),
            vs_loop.map(|x| x >= 10.0),
        ),
        (
            "Python: subrun grade per case vs the guest's warm execute per case",
            "<= 1.5x",
            py.map(|x| format!("{x:.2}x")),
            py.map(|x| x <= 1.5),
        ),
    ];
    println!();
    for (name, target, observed, pass) in &aims {
        let verdict = match pass {
            Some(true) => "PASS",
            Some(false) => "MISS",
            None => "NOT MEASURED",
        };
        println!(
            "{verdict:<12} {name}: aim {target}, observed {}",
            observed.as_deref().unwrap_or("-")
        );
    }
    if let Some(path) = &opts.json {
        let doc = json!({
            "quick": opts.quick,
            "cpus": cores,
            "rows": rows.iter().map(|r| json!({
                "id": r.id, "label": r.label, "rates": r.rates, "median": r.median(), "note": r.note,
            })).collect::<Vec<_>>(),
            "aims": aims.iter().map(|(n, t, o, p)| json!({
                "name": n, "target": t, "observed": o, "pass": p,
            })).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text + "\n") {
            eprintln!("bench: write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
