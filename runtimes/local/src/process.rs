//! Starting `<shell> -c <command>` as the leader of a new process group.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use rustix::process::Pid;
use subrun::RuntimeError;
use subrun::ids::ExecutionId;
use tokio::process::{ChildStderr, ChildStdin, ChildStdout};

use crate::exit::ExitWatch;
use crate::group::{GroupGuard, Groups};
use crate::limits::ChildLimits;

/// `PATH` for a command whose merged environment has none, so `sh -c "python3 x.py"` finds
/// the usual system programs without leaking the host's `PATH`.
pub(crate) const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// What to start.
#[derive(Debug)]
pub(crate) struct Launch<'a> {
    pub(crate) shell: &'a Path,
    pub(crate) command: &'a str,
    pub(crate) workspace: &'a Path,
    /// The whole environment of the command (nothing else is inherited).
    pub(crate) env: &'a BTreeMap<String, String>,
    pub(crate) limits: ChildLimits,
    /// Give the command a stdin pipe; otherwise stdin is `/dev/null`.
    pub(crate) piped_stdin: bool,
}

/// A started command: its group, its exit watch and the parent's ends of its pipes.
#[derive(Debug)]
pub(crate) struct Started {
    pub(crate) group: GroupGuard,
    pub(crate) exit: ExitWatch,
    pub(crate) stdin: Option<ChildStdin>,
    pub(crate) stdout: ChildStdout,
    pub(crate) stderr: ChildStderr,
}

impl Launch<'_> {
    /// Spawns the command in a new process group, registered in `groups` under `id`.
    ///
    /// # Errors
    /// [`RuntimeError::Backend`] when the shell cannot be started (missing shell or
    /// workspace, a NUL byte in the command or env, an rlimit the system refuses) or its exit
    /// cannot be watched. A child that was started is killed and reaped before returning.
    pub(crate) fn start(
        &self,
        groups: &Arc<Groups>,
        id: ExecutionId,
    ) -> Result<Started, RuntimeError> {
        let mut cmd = Command::new(self.shell);
        cmd.arg("-c")
            .arg(self.command)
            .current_dir(self.workspace)
            .env_clear()
            .envs(self.env)
            .stdin(if self.piped_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if !self.env.contains_key("PATH") {
            cmd.env("PATH", DEFAULT_PATH);
        }
        self.limits.apply_to(&mut cmd);
        let mut child = cmd.spawn().map_err(|e| {
            RuntimeError::backend(
                format!(
                    "start `{} -c` in `{}`",
                    self.shell.display(),
                    self.workspace.display()
                ),
                e,
            )
        })?;
        let Some(leader) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) else {
            return Err(RuntimeError::backend(
                "start the shell",
                format!("the kernel returned an invalid pid {}", child.id()),
            ));
        };
        // From here on the guard kills and reaps the child if anything below fails.
        let group = groups.register(id, leader);
        let exit = ExitWatch::new(leader).map_err(|e| {
            RuntimeError::backend(
                format!(
                    "watch process {} (pidfd_open needs Linux 5.3 or later)",
                    leader.as_raw_nonzero()
                ),
                e,
            )
        })?;
        let pipe = |e| RuntimeError::backend("register the command's pipes", e);
        let stdin = child
            .stdin
            .take()
            .map(ChildStdin::from_std)
            .transpose()
            .map_err(pipe)?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(RuntimeError::backend(
                "register the command's pipes",
                "stdout or stderr was not piped",
            ));
        };
        Ok(Started {
            group,
            exit,
            stdin,
            stdout: ChildStdout::from_std(stdout).map_err(pipe)?,
            stderr: ChildStderr::from_std(stderr).map_err(pipe)?,
        })
    }
}
