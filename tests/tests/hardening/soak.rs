//! The load and soak core: many sequential executions (a fresh session every few), then
//! rounds of many concurrent ones, with zero failures, and no growth in the host process's
//! open descriptors, threads, resident memory, subrun temporary directories or containers
//! once warmed up.
//!
//! The caller runs it in a process of its own whose temp root is private (so the temporary
//! directories counted are this run's only, and no other test shares the process).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use subrun::{ExecRequest, Outcome, Registry, Session, SpawnOptions, SubmissionRuntime};
use subrun_tests::fixtures::{self, Fixture};
use subrun_tests::{Kind, Target};

use crate::host::{HostUsage, mib};
use crate::table;

/// How much load a runtime gets.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    /// Sequential executions.
    pub(crate) sequential: usize,
    /// Executions per session in the sequential phase (a new session, workspace and runtime
    /// after each batch).
    pub(crate) per_session: usize,
    /// Executions in flight at once in the concurrent phase.
    pub(crate) concurrent: usize,
    /// Rounds of the concurrent phase (the first is its warm-up).
    pub(crate) rounds: usize,
    /// Every this many executions, one spins into a 100 ms deadline instead (the kill path).
    pub(crate) timeout_every: usize,
}

impl Plan {
    /// The figures: 10,000 sequential and 200 concurrent on wasi; proportionate
    /// numbers on docker (each execution costs tens of milliseconds) and local.
    pub(crate) fn full(kind: Kind) -> Self {
        match kind {
            Kind::Wasi => Self {
                sequential: 10_000,
                per_session: 10,
                concurrent: 200,
                rounds: 5,
                timeout_every: 500,
            },
            Kind::Docker => Self {
                sequential: 300,
                per_session: 30,
                concurrent: 20,
                rounds: 3,
                timeout_every: 100,
            },
            Kind::Local => Self {
                sequential: 2_000,
                per_session: 10,
                concurrent: 50,
                rounds: 5,
                timeout_every: 200,
            },
        }
    }

    /// The plan scaled by `factor` (at least one session and one round of each phase).
    pub(crate) fn scaled(self, factor: f64) -> Self {
        let s = |n: usize, min: usize| ((n as f64 * factor).round() as usize).max(min);
        Self {
            sequential: s(self.sequential, self.per_session * 2),
            concurrent: s(self.concurrent, 2),
            rounds: self.rounds.max(2),
            ..self
        }
    }
}

/// How much the host may hold after warm-up beyond what it held at the warm-up checkpoint.
/// Fixed amounts, not proportional to the number of executions, so a leak of one descriptor
/// or thread per execution (or a few KiB each) cannot hide in them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tolerance {
    /// Descriptors: the Docker client's connection pool opens and closes sockets as load
    /// varies.
    pub(crate) fds: usize,
    /// Threads, after up to [`SETTLE`] for tokio's idle blocking threads to exit.
    pub(crate) threads: usize,
    /// Resident memory, KiB: the allocator keeps freed pages and arenas it grew under load.
    pub(crate) rss_kib: u64,
}

/// The tolerance the soak asserts.
pub(crate) const TOLERANCE: Tolerance = Tolerance {
    fds: 8,
    threads: 4,
    rss_kib: 32 << 10,
};

/// How long threads get to settle (tokio's blocking pool keeps idle threads for 10 s).
pub(crate) const SETTLE: Duration = Duration::from_secs(15);

/// One reading: the process and the subrun temp dirs and containers of this run.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Reading {
    pub(crate) host: HostUsage,
    pub(crate) temp_dirs: usize,
    pub(crate) containers: usize,
}

/// One phase's figures.
#[derive(Clone, Debug)]
pub(crate) struct Phase {
    pub(crate) name: &'static str,
    pub(crate) executions: usize,
    pub(crate) failures: usize,
    pub(crate) first_failures: Vec<String>,
    pub(crate) took: Duration,
    pub(crate) start: Reading,
    pub(crate) warm: Reading,
    pub(crate) end: Reading,
}

/// A runtime's soak figures.
#[derive(Clone, Debug)]
pub(crate) struct Report {
    pub(crate) kind: Kind,
    pub(crate) phases: Vec<Phase>,
}

/// The subrun entries (`subrun-*`: workspaces, static roots) under the temp root.
fn temp_dirs() -> usize {
    std::fs::read_dir(std::env::temp_dir()).map_or(0, |rd| {
        rd.flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("subrun-"))
            .count()
    })
}

struct Load {
    t: &'static Target,
    registry: Registry,
    docker: Option<subrun_docker::DockerRuntimeFactory>,
    sessions: std::sync::Mutex<Vec<String>>,
}

impl Load {
    async fn reading(&self) -> Reading {
        let containers = match &self.docker {
            None => 0,
            Some(f) => {
                let mine = self.sessions.lock().expect("sessions").clone();
                f.leftovers(&subrun_docker::LeftoverFilter::all())
                    .await
                    .expect("list containers")
                    .iter()
                    .filter(|c| mine.contains(&c.session))
                    .count()
            }
        };
        Reading {
            host: HostUsage::now(),
            temp_dirs: temp_dirs(),
            containers,
        }
    }

