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
    /// Without --spec the default spec is used: the `wasi` runtime with the current directory
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
    /// Grade submissions against every case of a problem and print a verdict per case.
    ///
    /// PROBLEM is a directory: a subrun problem.yaml, a Kattis data/ layout, or cases/NAME.in
    /// with NAME.out or NAME.ans. A submission is a .wasm/.wat module, a .py or .js file (run
    /// by the python or QuickJS guest), a .c/.cpp file or a Cargo project (built as `subrun
    /// build` builds it; a build failure is the verdict CE), or a command (--command). Every
    /// case starts from the pristine submission and sees only its own input. With --shard
    /// I/N, only the shard's (submission, case) items are graded; `subrun grade merge` puts
    /// the shards' --json reports together. See docs/grading.md.
    #[command(
        after_help = GRADE_EXIT_CODES,
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true
    )]
    Grade(GradeArgs),
}

/// Exit codes of `subrun grade`.
const GRADE_EXIT_CODES: &str = "\
Exit codes:
  0    every case of every submission is AC
  1    at least one case is not AC
  125  subrun itself failed (invalid problem, unreadable submission, engine error; for
       `merge`: an unreadable report, or reports that do not merge)
  2    usage error";

/// Options of `subrun grade`.
#[derive(Debug, Args)]
pub(crate) struct GradeArgs {
    /// `merge`: put shard reports together.
    #[command(subcommand)]
    pub(crate) command: Option<GradeCommand>,
    /// The problem directory.
    #[arg(required = true)]
    pub(crate) problem: Option<PathBuf>,
    /// The submissions (.wasm, .wat, .py, .js, .mjs, .c, .cpp, .cc, .cxx, a Cargo project).
    #[arg(required_unless_present = "commands")]
    pub(crate) submissions: Vec<PathBuf>,
    /// A command submission NAME=CMD (repeatable; graded after the files): CMD runs in each
    /// case's workspace, which starts empty (nothing of the current directory is copied in),
    /// so it names what the environment provides (the image's programs, the spec's mounts).
    #[arg(long = "command", value_name = "NAME=CMD", value_parser = parse_command)]
    pub(crate) commands: Vec<(String, String)>,
    /// Cases run at once. Default: the number of cores.
    #[arg(short = 'j', long, value_name = "N")]
    pub(crate) jobs: Option<usize>,
    /// Grade only shard I of N (0-based, 0 <= I < N): the (submission, case) items whose
    /// hash modulo N is I, the same on every machine. Merge the shards' --json reports with
    /// `subrun grade merge`.
    #[arg(long, value_name = "I/N")]
    pub(crate) shard: Option<subrun_grade::Shard>,
    #[command(flatten)]
    pub(crate) output: ReportArgs,
    /// After a case that is not AC, skip the cases of its group not yet started.
    #[arg(long)]
    pub(crate) fail_fast: bool,
    /// The environment spec (default: the wasi runtime with the installed guests). The
    /// problem's own limits apply over it.
    #[arg(long, value_name = "FILE")]
    pub(crate) spec: Option<PathBuf>,
}

/// `NAME=CMD`, split at the first `=`; both parts non-empty.
fn parse_command(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, command)) if !name.trim().is_empty() && !command.trim().is_empty() => {
            Ok((name.to_owned(), command.to_owned()))
        }
        _ => Err(format!(
            "`{text}`: expected NAME=CMD, a name for the reports and the command to run"
        )),
    }
}

/// What `subrun grade` prints and writes.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Print the report as one JSON document instead of the table.
    #[arg(long, conflicts_with = "jsonl")]
    pub(crate) json: bool,
    /// Print one JSON line per case instead of the table (as each finishes; after `merge`,
    /// in problem order).
    #[arg(long)]
    pub(crate) jsonl: bool,
    /// Also write the report as JUnit XML (for CI systems) to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
    /// Also write the report as CTRF JSON (ctrf.io) to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) ctrf: Option<PathBuf>,
}

/// `subrun grade ...`
#[derive(Debug, Subcommand)]
pub(crate) enum GradeCommand {
    /// Merge the --json reports of the shards of one run (`subrun grade --shard I/N --json`)
    /// into the report one unsharded run gives, printed and written as `subrun grade` does.
    ///
    /// Refused, naming the file: reports of different inputs (fingerprint), mixed shard
    /// counts, a missing shard, a case with different results in two reports. A shard given
    /// twice with the same results (a retried shard) is used once.
    #[command(after_help = GRADE_EXIT_CODES)]
    Merge(MergeArgs),
}

