//! [`LocalRuntime`]: commands as host processes, one supervisor per execution.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use subrun::env::with_call_env;
use subrun::quota::DiskWatch;
use subrun::setup::run_setup;
use subrun::{
    Capabilities, ExecRequest, Execution, ExecutionControl, ExecutionId, ExecutionTracker, Outcome,
    OwnedActiveExecution, ResolvedSpec, RuntimeError, RuntimeEvent, RuntimeId, RuntimeKind,
    RuntimeResult, RuntimeState, SpawnContext, SpecError, Stdin, SubmissionRuntime, Usage,
    async_trait,
};
use tracing::Instrument as _;

use crate::config::LocalConfig;
use crate::factory::{LocalRuntimeFactory, capabilities};
use crate::group::Groups;
use crate::limits::ChildLimits;
use crate::process::{Launch, Started};
use crate::stdin::needs_pipe;
use crate::supervise::{DRAIN_GRACE, KILL_WAIT, Plan, Supervised, TERM_GRACE, supervise};

/// How long `kill` and `cleanup` wait for the executions they stopped to finish before they
/// SIGKILL what is left themselves.
const SETTLE: Duration = TERM_GRACE
    .saturating_add(KILL_WAIT)
    .saturating_add(DRAIN_GRACE)
    .saturating_add(Duration::from_secs(1));

/// A spawned `local` runtime: every command runs as `<shell> -c <command>` (default
/// `/bin/sh`), in its own process group, on the host. **Trusted code only**: nothing is
/// isolated.
///
/// Each execution gets:
/// - the workspace as its working directory;
/// - exactly the merged environment (host only with `include_os_env` < spec < spawn < call),
///   plus `PATH=/usr/local/bin:/usr/bin:/bin` when that environment has no `PATH`;
/// - stdin from the request (`/dev/null` when closed);
/// - `RLIMIT_AS` = `limits.memory` and `RLIMIT_NOFILE` = `limits.open_files`;
/// - a deadline (the request's, else `limits.timeout`) and a per-stream output cap
///   (`limits.output`); either ends the whole group (SIGTERM, 200 ms grace, SIGKILL) and keeps
///   the output so far;
/// - when the command exits by itself, whatever is left of its process group is killed, so
///   background jobs do not outlive it.
///
/// Many executions may run at once. `kill` stops them all; `cleanup`, `terminate` and `Drop`
/// stop them all and refuse further calls.
#[derive(Debug)]
pub struct LocalRuntime {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    id: RuntimeId,
    spec: Arc<ResolvedSpec>,
    config: LocalConfig,
    workspace: PathBuf,
    /// Host (with `include_os_env`) < spec < spawn; call variables go on top.
    env: BTreeMap<String, String>,
    limits: ChildLimits,
    tracker: Arc<ExecutionTracker>,
    groups: Arc<Groups>,
}

/// One execution's identity, and its tracker entry unless it is a setup command.
#[derive(Debug)]
struct Ticket {
    id: ExecutionId,
    control: ExecutionControl,
    active: Option<OwnedActiveExecution>,
}

impl Ticket {
    fn tracked(active: OwnedActiveExecution) -> Self {
        Self {
            id: active.id().clone(),
            control: active.control().clone(),
            active: Some(active),
        }
    }

    /// Setup commands are not executions of the runtime: they do not change its state.
    fn untracked() -> Self {
        Self {
            id: ExecutionId::generate(),
            control: ExecutionControl::new(),
            active: None,
        }
    }
}

