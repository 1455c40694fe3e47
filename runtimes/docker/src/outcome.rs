//! Exit codes from the engine to [`Outcome`]s.
//!
//! The engine folds "ended by signal N" into exit code `128 + N` (containerd reports it that
//! way, as a POSIX shell does), so the two cannot be told apart: codes 129–159 (signals 1–31)
//! read as [`Outcome::Signaled`]; the `exit_code` is the same either way. A 137 while the
//! container's OOM-kill count grew reads as `ResourceExceeded { memory }`.

use subrun::{Outcome, Resource};

/// The outcome of a command that ended by itself with `code`; `oom` when the container's
/// OOM killer fired during it.
pub(crate) fn from_exit_code(code: i64, oom: bool) -> Outcome {
    let code = i32::try_from(code).unwrap_or(i32::MAX);
    match code {
        137 if oom => Outcome::ResourceExceeded {
            resource: Resource::Memory,
        },
        129..=159 => Outcome::Signaled { signal: code - 128 },
        _ => Outcome::Exited { code },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_like_a_shell() {
        assert_eq!(from_exit_code(0, false), Outcome::Exited { code: 0 });
        assert_eq!(from_exit_code(127, false), Outcome::Exited { code: 127 });
        assert_eq!(from_exit_code(139, false), Outcome::Signaled { signal: 11 });
        assert_eq!(from_exit_code(137, false), Outcome::Signaled { signal: 9 });
        assert_eq!(
            from_exit_code(137, true),
            Outcome::ResourceExceeded {
                resource: Resource::Memory
            }
        );
        assert_eq!(from_exit_code(200, false), Outcome::Exited { code: 200 });
        for code in [0, 3, 127, 139, 137, 200] {
            assert_eq!(
                i64::from(from_exit_code(code, false).default_exit_code()),
                code
            );
        }
    }
}
