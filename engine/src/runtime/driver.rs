//! The execution driver: one implementation of [`SubmissionRuntime`] over any [`Backend`].
//!
//! A backend knows how to start one command and see it end; the driver owns everything else,
//! so every runtime behaves the same by construction:
//!
//! ```text
//!  execute / stream ─▶ register (refused after cleanup) ─▶ env = base < call
//!       │               timeout = the call's, else limits.timeout
//!       ▼               stdout/stderr: capped captures (streamed when asked)
//!  Backend::start(Job) ───────────────▶ Running            (compile, spawn, exec: not timed)
//!       │                                  │ wait()
//!       ▼                                  ▼
//!  supervise: deadline × factor, kill(), output cap, disk quota ──▶ Stop::request(reason)
//!       │                                  │ the backend ends the command, reports Ended
//!       ▼                                  ▼
//!  outcome = the stop's reason, else the backend's ─▶ RuntimeResult ─▶ state: Exited | Killed
//! ```
//!
//! **Setup** ([`DrivenRuntime::run_setup`]) runs each command through the same path, untracked:
//! setup never changes the runtime's state (`Pending` after spawn, `poll()` is `None`), and
//! its output is attached to the first result. **`kill()`** stops every running execution and
//! returns once each has ended and been recorded (`state()` no longer `Running`), or after the
//! backend's [`stop_bound`](Backend::stop_bound) and a forced stop, whichever comes first.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::{Capabilities, RuntimeState, SpawnContext, SubmissionRuntime};
use crate::env::with_call_env;
use crate::error::RuntimeError;
use crate::execution::{EventSender, Execution, ExecutionControl, RuntimeEvent};
use crate::ids::{ExecutionId, RuntimeId, RuntimeKind};
use crate::output::{Captured, StreamCapture, StreamKind};
use crate::quota::DiskWatch;
use crate::request::{ExecRequest, Stdin};
use crate::result::{Outcome, Resource, RuntimeResult, Usage};

/// How long `kill` and `cleanup` wait after a backend's forced stop before they give up on
/// an execution (it is then left to finish on its own).
const FORCED_WAIT: Duration = Duration::from_secs(1);

/// What a runtime does that the driver cannot: start one command and report how it ended.
///
/// The contract:
/// - [`start`](Self::start) does everything that can fail with an engine error (an invalid
///   command, a module that does not compile, an exec the engine refuses) and returns once the
///   command is about to run; the deadline starts when it returns. A command that is merely
///   not found is not an error: start writes the message on `job.stderr` and returns a
///   [`Running`] that ends `Exited { 127 }`.
/// - [`Running::wait`] returns once the command has ended and its output has been written
///   into the job's [`Output`]s. It watches `job.stop` and, once a stop is requested, ends the
///   command (every process it started) promptly.
/// - Dropping a `Running` or its `wait` future ends the command too.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// A started command.
    type Running: Running;

    /// Starts `job`'s command; see the trait docs.
    ///
    /// # Errors
    /// Anything that keeps the command from starting, other than "not found".
    async fn start(&self, job: Job) -> Result<Self::Running, RuntimeError>;

    /// How long a command may take to end after a stop is requested (the documented bound of
    /// `kill()` on this runtime, before [`force_stop`](Self::force_stop)).
    fn stop_bound(&self) -> Duration;

    /// Ends by force whatever is still running after [`stop_bound`](Self::stop_bound).
    fn force_stop(&self) {}

    /// Releases the runtime's resources once its executions have ended (cleanup).
    ///
    /// # Errors
    /// A backend failure while releasing; the runtime is cleaned up all the same.
    async fn release(&self) -> Result<(), RuntimeError> {
        Ok(())
    }

    /// Starts releasing the runtime's resources without waiting (`terminate`, drop paths).
    fn release_now(&self) {}

    /// Called when the runtime handle is dropped; by default [`release_now`](Self::release_now).
    fn on_drop(&self) {
        self.release_now();
    }
}

/// A command a [`Backend`] started.
#[async_trait]
pub trait Running: Send + 'static {
    /// What the deadline is multiplied by for this command (an interpreter slower than native
    /// code gets a longer deadline for the same work). `1.0` by default.
    fn deadline_factor(&self) -> f64 {
        1.0
    }

    /// The workspace quota to watch while the command runs and to check once it ended, for
    /// backends whose commands write the workspace without the backend seeing each write.
    fn disk(&self) -> Option<DiskWatch> {
        None
    }

    /// Waits for the command to end; see [`Backend`].
    ///
    /// # Errors
    /// The backend lost track of the command (its status cannot be read).
    async fn wait(self) -> Result<Ended, RuntimeError>;
}

