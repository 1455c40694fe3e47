//! `security-report`: runs the cores of the escape, exhaustion and load suites (the same code
//! as `tests/escape.rs`, `tests/exhaustion.rs` and `tests/soak.rs`), runs each fuzz target
//! briefly through `scripts/fuzz.sh`, and prints the tables of docs/security.md as markdown.
//!
//! ```text
//! cargo run --release -p subrun-tests --bin security-report -- [OPTIONS]
//!   --runtimes LIST      comma-separated, of wasi,docker,local (default: all three)
//!   --soak-scale F       scale the load figures (default 1: 10,000/200 on wasi, 300/20 on
//!                        docker, 2,000/50 on local); 0 skips them
//!   --fuzz-seconds N     seconds per fuzz target (default 10); 0 skips fuzzing
//!   --details            also print every escape attempt and exhaustion case per runtime
//!   --out FILE           also write the report to FILE
//!   --doc FILE           also put the report into FILE (docs/security.md) in place of what
//!                        stands between its `<!-- security-report:begin -->` and
//!                        `<!-- security-report:end -->` lines
//! ```
//!
//! It exits 1 when any figure breaks a promise (an escape on wasi or docker, an exhaustion
//! case that ended wrong or late, a failure or growth under load, a fuzz crash).

#[path = "../../tests/hardening/escape.rs"]
mod escape;
#[path = "../../tests/hardening/escape_attempts.rs"]
mod escape_attempts;
#[path = "../../tests/hardening/escape_crafted.rs"]
mod escape_crafted;
#[path = "../../tests/hardening/exhaustion.rs"]
mod exhaustion;
#[path = "../../tests/hardening/host.rs"]
mod host;
#[path = "../../tests/hardening/soak.rs"]
mod soak;
#[path = "../../tests/hardening/table.rs"]
mod table;
#[path = "../../tests/hardening/tar.rs"]
mod tar;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use subrun_tests::{Kind, Target};

/// The command line.
struct Options {
    runtimes: Vec<Kind>,
    soak_scale: f64,
    fuzz_seconds: u64,
    details: bool,
    out: Option<PathBuf>,
    doc: Option<PathBuf>,
}

/// The lines of a document between which `--doc` puts the report.
const DOC_BEGIN: &str = "<!-- security-report:begin -->";
/// The line after the report.
const DOC_END: &str = "<!-- security-report:end -->";

fn usage(msg: &str) -> ! {
    eprintln!(
        "security-report: {msg}\nusage: security-report [--runtimes wasi,docker,local] [--soak-scale F] [--fuzz-seconds N] [--details] [--out FILE] [--doc FILE]"
    );
    std::process::exit(2);
}

fn parse() -> Options {
    let mut o = Options {
        runtimes: vec![Kind::Wasi, Kind::Docker, Kind::Local],
        soak_scale: 1.0,
        fuzz_seconds: 10,
        details: false,
        out: None,
        doc: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--runtimes" => {
                o.runtimes = value()
                    .split(',')
                    .map(|r| match r.trim() {
                        "wasi" => Kind::Wasi,
                        "docker" => Kind::Docker,
                        "local" => Kind::Local,
                        other => usage(&format!("unknown runtime `{other}`")),
                    })
                    .collect();
            }
            "--soak-scale" => {
                o.soak_scale = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--soak-scale takes a number"));
            }
            "--fuzz-seconds" => {
                o.fuzz_seconds = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--fuzz-seconds takes a whole number"));
            }
            "--details" => o.details = true,
            "--out" => o.out = Some(PathBuf::from(value())),
            "--doc" => o.doc = Some(PathBuf::from(value())),
            "-h" | "--help" => usage("the tables of docs/security.md"),
            other => usage(&format!("unknown argument `{other}`")),
        }
    }
    o
}

fn name(kind: Kind) -> &'static str {
    match kind {
        Kind::Wasi => "wasi",
        Kind::Docker => "docker",
        Kind::Local => "local",
    }
}

