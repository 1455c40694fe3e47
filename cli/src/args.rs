//! The command line, declared with clap's derive API.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes, shown at the end of `--help` (docs/cli.md has the same table).
const EXIT_CODES: &str = "\
Exit codes:
  run         the command's own exit code; when it did not exit by itself, the shell-like code of
              its outcome: 124 timed out, 127 command not found, 134 wasm trap, 137 killed or out
              of memory, 152 fuel exhausted, 153 output limit, 128+N signal N
  125         subrun itself failed (bad spec, missing guest file, engine error; for `build`: a
              missing target or toolchain piece); the error and each cause are printed on stderr
  130, 143    `run` was interrupted by SIGINT / SIGTERM (the command was killed, cleaned up)
  1           `spec check`: at least one file is invalid; `build`: the compiler rejected the code
  2           usage error (unknown option, missing argument)";

/// Run untrusted code submissions under WebAssembly (wasi), Docker or a host process.
#[derive(Debug, Parser)]
#[command(name = "subrun", version, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run one command in a fresh session and exit with its exit code.
    ///
    /// Without --env the default spec is used: the `wasi` runtime with the current directory
    /// (or --workspace) copied in as the workspace, so `subrun run -- hello.wasm` just works,
    /// and `python`, `python3` and `node` when their guest files are installed.
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Build a submission to a wasm32-wasip1 module: a Cargo project (cargo, target
    /// wasm32-wasip1) or a .c/.cpp file (clang with wasi-libc); prints the module's path.
    ///
    /// When the Rust target or a piece of the C toolchain is missing, says exactly what to
    /// install and exits with 125.
    #[command(after_help = EXIT_CODES)]
    Build(BuildArgs),
    /// Environment specs.
    #[command(subcommand)]
    Spec(SpecCommand),
    /// Remove containers that subrun created and left behind (label `subrun.session`).
    Gc(GcArgs),
}

/// Options of `subrun build`.
#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// A Cargo project (its directory or its Cargo.toml), or one .c / .cpp (.cc, .cxx) file.
    /// Default: the current directory.
    #[arg(value_name = "DIR|FILE")]
    pub(crate) path: Option<PathBuf>,
    /// Where to write the module. Default: `<binary name>.wasm` (Rust) or `<file stem>.wasm`
    /// (C, C++) in the current directory.
    #[arg(short = 'o', long = "out", value_name = "OUT.wasm")]
    pub(crate) out: Option<PathBuf>,
    /// The binary to build when the Cargo project has several.
    #[arg(long, value_name = "NAME")]
    pub(crate) bin: Option<String>,
}

/// Options of `subrun gc`.
#[derive(Debug, Args)]
pub(crate) struct GcArgs {
    /// Only the containers of this session id (label `subrun.session=ID`).
    #[arg(long, value_name = "ID")]
    pub(crate) session: Option<String>,
}

/// `subrun spec ...`
#[derive(Debug, Subcommand)]
pub(crate) enum SpecCommand {
    /// Parse and validate spec files; print each normalized spec, or every error.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// Print the default spec `subrun run` uses without --env, for the current guest directory.
    Default,
}

