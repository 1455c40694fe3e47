//! State shared by a runtime and its running executions, and the engine calls they share:
//! starting an exec, running a helper script, inspecting an exit code, ending a session.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, KillContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use subrun::RuntimeError;
use subrun::ids::RuntimeId;
use tokio::sync::watch;

use crate::config::{DockerConfig, UserId};
use crate::disk::DiskMeter;
use crate::error::{DockerError, is_not_found};
use crate::scripts;

/// An attached exec: its id, output frames and stdin.
pub(crate) struct Attached {
    pub(crate) exec: String,
    pub(crate) output: std::pin::Pin<
        Box<dyn futures::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>,
    >,
    pub(crate) input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
}

/// What a runtime's executions share.
pub(crate) struct Shared {
    pub(crate) docker: Docker,
    pub(crate) container: String,
    pub(crate) runtime_id: RuntimeId,
    pub(crate) config: DockerConfig,
    pub(crate) user: Option<UserId>,
    /// Sessions started by setup commands that a sweep spares (services meant to outlive a
    /// command).
    pub(crate) protected_sessions: Mutex<Vec<String>>,
    /// The container's OOM-kill count when last read.
    pub(crate) oom_kills: Mutex<u64>,
    /// How many supervisors (executions, tracked or setup) are running.
    pub(crate) live: watch::Sender<usize>,
    /// Held (read) by a command from before its exec starts until its session id is known;
    /// held (write) by a sweep that may end processes outside the command's session, so it
    /// never mistakes a command that is just starting for an escaped process.
    pub(crate) gate: Arc<tokio::sync::RwLock<()>>,
    /// The quota (`limits.disk`): the workspace and the container's own writable places.
    pub(crate) disk: Option<Arc<DiskMeter>>,
    /// The container's lease: its stdin, attached by this process (see `scripts::KEEPALIVE`).
    pub(crate) lease: Mutex<Option<Lease>>,
}

/// The write half of the attachment to the container's stdin. While it is open the container
/// runs; when it closes (dropped, or this process dies) the engine closes the container's
/// stdin and the container stops.
pub(crate) struct Lease(
    #[expect(dead_code, reason = "held, never written")]
    std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
);

