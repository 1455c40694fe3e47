//! # subrun
//!
//! The command line of subrun: `subrun run` runs one command in a fresh session (the `wasi`
//! runtime by default), `subrun spec check` validates environment specs, `subrun gc` removes
//! containers left behind, `subrun build` builds a submission to a `wasm32-wasip1` module, `subrun grade`
//! grades submissions against a problem's cases. This is the only crate that knows every runtime: it registers
//! `local`, `wasi` and `docker` explicitly in one [`subrun::Registry`].
//!
//! Exit codes: the command's own for `run` (124 timeout, 127 not found, 134 trap, 137
//! killed...), 125 when subrun itself failed, 2 for usage errors, 1 when `spec check` finds an
//! invalid file or the compiler rejects a `build`. See `docs/cli.md` and `docs/guests.md`.

mod args;
mod build;
mod default_spec;
mod dir_size;
mod error;
mod exit;
mod gc;
mod grade;
mod grants;
mod guests;
mod registry;
mod run;
mod signals;
mod spec_check;
mod terminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::args::{Cli, Command, SpecCommand};
use crate::error::{CliError, render_chain};

fn main() {
    let cli = Cli::parse();
    init_logging(&cli);
    let code = match run_cli(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{}", render_chain(&err));
            err.exit_code()
        }
    };
    std::process::exit(code);
}

/// The log filter of the commands other than `run` when `SUBRUN_LOG` is not set: warnings.
const DEFAULT_LOG_FILTER: &str = "warn";

/// The log filter of `subrun run -v`, `-vv`, `-vvv`...
const VERBOSE_LOG_FILTERS: [&str; 3] = ["info", "debug", "trace"];

/// Logs to stderr, escaped, without colours. `run` logs nothing unless asked (its stderr is
/// the command's, and a library's warning there would read as the command's bytes): `-v`
/// asks for [`VERBOSE_LOG_FILTERS`], else `SUBRUN_LOG` (the usual `tracing` directives),
/// else nothing. The other commands log `SUBRUN_LOG`, else [`DEFAULT_LOG_FILTER`].
fn init_logging(cli: &Cli) {
    let from_env = || EnvFilter::try_from_env("SUBRUN_LOG").ok();
    let filter = match &cli.command {
        Command::Run(args) if args.verbose > 0 => {
            let level = usize::from(args.verbose).min(VERBOSE_LOG_FILTERS.len()) - 1;
            Some(EnvFilter::new(VERBOSE_LOG_FILTERS[level]))
        }
        Command::Run(_) => from_env(),
        _ => Some(from_env().unwrap_or_else(|| EnvFilter::new(DEFAULT_LOG_FILTER))),
    };
    let Some(filter) = filter else {
        return;
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| EscapingStderr)
        .with_ansi(false)
        .init();
}

/// Stderr for log lines, each escaped ([`subrun::terminal::escape_bytes`]) but for its final
/// newline: a log event quotes names a guest chose (a symlink it left, a file it wrote), so
/// no byte of it may reach the terminal raw. (The formatter writes one event per call; colours
/// are off, since their escapes would be escaped too.)
struct EscapingStderr;

impl std::io::Write for EscapingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let (body, newline) = match buf.strip_suffix(b"\n") {
            Some(body) => (body, "\n"),
            None => (buf, ""),
        };
        let line = format!("{}{newline}", subrun::terminal::escape_bytes(body));
        std::io::stderr().lock().write_all(line.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Builds the one tokio runtime and runs the subcommand on it.
fn run_cli(cli: Cli) -> Result<i32, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::AsyncRuntime)?;
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => run::run(&registry::build()?, args).await,
            Command::Spec(SpecCommand::Check(args)) => {
                Ok(spec_check::check(&registry::build()?, &args))
            }
            Command::Build(args) => build::build(&args),
            Command::Spec(SpecCommand::Default) => print_default_spec(),
            Command::Gc(args) => gc::gc(args.session).await,
            Command::Grade(args) => grade::grade(args).await,
        }
    });
    // Everything that matters was awaited (the session is closed); a blocking read of this
    // process's stdin (`--stdin -`) must not hold the exit.
    runtime.shutdown_background();
    result
}

/// `subrun spec default`.
fn print_default_spec() -> Result<i32, CliError> {
    let cwd = std::env::current_dir().map_err(CliError::CurrentDir)?;
    let spec = default_spec::default_spec(subrun_wasi::guests::guest_dir().as_deref(), &cwd)
        .map_err(CliError::LoadSpec)?;
    print!("{}", spec.to_yaml());
    Ok(0)
}