/// Options of `subrun grade merge`.
#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// The shard reports (JSON files written by `subrun grade --shard I/N --json`).
    #[arg(required = true, value_name = "REPORT.json")]
    pub(crate) reports: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) output: ReportArgs,
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
    /// Print the default spec `subrun run` uses without --spec, for the current guest directory.
    Default,
}

/// Options of `subrun run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Environment spec (YAML, or JSON when the name ends in .json). Default: the built-in
    /// wasi spec (see `subrun spec default`).
    #[arg(long, value_name = "FILE")]
    pub(crate) spec: Option<PathBuf>,
    /// Directory copied in as the workspace's initial contents; the original is never
    /// modified. Default: the current directory with the default spec, an empty workspace
    /// with --spec.
    #[arg(long, value_name = "DIR")]
    pub(crate) workspace: Option<PathBuf>,
    /// A variable for the command (and setup), over the spec's: `KEY=VALUE`, or `KEY` alone
    /// for this process's value (left unset when this process has none). Repeatable.
    #[arg(short = 'e', long = "env", value_name = "KEY[=VALUE]", value_parser = parse_env)]
    pub(crate) env: Vec<EnvArg>,
    /// A host directory the command sees at GUEST (default: at its own absolute path),
    /// read-write, or read-only with `:ro`. Repeatable. wasi and docker only.
    #[arg(long = "dir", value_name = "HOST[::GUEST][:ro]", value_parser = parse_dir)]
    pub(crate) dirs: Vec<DirArg>,
    /// The command's working directory, an absolute path as the command sees it: relative
    /// paths resolve there. Default: the workspace.
    #[arg(long, value_name = "DIR", value_parser = parse_cwd)]
    pub(crate) cwd: Option<String>,
    /// Show the command no workspace (wasi: no preopen for it; docker: no workspace mount);
    /// its module is still read from the workspace. wasi and docker only.
    #[arg(long)]
    pub(crate) no_workspace: bool,
    /// `argv[0]` as the command sees it, instead of its first word. wasi only.
    #[arg(long, value_name = "NAME")]
    pub(crate) argv0: Option<String>,
    /// Run this module, read from the host (trusted input, never copied into the workspace);
    /// the words after `--` are its arguments, each passed as it is. wasi only.
    #[arg(long, value_name = "FILE.wasm")]
    pub(crate) module: Option<PathBuf>,
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
    /// ended when it did not exit by itself): stderr carries the command's bytes only.
    #[arg(long, short, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Log what subrun and its libraries do on stderr (`-v` info, `-vv` debug, `-vvv`
    /// trace), mixed with the command's stderr. Default: no logs (`SUBRUN_LOG` also sets
    /// them).
    #[arg(long, short, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// The command. One argument is used as written (`'sleep 1 && echo hi'`); several are
    /// joined with shell quoting (`python main.py "a b"`). With --module: its arguments.
    #[arg(
        required_unless_present = "module",
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub(crate) command: Vec<String>,
}

/// `-e/--env KEY[=VALUE]`: a value, or `None` for this process's own value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EnvArg {
    /// The variable's name.
    pub(crate) key: String,
    /// Its value; `None` takes this process's value.
    pub(crate) value: Option<String>,
}

/// `--dir HOST[::GUEST][:ro]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DirArg {
    /// The host directory, as typed.
    pub(crate) host: PathBuf,
    /// Where the command sees it; `None`: at the host path made absolute.
    pub(crate) guest: Option<String>,
    /// `:ro`.
    pub(crate) read_only: bool,
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

/// `KEY=VALUE` or `KEY`. A lone `KEY` that looks like a file (the spec flag was `--env FILE`
/// before `--spec`) is refused, so an old command line does not silently pass nothing.
fn parse_env(text: &str) -> Result<EnvArg, String> {
    let (key, value) = match text.split_once('=') {
        Some((key, value)) => (key, Some(value.to_string())),
        None => (text, None),
    };
    if key.is_empty() {
        return Err(format!(
            "`{text}` has no variable name: expected KEY=VALUE or KEY"
        ));
    }
    if value.is_none()
        && (key.contains('/') || [".yaml", ".yml", ".json"].iter().any(|e| key.ends_with(e)))
    {
        return Err(format!(
            "`{key}` looks like a file: the spec is given with --spec FILE (-e/--env sets a variable: KEY=VALUE, or KEY for this process's value)"
        ));
    }
    Ok(EnvArg {
        key: key.to_string(),
        value,
    })
}