fn main() -> ExitCode {
    let options = parse();
    // A private temp root, so the load figures count this run's temporary directories only,
    // and a host variable no guest may ever see. Set before any thread exists.
    let root = tempfile::Builder::new()
        .prefix("security-report-")
        .tempdir()
        .expect("a private temp root");
    let secret = format!("subrun-report-{}-secret-value", std::process::id());
    // SAFETY: nothing else runs yet (the tokio runtime is created on first use, below), so no
    // thread reads the environment while it changes.
    unsafe {
        std::env::set_var("TMPDIR", root.path());
        std::env::set_var("SUBRUN_REPORT_HOST_SECRET", &secret);
    }
    let started = Instant::now();
    let mut problems: Vec<String> = Vec::new();
    let mut report = String::new();
    let _ = writeln!(
        report,
        "<!-- produced by `cargo run --release -p subrun-tests --bin security-report` ({}) -->\n",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    subrun_tests::block_on(async {
        let mut targets: Vec<&'static Target> = Vec::new();
        for kind in &options.runtimes {
            targets.push(Target::get(*kind).await);
        }
        escape_section(&targets, &options, &mut report, &mut problems).await;
        exhaustion_section(&targets, &options, &mut report, &mut problems).await;
        if options.soak_scale > 0.0 {
            soak_section(&targets, &options, root.path(), &mut report, &mut problems).await;
        }
    });
    if options.fuzz_seconds > 0 {
        fuzz_section(options.fuzz_seconds, &mut report, &mut problems);
    }
    let _ = writeln!(
        report,
        "\nReport took {:.0} s. {}",
        started.elapsed().as_secs_f64(),
        if problems.is_empty() {
            "Every figure holds its promise.".to_string()
        } else {
            format!(
                "**{} problems:**\n\n- {}",
                problems.len(),
                problems.join("\n- ")
            )
        }
    );
    print!("{report}");
    if let Some(path) = &options.out {
        std::fs::write(path, &report)
            .unwrap_or_else(|e| eprintln!("security-report: write {}: {e}", path.display()));
    }
    if let Some(path) = &options.doc {
        if let Err(e) = splice_into(path, &report) {
            eprintln!("security-report: {e}");
            return ExitCode::FAILURE;
        }
        eprintln!("security-report: the report is in {}", path.display());
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Replaces what stands between the [`DOC_BEGIN`] and [`DOC_END`] lines of `path` with
/// `report`; the rest of the document is kept byte for byte.
fn splice_into(path: &Path, report: &str) -> Result<(), String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let marker = |m: &str| {
        text.find(m)
            .ok_or_else(|| format!("{} has no `{m}` line to put the report at", path.display()))
    };
    let (begin, end) = (marker(DOC_BEGIN)? + DOC_BEGIN.len(), marker(DOC_END)?);
    if end < begin {
        return Err(format!(
            "{}: `{DOC_END}` comes before `{DOC_BEGIN}`",
            path.display()
        ));
    }
    let spliced = format!(
        "{}\n{}\n{}",
        &text[..begin],
        report.trim_end(),
        &text[end..]
    );
    std::fs::write(path, spliced).map_err(|e| format!("write {}: {e}", path.display()))
}

async fn escape_section(
    targets: &[&'static Target],
    options: &Options,
    report: &mut String,
    problems: &mut Vec<String>,
) {
    let mut all = Vec::new();
    for t in targets {
        eprintln!("security-report: escape attempts on {}", name(t.kind));
        let findings = escape::run_all(t).await;
        problems.extend(
            escape::unexpected(t.kind, &findings)
                .into_iter()
                .map(|p| format!("escape on {}: {p}", name(t.kind))),
        );
        all.push((t.kind, findings));
    }
    let _ = writeln!(report, "### Escape attempts\n");
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|(kind, findings)| {
            let (tried, escaped, contained, blocked, na) = escape::counts(findings);
            let expected = findings
                .iter()
                .filter(|f| f.verdict == escape::Verdict::Escaped && f.as_expected(*kind))
                .count();
            vec![
                name(*kind).to_string(),
                tried.to_string(),
                match kind {
                    Kind::Local => {
                        format!("{escaped} (all {expected} documented: local isolates nothing)")
                    }
                    Kind::Wasi | Kind::Docker => escaped.to_string(),
                },
                contained.to_string(),
                blocked.to_string(),
                na.to_string(),
            ]
        })
        .collect();
    report.push_str(&table::render(
        &[
            "runtime",
            "attempts",
            "escaped",
            "contained",
            "blocked",
            "n/a",
        ],
        &rows,
    ));
    // Per group: how many attempts each runtime held.
    let mut groups: Vec<&'static str> = Vec::new();
    for (_, findings) in &all {
        for f in findings {
            if !groups.contains(&f.group) {
                groups.push(f.group);
            }
        }
    }
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let mut row = vec![(*g).to_string()];
            for (_, findings) in &all {
                let of: Vec<_> = findings.iter().filter(|f| f.group == *g).collect();
                let n = |v: escape::Verdict| of.iter().filter(|f| f.verdict == v).count();
                let tried = of.len() - n(escape::Verdict::NotApplicable);
                row.push(if tried == 0 {
                    "n/a".into()
                } else if n(escape::Verdict::Escaped) == 0 {
                    format!("{tried}/{tried} held")
                } else {
                    format!("{} of {tried} escaped", n(escape::Verdict::Escaped))
                });
            }
            row
        })
        .collect();
    let mut header = vec!["group"];
    header.extend(all.iter().map(|(k, _)| name(*k)));
    let _ = writeln!(report);
    report.push_str(&table::render(&header, &rows));
    if options.details {
        for (kind, findings) in &all {
            let _ = writeln!(report, "\n#### Escape attempts on {}\n", name(*kind));
            report.push_str(&escape::findings_table(*kind, findings));
        }
    }
}

