//! # subrun runtime benchmark
//!
//! One run, one table: warm `execute` on `wasi` against `local`; the first run in a new
//! process, compiled and from the disk cache; executions per second at 1, 2, 8 and 64 in
//! flight; a CPU-bound guest against native; spawn and execute on `docker`; the Python and
//! QuickJS guests against the host's interpreters. Medians, p90s and ratios, and the aims of
//! the issues marked PASS or MISS. See `docs/benchmarks.md`.
//!
//! ```text
//! cargo bench -p subrun-tests --bench runtimes [-- --quick] [-- --json FILE] [-- --only cold,cpu]
//! ```
//!
//! Rows that cannot be measured on this machine (no Docker engine, no test image, no guest
//! files) say so as `unavailable: <reason>`; the run still exits 0. A row whose operation does
//! the wrong thing (wrong output, an engine error) is `FAILED` and the run exits 1.

mod child;
mod cold;
mod cpu;
mod cpu_use;
mod docker;
mod guests;
mod hello;
mod measure;
mod options;
mod report;
mod targets;
mod throughput;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser as _;
use tempfile::TempDir;

use crate::measure::Samples;
use crate::options::{Options, Section};
use crate::report::{Measure, Report};
use crate::targets::{Error, Runtime, wasi_factory};

/// What every section works with.
pub(crate) struct Bench {
    pub(crate) opts: Options,
    /// Cache directories of this run (the engine's and the children's); removed at the end.
    pub(crate) tmp: TempDir,
    pub(crate) wasi: Runtime,
    pub(crate) local: Runtime,
    pub(crate) report: Report,
}

impl Bench {
    /// Adds a time row from samples, or a failed row from the error.
    pub(crate) fn push_times(
        &mut self,
        section: Section,
        id: &str,
        label: impl Into<String>,
        samples: Result<Vec<Duration>, Error>,
        note: impl Into<String>,
    ) {
        let measure = match samples {
            Ok(s) => Measure::Time(Samples::new(s)),
            Err(e) => Measure::Failed(e),
        };
        self.report.push(section, id, label, measure, note);
    }
}

fn main() -> ExitCode {
    let started = Instant::now();
    let opts = Options::parse();
    if let Some(mode) = opts.child {
        let (Some(dir), Some(program)) = (&opts.cache_dir, opts.program) else {
            eprintln!("--child needs --cache-dir and --program");
            return ExitCode::FAILURE;
        };
        return child::main(mode, program, dir, started);
    }
    match run(opts) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(opts: Options) -> Result<ExitCode, Error> {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("build the tokio runtime: {e}"))?;
    let tmp = tempfile::Builder::new()
        .prefix("subrun-bench-")
        .tempdir()
        .map_err(|e| format!("create a temporary directory: {e}"))?;
    let wasi = Runtime::wasi(wasi_factory(&tmp.path().join("engine-cache"))?);
    let json = opts.json.clone();
    let mut bench = Bench {
        opts,
        tmp,
        wasi,
        local: Runtime::local(),
        report: Report::default(),
    };
    let load_before = load();
    let started = Instant::now();
    eprintln!(
        "subrun runtime benchmark{}: {} CPUs, load {load_before}",
        if bench.opts.quick { " (--quick)" } else { "" },
        cpus()
    );
    for section in Section::ALL {
        if !bench.opts.runs(section) {
            continue;
        }
        eprintln!("== {}", section.name());
        let b = &mut bench;
        tokio.block_on(async move {
            match section {
                Section::Hello => hello::run(b).await,
                Section::Cold => cold::run(b).await,
                Section::Throughput => throughput::run(b).await,
                Section::Cpu => cpu::run(b).await,
                Section::Docker => docker::run(b).await,
                Section::Guests => guests::run(b).await,
            }
        });
    }
    let load_after = load();
    let took = started.elapsed();
    println!();
    println!(
        "subrun runtime benchmark{} — {} CPUs; load average before {load_before}, after {load_after}; {:.0} s",
        if bench.opts.quick { " (--quick)" } else { "" },
        cpus(),
        took.as_secs_f64()
    );
    println!();
    print!("{}", bench.report.table());
    println!();
    print!("{}", bench.report.aims_text());
    if let Some(path) = json {
        let mut doc = bench.report.to_json();
        if let Some(o) = doc.as_object_mut() {
            o.insert("quick".into(), bench.opts.quick.into());
            o.insert("cpus".into(), cpus().into());
            o.insert("load_before".into(), load_before.into());
            o.insert("load_after".into(), load_after.into());
            o.insert("seconds".into(), took.as_secs_f64().into());
        }
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| format!("serialize the results: {e}"))?;
        std::fs::write(&path, text + "\n").map_err(|e| format!("write {}: {e}", path.display()))?;
        eprintln!("results written to {}", path.display());
    }
    Ok(if bench.report.any_failed() {
        eprintln!("bench: some rows FAILED (see the table)");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`).
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
