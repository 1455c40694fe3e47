//! Command-line options of the bench binary.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// The sections of the benchmark, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Section {
    /// Warm `execute` of hello-world: wasi against local.
    Hello,
    /// First run in a new process: compile (empty cache) and from the on-disk cache.
    Cold,
    /// Executions per second with 1, 2, 8 and 64 concurrent executions.
    Throughput,
    /// A CPU-bound guest against the same program native.
    Cpu,
    /// Spawn and warm execute on docker, local and wasi.
    Docker,
    /// `python main.py` and QuickJS hello under wasi against native python3 and node.
    Guests,
}

impl Section {
    /// Every section, in run order.
    pub(crate) const ALL: [Section; 6] = [
        Section::Hello,
        Section::Cold,
        Section::Throughput,
        Section::Cpu,
        Section::Docker,
        Section::Guests,
    ];

    /// The section's name in the table and the JSON.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Section::Hello => "hello",
            Section::Cold => "cold",
            Section::Throughput => "throughput",
            Section::Cpu => "cpu",
            Section::Docker => "docker",
            Section::Guests => "guests",
        }
    }
}

/// What a re-executed child measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ChildMode {
    /// The cache directory is empty: the first execute compiles.
    Cold,
    /// The cache directory holds the compiled module: the first execute loads it.
    Disk,
}

/// Which program a child runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ChildProgram {
    /// The `hello` fixture built for wasm32-wasip1.
    Hello,
    /// `python main.py` on the CPython guest.
    Python,
    /// `node hello.js` on the QuickJS guest.
    Node,
}

/// subrun's runtime benchmark: one run, one table, medians and ratios.
///
/// Run it with `cargo bench -p subrun-tests --bench runtimes [-- OPTIONS]`.
#[derive(Debug, Parser)]
#[command(name = "runtimes")]
pub(crate) struct Options {
    /// Fewer iterations (a smoke run for CI); numbers are noisier.
    #[arg(long)]
    pub(crate) quick: bool,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Run only these sections (repeat or separate with commas).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "SECTION")]
    pub(crate) only: Vec<Section>,
    /// Internal: run as a child that measures one first execute in a fresh process.
    #[arg(long, value_enum, hide = true, requires_all = ["cache_dir", "program"])]
    pub(crate) child: Option<ChildMode>,
    /// Internal (child): the compiled-module cache directory.
    #[arg(long, hide = true)]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Internal (child): the program to run.
    #[arg(long, value_enum, hide = true)]
    pub(crate) program: Option<ChildProgram>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    pub(crate) bench: bool,
    /// Filters passed through `cargo bench -- FILTER`; ignored (use `--only`).
    #[arg(hide = true)]
    pub(crate) filters: Vec<String>,
}

impl Options {
    /// True when `section` should run.
    pub(crate) fn runs(&self, section: Section) -> bool {
        self.only.is_empty() || self.only.contains(&section)
    }

    /// `full` iterations, or `quick` ones with `--quick`.
    pub(crate) fn n(&self, full: usize, quick: usize) -> usize {
        if self.quick { quick } else { full }
    }
}
