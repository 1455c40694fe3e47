//! The `limits` section, shared by every runtime.
//!
//! A runtime that cannot enforce a limit that is set refuses the spec in `validate`; no limit is
//! silently ignored. `null` means "no limit" where that is allowed; `0` is never "no limit".

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::units::{ByteSize, duration_serde};

/// Resource limits for every command a runtime executes. Defaults are listed per field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock deadline per command (default `10s`; must be positive). A call may pass its
    /// own deadline instead.
    #[serde(default = "default_timeout", with = "duration_serde")]
    pub timeout: Duration,
    /// Memory per command (default `512MiB`; `null` for none). wasi: linear memory; docker:
    /// the container's cgroup; local: address space (`RLIMIT_AS`).
    #[serde(default = "default_memory")]
    pub memory: Option<ByteSize>,
    /// Bytes kept per output stream (default `16MiB`). Beyond it the stream is truncated and
    /// flagged, and the command is ended with `ResourceExceeded { output }`.
    #[serde(default = "default_output")]
    pub output: ByteSize,
    /// Deterministic instruction budget (default `null`: unmetered). wasi only.
    #[serde(default)]
    pub fuel: Option<u64>,
    /// Open file descriptors per command (default `256`; `null` for the runtime's default).
    #[serde(default = "default_open_files")]
    pub open_files: Option<u64>,
    /// Processes (docker: the container's pids limit). Default `null`.
    #[serde(default)]
    pub processes: Option<u64>,
    /// CPUs (docker: `NanoCpus`). Default `null`.
    #[serde(default)]
    pub cpus: Option<f64>,
    /// Bytes the workspace may hold: each entry's length or allocated size, whichever is
    /// larger, plus 512 bytes per entry (wasi: measured as the guest writes; the guest is
    /// stopped with `ResourceExceeded { disk }`). Default `null`.
    #[serde(default)]
    pub disk: Option<ByteSize>,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_memory() -> Option<ByteSize> {
    Some(ByteSize::mib(512))
}
fn default_output() -> ByteSize {
    ByteSize::mib(16)
}
fn default_open_files() -> Option<u64> {
    Some(256)
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: default_timeout(),
            memory: default_memory(),
            output: default_output(),
            fuel: None,
            open_files: default_open_files(),
            processes: None,
            cpus: None,
            disk: None,
        }
    }
}

impl Limits {
    /// Checks values that parse but make no sense (zero deadline, zero memory...), returning
    /// `(key, message)` pairs relative to `limits`.
    pub fn check(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.timeout.is_zero() {
            out.push((
                "timeout".to_string(),
                "must be positive: `0` is not \"no deadline\"; use a large value such as `1h`"
                    .to_string(),
            ));
        }
        if self.memory.is_some_and(|m| m.bytes() == 0) {
            out.push((
                "memory".into(),
                "must be positive, or `null` for no limit".into(),
            ));
        }
        if self.output.bytes() == 0 {
            out.push(("output".into(), "must be positive".into()));
        }
        if self.fuel == Some(0) {
            out.push((
                "fuel".into(),
                "must be positive, or `null` for unmetered".into(),
            ));
        }
        if self.open_files == Some(0) {
            out.push((
                "open_files".into(),
                "must be positive, or `null` for the runtime's default".into(),
            ));
        }
        if self.processes == Some(0) {
            out.push((
                "processes".into(),
                "must be positive, or `null` for no limit".into(),
            ));
        }
        if let Some(c) = self.cpus
            && !(c.is_finite() && c > 0.0)
        {
            out.push((
                "cpus".into(),
                format!("must be a positive number, found {c}"),
            ));
        }
        if self.disk.is_some_and(|d| d.bytes() == 0) {
            out.push((
                "disk".into(),
                "must be positive, or `null` for no quota".into(),
            ));
        }
        out
    }
}
