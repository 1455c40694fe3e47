//! Which process owns a self-bind record, and whether it still runs: the record's name holds a
//! [`ProcessId`] (pid plus start time), so a recycled pid is not taken for the owner.

use subrun::process::ProcessId;

/// `<pid>-<start>-<suffix>`: the name of a record `owner` writes.
pub(crate) fn record_name(owner: ProcessId, suffix: u64) -> String {
    format!("{}-{}-{suffix:016x}", owner.pid, owner.start)
}

/// The owner a [`record_name`] names.
pub(crate) fn owner_of_record(name: &str) -> Option<ProcessId> {
    let mut parts = name.splitn(3, '-');
    let pid = parts.next()?.parse().ok()?;
    let start = parts.next()?.parse().ok()?;
    parts.next()?;
    Some(ProcessId { pid, start })
}

/// True while the record's owner runs. An owner whose `/proc` entry cannot be read counts
/// as gone: its record only keeps a bind mount alive, never data.
pub(crate) fn owner_runs(owner: ProcessId) -> bool {
    owner.is_alive().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_names_its_owner_and_a_recycled_pid_is_not_the_owner() {
        let me = ProcessId::current().unwrap();
        assert!(owner_runs(me));
        let name = record_name(me, 7);
        assert_eq!(owner_of_record(&name), Some(me));
        let other = ProcessId {
            start: me.start + 1,
            ..me
        };
        assert!(!owner_runs(other));
        assert_eq!(owner_of_record("12-x-0"), None);
    }
}