impl LocalRuntime {
    /// Validates the spec again, refuses spawn mounts and ports (local commands see the host
    /// filesystem and network as they are), checks the shell and the workspace, and runs
    /// `ctx.setup_commands` once, in order. Their output is attached to the first result.
    ///
    /// # Errors
    /// [`RuntimeError::Spec`] for a spec local refuses or a missing shell;
    /// [`RuntimeError::Unsupported`] for mounts or ports; [`RuntimeError::Backend`] for a
    /// missing workspace; [`RuntimeError::SetupFailed`] with the setup output.
    pub async fn spawn(ctx: SpawnContext) -> Result<Self, RuntimeError> {
        let config = LocalConfig::from_spec(&ctx.spec.spec)?;
        let kind = RuntimeKind::new(LocalRuntimeFactory::KIND);
        if let Some(m) = ctx.mounts.first() {
            return Err(RuntimeError::Unsupported {
                kind,
                what: format!(
                    "mounts (`{}` -> `{}`): local commands see the host filesystem as it is; \
                     use absolute host paths instead",
                    m.host.display(),
                    m.target
                ),
            });
        }
        if let Some(p) = ctx.ports.first() {
            return Err(RuntimeError::Unsupported {
                kind,
                what: format!(
                    "published ports (container port {}): local commands use the host network",
                    p.container
                ),
            });
        }
        if !config.shell.is_file() {
            return Err(SpecError::new(
                &ctx.spec.spec.origin,
                "local.shell",
                format!(
                    "`{}` does not exist or is not a file",
                    config.shell.display()
                ),
            )
            .into());
        }
        if !ctx.workspace.is_dir() {
            return Err(RuntimeError::backend(
                format!("open the workspace `{}`", ctx.workspace.display()),
                "not a directory",
            ));
        }
        // Documented on the crate and printed by the CLI; an embedder spawning thousands of
        // runtimes does not want a warning per spawn.
        tracing::info!(
            runtime = %ctx.runtime_id,
            "the local runtime runs commands as host processes without any isolation: \
             trusted code only"
        );
        let runtime = Self {
            inner: Arc::new(Inner {
                limits: ChildLimits::from_limits(&ctx.spec.spec.limits),
                tracker: Arc::new(ExecutionTracker::new(ctx.runtime_id.clone())),
                groups: Groups::new(),
                id: ctx.runtime_id,
                spec: ctx.spec,
                config,
                workspace: ctx.workspace,
                env: ctx.env,
            }),
        };
        let inner = &runtime.inner;
        let (stdout, stderr) = run_setup(&ctx.setup_commands, |command| {
            inner.run(ExecRequest::new(command), Ticket::untracked())
        })
        .await?;
        inner.tracker.set_setup_output(stdout, stderr);
        Ok(runtime)
    }
}

impl Inner {
    /// Starts the process and plans its supervision. (`{{static:NAME}}` in the request was
    /// rendered by the session's runtime handle; the spec's own strings by `ResolvedSpec`.)
    fn start(
        &self,
        request: ExecRequest,
        ticket: &Ticket,
        sink: Option<subrun::EventSender>,
    ) -> Result<(Started, Stdin, Plan), RuntimeError> {
        let env = with_call_env(&self.env, &request.env);
        let launch = Launch {
            shell: &self.config.shell,
            command: &request.command,
            workspace: &self.workspace,
            env: &env,
            limits: self.limits,
            piped_stdin: needs_pipe(&request.stdin),
        };
        let started = launch.start(&self.groups, ticket.id.clone())?;
        let plan = Plan {
            deadline: request.timeout.unwrap_or(self.spec.spec.limits.timeout),
            output_cap: self.spec.spec.limits.output.bytes(),
            control: ticket.control.clone(),
            sink,
            disk: self
                .spec
                .spec
                .limits
                .disk
                .map(|d| DiskWatch::new(&self.workspace, d.bytes())),
        };
        Ok((started, request.stdin, plan))
    }

    /// Supervises a started process to its end and builds the result.
    async fn complete(
        &self,
        started: Started,
        stdin: Stdin,
        plan: Plan,
        ticket: Ticket,
    ) -> Result<RuntimeResult, RuntimeError> {
        let deadline = plan.deadline;
        let span = tracing::debug_span!("execute", runtime = %self.id, execution_id = %ticket.id);
        let supervised = supervise(started, stdin, plan).instrument(span).await?;
        Ok(self.finish(ticket, supervised, deadline))
    }

    /// Runs `request` to its end.
    async fn run(
        &self,
        request: ExecRequest,
        ticket: Ticket,
    ) -> Result<RuntimeResult, RuntimeError> {
        let (started, stdin, plan) = self.start(request, &ticket, None)?;
        self.complete(started, stdin, plan, ticket).await
    }

