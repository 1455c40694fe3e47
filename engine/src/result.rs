//! What an execution produced: [`RuntimeResult`], its [`Outcome`] and [`Usage`].
//!
//! A submission that fails (non-zero exit, trap, timeout, resource limit) is an [`Outcome`],
//! never an `Err`: `Err` means the engine could not run the command at all.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::ids::ExecutionId;

/// Exit codes that read the same on every runtime, following a POSIX shell.
pub mod exit_code {
    /// The command exceeded its deadline (as `timeout(1)` reports).
    pub const TIMEOUT: i32 = 124;
    /// The command word did not resolve to anything runnable.
    pub const NOT_FOUND: i32 = 127;
    /// A WebAssembly trap, reported like an abort (`128 + SIGABRT`).
    pub const TRAP: i32 = 134;
    /// The command was killed (`128 + SIGKILL`); also a memory-limit kill.
    pub const KILLED: i32 = 137;
    /// The CPU budget (fuel) ran out (`128 + SIGXCPU`).
    pub const FUEL_EXHAUSTED: i32 = 152;
    /// An output or disk limit was exceeded (`128 + SIGXFSZ`).
    pub const FILE_SIZE_EXCEEDED: i32 = 153;

    /// The shell's code for a process ended by signal `signal`: `128 + signal`.
    pub const fn signal(signal: i32) -> i32 {
        128 + signal
    }
}

/// How an execution ended.
///
/// Match it exhaustively in code that decides verdicts; `#[non_exhaustive]` only guards
/// downstream crates against new variants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The command exited by itself with `code` (also `proc_exit(code)` in wasm).
    Exited {
        /// The exit status, 0 for success.
        code: i32,
    },
    /// A native process was ended by a signal it did not handle (for example SIGSEGV).
    Signaled {
        /// The signal number.
        signal: i32,
    },
    /// The wall-clock deadline passed; the command was ended and its output so far kept.
    TimedOut,
    /// A resource limit ended the command.
    ResourceExceeded {
        /// Which limit.
        resource: Resource,
    },
    /// A WebAssembly guest trapped.
    Trapped {
        /// What kind of trap.
        trap: TrapKind,
    },
    /// `kill()` ended the command.
    Killed,
}

impl Outcome {
    /// The shell-like exit code this outcome reads as, when the guest did not report one itself.
    pub fn default_exit_code(&self) -> i32 {
        match self {
            Outcome::Exited { code } => *code,
            Outcome::Signaled { signal } => exit_code::signal(*signal),
            Outcome::TimedOut => exit_code::TIMEOUT,
            Outcome::ResourceExceeded { resource } => match resource {
                Resource::Memory | Resource::Processes => exit_code::KILLED,
                Resource::Fuel => exit_code::FUEL_EXHAUSTED,
                Resource::Output | Resource::Disk => exit_code::FILE_SIZE_EXCEEDED,
            },
            Outcome::Trapped { .. } => exit_code::TRAP,
            Outcome::Killed => exit_code::KILLED,
        }
    }

    /// True only for `Exited { code: 0 }`.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Exited { code: 0 })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Exited { code } => write!(f, "exited with code {code}"),
            Outcome::Signaled { signal } => write!(f, "ended by signal {signal}"),
            Outcome::TimedOut => f.write_str("timed out"),
            Outcome::ResourceExceeded { resource } => write!(f, "{resource} limit exceeded"),
            Outcome::Trapped { trap } => write!(f, "trapped: {trap}"),
            Outcome::Killed => f.write_str("killed"),
        }
    }
}

/// A limited resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Resource {
    /// Linear memory (wasm) or address space / cgroup memory (native).
    Memory,
    /// The deterministic instruction budget (`limits.fuel`).
    Fuel,
    /// Bytes written to stdout or stderr (`limits.output`, per stream).
    Output,
    /// Bytes written to the workspace (`limits.disk`).
    Disk,
    /// Processes or threads (`limits.processes`).
    Processes,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Resource::Memory => "memory",
            Resource::Fuel => "fuel",
            Resource::Output => "output",
            Resource::Disk => "disk",
            Resource::Processes => "processes",
        })
    }
}