/// `HOST[::GUEST][:ro]`: `:ro` (or `:rw`, the default) last, then `::` between the host and
/// an absolute guest path.
fn parse_dir(text: &str) -> Result<DirArg, String> {
    let (rest, read_only) = match (text.strip_suffix(":ro"), text.strip_suffix(":rw")) {
        (Some(rest), _) => (rest, true),
        (None, Some(rest)) => (rest, false),
        (None, None) => (text, false),
    };
    let (host, guest) = match rest.split_once("::") {
        Some((host, guest)) => (host, Some(guest)),
        None => (rest, None),
    };
    if host.is_empty() {
        return Err(format!(
            "`{text}` has no host directory: expected HOST[::GUEST][:ro]"
        ));
    }
    if let Some(guest) = guest
        && !guest.starts_with('/')
    {
        return Err(format!(
            "the guest path `{guest}` is not absolute: write it in full, like `/{}`",
            guest.trim_start_matches("./")
        ));
    }
    Ok(DirArg {
        host: PathBuf::from(host),
        guest: guest.map(str::to_string),
        read_only,
    })
}

/// An absolute path.
fn parse_cwd(text: &str) -> Result<String, String> {
    if text.starts_with('/') {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not absolute: the working directory is a path as the command sees it, like `/workspace/{text}` or \"$PWD\" with --dir \"$PWD\""
        ))
    }
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
    fn env_is_key_value_or_a_key_alone() {
        let env = |key: &str, value: Option<&str>| EnvArg {
            key: key.into(),
            value: value.map(Into::into),
        };
        assert_eq!(parse_env("A=1"), Ok(env("A", Some("1"))));
        assert_eq!(parse_env("A=b=c"), Ok(env("A", Some("b=c"))));
        assert_eq!(parse_env("A="), Ok(env("A", Some(""))));
        assert_eq!(parse_env("B"), Ok(env("B", None)));
        assert!(parse_env("=1").is_err());
        for old_spec_flag in ["spec.yaml", "envs/docker", "x.json"] {
            let err = parse_env(old_spec_flag).unwrap_err();
            assert!(err.contains("--spec FILE"), "{err}");
        }
    }

    #[test]
    fn dir_is_host_then_guest_then_ro() {
        let dir = |host: &str, guest: Option<&str>, read_only| DirArg {
            host: host.into(),
            guest: guest.map(Into::into),
            read_only,
        };
        assert_eq!(parse_dir("./data"), Ok(dir("./data", None, false)));
        assert_eq!(
            parse_dir("./data::/data:ro"),
            Ok(dir("./data", Some("/data"), true))
        );
        assert_eq!(
            parse_dir("/srv/x::/x:rw"),
            Ok(dir("/srv/x", Some("/x"), false))
        );
        assert_eq!(parse_dir("/srv:ro"), Ok(dir("/srv", None, true)));
        assert!(parse_dir("::/data").is_err());
        assert!(parse_dir("./data::data").unwrap_err().contains("`/data`"));
    }

    #[test]
    fn cwd_is_absolute() {
        assert_eq!(parse_cwd("/data"), Ok("/data".into()));
        assert!(parse_cwd("data").is_err());
    }

    #[test]
    fn module_makes_the_command_optional_and_quiet_excludes_verbose() {
        let cli = Cli::try_parse_from(["subrun", "run", "--module", "x.wasm"])
            .expect("valid command line");
        let Command::Run(args) = cli.command else {
            panic!("expected run")
        };
        assert_eq!(args.module, Some(PathBuf::from("x.wasm")));
        assert!(args.command.is_empty());
        assert!(Cli::try_parse_from(["subrun", "run"]).is_err());
        assert!(Cli::try_parse_from(["subrun", "run", "-q", "-v", "--", "x.wasm"]).is_err());
        let cli = Cli::try_parse_from(["subrun", "run", "-vv", "-e", "A=1", "-e", "B", "--", "x"])
            .expect("valid command line");
        let Command::Run(args) = cli.command else {
            panic!("expected run")
        };
        assert_eq!(args.verbose, 2);
        assert_eq!(args.env.len(), 2);
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
    fn grade_takes_commands_as_name_eq_cmd_in_place_of_files() {
        let cli = Cli::try_parse_from([
            "subrun",
            "grade",
            "p",
            "--command",
            "cat=cat -",
            "--command",
            "eq=echo a=b",
        ])
        .expect("valid command line");
        let Command::Grade(args) = cli.command else {
            panic!("expected grade")
        };
        assert!(args.submissions.is_empty());
        assert_eq!(
            args.commands,
            [
                ("cat".to_owned(), "cat -".to_owned()),
                ("eq".to_owned(), "echo a=b".to_owned())
            ]
        );
        for bad in ["nocmd", "=cmd", "name="] {
            let err = Cli::try_parse_from(["subrun", "grade", "p", "--command", bad])
                .expect_err(bad)
                .to_string();
            assert!(err.contains("expected NAME=CMD"), "{bad}: {err}");
        }
        assert!(Cli::try_parse_from(["subrun", "grade", "p"]).is_err());
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
