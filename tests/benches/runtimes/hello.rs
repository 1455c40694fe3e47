//! Section `hello`: warm `execute` of the hello-world fixture on `wasi` against `local`
//! running the same program built natively.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use subrun_tests::fixtures::{self, Fixture};

use crate::Bench;
use crate::cpu_use::{CpuSnapshot, CpuUse};
use crate::options::Section;
use crate::targets::{Error, Runtime, expect_stdout, spawn, timed_execute};

/// What the hello fixture prints.
pub(crate) const HELLO: &str = "hello, world\n";

/// Warm executes of one runtime, and the CPU this process spent on the timed ones.
pub(crate) struct Warm {
    pub(crate) samples: Vec<Duration>,
    pub(crate) cpu: Option<CpuUse>,
}

impl Warm {
    /// "N µs CPU/exec" (this process only: a local command's own CPU is not in it).
    pub(crate) fn cpu_note(&self) -> String {
        match &self.cpu {
            Some(cpu) if !self.samples.is_empty() => format!(
                "{:.1} µs CPU/exec in the bench process",
                cpu.process.as_secs_f64() * 1e6 / self.samples.len() as f64
            ),
            _ => String::new(),
        }
    }
}

/// Measures warm executes of `hello` on `runtime`: one session and one spawned runtime, then
/// `warmup` untimed executes (the first compiles, on wasi) and `n` timed ones, each checked.
pub(crate) async fn warm_executes(
    runtime: &Runtime,
    warmup: usize,
    n: usize,
) -> Result<Warm, Error> {
    let session = runtime.session("", None).await?;
    let rt = spawn(&session).await?;
    let cmd = runtime.cmd(Fixture::Hello, &[]);
    let mut samples = Vec::with_capacity(n);
    let mut cpu = None;
    for i in 0..warmup + n {
        if i == warmup {
            cpu = Some(CpuSnapshot::take());
        }
        let (took, r) = timed_execute(rt.as_ref(), &cmd).await?;
        expect_stdout(&r, HELLO)?;
        if i >= warmup {
            samples.push(took);
        }
    }
    let cpu = cpu.map(|c| c.elapsed());
    session
        .close()
        .await
        .map_err(|e| format!("close the session: {e}"))?;
    Ok(Warm { samples, cpu })
}

/// The reference without any runtime: `sh -c <native hello>` through `tokio::process`, stdout
/// and stderr piped and read to the end, as a bare process start costs here.
async fn bare_process(warmup: usize, n: usize) -> Result<Vec<Duration>, Error> {
    let exe = Path::new(fixtures::NATIVE_DIR).join(Fixture::Hello.name());
    let mut samples = Vec::with_capacity(n);
    for i in 0..warmup + n {
        let mut cmd = tokio::process::Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(&exe)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let out = cmd
            .output()
            .await
            .map_err(|e| format!("run {}: {e}", exe.display()))?;
        let took = started.elapsed();
        if !out.status.success() || out.stdout != HELLO.as_bytes() {
            return Err(format!(
                "bare {}: {:?} {:?}",
                exe.display(),
                out.status,
                out.stdout
            ));
        }
        if i >= warmup {
            samples.push(took);
        }
    }
    Ok(samples)
}

pub(crate) async fn run(b: &mut Bench) {
    let wasi = warm_executes(&b.wasi, b.opts.n(500, 50), b.opts.n(5000, 300)).await;
    let note = wasi.as_ref().map(Warm::cpu_note).unwrap_or_default();
    b.push_times(
        Section::Hello,
        "hello.wasi.execute",
        "wasi: warm execute, hello.wasm",
        wasi.map(|w| w.samples),
        format!("one runtime; timed: execute() alone; {note}"),
    );
    let local = warm_executes(&b.local, b.opts.n(20, 5), b.opts.n(500, 50)).await;
    b.push_times(
        Section::Hello,
        "hello.local.execute",
        "local: warm execute, native hello",
        local.map(|w| w.samples),
        "sh -c <static binary> in its own process group",
    );
    let bare = bare_process(b.opts.n(20, 5), b.opts.n(500, 50)).await;
    b.push_times(
        Section::Hello,
        "hello.process.bare",
        "reference: bare process start, sh -c native hello",
        bare,
        "tokio::process, no runtime, no limits: the floor for local",
    );
    for (id, label) in [
        ("hello.local.execute", "local/wasi"),
        ("hello.process.bare", "bare/wasi"),
    ] {
        b.report.ratio(id, label, id, "hello.wasi.execute");
    }
}