/// How a started command ended, as its backend saw it.
#[derive(Clone, Debug, Default)]
pub struct Ended {
    /// How it ended; `None` when it ended because a stop was requested (the driver knows why).
    pub outcome: Option<Outcome>,
    /// The exit status the command chose, when it differs from the outcome's default.
    pub exit_code: Option<i32>,
    /// CPU time, fuel, peak memory, peak disk: what the backend measured. Wall time, output
    /// bytes and the deadline are the driver's.
    pub usage: Usage,
    /// When the command itself ended, if before `wait` returned (output drained after it).
    pub ended_at: Option<Instant>,
}

impl Ended {
    /// Ended with `outcome`.
    pub fn with(outcome: Outcome) -> Self {
        Self {
            outcome: Some(outcome),
            ..Self::default()
        }
    }

    /// Ended because a stop was requested.
    pub fn stopped() -> Self {
        Self::default()
    }
}

/// One command for a backend to run.
#[derive(Debug)]
#[non_exhaustive]
pub struct Job {
    /// The execution's id.
    pub id: ExecutionId,
    /// The command line as the caller wrote it (placeholders rendered).
    pub command: String,
    /// The whole environment: the runtime's base environment overlaid with the call's.
    pub env: BTreeMap<String, String>,
    /// Standard input.
    pub stdin: Stdin,
    /// Where the output goes, and the stop to watch.
    pub io: Io,
    /// A setup command: it may leave services running for later commands.
    pub setup: bool,
}

/// A command's two output streams and its stop: what a backend's supervisor holds.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Io {
    /// Where the command's standard output goes.
    pub stdout: Output,
    /// Where the command's standard error goes.
    pub stderr: Output,
    /// Requested when the command must end (kill, deadline, a limit).
    pub stop: Stop,
}

/// Why the driver (or the backend) asked a command to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// `kill()`, a dropped stream, cleanup.
    Killed,
    /// The deadline passed.
    TimedOut,
    /// A limit was exceeded (output, disk, memory...).
    Exceeded(Resource),
}

impl StopReason {
    /// The outcome of a command ended for this reason.
    pub fn outcome(self) -> Outcome {
        match self {
            StopReason::Killed => Outcome::Killed,
            StopReason::TimedOut => Outcome::TimedOut,
            StopReason::Exceeded(resource) => Outcome::ResourceExceeded { resource },
        }
    }
}

/// The request to end one command; clones share it. The first reason wins.
#[derive(Clone, Debug)]
pub struct Stop {
    token: CancellationToken,
    reason: Arc<OnceLock<(StopReason, Instant)>>,
}

impl Stop {
    /// A stop that is also requested (as `Killed`) when `control` is killed.
    fn for_control(control: &ExecutionControl) -> Self {
        Self {
            token: control.token().child_token(),
            reason: Arc::default(),
        }
    }

    /// Asks the command to end for `reason`, unless a stop was already requested.
    pub fn request(&self, reason: StopReason) {
        if !self.token.is_cancelled() {
            let _ = self.reason.set((reason, Instant::now()));
            self.token.cancel();
        }
    }

    /// True once a stop was requested.
    pub fn is_requested(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes once a stop is requested (cancel-safe, for `tokio::select!`).
    pub fn requested(&self) -> impl Future<Output = ()> + Send + '_ {
        self.token.cancelled()
    }

    /// Why the stop was requested; `None` while it was not (or when only the execution's kill
    /// switch was used, which reads as [`StopReason::Killed`]).
    pub fn reason(&self) -> Option<StopReason> {
        match self.reason.get() {
            Some((r, _)) => Some(*r),
            None if self.token.is_cancelled() => Some(StopReason::Killed),
            None => None,
        }
    }
}

impl Stop {
    /// When the reason was recorded (`None` for the kill switch until the driver notes it).
    fn requested_at(&self) -> Option<Instant> {
        self.reason.get().map(|(_, at)| *at)
    }

    /// Records `Killed` and now for a stop requested through the kill switch alone.
    fn note_killed(&self) {
        let _ = self.reason.set((StopReason::Killed, Instant::now()));
    }
}