    /// The result of a supervised execution. Records the outcome before the group leaves the
    /// table, so `kill`/`cleanup` return only once `state()` no longer says `Running`.
    fn finish(&self, ticket: Ticket, s: Supervised, deadline: Duration) -> RuntimeResult {
        let Supervised {
            outcome,
            stdout,
            stderr,
            elapsed,
            reaped,
            group,
        } = s;
        let (setup_stdout, setup_stderr) = self.tracker.take_setup_output();
        let result = RuntimeResult {
            execution_id: ticket.id,
            exit_code: outcome.default_exit_code(),
            timed_out: matches!(outcome, Outcome::TimedOut),
            stdout: stdout.bytes,
            stderr: stderr.bytes,
            stdout_truncated: stdout.truncated,
            stderr_truncated: stderr.truncated,
            setup_stdout,
            setup_stderr,
            elapsed,
            usage: Usage {
                wall_time: elapsed,
                cpu_time: reaped.map(|r| r.cpu_time),
                fuel_consumed: None,
                peak_memory: reaped.map(|r| r.peak_rss),
                peak_disk: None,
                stdout_bytes: stdout.total,
                stderr_bytes: stderr.total,
                deadline: Some(deadline),
                deadline_factor: None,
            },
            outcome,
        };
        if let Some(active) = ticket.active {
            active.finish(&result.outcome);
        }
        drop(group);
        result
    }

    /// Waits for the executions running now to finish (they were asked to stop), then
    /// SIGKILLs the groups of any that did not within [`SETTLE`].
    async fn settle(&self) {
        let ids = self.groups.ids();
        if !self.groups.wait_gone(&ids, SETTLE).await {
            tracing::warn!(runtime = %self.id, "executions did not stop in time; killing their groups");
            self.groups.kill_now(Some(&ids));
        }
    }

    fn terminate(&self) {
        self.tracker.mark_cleaned_up();
        self.groups.kill_now(None);
    }
}

#[async_trait]
impl SubmissionRuntime for LocalRuntime {
    fn id(&self) -> &RuntimeId {
        &self.inner.id
    }

    fn kind(&self) -> RuntimeKind {
        RuntimeKind::new(LocalRuntimeFactory::KIND)
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn stream(&self, request: ExecRequest) -> Result<Execution, RuntimeError> {
        let ticket = Ticket::tracked(self.inner.tracker.begin_owned()?);
        let (execution, events) = Execution::channel(ticket.id.clone(), ticket.control.clone());
        let (started, stdin, plan) = self.inner.start(request, &ticket, Some(events.clone()))?;
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let id = ticket.id.clone();
            match inner.complete(started, stdin, plan, ticket).await {
                // A consumer that went away does not need the result.
                Ok(result) => drop(events.send(RuntimeEvent::Finished(Box::new(result)))),
                Err(e) => tracing::error!(execution_id = %id, error = %e, "execution lost"),
            }
        });
        Ok(execution)
    }

    /// Runs the supervisor in the caller's task (no event channel). Dropping the future kills
    /// the command's group.
    async fn execute(&self, request: ExecRequest) -> Result<RuntimeResult, RuntimeError> {
        let ticket = Ticket::tracked(self.inner.tracker.begin_owned()?);
        self.inner.run(request, ticket).await
    }

    fn poll(&self) -> Result<Option<Outcome>, RuntimeError> {
        self.inner.tracker.poll()
    }

    fn state(&self) -> RuntimeState {
        self.inner.tracker.state()
    }

    /// Stops every running execution (SIGTERM, grace, SIGKILL to each group; each ends
    /// `Killed` with its output so far) and returns once they have finished.
    async fn kill(&self) -> Result<(), RuntimeError> {
        self.inner.tracker.kill_all();
        self.inner.settle().await;
        Ok(())
    }

    /// Marks the runtime cleaned up, stops every running execution and returns once they have
    /// finished. The workspace belongs to the session and is left alone.
    async fn cleanup(&self) -> Result<(), RuntimeError> {
        self.inner.tracker.mark_cleaned_up();
        self.inner.settle().await;
        Ok(())
    }

    /// Marks the runtime cleaned up and sends SIGKILL to every process group at once.
    fn terminate(&self) {
        self.inner.terminate();
    }
}

impl Drop for LocalRuntime {
    fn drop(&mut self) {
        self.inner.terminate();
    }
}
