//! Newtype identifiers: runtime kinds, sessions, runtimes and executions.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// The name a runtime registers under and a spec selects with `type:` (`wasi`, `docker`, `local`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuntimeKind(String);

impl RuntimeKind {
    /// Wraps a runtime name. Names are lowercase identifiers by convention; the registry does
    /// not enforce more than non-emptiness.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The name as written in a spec's `type:` key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for RuntimeKind {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

macro_rules! counter_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh identifier, unique within this process and unlikely to collide across
            /// processes (it carries the process id).
            pub fn generate() -> Self {
                static NEXT: AtomicU64 = AtomicU64::new(1);
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                Self(format!(concat!($prefix, "-{}-{}"), std::process::id(), n))
            }

            /// Wraps an identifier chosen by the caller.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

counter_id!(
    /// Identifies one [`Session`](crate::Session); Docker labels containers with it.
    SessionId,
    "s"
);
counter_id!(
    /// Identifies one spawned runtime within a session.
    RuntimeId,
    "r"
);
counter_id!(
    /// Identifies one execution (one `execute` or `stream` call); tracing spans carry it.
    ExecutionId,
    "x"
);