    async fn session(&self) -> Result<(Session, Arc<dyn SubmissionRuntime>), String> {
        let dir = if self.t.kind == Kind::Wasi {
            fixtures::WASM_DIR
        } else {
            fixtures::NATIVE_DIR
        };
        let s = Session::builder(&self.registry, self.t.spec(""))
            .asset("fixtures", dir)
            .prepare()
            .await
            .map_err(|e| format!("prepare: {}", subrun_tests::target::chain(&e)))?;
        self.sessions
            .lock()
            .expect("sessions")
            .push(s.id().to_string());
        let rt = s
            .spawn(SpawnOptions::new())
            .await
            .map_err(|e| format!("spawn: {}", subrun_tests::target::chain(&e)))?;
        Ok((s, rt))
    }
}

/// One execution of the mix, checked: hello, stdin echoed back, an exit status, and every
/// `timeout_every`-th a spin ended by a 100 ms deadline.
async fn one(
    t: &Target,
    rt: &Arc<dyn SubmissionRuntime>,
    i: usize,
    timeout_every: usize,
) -> Result<(), String> {
    let (req, expect_out, expect): (ExecRequest, String, Outcome) =
        if i % timeout_every == timeout_every - 1 {
            (
                ExecRequest::new(t.cmd(Fixture::Spin, &[])).timeout(Duration::from_millis(100)),
                String::new(),
                Outcome::TimedOut,
            )
        } else {
            match i % 3 {
                0 => (
                    ExecRequest::new(t.cmd(Fixture::Hello, &[])),
                    "hello, world\n".into(),
                    Outcome::Exited { code: 0 },
                ),
                1 => {
                    let line = format!("line {i}\n");
                    (
                        ExecRequest::new(t.cmd(Fixture::EchoStdin, &[]))
                            .stdin(line.clone().into_bytes()),
                        line,
                        Outcome::Exited { code: 0 },
                    )
                }
                _ => (
                    ExecRequest::new(t.cmd(Fixture::ExitCode, &["3"])),
                    String::new(),
                    Outcome::Exited { code: 3 },
                ),
            }
        };
    let r = rt
        .execute(req)
        .await
        .map_err(|e| format!("execution {i}: {}", subrun_tests::target::chain(&e)))?;
    if r.outcome != expect || r.stdout_text() != expect_out {
        return Err(format!(
            "execution {i}: {:?} {:?} (stderr {:?}), expected {expect:?} {expect_out:?}",
            r.outcome,
            r.stdout_text(),
            r.stderr_text()
        ));
    }
    Ok(())
}

fn failed(phase: &mut Phase, e: String) {
    phase.failures += 1;
    if phase.first_failures.len() < 5 {
        phase.first_failures.push(e);
    }
}