/// Options of `subrun run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Environment spec (YAML, or JSON when the name ends in .json). Default: the built-in
    /// wasi spec (see `subrun spec default`).
    #[arg(long, value_name = "FILE")]
    pub(crate) env: Option<PathBuf>,
    /// Directory copied in as the workspace's initial contents; the original is never
    /// modified. Default: the current directory with the default spec, an empty workspace
    /// with --env.
    #[arg(long, value_name = "DIR")]
    pub(crate) workspace: Option<PathBuf>,
    /// A static asset shown read-only at /static/NAME (wasi, docker) and rendered by
    /// `{{static:NAME}}`; overrides a spec asset of the same name. Repeatable.
    #[arg(long = "asset", value_name = "NAME=PATH", value_parser = parse_asset)]
    pub(crate) assets: Vec<(String, PathBuf)>,
    /// Deadline for the command (`500ms`, `10s`, `2m`), instead of the spec's limits.timeout.
    #[arg(long, value_name = "DUR", value_parser = parse_timeout)]
    pub(crate) timeout: Option<Duration>,
    /// The command's stdin: a file's bytes, or `-` for this process's own stdin, streamed
    /// as the command reads it. Default: closed (immediate end of file).
    #[arg(long, value_name = "FILE|-")]
    pub(crate) stdin: Option<PathBuf>,
    /// Evaluation (runs setup.eval_commands) or agent inference (assets also copied into
    /// the workspace).
    #[arg(long, value_enum, default_value_t = ModeArg::Eval)]
    pub(crate) mode: ModeArg,
    /// Print the whole result as JSON on stdout (outcome, exit_code, stdout, stderr, usage...)
    /// instead of streaming the command's output.
    #[arg(long)]
    pub(crate) json: bool,
    /// Do not print subrun's own notes on stderr (the `local` runtime warning, how the command
    /// ended when it did not exit by itself).
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// The command. One argument is used as written (`'sleep 1 && echo hi'`); several are
    /// joined with shell quoting (`python main.py "a b"`).
    #[arg(
        required = true,
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub(crate) command: Vec<String>,
}

/// Options of `subrun spec check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Spec files to check.
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// An asset name the caller will provide (`--asset NAME=PATH` of `run`), so
    /// `{{static:NAME}}` counts as known. Only the name is checked.
    #[arg(long = "asset", value_name = "NAME=PATH", value_parser = parse_asset)]
    pub(crate) assets: Vec<(String, PathBuf)>,
}

/// `--mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModeArg {
    /// Evaluation (grading).
    Eval,
    /// Agent inference.
    Agent,
}

impl From<ModeArg> for subrun::Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Eval => subrun::Mode::Evaluation,
            ModeArg::Agent => subrun::Mode::Agent,
        }
    }
}

/// `NAME=PATH`, with a valid asset name and a non-empty path.
fn parse_asset(text: &str) -> Result<(String, PathBuf), String> {
    let (name, path) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=PATH"))?;
    if !subrun::placeholder::is_valid_asset_name(name) {
        return Err(format!(
            "invalid asset name `{name}`: names use letters, digits, `_`, `-` and `.`"
        ));
    }
    if path.is_empty() {
        return Err(format!("asset `{name}` has an empty path"));
    }
    Ok((name.to_string(), PathBuf::from(path)))
}

/// A positive duration with a unit.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let d = subrun::spec::units::parse_duration(text)?;
    if d.is_zero() {
        return Err("must be positive: `0` is not \"no deadline\"".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_needs_name_and_path() {
        assert_eq!(
            parse_asset("data=fixtures/x.csv"),
            Ok(("data".into(), PathBuf::from("fixtures/x.csv")))
        );
        assert!(parse_asset("data").is_err());
        assert!(parse_asset("da ta=x").is_err());
        assert!(parse_asset("data=").is_err());
    }

    #[test]
    fn timeout_needs_unit_and_is_positive() {
        assert_eq!(parse_timeout("1s"), Ok(Duration::from_secs(1)));
        assert!(parse_timeout("1").is_err());
        assert!(parse_timeout("0s").is_err());
    }

    #[test]
    fn command_after_double_dash_keeps_hyphens() {
        let cli = Cli::try_parse_from(["subrun", "run", "--json", "--", "ls", "-la"])
            .expect("valid command line");
        let Command::Run(args) = cli.command else {
            panic!("expected run")
        };
        assert!(args.json);
        assert_eq!(args.command, ["ls", "-la"]);
    }

    #[test]
    fn build_takes_a_path_and_an_output() {
        let cli = Cli::try_parse_from(["subrun", "build", "sub/", "-o", "out.wasm"])
            .expect("valid command line");
        let Command::Build(args) = cli.command else {
            panic!("expected build")
        };
        assert_eq!(args.path, Some(PathBuf::from("sub/")));
        assert_eq!(args.out, Some(PathBuf::from("out.wasm")));
        let cli = Cli::try_parse_from(["subrun", "build"]).expect("valid command line");
        let Command::Build(args) = cli.command else {
            panic!("expected build")
        };
        assert_eq!(args.path, None);
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
