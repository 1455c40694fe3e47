//! Section `cold`: the first execute in a new process, with an empty cache directory (the
//! module is compiled) and with a primed one (the compiled module is loaded from disk). The
//! bench re-executes itself (`--child`) for every sample.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Bench;
use crate::options::{ChildMode, ChildProgram, Section};
use crate::targets::Error;

/// One child process: its wall time seen from the parent (exec to exit) and its own report.
struct ChildRun {
    wall: Duration,
    report: Value,
}

impl ChildRun {
    fn secs(&self, key: &str) -> Result<Duration, Error> {
        self.report
            .get(key)
            .and_then(Value::as_f64)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("the child's report has no `{key}`: {}", self.report))
    }
}

fn flag(v: &impl clap::ValueEnum) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// Runs the bench binary as a child measuring `program` on `cache_dir`.
async fn run_child(
    mode: ChildMode,
    program: ChildProgram,
    cache_dir: &Path,
) -> Result<ChildRun, Error> {
    let exe = std::env::current_exe().map_err(|e| format!("find the bench binary: {e}"))?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("--child")
        .arg(flag(&mode))
        .arg("--program")
        .arg(flag(&program))
        .arg("--cache-dir")
        .arg(cache_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("start the child process: {e}"))?;
    let out = tokio::time::timeout(Duration::from_secs(900), child.wait_with_output())
        .await
        .map_err(|_| "the child did not finish within 15 minutes".to_string())?
        .map_err(|e| format!("wait for the child process: {e}"))?;
    let wall = started.elapsed();
    if !out.status.success() {
        return Err(format!(
            "child {mode:?} {program:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let report = serde_json::from_str(line)
        .map_err(|e| format!("the child printed no report ({e}): {stdout:?}"))?;
    Ok(ChildRun { wall, report })
}

/// Measures `program` in `n_cold` children on empty cache directories and `n_disk` children
/// on the directory the first of them filled, and adds four rows under `prefix`
/// (`<prefix>.cold.first`, `.cold.process`, `.disk.first`, `.disk.process`).
pub(crate) async fn children(
    b: &mut Bench,
    section: Section,
    prefix: &str,
    what: &str,
    program: ChildProgram,
    n_cold: usize,
    n_disk: usize,
) {
    let mut runs: Vec<(ChildMode, Result<Vec<ChildRun>, Error>)> = Vec::new();
    let primed = b.tmp.path().join(format!("{prefix}-cache-0"));
    let mut cold = Vec::new();
    let mut failed: Option<Error> = None;
    for i in 0..n_cold.max(1) {
        let dir = b.tmp.path().join(format!("{prefix}-cache-{i}"));
        match run_child(ChildMode::Cold, program, &dir).await {
            Ok(r) => cold.push(r),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let primed_ok = failed.is_none();
    runs.push((ChildMode::Cold, failed.map_or(Ok(cold), Err)));
    let disk = if primed_ok {
        let mut disk = Vec::new();
        let mut failed = None;
        for _ in 0..n_disk.max(1) {
            match run_child(ChildMode::Disk, program, &primed).await {
                Ok(r) => disk.push(r),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        failed.map_or(Ok(disk), Err)
    } else {
        Err("not run: the cold run failed".to_string())
    };
    runs.push((ChildMode::Disk, disk));

    for (mode, result) in runs {
        let (tag, how) = match mode {
            ChildMode::Cold => ("cold", "empty cache: compile"),
            ChildMode::Disk => ("disk", "from the disk cache"),
        };
        let (first, process, note) = match result {
            Ok(runs) => {
                let get = |key: &str| -> Result<Vec<Duration>, Error> {
                    runs.iter().map(|r| r.secs(key)).collect()
                };
                let note = match (get("engine_s"), get("spawn_s"), get("second_execute_s")) {
                    (Ok(e), Ok(s), Ok(w)) => format!(
                        "in child: engine new {}, spawn {}, 2nd execute {}",
                        med(e),
                        med(s),
                        med(w)
                    ),
                    _ => String::new(),
                };
                (
                    get("first_execute_s"),
                    Ok(runs.iter().map(|r| r.wall).collect()),
                    note,
                )
            }
            Err(e) => (Err(e.clone()), Err(e), String::new()),
        };
        b.push_times(
            section,
            &format!("{prefix}.{tag}.first"),
            format!("{what}: first execute, {how} (in child)"),
            first,
            note,
        );
        b.push_times(
            section,
            &format!("{prefix}.{tag}.process"),
            format!("{what}: whole new process, {how}"),
            process,
            "parent-measured: exec to exit, incl. engine and session setup",
        );
    }
    b.report.ratio(
        &format!("{prefix}.disk.first"),
        "cold/disk",
        &format!("{prefix}.cold.first"),
        &format!("{prefix}.disk.first"),
    );
    b.report.ratio(
        &format!("{prefix}.disk.process"),
        "cold/disk",
        &format!("{prefix}.cold.process"),
        &format!("{prefix}.disk.process"),
    );
}

fn med(v: Vec<Duration>) -> String {
    crate::measure::format_duration(crate::measure::Samples::new(v).median())
}

pub(crate) async fn run(b: &mut Bench) {
    let (n_cold, n_disk) = (b.opts.n(7, 2), b.opts.n(7, 2));
    children(
        b,
        Section::Cold,
        "cold.hello",
        "wasi hello.wasm",
        ChildProgram::Hello,
        n_cold,
        n_disk,
    )
    .await;
}