/// The kind of a WebAssembly trap.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TrapKind {
    /// The wasm stack limit was reached (deep or infinite recursion).
    StackOverflow,
    /// A load or store outside linear memory.
    MemoryOutOfBounds,
    /// `unreachable` executed (Rust panics and aborts end here).
    Unreachable,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// Integer overflow (for example `i32::MIN / -1`).
    IntegerOverflow,
    /// A float-to-int conversion out of range.
    BadConversionToInteger,
    /// `call_indirect` through a null entry.
    IndirectCallToNull,
    /// `call_indirect` with the wrong signature.
    BadSignature,
    /// A table access out of bounds.
    TableOutOfBounds,
    /// A null reference was dereferenced.
    NullReference,
    /// An exception was thrown and never caught.
    UnhandledException,
    /// Any other trap, with the engine's description.
    Other(String),
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrapKind::StackOverflow => f.write_str("stack overflow"),
            TrapKind::MemoryOutOfBounds => f.write_str("out-of-bounds memory access"),
            TrapKind::Unreachable => f.write_str("unreachable executed"),
            TrapKind::IntegerDivisionByZero => f.write_str("integer division by zero"),
            TrapKind::IntegerOverflow => f.write_str("integer overflow"),
            TrapKind::BadConversionToInteger => f.write_str("invalid conversion to integer"),
            TrapKind::IndirectCallToNull => f.write_str("indirect call to null"),
            TrapKind::BadSignature => f.write_str("indirect call signature mismatch"),
            TrapKind::TableOutOfBounds => f.write_str("out-of-bounds table access"),
            TrapKind::NullReference => f.write_str("null reference"),
            TrapKind::UnhandledException => f.write_str("unhandled exception"),
            TrapKind::Other(s) => f.write_str(s),
        }
    }
}

/// What an execution consumed. Fields a runtime cannot measure are `None`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Wall-clock time from start to end of the command.
    #[serde(with = "crate::result::secs_serde")]
    pub wall_time: Duration,
    /// CPU time, where the runtime can measure it per execution.
    #[serde(with = "crate::result::option_secs_serde")]
    pub cpu_time: Option<Duration>,
    /// Fuel consumed, when the execution was metered.
    pub fuel_consumed: Option<u64>,
    /// Peak memory in bytes (wasm: peak linear memory).
    pub peak_memory: Option<u64>,
    /// The largest workspace size measured during the command, when a disk quota applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_disk: Option<u64>,
    /// Bytes the command wrote to stdout, including any beyond the cap.
    pub stdout_bytes: u64,
    /// Bytes the command wrote to stderr, including any beyond the cap.
    pub stderr_bytes: u64,
    /// The deadline that applied, after any per-program factor.
    #[serde(with = "crate::result::option_secs_serde")]
    pub deadline: Option<Duration>,
    /// The factor the deadline was scaled by (for interpreted guests), when not 1.
    pub deadline_factor: Option<f64>,
}

/// The result of one execution.
///
/// `stdout` and `stderr` hold the exact bytes the command wrote (up to the output cap, with the
/// matching `*_truncated` flag set beyond it); use [`stdout_text`](Self::stdout_text) for text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuntimeResult {
    /// Which execution this is.
    pub execution_id: ExecutionId,
    /// How the execution ended.
    pub outcome: Outcome,
    /// The shell-like exit code (see [`exit_code`]).
    pub exit_code: i32,
    /// True when the deadline ended the command (`outcome` is `TimedOut`).
    pub timed_out: bool,
    /// Bytes written to stdout.
    #[serde(with = "crate::result::bytes_serde")]
    pub stdout: Bytes,
    /// Bytes written to stderr.
    #[serde(with = "crate::result::bytes_serde")]
    pub stderr: Bytes,
    /// stdout was cut at the output cap.
    pub stdout_truncated: bool,
    /// stderr was cut at the output cap.
    pub stderr_truncated: bool,
    /// Output of the runtime's setup commands; set on the first result after spawn only.
    #[serde(with = "crate::result::bytes_serde")]
    pub setup_stdout: Bytes,
    /// Error output of the runtime's setup commands; first result after spawn only.
    #[serde(with = "crate::result::bytes_serde")]
    pub setup_stderr: Bytes,
    /// Wall time of the command (same as `usage.wall_time`).
    #[serde(with = "crate::result::secs_serde")]
    pub elapsed: Duration,
    /// What the execution consumed.
    pub usage: Usage,
}

impl RuntimeResult {
    /// stdout as text; invalid UTF-8 is replaced with U+FFFD.
    pub fn stdout_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.stdout)
    }

    /// stderr as text; invalid UTF-8 is replaced with U+FFFD.
    pub fn stderr_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.stderr)
    }

    /// True when the command exited with code 0.
    pub fn success(&self) -> bool {
        self.outcome.is_success()
    }
}

/// Durations in results serialize as seconds (a float), for machines: `"elapsed": 0.0132`.
pub(crate) mod secs_serde {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// As [`secs_serde`] for an optional duration (`null` is `None`).
pub(crate) mod option_secs_serde {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|secs| Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Serializes bytes as a UTF-8 string when they are valid UTF-8, else as `{ "base64": ... }`,
/// so JSON results stay readable without losing a byte.
pub(crate) mod bytes_serde {
    use base64::Engine as _;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Text(String),
        Binary { base64: String },
    }

    pub(crate) fn serialize<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(b) {
            Ok(text) => s.serialize_str(text),
            Err(_) => Repr::Binary {
                base64: base64::engine::general_purpose::STANDARD.encode(b),
            }
            .serialize(s),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Text(t) => Ok(Bytes::from(t)),
            Repr::Binary { base64 } => base64::engine::general_purpose::STANDARD
                .decode(base64)
                .map(Bytes::from)
                .map_err(serde::de::Error::custom),
        }
    }
}
