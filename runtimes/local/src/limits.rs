//! Which limits the local runtime enforces, how, and which it refuses.
//!
//! | limit | local |
//! |---|---|
//! | `timeout` | the supervisor's deadline: TERM, grace, KILL to the process group |
//! | `output` | per-stream cap in the supervisor: truncate, flag, end the group |
//! | `memory` | `RLIMIT_AS` (address space) of every process the command starts |
//! | `open_files` | `RLIMIT_NOFILE` of every process the command starts |
//! | `disk` | the supervisor measures the workspace every 25 ms (and at the end) and ends the group over the quota; it bounds the workspace only, not the rest of the host |
//! | `fuel`, `processes`, `cpus` | refused by `validate` |

use std::os::unix::process::CommandExt as _;
use std::process::Command;

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use subrun::spec::Limits;
use subrun::spec::SpecIssue;

/// The limits the local runtime cannot enforce, as issues naming the key.
pub(crate) fn refused(limits: &Limits) -> Vec<SpecIssue> {
    let mut issues = Vec::new();
    let mut refuse = |key: &str, set: bool, why: &str| {
        if set {
            issues.push(SpecIssue {
                key: format!("limits.{key}"),
                message: format!("the `local` runtime cannot enforce it: {why}"),
            });
        }
    };
    refuse(
        "fuel",
        limits.fuel.is_some(),
        "native processes have no instruction budget; remove it or use the `wasi` runtime",
    );
    refuse(
        "processes",
        limits.processes.is_some(),
        "RLIMIT_NPROC counts every process of the user, not those of one command; \
         remove it or use the `docker` runtime (pids limit)",
    );
    refuse(
        "cpus",
        limits.cpus.is_some(),
        "there is no CPU quota without cgroups; remove it or use the `docker` runtime",
    );
    issues
}

/// Resource limits set in the child between `fork` and `exec`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChildLimits {
    /// `RLIMIT_AS` in bytes (soft and hard).
    address_space: Option<u64>,
    /// `RLIMIT_NOFILE` (soft and hard).
    open_files: Option<u64>,
}

impl ChildLimits {
    /// The rlimits for `limits`, each lowered to this process's hard limit when that is
    /// smaller (an unprivileged process cannot raise a hard limit; the result is stricter, not
    /// looser, than asked).
    pub(crate) fn from_limits(limits: &Limits) -> Self {
        let clamp = |resource: Resource, wanted: u64| match getrlimit(resource).maximum {
            Some(hard) => wanted.min(hard),
            None => wanted,
        };
        Self {
            address_space: limits.memory.map(|m| clamp(Resource::As, m.bytes())),
            open_files: limits.open_files.map(|n| clamp(Resource::Nofile, n)),
        }
    }

    /// Installs the limits on `command`, to be applied in the child before `exec`. Does
    /// nothing when no limit is set (so `std` may use its faster spawn path).
    pub(crate) fn apply_to(self, command: &mut Command) {
        if self.address_space.is_none() && self.open_files.is_none() {
            return;
        }
        let set = move |resource: Resource, value: Option<u64>| match value {
            Some(v) => setrlimit(
                resource,
                Rlimit {
                    current: Some(v),
                    maximum: Some(v),
                },
            ),
            None => Ok(()),
        };
        // SAFETY: the closure runs in the forked child before `exec`, where only
        // async-signal-safe operations are allowed. It captures two `Option<u64>` by value,
        // allocates nothing, takes no lock and only issues `setrlimit(2)` system calls (rustix
        // calls the kernel directly); an error is turned into an `io::Error` from the raw
        // errno, which does not allocate either.
        unsafe {
            command.pre_exec(move || {
                set(Resource::As, self.address_space)?;
                set(Resource::Nofile, self.open_files)?;
                Ok(())
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_become_rlimits() {
        let limits = ChildLimits::from_limits(&Limits::default());
        assert_eq!(limits.address_space, Some(512 * 1024 * 1024));
        assert!(limits.open_files.is_some_and(|n| n <= 256));
        let none = ChildLimits::from_limits(&Limits {
            memory: None,
            open_files: None,
            ..Limits::default()
        });
        assert_eq!(none, ChildLimits::default());
    }
}
