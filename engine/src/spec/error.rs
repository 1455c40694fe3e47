//! Spec errors that name the file, the key path and what was expected.

use std::fmt;

/// One problem in a spec: a key path (`limits.timeout`, or empty for the document) and a
/// message that says what was found and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecIssue {
    /// Dotted key path, with `[i]` for list items; empty for the whole document.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// A spec that could not be loaded or validated. It lists every problem found in one pass where
/// possible (serde stops at the first type error; later checks collect all).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SpecError {
    /// The file the spec came from, or a label such as `<inline>`.
    pub origin: String,
    /// The problems, at least one.
    pub issues: Vec<SpecIssue>,
}

impl SpecError {
    /// One problem at `key` in `origin`.
    pub fn new(
        origin: impl Into<String>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            origin: origin.into(),
            issues: vec![SpecIssue {
                key: key.into(),
                message: message.into(),
            }],
        }
    }

    /// Several problems in `origin`; `issues` must not be empty.
    pub fn from_issues(origin: impl Into<String>, issues: Vec<SpecIssue>) -> Self {
        debug_assert!(!issues.is_empty());
        Self {
            origin: origin.into(),
            issues,
        }
    }

    /// Prefixes every key with `prefix` (used when a runtime validates its own section).
    #[must_use]
    pub fn within(mut self, prefix: &str) -> Self {
        for issue in &mut self.issues {
            issue.key = if issue.key.is_empty() {
                prefix.to_string()
            } else {
                format!("{prefix}.{}", issue.key)
            };
        }
        self
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = |f: &mut fmt::Formatter<'_>, i: &SpecIssue| {
            if i.key.is_empty() {
                write!(f, "{}", i.message)
            } else {
                write!(f, "{}: {}", i.key, i.message)
            }
        };
        match self.issues.as_slice() {
            [single] => {
                write!(f, "{}: ", self.origin)?;
                one(f, single)
            }
            many => {
                write!(f, "{}: {} problems", self.origin, many.len())?;
                for i in many {
                    f.write_str("\n  - ")?;
                    one(f, i)?;
                }
                Ok(())
            }
        }
    }
}