async fn exhaustion_section(
    targets: &[&'static Target],
    options: &Options,
    report: &mut String,
    problems: &mut Vec<String>,
) {
    let mut all = Vec::new();
    for t in targets {
        eprintln!("security-report: exhaustion cases on {}", name(t.kind));
        let start = host::HostUsage::now();
        let results = exhaustion::run_matching(t, "").await;
        problems.extend(
            exhaustion::problems(start, &results)
                .into_iter()
                .map(|p| format!("exhaustion on {}: {p}", name(t.kind))),
        );
        all.push((t.kind, start, results));
    }
    let _ = writeln!(report, "\n### Exhaustion\n");
    let Some((_, _, first)) = all.first() else {
        return;
    };
    let rows: Vec<Vec<String>> = (0..first.len())
        .map(|i| {
            let mut row = vec![
                first[i].name.to_string(),
                format!("{} ms", first[i].deadline.as_millis()),
            ];
            for (_, _, results) in &all {
                let r = &results[i];
                row.push(if !r.applies {
                    format!("n/a ({})", r.note)
                } else {
                    format!(
                        "{}, {} ms{}",
                        r.outcome,
                        r.elapsed.as_millis(),
                        if r.problems.is_empty() {
                            ""
                        } else {
                            " **FAILED**"
                        }
                    )
                });
            }
            row
        })
        .collect();
    let mut header = vec!["case", "deadline"];
    header.extend(all.iter().map(|(k, _, _)| name(*k)));
    report.push_str(&table::render(&header, &rows));
    let _ = writeln!(
        report,
        "\nEvery case is followed by a command on the same runtime, which must work. Host \
         process while the cases ran (bound on its growth: {} MiB):\n",
        host::mib(exhaustion::HOST_GROWTH_BOUND_KIB)
    );
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|(kind, start, results)| {
            let peak = results
                .iter()
                .map(|r| r.after.hwm_kib)
                .max()
                .unwrap_or(start.hwm_kib);
            let last = results.last().map_or(*start, |r| r.after);
            vec![
                name(*kind).to_string(),
                format!("{} MiB", host::mib(start.rss_kib)),
                format!("{} MiB", host::mib(last.rss_kib)),
                format!("{} MiB", host::mib(peak)),
                format!("{} → {}", start.fds, last.fds),
                format!("{} → {}", start.threads, last.threads),
            ]
        })
        .collect();
    report.push_str(&table::render(
        &[
            "runtime",
            "RSS before",
            "RSS after",
            "peak RSS",
            "fds",
            "threads",
        ],
        &rows,
    ));
    if options.details {
        for (kind, _, results) in &all {
            let _ = writeln!(report, "\n#### Exhaustion on {}\n", name(*kind));
            report.push_str(&exhaustion::results_table(results));
        }
    }
}

async fn soak_section(
    targets: &[&'static Target],
    options: &Options,
    root: &Path,
    report: &mut String,
    problems: &mut Vec<String>,
) {
    let mut reports = Vec::new();
    for t in targets {
        let plan = soak::Plan::full(t.kind).scaled(options.soak_scale);
        eprintln!(
            "security-report: load on {}: {} sequential, {} rounds of {} concurrent",
            name(t.kind),
            plan.sequential,
            plan.rounds,
            plan.concurrent
        );
        let r = soak::run(t, plan, root).await;
        problems.extend(soak::problems(&r));
        reports.push(r);
    }
    let _ = writeln!(
        report,
        "\n### Load and soak\n\nFigures at the start of each phase, after its warm-up (the \
         first tenth of the sequential runs; the first concurrent round) and at its end.\n"
    );
    report.push_str(&soak::table(&reports));
}

/// Runs `scripts/fuzz.sh SECONDS` and turns its summary into a table.
fn fuzz_section(seconds: u64, report: &mut String, problems: &mut Vec<String>) {
    let _ = writeln!(report, "\n### Fuzz targets\n");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fuzz.sh");
    let missing = |why: String| {
        format!(
            "| (fuzz targets) | **not run: {why}; run `scripts/fuzz.sh {seconds}` and fill this row** | | |\n"
        )
    };
    if !script.exists() {
        report.push_str(&table::render(&["target", "runs", "time", "crashes"], &[]));
        report.push_str(&missing(format!("{} is missing", script.display())));
        return;
    }
    eprintln!("security-report: fuzzing each target for {seconds} s");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(seconds.to_string())
        .stderr(std::process::Stdio::inherit())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            report.push_str(&table::render(&["target", "runs", "time", "crashes"], &[]));
            report.push_str(&missing(format!("cannot start it: {e}")));
            problems.push(format!("fuzz: cannot run {}: {e}", script.display()));
            return;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        if line.starts_with("target ") {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("fuzz:") || line.trim().is_empty() {
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        if let [target, runs, time, _cov_start, _cov_end, crashes] = w.as_slice() {
            rows.push(vec![
                (*target).to_string(),
                (*runs).to_string(),
                (*time).to_string(),
                (*crashes).to_string(),
            ]);
            if *crashes != "0" {
                problems.push(format!("fuzz: {target} found {crashes} crashes"));
            }
        }
    }
    report.push_str(&table::render(
        &["target", "runs", "time", "crashes"],
        &rows,
    ));
    if rows.is_empty() {
        report.push_str(&missing(format!(
            "scripts/fuzz.sh printed no summary (exit {:?})",
            out.status.code()
        )));
    }
    if !out.status.success() {
        problems.push(format!(
            "fuzz: scripts/fuzz.sh exited {:?}",
            out.status.code()
        ));
    }
}
