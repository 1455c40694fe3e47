//! Which process owns something on the host (a self-bind record), and whether it still runs:
//! a pid plus its start time (`/proc/<pid>/stat` field 22), so a recycled pid is not taken for
//! the owner.

/// A process, identified across pid reuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) pid: u32,
    pub(crate) start: u64,
}

/// This process.
///
/// # Errors
/// `/proc/self/stat` cannot be read or parsed.
pub(crate) fn this_process() -> std::io::Result<Owner> {
    let pid = std::process::id();
    start_time(pid)
        .map(|start| Owner { pid, start })
        .ok_or_else(|| std::io::Error::other("cannot read this process's start time"))
}

/// The start time (clock ticks after boot) of `pid`, `None` when it does not run.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

/// Field 22 of a `stat` line. The command name (field 2) may hold spaces, newlines and `)`:
/// the fields after it start after the last `)`.
fn parse_start_time(stat: &[u8]) -> Option<u64> {
    let close = stat.iter().rposition(|b| *b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    // After the name: field 3 (state) is the first; field 22 is the 20th.
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

impl Owner {
    /// True while the process runs (zombies count as dead).
    pub(crate) fn is_alive(&self) -> bool {
        let Ok(stat) = std::fs::read(format!("/proc/{}/stat", self.pid)) else {
            return false;
        };
        let zombie = stat
            .iter()
            .rposition(|b| *b == b')')
            .and_then(|i| stat.get(i + 2))
            .is_some_and(|s| *s == b'Z' || *s == b'X');
        !zombie && parse_start_time(&stat) == Some(self.start)
    }

    /// `<pid>-<start>-<suffix>`.
    pub(crate) fn record_name(&self, suffix: u64) -> String {
        format!("{}-{}-{suffix:016x}", self.pid, self.start)
    }

    /// The owner a [`record_name`](Self::record_name) names.
    pub(crate) fn from_record_name(name: &str) -> Option<Self> {
        let mut parts = name.splitn(3, '-');
        let pid = parts.next()?.parse().ok()?;
        let start = parts.next()?.parse().ok()?;
        parts.next()?;
        Some(Self { pid, start })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_ends_at_the_last_parenthesis() {
        let stat = b"42 (a) b\nc) S 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0";
        assert_eq!(parse_start_time(stat), Some(777));
    }

    #[test]
    fn this_process_is_alive_and_a_recycled_pid_is_not_the_owner() {
        let me = this_process().unwrap();
        assert!(me.is_alive());
        let name = me.record_name(7);
        assert_eq!(Owner::from_record_name(&name), Some(me));
        let other = Owner {
            start: me.start + 1,
            ..me
        };
        assert!(!other.is_alive());
    }
}
