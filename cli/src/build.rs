//! `subrun build`: a submission's source to a `wasm32-wasip1` module the `wasi` runtime runs,
//! through [`subrun_grade::build`] (the grader builds C, C++ and Cargo submissions with the
//! same code).
//!
//! The module's path is the only thing printed on stdout (the compiler's messages go to
//! stderr, escaped), so `wasm=$(subrun build sub/)` works. A missing toolchain piece names
//! the command that installs it (exit 125); code the compiler rejects exits 1.

use std::path::PathBuf;

use subrun_grade::build::{BuildError, BuildOptions, Source};

use crate::args::BuildArgs;
use crate::error::CliError;

/// Runs `subrun build` and returns the process exit code.
///
/// # Errors
/// [`CliError::BuildFailed`] (exit 1) when the compiler rejects the code, [`CliError::Build`]
/// (exit 125) for everything else that stops a build.
pub(crate) fn build(args: &BuildArgs) -> Result<i32, CliError> {
    let path = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut options = BuildOptions::new().echo(true);
    options.bin.clone_from(&args.bin);
    options.out.clone_from(&args.out);
    let built = Source::classify(&path)
        .and_then(|source| subrun_grade::build::build(&source, &options))
        .map_err(|err| match err {
            BuildError::Failed { what, .. } => CliError::BuildFailed { what },
            other => CliError::Build(other),
        })?;
    println!("{}", built.module.display());
    Ok(0)
}
