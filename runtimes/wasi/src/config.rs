//! The `wasi:` spec section.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use subrun::Mount;

/// The `wasi:` section of a spec. Every field is optional; defaults are listed per field.
///
/// ```yaml
/// wasi:
///   workdir: /workspace
///   mount_workspace: true
///   cwd: null
///   argv0: null
///   programs:
///     python: { module: "{{static:python}}/python.wasm", deadline_factor: 8 }
///   deterministic: false
///   cache_dir: null
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasiConfig {
    /// Where the guest sees the workspace, read-write; relative paths resolve inside it too
    /// (the workspace is also preopened at `/`). Default `/workspace`.
    #[serde(default = "default_workdir")]
    pub workdir: String,
    /// Preopen the workspace (at `workdir`, and at `/` unless `cwd` says otherwise). `false`:
    /// the guest sees no workspace at all; command words still name modules in it (the host
    /// reads them), as `wasmtime run x.wasm` reads a module no `--dir` shows. Default `true`.
    #[serde(default = "default_true")]
    pub mount_workspace: bool,
    /// The guest's working directory, a guest path in the view: the workdir, a mount's
    /// `target`, a static asset directory, or a directory below one. Relative paths (of the
    /// guest, and relative command words) resolve there, as for a process started with
    /// `cwd=`; so do absolute paths outside every other preopen (it is what `/` shows, since
    /// wasi-libc starts every program at `/`). Default: the workdir.
    #[serde(default)]
    pub cwd: Option<String>,
    /// `argv[0]` of every module this runtime runs (setup commands included), instead of the
    /// command word or a program's own `argv0`. Default: none.
    #[serde(default)]
    pub argv0: Option<String>,
    /// Command words that run an interpreter or tool module (`python`, `node`...).
    #[serde(default)]
    pub programs: BTreeMap<String, ProgramConfig>,
    /// Fixed clocks, seeded randomness, canonical NaNs and a fuel budget: identical output on
    /// every run. Requires `limits.fuel`. Default `false`.
    #[serde(default)]
    pub deterministic: bool,
    /// The seed of the guest's random numbers in deterministic mode. Default `0`.
    #[serde(default)]
    pub seed: u64,
    /// Directory of the on-disk compiled-module cache (`null`: `$XDG_CACHE_HOME/subrun` or
    /// `~/.cache/subrun`). It must not be visible to any guest.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Extra host directories shown to the guest (read-only unless `writable`).
    #[serde(default)]
    pub mounts: Vec<Mount>,
    /// Maximum elements per table. Default 100,000.
    #[serde(default = "default_table_elements")]
    pub max_table_elements: u64,
}

impl Default for WasiConfig {
    fn default() -> Self {
        Self {
            workdir: default_workdir(),
            mount_workspace: true,
            cwd: None,
            argv0: None,
            programs: BTreeMap::new(),
            deterministic: false,
            seed: 0,
            cache_dir: None,
            mounts: Vec::new(),
            max_table_elements: default_table_elements(),
        }
    }
}

fn default_workdir() -> String {
    "/workspace".to_string()
}

fn default_true() -> bool {
    true
}

fn default_table_elements() -> u64 {
    100_000
}

/// A command word that runs a module with a fixed argv prefix, env and mounts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramConfig {
    /// The module: a guest path under `/static` or the workdir, or a host path (absolute, or
    /// relative to the spec file).
    pub module: String,
    /// Arguments inserted after `argv[0]`, before the command's own arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Variables set for this program (the spec's, spawn's and call's variables win).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Guest path -> host directory, always read-only (an interpreter's library, a shim...).
    #[serde(default)]
    pub mounts: BTreeMap<String, String>,
    /// `argv[0]` as the guest sees it. Default: the command word.
    #[serde(default)]
    pub argv0: Option<String>,
    /// How the module is entered. Default `auto`.
    #[serde(default)]
    pub entry: EntryPoint,
    /// Scales the deadline for this program (interpreters run several times slower than
    /// native code); reported in `usage.deadline_factor`. Default 1.
    #[serde(default)]
    pub deadline_factor: Option<f64>,
}

/// How a module is entered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryPoint {
    /// `command` when the module exports `_start`, else `reactor` when it exports `run`.
    #[default]
    Auto,
    /// A WASI command: call `_start`; the exit status comes from `proc_exit` (0 if it returns).
    Command,
    /// A reactor: call `_initialize` if exported, then `run() -> i32`, the exit status.
    Reactor,
}
