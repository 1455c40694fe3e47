//! Shards: a deterministic split of the (submission, case) items of a run, so that many
//! machines grade one problem and `Report::merge` puts their reports back together.
//!
//! An item belongs to shard `h % N`, where `h` is the first 8 bytes (big-endian) of
//!
//! ```text
//! SHA-256( name ‖ 0 ‖ command ‖ 0 ‖ for each file: path ‖ 0 ‖ len(bytes) as u64 BE ‖ bytes ‖ group ‖ 0 ‖ case )
//! ```
//!
//! (name and command the submission's, files in the submission's order; group and case
//! names as the problem spells them). Nothing else goes in: not the machine, the time, the
//! order of the cases or `-j`, so every shard of the same inputs picks the same items
//! everywhere, and a shard run twice grades the same items.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subrun::EnvironmentSpec;

use crate::problem::Problem;
use crate::submission::Submission;

/// One shard of `count`: the items whose hash modulo `count` is `index` (0-based). Read
/// from a report only when `index < count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawShard")]
pub struct Shard {
    /// This shard (`0 <= index < count`).
    pub index: u32,
    /// How many shards the items are split into (at least 1).
    pub count: u32,
}

/// A shard that cannot be: `--shard 3/3`, `--shard 0/0`, `--shard x`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShardError {
    /// Not `I/N` with two integers.
    #[error(
        "`{0}` is not I/N (two integers, the 0-based shard index and the shard count: 0/3, 1/3, 2/3)"
    )]
    Syntax(String),
    /// The count is 0.
    #[error("the shard count must be at least 1")]
    NoShards,
    /// The index is not below the count.
    #[error("shard index {index} is not below the count {count} (the index is 0-based: 0/{count} .. {last}/{count})", last = count - 1)]
    OutOfRange {
        /// The index given.
        index: u32,
        /// The count given.
        count: u32,
    },
}

/// A shard as written, before its check.
#[derive(Deserialize)]
struct RawShard {
    index: u32,
    count: u32,
}

impl TryFrom<RawShard> for Shard {
    type Error = ShardError;

    fn try_from(raw: RawShard) -> Result<Self, Self::Error> {
        Shard::new(raw.index, raw.count)
    }
}

impl Shard {
    /// Shard `index` of `count`.
    ///
    /// # Errors
    /// [`ShardError::NoShards`] when `count` is 0, [`ShardError::OutOfRange`] when
    /// `index >= count`.
    pub fn new(index: u32, count: u32) -> Result<Self, ShardError> {
        if count == 0 {
            return Err(ShardError::NoShards);
        }
        if index >= count {
            return Err(ShardError::OutOfRange { index, count });
        }
        Ok(Self { index, count })
    }

    /// The whole run as one shard (`0/1`).
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// The shard (`0..count`) that `submission`'s case `case` of group `group` belongs to.
    pub fn of(submission: &Submission, group: &str, case: &str, count: u32) -> u32 {
        ItemHasher::new(submission).shard(group, case, count)
    }

    /// True when this shard grades `submission`'s case `case` of group `group`.
    pub fn contains(&self, submission: &Submission, group: &str, case: &str) -> bool {
        Self::of(submission, group, case, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    /// `I/N`, as `--shard` takes it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || ShardError::Syntax(subrun::terminal::escape(s).into_owned());
        let (index, count) = s.split_once('/').ok_or_else(syntax)?;
        let number = |t: &str| {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax());
            }
            t.parse::<u32>().map_err(|_| syntax())
        };
        Self::new(number(index)?, number(count)?)
    }
}

/// The hash of a submission's items, its part hashed once.
#[derive(Clone)]
pub(crate) struct ItemHasher {
    prefix: Sha256,
}

impl ItemHasher {
    pub(crate) fn new(submission: &Submission) -> Self {
        let mut h = Sha256::new();
        h.update(submission.name.as_bytes());
        h.update([0]);
        h.update(submission.command.as_bytes());
        h.update([0]);
        for (path, bytes) in &submission.files {
            h.update(path.as_bytes());
            h.update([0]);
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        }
        Self { prefix: h }
    }

    /// The shard of one of the submission's cases among `count` (at least 1).
    pub(crate) fn shard(&self, group: &str, case: &str, count: u32) -> u32 {
        let mut h = self.prefix.clone();
        h.update(group.as_bytes());
        h.update([0]);
        h.update(case.as_bytes());
        let digest = h.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        // Below `count`, so it fits a u32.
        (u64::from_be_bytes(first) % u64::from(count.max(1))) as u32
    }
}

