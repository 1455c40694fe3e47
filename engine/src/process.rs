//! Host processes as `/proc` shows them: a field of `/proc/PID/stat`, and a process named so
//! that pid reuse cannot confuse two ([`ProcessId`]: its pid and its start time). Shared by
//! the temp-dir sweep and the runtimes that own host resources (docker's bind records,
//! local's process groups).

use std::io;

/// Field `n` of a `/proc/PID/stat` line, numbered as proc(5) numbers them (3 is the state,
/// 5 the process group, 22 the start time); `None` for fields 1 and 2 and past the end. The
/// command name (field 2) may hold spaces, newlines and `)`: the fields after it start after
/// its *last* `)`, so no name can shift them.
pub fn stat_field(stat: &[u8], n: usize) -> Option<&str> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    rest.split_ascii_whitespace().nth(n.checked_sub(3)?)
}

/// A process, identified across pid reuse: its pid and its start time (field 22 of
/// `/proc/PID/stat`, clock ticks since boot).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProcessId {
    /// The pid.
    pub pid: u32,
    /// When it started, in clock ticks since boot.
    pub start: u64,
}

impl ProcessId {
    /// This process.
    ///
    /// # Errors
    /// `/proc/self/stat` cannot be read or parsed.
    pub fn current() -> io::Result<Self> {
        Self::of(std::process::id())?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "cannot read this process's start time from /proc",
            )
        })
    }

    /// The process `pid` now, `None` when no such process runs.
    ///
    /// # Errors
    /// `/proc/PID/stat` exists but cannot be read.
    pub fn of(pid: u32) -> io::Result<Option<Self>> {
        Ok(read_stat(pid)?
            .and_then(|stat| start_of(&stat))
            .map(|start| Self { pid, start }))
    }

    /// True while this very process runs: its pid exists, is not a zombie, and started at
    /// [`start`](Self::start) (a recycled pid is another process).
    ///
    /// # Errors
    /// `/proc/PID/stat` exists but cannot be read; callers decide what an unknown means.
    pub fn is_alive(&self) -> io::Result<bool> {
        let Some(stat) = read_stat(self.pid)? else {
            return Ok(false);
        };
        let zombie = matches!(stat_field(&stat, 3), Some("Z" | "X"));
        Ok(!zombie && start_of(&stat) == Some(self.start))
    }
}

fn read_stat(pid: u32) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read(format!("/proc/{pid}/stat")) {
        Ok(stat) => Ok(Some(stat)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn start_of(stat: &[u8]) -> Option<u64> {
    stat_field(stat, 22)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_after_the_last_parenthesis_of_the_name() {
        let stat = b"42 (a) b\n) c)) S 1 77 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 987654 0 0";
        assert_eq!(stat_field(stat, 3), Some("S"));
        assert_eq!(stat_field(stat, 5), Some("77"));
        assert_eq!(start_of(stat), Some(987_654));
        assert_eq!(stat_field(stat, 2), None);
        assert_eq!(stat_field(b"42 (x", 3), None);
        assert_eq!(stat_field(stat, 99), None);
    }

    #[test]
    fn this_process_is_alive_and_a_recycled_pid_is_not_it() {
        let me = ProcessId::current().unwrap();
        assert_eq!(me.pid, std::process::id());
        assert!(me.is_alive().unwrap());
        let other = ProcessId {
            start: me.start + 1,
            ..me
        };
        assert!(!other.is_alive().unwrap());
        assert_eq!(ProcessId::of(u32::MAX).unwrap(), None);
    }
}