/// Decrements the live-supervisor count when dropped.
pub(crate) struct LiveGuard(Arc<Shared>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.live.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Shared {
    /// Counts a supervisor as running until the guard drops.
    pub(crate) fn live_guard(self: &Arc<Self>) -> LiveGuard {
        self.live.send_modify(|n| *n += 1);
        LiveGuard(self.clone())
    }

    /// Waits (at most `limit`) until no supervisor runs. Returns false on timeout.
    pub(crate) async fn wait_idle(&self, limit: Duration) -> bool {
        let mut rx = self.live.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    fn user_spec(&self) -> Option<String> {
        self.user.map(UserId::spec)
    }

    /// Creates and starts an attached exec of `cmd`.
    pub(crate) async fn start_exec(
        &self,
        cmd: Vec<String>,
        env: Vec<String>,
        stdin: bool,
    ) -> Result<Attached, RuntimeError> {
        let options = CreateExecOptions {
            attach_stdin: Some(stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            env: Some(env),
            cmd: Some(cmd),
            user: self.user_spec(),
            working_dir: Some(self.config.workdir.clone()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_exec(&self.container, options)
            .await
            .map_err(|source| {
                DockerError::CreateExec {
                    container: self.container.clone(),
                    source,
                }
                .during("start a command in the container")
            })?;
        let start = StartExecOptions {
            detach: false,
            tty: false,
            output_capacity: Some(64 * 1024),
        };
        match self.docker.start_exec(&created.id, Some(start)).await {
            Ok(StartExecResults::Attached { output, input }) => Ok(Attached {
                exec: created.id,
                output,
                input,
            }),
            Ok(StartExecResults::Detached) => Err(DockerError::Detached { exec: created.id }
                .during("start a command in the container")),
            Err(source) => Err(DockerError::Attach {
                container: self.container.clone(),
                exec: created.id,
                source,
            }
            .during("start a command in the container")),
        }
    }

    /// The exit code of a finished exec. The output stream can end a moment before the engine
    /// records the exit, so this polls briefly.
    pub(crate) async fn exit_code(&self, exec: &str) -> Result<i64, RuntimeError> {
        let mut pause = Duration::from_millis(1);
        let give_up = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let info = self.docker.inspect_exec(exec).await.map_err(|source| {
                DockerError::InspectExec {
                    exec: exec.to_string(),
                    source,
                }
                .during("read a command's exit code")
            })?;
            if info.running != Some(true)
                && let Some(code) = info.exit_code
            {
                return Ok(code);
            }
            if tokio::time::Instant::now() >= give_up {
                return Err(DockerError::NoExitCode {
                    exec: exec.to_string(),
                }
                .during("read a command's exit code"));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Runs one of the runtime's own scripts to completion: `(exit code, stdout, stderr)`.
    pub(crate) async fn run_script(
        &self,
        script: &str,
        args: &[String],
    ) -> Result<(i64, Bytes, Bytes), RuntimeError> {
        let mut cmd = vec![
            "/bin/sh".to_string(),
            "-c".into(),
            script.into(),
            "subrun".into(),
        ];
        cmd.extend(args.iter().cloned());
        let attached = self.start_exec(cmd, Vec::new(), false).await?;
        let mut out = BytesMut::new();
        let mut err = BytesMut::new();
        let mut output = attached.output;
        while let Some(frame) = output.next().await {
            match frame {
                Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                    out.extend_from_slice(&message);
                }
                Ok(LogOutput::StdErr { message }) => err.extend_from_slice(&message),
                Ok(LogOutput::StdIn { .. }) => {}
                Err(source) => {
                    return Err(DockerError::Stream {
                        exec: attached.exec,
                        source,
                    }
                    .during("run a helper script in the container"));
                }
            }
        }
        let code = self.exit_code(&attached.exec).await?;
        Ok((code, out.freeze(), err.freeze()))
    }

    /// Ends every process of session `sid` (and, when no other execution runs, every process
    /// that left it), waiting until they are gone. The caller must not hold the gate.
    ///
    /// When the sweep cannot even start (a fork storm holds the whole pids limit, so the
    /// engine cannot add a process to the container), the container is relaunched instead
    /// (killed, its lease attached again, started):
    /// that ends every process in it (setup services and other commands included) and keeps
    /// its filesystem and mounts.
    pub(crate) async fn end_session(&self, sid: u32) -> Result<(), RuntimeError> {
        let _exclusive = self.gate.write().await;
        // Alone (this command's supervisor is the only one): sweep escaped processes too.
        let sweep_all = *self.live.borrow() <= 1;
        let mut args = vec![sid.to_string()];
        if sweep_all {
            args.push("all".into());
            args.extend(
                self.protected_sessions
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .iter()
                    .cloned(),
            );
        }
        let mut failure = String::new();
        for (attempt, phase) in ["term", "kill", "kill"].into_iter().enumerate() {
            if attempt == 2 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let mut phase_args = vec![phase.to_string()];
            phase_args.extend(args.iter().cloned());
            match self.run_script(scripts::KILL, &phase_args).await {
                Ok((_, out, _)) if out.starts_with(b"gone") => return Ok(()),
                Ok((_, out, _)) if out.starts_with(b"left") => {
                    tracing::warn!(container = %self.container, sid, "processes survived SIGKILL (uninterruptible?)");
                    return Ok(());
                }
                // The sweep died before it could report (it could not fork) or never ran
                // (the engine could not add a process to the container).
                Ok((code, out, err)) => {
                    failure = format!(
                        "the {phase} sweep exited {code} without a report: {}{}",
                        String::from_utf8_lossy(&out).trim(),
                        String::from_utf8_lossy(&err).trim()
                    );
                }
                Err(e) => failure = format!("the {phase} sweep could not start: {e}"),
            }
            tracing::debug!(%failure, "kill sweep incomplete");
        }
        tracing::warn!(
            container = %self.container,
            %failure,
            "cannot start the kill sweep; relaunching the container to end every process in it"
        );
        self.relaunch()
            .await
            .map_err(|e| e.during("end a command that could not be swept"))?;
        self.protected_sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
        Ok(())
    }

    /// Attaches the container's lease (before every start: a container never runs without
    /// one).
    pub(crate) async fn attach_lease(&self) -> Result<(), DockerError> {
        let options = AttachContainerOptionsBuilder::new()
            .stdin(true)
            .stdout(false)
            .stderr(false)
            .stream(true)
            .build();
        let attached = self
            .docker
            .attach_container(&self.container, Some(options))
            .await
            .map_err(|source| DockerError::AttachLease {
                container: self.container.clone(),
                source,
            })?;
        *self
            .lease
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Lease(attached.input));
        Ok(())
    }

    /// Ends the lease: the container stops (when `keep`, the lease is left open until this
    /// process exits, so a kept container runs until then).
    pub(crate) fn end_lease(&self, keep: bool) {
        let lease = self
            .lease
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if keep {
            std::mem::forget(lease);
        }
    }

    /// After every start: tells the disk meter where the container's processes are.
    pub(crate) async fn started(&self) -> Result<(), DockerError> {
        let Some(disk) = &self.disk else {
            return Ok(());
        };
        let info = self
            .docker
            .inspect_container(&self.container, None)
            .await
            .map_err(|source| DockerError::InspectContainer {
                container: self.container.clone(),
                source,
            })?;
        match info
            .state
            .and_then(|s| s.pid)
            .and_then(|p| u32::try_from(p).ok())
        {
            Some(pid) if pid > 0 => disk.attach(pid),
            _ => {
                tracing::warn!(container = %self.container, "the engine reports no init pid: only the workspace is charged")
            }
        }
        Ok(())
    }

    /// Kills the container (every process in it), attaches a new lease and starts it again;
    /// its filesystem and mounts stay.
    async fn relaunch(&self) -> Result<(), DockerError> {
        let restart = |source| DockerError::RestartContainer {
            container: self.container.clone(),
            source,
        };
        let kill = KillContainerOptionsBuilder::new().signal("KILL").build();
        if let Err(e) = self
            .docker
            .kill_container(&self.container, Some(kill))
            .await
        {
            // 409: not running any more (its keep-alive ended).
            if is_not_found(&e) {
                return Err(restart(e));
            }
            tracing::debug!(error = %e, "kill before relaunch");
        }
        let wait = WaitContainerOptionsBuilder::new()
            .condition("not-running")
            .build();
        let mut waiting = Box::pin(self.docker.wait_container(&self.container, Some(wait)));
        // The stream ends (or reports the exit code as an error) once the container stopped.
        let _ = tokio::time::timeout(Duration::from_secs(30), waiting.next()).await;
        drop(waiting);
        self.end_lease(false);
        self.attach_lease().await?;
        self.docker
            .start_container(&self.container, None)
            .await
            .map_err(restart)?;
        self.started().await
    }

    /// True when the container's OOM-kill count grew since the last call.
    pub(crate) async fn oom_killed_since_last_check(&self) -> bool {
        match self.run_script(scripts::OOM_KILLS, &[]).await {
            Ok((0, out, _)) => {
                let Some(now) = String::from_utf8_lossy(&out).trim().parse::<u64>().ok() else {
                    return false;
                };
                let mut seen = self
                    .oom_kills
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let grew = now > *seen;
                *seen = now;
                grew
            }
            Ok(_) => false,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read the container's OOM-kill count");
                false
            }
        }
    }

    /// Records the sessions alive now (after setup) as spared by sweeps.
    pub(crate) async fn protect_current_sessions(&self) -> Result<(), RuntimeError> {
        let (_, out, _) = self.run_script(scripts::SESSIONS, &[]).await?;
        let mut sessions: Vec<String> = String::from_utf8_lossy(&out)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "1")
            .map(str::to_string)
            .collect();
        sessions.sort();
        sessions.dedup();
        *self
            .protected_sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = sessions;
        Ok(())
    }
}