/// The fingerprint of a run's inputs, which every shard of one run shares and
/// [`Report::merge`](crate::Report::merge) compares: SHA-256 (hex) over the problem as
/// loaded (name, layout, limits, checker, every group and case with its arguments, inputs,
/// files and answers; not the directory it was read from), the environment the cases run
/// in (its normalized document, [`EnvironmentSpec::to_value`], limits applied), every
/// submission in order (name, command, files) and the options that change results
/// (fail-fast). Not `jobs`, not the shard.
pub(crate) fn fingerprint(
    problem: &Problem,
    spec: &EnvironmentSpec,
    submissions: &[Submission],
    fail_fast: bool,
) -> String {
    let mut h = HashWriter(Sha256::new());
    // Each part is written with `Debug` (or JSON), which quotes strings and lists every
    // field: new fields of the problem's types are covered without a change here.
    let _ = write!(
        h,
        "subrun-grade fingerprint 1\0{:?}\0{:?}\0{:?}\0{:?}\0{:?}\0{}\0{fail_fast}\0",
        problem.name,
        problem.layout,
        problem.limits,
        problem.checker,
        problem.groups,
        spec.to_value(),
    );
    for s in submissions {
        let _ = write!(h, "{:?}\0{:?}\0", s.name, s.command);
        for (path, bytes) in &s.files {
            let _ = write!(h, "{path:?}\0{}\0", bytes.len());
            h.0.update(bytes);
        }
    }
    hex::encode(h.0.finalize())
}

/// Formatting straight into a hash, without the text in memory.
struct HashWriter(Sha256);

impl fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The assignment is part of the report format: shards run by different versions must
    /// agree. These values were computed from the documented formula with Python's hashlib,
    /// independently of this code; a change to the hash fails here.
    #[test]
    fn the_shard_of_an_item_is_pinned() {
        let a = Submission::command("a", "./a.out");
        assert_eq!(Shard::of(&a, "g", "c1", 7), 1);
        assert_eq!(Shard::of(&a, "g", "c2", 7), 3);
        assert_eq!(Shard::of(&a, "g", "c3", 7), 5);
        assert_eq!(Shard::of(&a, "g", "c1", 1_000_003), 909_337);
        assert_eq!(Shard::of(&a.clone().file("x", [0u8, 1]), "g", "c1", 7), 0);
        let correct = Submission::command("correct.py", "python correct.py").file(
            "correct.py",
            "import sys\n\nprint(sum(int(t) for t in sys.stdin.read().split()))\n",
        );
        assert_eq!(Shard::of(&correct, "main", "many", 3), 1);
        assert_eq!(Shard::of(&a, "g", "c1", 1), 0);
    }

    #[test]
    fn contains_is_the_shard_of_the_item() {
        let a = Submission::command("a", "./a.out");
        let shards: Vec<bool> = (0..7)
            .map(|i| Shard::new(i, 7).expect("valid").contains(&a, "g", "c2"))
            .collect();
        assert_eq!(shards, [false, false, false, true, false, false, false]);
    }

    #[test]
    fn shards_parse_as_index_slash_count_and_refuse_the_rest() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!("0/1".parse(), Ok(Shard::WHOLE));
        assert_eq!(
            "3/3".parse::<Shard>(),
            Err(ShardError::OutOfRange { index: 3, count: 3 })
        );
        assert_eq!("0/0".parse::<Shard>(), Err(ShardError::NoShards));
        for bad in [
            "x",
            "1",
            "1/",
            "/3",
            "-1/3",
            "+1/3",
            "1/3/4",
            " 1/3",
            "1/99999999999",
        ] {
            assert_eq!(
                bad.parse::<Shard>(),
                Err(ShardError::Syntax(bad.to_owned())),
                "{bad}"
            );
        }
        let err = "3/3"
            .parse::<Shard>()
            .expect_err("out of range")
            .to_string();
        assert_eq!(
            err,
            "shard index 3 is not below the count 3 (the index is 0-based: 0/3 .. 2/3)"
        );
        assert_eq!(Shard { index: 1, count: 4 }.to_string(), "1/4");
    }

    #[test]
    fn a_report_s_shard_reads_back_only_when_its_index_is_below_its_count() {
        let shard = Shard::new(2, 3).expect("valid");
        let json = serde_json::to_string(&shard).expect("json");
        assert_eq!(json, r#"{"index":2,"count":3}"#);
        assert_eq!(
            serde_json::from_str::<Shard>(&json).expect("reads back"),
            shard
        );
        let err = serde_json::from_str::<Shard>(r#"{"index":3,"count":3}"#).expect_err("3/3");
        assert!(
            err.to_string()
                .starts_with("shard index 3 is not below the count 3"),
            "{err}"
        );
    }
}
