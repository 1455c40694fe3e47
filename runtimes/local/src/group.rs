//! Process groups of running commands: signalling one, and the runtime-wide table `kill`,
//! `cleanup` and `terminate` use.
//!
//! A group's id is its leader's pid. It is only safe to signal while the leader has not been
//! reaped: once reaped, the pid (and so the group id) may be reused by an unrelated process.
//! So an entry is marked unsignallable (under the table's lock) *before* the leader is reaped,
//! and nothing signals a group through any other path.

use std::collections::HashMap;
use std::sync::Arc;

use rustix::io::Errno;
use rustix::process::{Pid, Signal, kill_process_group};
use subrun::ids::ExecutionId;
use tokio::sync::watch;

/// Execution id -> its process group while it may be signalled, `None` once its leader is
/// being reaped. An entry leaves the table when its execution has fully ended.
type Table = HashMap<ExecutionId, Option<Pid>>;

/// The process groups of one runtime's executions.
#[derive(Debug)]
pub(crate) struct Groups {
    table: watch::Sender<Table>,
}

impl Groups {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            table: watch::Sender::new(Table::new()),
        })
    }

    /// Registers the group led by `leader` for execution `id`.
    pub(crate) fn register(self: &Arc<Self>, id: ExecutionId, leader: Pid) -> GroupGuard {
        self.table.send_modify(|t| {
            t.insert(id.clone(), Some(leader));
        });
        GroupGuard {
            groups: self.clone(),
            id,
            leader,
            reaped: false,
        }
    }

    /// Sends SIGKILL to every group still signallable. Sync, for forced stops, `terminate`
    /// and `Drop`.
    pub(crate) fn kill_now(&self) {
        let table = self.table.borrow();
        for leader in table.values().flatten() {
            signal_group(*leader, Signal::KILL);
        }
    }
}

/// Sends `signal` to the process group `leader` leads. A group that is already gone (ESRCH)
/// is fine; anything else is logged, as there is nothing better to do with it.
fn signal_group(leader: Pid, signal: Signal) {
    match kill_process_group(leader, signal) {
        Ok(()) | Err(Errno::SRCH) => {}
        Err(e) => tracing::warn!(pgid = leader.as_raw_nonzero().get(), ?signal, error = %e,
            "cannot signal the process group"),
    }
}

/// One execution's process group. Dropped before its leader was reaped (a cancelled or
/// panicking supervisor), it kills the group and reaps the leader in the background.
#[derive(Debug)]
pub(crate) struct GroupGuard {
    groups: Arc<Groups>,
    id: ExecutionId,
    leader: Pid,
    reaped: bool,
}

impl GroupGuard {
    /// The leader's pid (also the group id).
    pub(crate) fn leader(&self) -> Pid {
        self.leader
    }

    /// Signals the whole group (a no-op once the leader is being reaped).
    pub(crate) fn signal(&self, signal: Signal) {
        if !self.reaped {
            signal_group(self.leader, signal);
        }
    }

    /// Called once the leader has exited but before it is reaped: kills what is left of the
    /// group (background jobs do not outlive their command) and marks the group unsignallable,
    /// so the leader's pid can be reaped and reused safely.
    pub(crate) fn release_for_reaping(&mut self) {
        if self.reaped {
            return;
        }
        self.groups.table.send_modify(|t| {
            signal_group(self.leader, Signal::KILL);
            if let Some(entry) = t.get_mut(&self.id) {
                *entry = None;
            }
        });
        self.reaped = true;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if !self.reaped {
            signal_group(self.leader, Signal::KILL);
            crate::exit::reap_in_background(self.leader);
        }
        self.groups.table.send_modify(|t| {
            t.remove(&self.id);
        });
    }
}

/// The processes of process group `pgid` now (field 5 of `/proc/PID/stat`, read after the
/// command name's last `)`, so no name can shift it). Processes that end while the table is
/// read are left out.
pub(crate) fn members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if subrun::process::stat_field(&stat, 5).and_then(|g| g.parse().ok()) == Some(pgid) {
            found.push(pid);
        }
    }
    found
}

#[cfg(test)]
mod member_tests {
    use super::*;

    #[test]
    fn this_process_is_a_member_of_its_own_group() {
        let me = std::process::id();
        let group = rustix::process::getpgrp().as_raw_nonzero().get() as u32;
        assert!(members(group).contains(&me));
    }
}