/// Waits up to [`SETTLE`] for the thread count to come back within `limit`.
async fn settle_threads(limit: usize) {
    let until = Instant::now() + SETTLE;
    while HostUsage::now().threads > limit && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs the plan on `t` and returns its figures.
///
/// # Panics
/// When the process's temp root is shared (the temp dirs would not be this run's).
pub(crate) async fn run(t: &'static Target, plan: Plan, private_temp_root: &Path) -> Report {
    assert_eq!(
        std::env::temp_dir(),
        private_temp_root,
        "the soak counts subrun temp dirs: run it with TMPDIR set to a private directory"
    );
    let probe = t.session_with("", |b| b).await;
    let mut registry = Registry::new();
    registry
        .register(probe.factory().clone())
        .expect("register");
    probe.close().await.expect("close");
    let docker = match t.kind {
        Kind::Docker => Some(
            subrun_docker::DockerRuntimeFactory::connect()
                .await
                .expect("docker"),
        ),
        Kind::Wasi | Kind::Local => None,
    };
    let load = Load {
        t,
        registry,
        docker,
        sessions: std::sync::Mutex::new(Vec::new()),
    };
    let mut phases = Vec::new();

    // Sequential: a fresh session every `per_session` executions; warm-up is the first 10%.
    let start = load.reading().await;
    let mut phase = Phase {
        name: "sequential",
        executions: 0,
        failures: 0,
        first_failures: Vec::new(),
        took: Duration::ZERO,
        start,
        warm: start,
        end: start,
    };
    let began = Instant::now();
    let sessions = plan.sequential.div_ceil(plan.per_session);
    let warm_after = (sessions / 10).max(1);
    for n in 0..sessions {
        match load.session().await {
            Err(e) => failed(&mut phase, e),
            Ok((s, rt)) => {
                for j in 0..plan.per_session {
                    let i = n * plan.per_session + j;
                    if i >= plan.sequential {
                        break;
                    }
                    phase.executions += 1;
                    if let Err(e) = one(t, &rt, i, plan.timeout_every).await {
                        failed(&mut phase, e);
                    }
                }
                if let Err(e) = s.close().await {
                    failed(&mut phase, format!("close: {e}"));
                }
            }
        }
        if n + 1 == warm_after {
            phase.warm = load.reading().await;
        }
    }
    phase.took = began.elapsed();
    settle_threads(phase.warm.host.threads + TOLERANCE.threads).await;
    phase.end = load.reading().await;
    phases.push(phase);

    // Concurrent: rounds of `concurrent` executions in flight at once, ten per runtime.
    let start = load.reading().await;
    let mut phase = Phase {
        name: "concurrent",
        executions: 0,
        failures: 0,
        first_failures: Vec::new(),
        took: Duration::ZERO,
        start,
        warm: start,
        end: start,
    };
    let began = Instant::now();
    for round in 0..plan.rounds {
        let mut runtimes = Vec::new();
        for _ in 0..plan.concurrent.div_ceil(10) {
            match load.session().await {
                Ok(pair) => runtimes.push(pair),
                Err(e) => failed(&mut phase, e),
            }
        }
        let mut tasks = Vec::new();
        for i in 0..plan.concurrent {
            let Some((_, rt)) = runtimes.get(i % runtimes.len().max(1)) else {
                break;
            };
            let rt = rt.clone();
            let index = round * plan.concurrent + i;
            let every = plan.timeout_every;
            tasks.push(tokio::spawn(async move { one(t, &rt, index, every).await }));
        }
        for task in futures::future::join_all(tasks).await {
            phase.executions += 1;
            match task {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failed(&mut phase, e),
                Err(e) => failed(&mut phase, format!("task: {e}")),
            }
        }
        for (s, _) in runtimes {
            if let Err(e) = s.close().await {
                failed(&mut phase, format!("close: {e}"));
            }
        }
        if round == 0 {
            settle_threads(start.host.threads + TOLERANCE.threads).await;
            phase.warm = load.reading().await;
        }
    }
    phase.took = began.elapsed();
    settle_threads(phase.warm.host.threads + TOLERANCE.threads).await;
    phase.end = load.reading().await;
    phases.push(phase);
    Report {
        kind: t.kind,
        phases,
    }
}

/// What in `report` breaks the promise: failures, or growth after warm-up beyond
/// [`TOLERANCE`]; temp dirs and containers must be back to where they started.
pub(crate) fn problems(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for p in &report.phases {
        let what = format!("{:?} {}", report.kind, p.name);
        if p.failures > 0 {
            out.push(format!(
                "{what}: {} failures, first: {:?}",
                p.failures, p.first_failures
            ));
        }
        let (w, e) = (p.warm, p.end);
        if e.host.fds > w.host.fds + TOLERANCE.fds {
            out.push(format!(
                "{what}: open descriptors grew from {} to {}",
                w.host.fds, e.host.fds
            ));
        }
        if e.host.threads > w.host.threads + TOLERANCE.threads {
            out.push(format!(
                "{what}: threads grew from {} to {}",
                w.host.threads, e.host.threads
            ));
        }
        if e.host.rss_kib > w.host.rss_kib + TOLERANCE.rss_kib {
            out.push(format!(
                "{what}: resident memory grew from {} to {} MiB",
                mib(w.host.rss_kib),
                mib(e.host.rss_kib)
            ));
        }
        if e.temp_dirs > p.start.temp_dirs {
            out.push(format!(
                "{what}: subrun temp dirs grew from {} to {}",
                p.start.temp_dirs, e.temp_dirs
            ));
        }
        if e.containers > 0 {
            out.push(format!(
                "{what}: {} containers of this run left behind",
                e.containers
            ));
        }
    }
    out
}

/// Soak figures as a markdown table.
pub(crate) fn table(reports: &[Report]) -> String {
    let mut rows = Vec::new();
    for r in reports {
        for p in &r.phases {
            let tri = |a: String, b: String, c: String| format!("{a} / {b} / {c}");
            rows.push(vec![
                format!("{:?}", r.kind).to_lowercase(),
                p.name.to_string(),
                p.executions.to_string(),
                p.failures.to_string(),
                format!("{:.1} s", p.took.as_secs_f64()),
                tri(
                    p.start.host.fds.to_string(),
                    p.warm.host.fds.to_string(),
                    p.end.host.fds.to_string(),
                ),
                tri(
                    p.start.host.threads.to_string(),
                    p.warm.host.threads.to_string(),
                    p.end.host.threads.to_string(),
                ),
                tri(
                    mib(p.start.host.rss_kib),
                    mib(p.warm.host.rss_kib),
                    mib(p.end.host.rss_kib),
                ),
                tri(
                    p.start.temp_dirs.to_string(),
                    p.warm.temp_dirs.to_string(),
                    p.end.temp_dirs.to_string(),
                ),
                tri(
                    p.start.containers.to_string(),
                    p.warm.containers.to_string(),
                    p.end.containers.to_string(),
                ),
            ]);
        }
    }
    table::render(
        &[
            "runtime",
            "phase",
            "executions",
            "failures",
            "took",
            "fds start / warm / end",
            "threads start / warm / end",
            "RSS MiB start / warm / end",
            "temp dirs start / warm / end",
            "containers start / warm / end",
        ],
        &rows,
    )
}
