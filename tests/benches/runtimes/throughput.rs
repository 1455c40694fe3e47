//! Section `throughput`: hello-world executions per second on `wasi` with 1, 2, 8 and 64
//! executions in flight, as tokio tasks sharing one runtime, and as as many runtimes with
//! one task each.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use subrun::{ExecRequest, SubmissionRuntime};
use subrun_tests::fixtures::Fixture;

use crate::Bench;
use crate::cpu_use::{CpuSnapshot, CpuUse};
use crate::hello::HELLO;
use crate::measure::Rates;
use crate::options::Section;
use crate::report::Measure;
use crate::targets::{Error, expect_stdout, spawn};

/// How the in-flight executions are spread.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `c` tasks on one spawned runtime.
    OneRuntime,
    /// `c` spawned runtimes, one task each.
    RuntimePerTask,
}

/// One round: `total` executions by `runtimes.len()`-spread `c` tasks; returns executions per
/// second (start of the first to end of the last).
async fn round(
    runtimes: &[Arc<dyn SubmissionRuntime>],
    cmd: &str,
    c: usize,
    total: usize,
) -> Result<f64, Error> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(c);
    for i in 0..c {
        let rt = runtimes[i % runtimes.len()].clone();
        let next = next.clone();
        let cmd = cmd.to_string();
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let r = rt
                    .execute(ExecRequest::new(cmd.as_str()))
                    .await
                    .map_err(|e| format!("execute: {}", subrun_tests::target::chain(&e)))?;
                expect_stdout(&r, HELLO)?;
            }
            Ok::<_, Error>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| format!("a task panicked: {e}"))??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

async fn measure(b: &Bench, layout: Layout, c: usize) -> Result<(Vec<f64>, CpuUse), Error> {
    let session = b.wasi.session("", None).await?;
    let count = match layout {
        Layout::OneRuntime => 1,
        Layout::RuntimePerTask => c,
    };
    let mut runtimes = Vec::with_capacity(count);
    for _ in 0..count {
        runtimes.push(spawn(&session).await?);
    }
    let cmd = b.wasi.cmd(Fixture::Hello, &[]);
    let total = b.opts.n(5000, 500);
    // Warm-up round: compiled module in memory, pool slots and tokio workers touched.
    round(&runtimes, &cmd, c, total / 5).await?;
    let mut rates = Vec::new();
    let cpu = CpuSnapshot::take();
    for _ in 0..b.opts.n(5, 2) {
        rates.push(round(&runtimes, &cmd, c, total).await?);
    }
    let cpu = cpu.elapsed();
    session
        .close()
        .await
        .map_err(|e| format!("close the session: {e}"))?;
    Ok((rates, cpu))
}

pub(crate) async fn run(b: &mut Bench) {
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    let total = b.opts.n(5000, 500);
    for (layout, levels) in [
        (Layout::OneRuntime, &[1usize, 2, 8, 64][..]),
        (Layout::RuntimePerTask, &[2, 8, 64][..]),
    ] {
        for &c in levels {
            let (id, label) = match layout {
                Layout::OneRuntime => (
                    format!("throughput.wasi.one_runtime.{c}"),
                    format!(
                        "wasi: {c} concurrent, 1 runtime × {c} task{}",
                        if c == 1 { "" } else { "s" }
                    ),
                ),
                Layout::RuntimePerTask => (
                    format!("throughput.wasi.runtime_per_task.{c}"),
                    format!("wasi: {c} concurrent, {c} runtimes × 1 task"),
                ),
            };
            let (measure, note) = match measure(b, layout, c).await {
                Ok((rates, cpu)) => {
                    let executions = (total * rates.len()) as f64;
                    let per_exec = cpu.process.as_secs_f64() / executions;
                    let busy = cpu
                        .system_busy
                        .map_or_else(String::new, |s| format!(", machine {:.0}% busy", s * 100.0));
                    let note = format!(
                        "bench used {:.2} of {workers} cores{busy}; {:.1} µs CPU/exec",
                        cpu.process_cores(),
                        per_exec * 1e6
                    );
                    (Measure::Rate(Rates::new(rates)), note)
                }
                Err(e) => (Measure::Failed(e), String::new()),
            };
            b.report
                .push(Section::Throughput, &id, label, measure, note);
            if c > 1 {
                b.report
                    .ratio(&id, "vs 1", &id, "throughput.wasi.one_runtime.1");
            }
        }
    }
}