/// One output stream of a command: every write goes into a capture capped at
/// `limits.output` (and to the stream's consumer, if any). Writing past the cap keeps what
/// fits and requests a stop with `Exceeded(Output)`. Clones share the capture.
#[derive(Clone, Debug)]
pub struct Output {
    capture: Arc<Mutex<StreamCapture>>,
    stop: Stop,
}

impl Output {
    fn new(kind: StreamKind, cap: u64, sink: Option<EventSender>, stop: Stop) -> Self {
        Self {
            capture: Arc::new(Mutex::new(StreamCapture::new(kind, cap, sink))),
            stop,
        }
    }

    fn lock(&self) -> MutexGuard<'_, StreamCapture> {
        self.capture.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes a chunk the command wrote. Returns `false` when it crossed the cap (the rest was
    /// dropped and a stop requested).
    pub fn write(&self, data: &[u8]) -> bool {
        let hit = self.lock().push(data).hit_cap;
        if hit {
            self.stop.request(StopReason::Exceeded(Resource::Output));
        }
        !hit
    }

    /// Ends the capture: the bytes kept, the total written, the truncation flag.
    fn finish(self) -> Captured {
        let kind = StreamKind::Stdout;
        match Arc::try_unwrap(self.capture) {
            Ok(m) => m
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner)
                .finish(),
            // A clone outlives the command (held by a backend's leftover task): take what it
            // captured so far; its later writes go nowhere.
            Err(shared) => std::mem::replace(
                &mut *shared.lock().unwrap_or_else(PoisonError::into_inner),
                StreamCapture::new(kind, 0, None),
            )
            .finish(),
        }
    }
}

/// What the driver needs to know of a runtime besides its backend.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DriverConfig {
    /// The runtime's id.
    pub id: RuntimeId,
    /// The runtime's kind.
    pub kind: RuntimeKind,
    /// What the runtime can do.
    pub capabilities: Capabilities,
    /// The environment below call-level variables.
    pub env: BTreeMap<String, String>,
    /// The deadline of a call that sets none (`limits.timeout`).
    pub timeout: Duration,
    /// Bytes kept per output stream (`limits.output`).
    pub output_cap: u64,
}

impl DriverConfig {
    /// The configuration `ctx` implies for a runtime of `kind`.
    pub fn new(ctx: &SpawnContext, kind: RuntimeKind, capabilities: Capabilities) -> Self {
        let limits = &ctx.spec.spec.limits;
        Self {
            id: ctx.runtime_id.clone(),
            kind,
            capabilities,
            env: ctx.env.clone(),
            timeout: limits.timeout,
            output_cap: limits.output.bytes(),
        }
    }
}

/// The running executions, the last outcome, the setup output, the cleaned-up flag.
#[derive(Debug, Default)]
struct Book {
    active: HashMap<ExecutionId, ExecutionControl>,
    last: Option<Outcome>,
    setup: Option<(Bytes, Bytes)>,
    cleaned_up: bool,
}

struct Shared<B> {
    backend: B,
    config: DriverConfig,
    book: Mutex<Book>,
    /// Bumped whenever an execution leaves `active`.
    left: watch::Sender<u64>,
}

/// A [`SubmissionRuntime`] made of a [`Backend`] and the driver; see the module docs.
pub struct DrivenRuntime<B: Backend> {
    shared: Arc<Shared<B>>,
}

impl<B: Backend> std::fmt::Debug for DrivenRuntime<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrivenRuntime")
            .field("id", &self.shared.config.id)
            .field("kind", &self.shared.config.kind)
            .finish_non_exhaustive()
    }
}

/// An execution's place in the book; leaving it (also by drop) removes the execution.
struct Ticket<B: Backend> {
    shared: Arc<Shared<B>>,
    id: ExecutionId,
    control: ExecutionControl,
    tracked: bool,
    recorded: bool,
}

impl<B: Backend> Ticket<B> {
    /// Records the outcome, sends a streamed execution's `Finished` event and leaves the
    /// book in one step: `state()` never shows the execution neither running nor finished, a
    /// consumer that got `Finished` sees the outcome in `poll()`, and `kill()`, which waits
    /// for the execution to leave, returns only once `Finished` was sent.
    fn finish(mut self, result: &RuntimeResult, events: Option<&EventSender>) {
        self.record(result.outcome.clone(), events.map(|tx| (tx, result)));
    }

