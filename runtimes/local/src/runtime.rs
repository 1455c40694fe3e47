//! [`LocalRuntime`]: commands as host processes, one supervisor per execution.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use subrun::ids::RuntimeKind;
use subrun::quota::DiskWatch;
use subrun::runtime::{Backend, DrivenRuntime, DriverConfig, Ended, Io, Job, Running};
use subrun::runtime::{SpawnContext, async_trait};
use subrun::{RuntimeError, SpecError, Stdin, Usage};

use crate::config::LocalConfig;
use crate::factory::{LocalRuntimeFactory, capabilities};
use crate::group::Groups;
use crate::limits::ChildLimits;
use crate::process::{Launch, Started};
use crate::stdin::needs_pipe;
use crate::supervise::{DRAIN_GRACE, KILL_WAIT, TERM_GRACE, supervise};

/// How long a command may take to end after a stop (SIGTERM, grace, SIGKILL, the pipes
/// drained), the bound of `kill()` on local before the groups get SIGKILL from `kill` itself.
const STOP_BOUND: Duration = TERM_GRACE
    .saturating_add(KILL_WAIT)
    .saturating_add(DRAIN_GRACE)
    .saturating_add(Duration::from_secs(1));

/// The `local` backend of the execution driver: every command runs as `<shell> -c <command>`
/// (default `/bin/sh`), in its own process group, on the host. **Trusted code only**: nothing
/// is isolated.
///
/// Each execution gets:
/// - the workspace as its working directory;
/// - exactly the merged environment (host only with `include_os_env` < spec < spawn < call),
///   plus `PATH=/usr/local/bin:/usr/bin:/bin` when that environment has no `PATH`;
/// - stdin from the request (`/dev/null` when closed);
/// - `RLIMIT_AS` = `limits.memory` and `RLIMIT_NOFILE` = `limits.open_files`;
/// - when the driver stops it (deadline, kill, output cap), SIGTERM to the whole group, 200 ms
///   grace, SIGKILL (at once for the disk quota), output so far kept;
/// - when the command exits by itself, whatever is left of its process group is killed, so
///   background jobs do not outlive it.
#[derive(Debug)]
pub struct LocalBackend {
    config: LocalConfig,
    workspace: PathBuf,
    limits: ChildLimits,
    disk: Option<u64>,
    groups: Arc<Groups>,
}

/// A spawned `local` runtime. Many executions may run at once.
pub type LocalRuntime = DrivenRuntime<LocalBackend>;

/// A started local command.
#[derive(Debug)]
pub struct LocalRunning {
    started: Started,
    stdin: Stdin,
    io: Io,
    disk: Option<DiskWatch>,
}

/// Validates the spec again, refuses spawn mounts and ports (local commands see the host
/// filesystem and network as they are), checks the shell and the workspace, and runs
/// `ctx.setup_commands` once, in order. Their output is attached to the first result.
///
/// # Errors
/// [`RuntimeError::Spec`] for a spec local refuses or a missing shell;
/// [`RuntimeError::Unsupported`] for mounts or ports; [`RuntimeError::Backend`] for a
/// missing workspace; [`RuntimeError::SetupFailed`] with the setup output.
pub(crate) async fn spawn(ctx: SpawnContext) -> Result<LocalRuntime, RuntimeError> {
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
    let runtime = LocalRuntime::new(
        DriverConfig::new(&ctx, kind, capabilities()),
        LocalBackend {
            limits: ChildLimits::from_limits(&ctx.spec.spec.limits),
            disk: ctx.spec.spec.limits.disk.map(|d| d.bytes()),
            groups: Groups::new(),
            config,
            workspace: ctx.workspace,
        },
    );
    runtime.run_setup(&ctx.setup_commands).await?;
    Ok(runtime)
}

#[async_trait]
impl Backend for LocalBackend {
    type Running = LocalRunning;

    /// Starts the process. (`{{static:NAME}}` in the request was rendered by the session's
    /// runtime handle; the spec's own strings by `ResolvedSpec`.)
    async fn start(&self, job: Job) -> Result<LocalRunning, RuntimeError> {
        let launch = Launch {
            shell: &self.config.shell,
            command: &job.command,
            workspace: &self.workspace,
            env: &job.env,
            limits: self.limits,
            piped_stdin: needs_pipe(&job.stdin),
        };
        let started = launch.start(&self.groups, job.id.clone())?;
        // The group's files that were unlinked while open are on the disk too, where no walk
        // of the workspace sees them.
        let pgid = started.group.leader().as_raw_nonzero().get().unsigned_abs();
        let disk = self.disk.map(|limit| {
            DiskWatch::new(&self.workspace, limit).with_extra(move || {
                subrun::quota::unlinked_open_usage(
                    crate::group::members(pgid),
                    &std::collections::HashSet::new(),
                )
            })
        });
        Ok(LocalRunning {
            started,
            stdin: job.stdin,
            io: job.io,
            disk,
        })
    }

    fn stop_bound(&self) -> Duration {
        STOP_BOUND
    }

    /// SIGKILL to every process group at once.
    fn force_stop(&self) {
        self.groups.kill_now();
    }

    fn release_now(&self) {
        self.groups.kill_now();
    }
}

#[async_trait]
impl Running for LocalRunning {
    fn disk(&self) -> Option<DiskWatch> {
        self.disk.clone()
    }

    async fn wait(self) -> Result<Ended, RuntimeError> {
        let s = supervise(self.started, self.stdin, self.io).await?;
        Ok(Ended {
            outcome: s.outcome,
            exit_code: None,
            usage: Usage {
                cpu_time: s.reaped.map(|r| r.cpu_time),
                peak_memory: s.reaped.map(|r| r.peak_rss),
                ..Usage::default()
            },
            ended_at: s.ended_at,
        })
    }
}