    fn record(&mut self, outcome: Outcome, event: Option<(&EventSender, &RuntimeResult)>) {
        let mut book = self.shared.book();
        if self.tracked && !self.recorded {
            book.last = Some(outcome);
            book.active.remove(&self.id);
            self.recorded = true;
        }
        if let Some((tx, result)) = event {
            // A consumer that went away does not need the result.
            let _ = tx.send(RuntimeEvent::Finished(Box::new(result.clone())));
        }
    }
}

impl<B: Backend> Drop for Ticket<B> {
    /// An execution that leaves without an outcome (its `execute` future dropped, an engine
    /// error) was ended: it reads as `Killed`.
    fn drop(&mut self) {
        if self.tracked {
            self.record(Outcome::Killed, None);
            self.shared.left.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// A started execution, before supervision.
struct Started<B: Backend> {
    ticket: Ticket<B>,
    running: B::Running,
    stdout: Output,
    stderr: Output,
    stop: Stop,
    timeout: Duration,
}

impl<B: Backend> Shared<B> {
    fn book(&self) -> MutexGuard<'_, Book> {
        // A panic while holding this lock cannot leave the book inconsistent; keep going.
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cleaned_up(&self) -> RuntimeError {
        RuntimeError::CleanedUp {
            id: self.config.id.clone(),
        }
    }

    fn ticket(self: &Arc<Self>, tracked: bool) -> Result<Ticket<B>, RuntimeError> {
        let id = ExecutionId::generate();
        let control = ExecutionControl::new();
        if tracked {
            let mut book = self.book();
            if book.cleaned_up {
                return Err(self.cleaned_up());
            }
            book.active.insert(id.clone(), control.clone());
        }
        Ok(Ticket {
            shared: self.clone(),
            id,
            control,
            tracked,
            recorded: false,
        })
    }

    /// Starts `request` on the backend.
    async fn start(
        &self,
        ticket: Ticket<B>,
        request: ExecRequest,
        sink: Option<EventSender>,
    ) -> Result<Started<B>, RuntimeError> {
        let stop = Stop::for_control(&ticket.control);
        let cap = self.config.output_cap;
        let stdout = Output::new(StreamKind::Stdout, cap, sink.clone(), stop.clone());
        let stderr = Output::new(StreamKind::Stderr, cap, sink, stop.clone());
        let timeout = request.timeout.unwrap_or(self.config.timeout);
        let job = Job {
            id: ticket.id.clone(),
            env: with_call_env(&self.config.env, &request.env),
            command: request.command,
            stdin: request.stdin,
            io: Io {
                stdout: stdout.clone(),
                stderr: stderr.clone(),
                stop: stop.clone(),
            },
            setup: !ticket.tracked,
        };
        let running = self.backend.start(job).await?;
        Ok(Started {
            ticket,
            running,
            stdout,
            stderr,
            stop,
            timeout,
        })
    }

    /// Supervises a started execution to its end and builds its result.
    ///
    /// A streamed execution's `Finished` event goes to `events` before the execution leaves
    /// the book, so `kill()` returns only once it was sent.
    async fn complete(
        &self,
        started: Started<B>,
        events: Option<&EventSender>,
    ) -> Result<RuntimeResult, RuntimeError> {
        let Started {
            ticket,
            running,
            stdout,
            stderr,
            stop,
            timeout,
        } = started;
        let factor = running.deadline_factor();
        let deadline =
            Duration::try_from_secs_f64(timeout.as_secs_f64() * factor).unwrap_or(Duration::MAX);
        let disk = running.disk();
        let t0 = Instant::now();
        let ended = {
            let wait = running.wait();
            let expire = tokio::time::sleep_until(far_instant(t0, deadline).into());
            let over_quota = async {
                match &disk {
                    Some(watch) => watch.exceeded().await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(wait, expire, over_quota);
            loop {
                tokio::select! {
                    biased;
                    ended = &mut wait => break ended?,
                    () = &mut expire, if !stop.is_requested() => stop.request(StopReason::TimedOut),
                    // The kill switch (kill(), a dropped stream) carries no reason: note when.
                    () = stop.requested(), if stop.requested_at().is_none() => stop.note_killed(),
                    _ = &mut over_quota, if !stop.is_requested() => {
                        stop.request(StopReason::Exceeded(Resource::Disk));
                    }
                }
            }
        };
        let elapsed = ended
            .ended_at
            .unwrap_or_else(Instant::now)
            .saturating_duration_since(t0);
        let mut reason = stop.reason();
        if let (Some(StopReason::TimedOut | StopReason::Killed), Some(end), Some(at)) =
            (reason, ended.ended_at, stop.requested_at())
            && at > end
            && ended.outcome.is_some()
        {
            // The deadline passed, or a kill came, after the command had ended by itself
            // (while its output was drained or its status read).
            reason = None;
        }
        if reason.is_none()
            && let Some(watch) = &disk
            && watch.measure().await > watch.limit()
        {
            // Over the quota at the end, though no measurement caught it while it ran.
            reason = Some(StopReason::Exceeded(Resource::Disk));
        }
        let (outcome, chosen) = match (reason, ended.outcome) {
            (Some(r), _) => (r.outcome(), None),
            (None, Some(o)) => (o, ended.exit_code),
            (None, None) => {
                return Err(RuntimeError::backend(
                    "wait for the command",
                    "it ended without an exit status",
                ));
            }
        };
        let out = stdout.finish();
        let err = stderr.finish();
        let (setup_stdout, setup_stderr) = if ticket.tracked {
            self.book().setup.take().unwrap_or_default()
        } else {
            Default::default()
        };
        let usage = Usage {
            wall_time: elapsed,
            stdout_bytes: out.total,
            stderr_bytes: err.total,
            deadline: Some(deadline),
            deadline_factor: (factor != 1.0).then_some(factor),
            ..ended.usage
        };
        let result = RuntimeResult {
            execution_id: ticket.id.clone(),
            exit_code: chosen.unwrap_or_else(|| outcome.default_exit_code()),
            timed_out: outcome == Outcome::TimedOut,
            outcome,
            stdout: out.bytes,
            stderr: err.bytes,
            stdout_truncated: out.truncated,
            stderr_truncated: err.truncated,
            setup_stdout,
            setup_stderr,
            elapsed,
            usage,
        };
        ticket.finish(&result, events);
        Ok(result)
    }

    /// Starts and completes one execution in the caller's task.
    async fn run(
        &self,
        ticket: Ticket<B>,
        request: ExecRequest,
    ) -> Result<RuntimeResult, RuntimeError> {
        let span =
            tracing::debug_span!("execute", runtime = %self.config.id, execution_id = %ticket.id);
        async {
            let started = self.start(ticket, request, None).await?;
            self.complete(started, None).await
        }
        .instrument(span)
        .await
    }

    /// Waits until none of `ids` runs any more, at most `bound`. True when they all ended.
    async fn wait_gone(&self, ids: &[ExecutionId], bound: Duration) -> bool {
        let mut left = self.left.subscribe();
        let gone = |book: &Book| ids.iter().all(|id| !book.active.contains_key(id));
        tokio::time::timeout(bound, async {
            loop {
                if gone(&self.book()) {
                    return;
                }
                if left.changed().await.is_err() {
                    return;
                }
            }
        })
        .await
        .is_ok()
    }

    /// Kills every running execution, marking the runtime cleaned up first when asked (so
    /// nothing new starts); returns the ids it killed.
    fn kill_all(&self, mark_cleaned_up: bool) -> Vec<ExecutionId> {
        let mut book = self.book();
        if mark_cleaned_up {
            book.cleaned_up = true;
        }
        book.active
            .iter()
            .map(|(id, control)| {
                control.kill();
                id.clone()
            })
            .collect()
    }

    /// [`kill_all`](Self::kill_all), then waits for those executions to end: the backend's
    /// stop bound, then a forced stop and [`FORCED_WAIT`].
    async fn stop_all(&self, mark_cleaned_up: bool) {
        let ids = self.kill_all(mark_cleaned_up);
        if ids.is_empty() || self.wait_gone(&ids, self.backend.stop_bound()).await {
            return;
        }
        tracing::warn!(runtime = %self.config.id, "executions did not stop in time; forcing them");
        self.backend.force_stop();
        if !self.wait_gone(&ids, FORCED_WAIT).await {
            tracing::error!(runtime = %self.config.id, "executions still running after a forced stop");
        }
    }
}

impl<B: Backend> DrivenRuntime<B> {
    /// A runtime of `backend` configured by `config`, in state `Pending`.
    pub fn new(config: DriverConfig, backend: B) -> Self {
        let (left, _) = watch::channel(0);
        Self {
            shared: Arc::new(Shared {
                backend,
                config,
                book: Mutex::new(Book::default()),
                left,
            }),
        }
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.shared.backend
    }

    /// Runs `commands` once, in order, through the backend as setup (untracked: the state
    /// stays `Pending`); their output is attached to the first result. Stops at the first
    /// command that does not exit 0.
    ///
    /// # Errors
    /// [`RuntimeError::SetupFailed`] with the failing command and all setup output so far (in
    /// `setup_stdout`/`setup_stderr` of the carried result), or a backend error.
    pub async fn run_setup(&self, commands: &[String]) -> Result<(), RuntimeError> {
        let mut out = BytesMut::new();
        let mut err = BytesMut::new();
        for command in commands {
            tracing::debug!(%command, "setup");
            let ticket = self.shared.ticket(false)?;
            let mut result = self.shared.run(ticket, ExecRequest::new(command)).await?;
            out.extend_from_slice(&result.stdout);
            err.extend_from_slice(&result.stderr);
            if !result.outcome.is_success() {
                result.setup_stdout = out.freeze();
                result.setup_stderr = err.freeze();
                return Err(RuntimeError::SetupFailed {
                    command: command.clone(),
                    result: Box::new(result),
                });
            }
        }
        self.shared.book().setup = Some((out.freeze(), err.freeze()));
        Ok(())
    }
}

#[async_trait]
impl<B: Backend> SubmissionRuntime for DrivenRuntime<B> {
    fn id(&self) -> &RuntimeId {
        &self.shared.config.id
    }

    fn kind(&self) -> RuntimeKind {
        self.shared.config.kind.clone()
    }

    fn capabilities(&self) -> Capabilities {
        self.shared.config.capabilities
    }

    async fn stream(&self, request: ExecRequest) -> Result<Execution, RuntimeError> {
        let ticket = self.shared.ticket(true)?;
        let (execution, events) = Execution::channel(ticket.id.clone(), ticket.control.clone());
        let span = tracing::debug_span!("stream", runtime = %self.shared.config.id, execution_id = %ticket.id);
        let started = self
            .shared
            .start(ticket, request, Some(events.clone()))
            .instrument(span.clone())
            .await?;
        let shared = self.shared.clone();
        tokio::spawn(
            async move {
                let id = started.ticket.id.clone();
                if let Err(e) = shared.complete(started, Some(&events)).await {
                    tracing::error!(execution_id = %id, error = %e, "execution lost");
                }
            }
            .instrument(span),
        );
        Ok(execution)
    }

    /// Runs in the caller's task; dropping the future ends the command.
    async fn execute(&self, request: ExecRequest) -> Result<RuntimeResult, RuntimeError> {
        let ticket = self.shared.ticket(true)?;
        self.shared.run(ticket, request).await
    }

    fn poll(&self) -> Result<Option<Outcome>, RuntimeError> {
        let book = self.shared.book();
        if book.cleaned_up {
            return Err(self.shared.cleaned_up());
        }
        Ok(if book.active.is_empty() {
            book.last.clone()
        } else {
            None
        })
    }

    fn state(&self) -> RuntimeState {
        let book = self.shared.book();
        if book.cleaned_up {
            RuntimeState::CleanedUp
        } else if !book.active.is_empty() {
            RuntimeState::Running
        } else {
            match &book.last {
                None => RuntimeState::Pending,
                Some(Outcome::Killed) => RuntimeState::Killed,
                Some(o) => RuntimeState::Exited { outcome: o.clone() },
            }
        }
    }

    async fn kill(&self) -> Result<(), RuntimeError> {
        self.shared.stop_all(false).await;
        Ok(())
    }

    async fn cleanup(&self) -> Result<(), RuntimeError> {
        self.shared.stop_all(true).await;
        self.shared.backend.release().await
    }

    fn terminate(&self) {
        self.shared.kill_all(true);
        self.shared.backend.release_now();
    }
}

impl<B: Backend> Drop for DrivenRuntime<B> {
    fn drop(&mut self) {
        self.shared.kill_all(true);
        self.shared.backend.on_drop();
    }
}

/// `start + d`, or a date decades away when that overflows (a deadline of `Duration::MAX`).
fn far_instant(start: Instant, d: Duration) -> Instant {
    start
        .checked_add(d)
        .or_else(|| start.checked_add(Duration::from_secs(30 * 365 * 86_400)))
        .unwrap_or(start)
}
