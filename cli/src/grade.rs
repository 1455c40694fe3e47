//! `subrun grade PROBLEM SUBMISSION... [--command NAME=CMD]...`: every submission (files, built
//! sources, commands) against every case, through
//! [`subrun_grade::Grader`]; a table, `--json` or `--jsonl` on stdout, and `--junit FILE` /
//! `--ctrf FILE` written after the run.

use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use subrun::EnvironmentSpec;
use subrun_grade::{GradeError, Grader, Problem, Report, Submission};

use crate::args::GradeArgs;
use crate::error::{CliError, render_chain};
use crate::{default_spec, exit, guests, registry};

/// Exit 0 when every case is AC, 1 otherwise; a grading error, or a report file that
/// cannot be written, is printed (escaped, with its causes) and exits with 125.
pub(crate) async fn grade(args: GradeArgs) -> Result<i32, CliError> {
    let registry = registry::build()?;
    let spec = environment(&args)?;
    let start = unix_ms();
    let report = match run(&args, &registry, spec).await {
        Ok(report) => report,
        Err(err) => {
            eprintln!("{}", render_chain(&err));
            return Ok(exit::FAILURE);
        }
    };
    let stop = unix_ms();
    if let Some(path) = &args.junit
        && let Err(err) = write_report("--junit", path, &report.to_junit())
    {
        eprintln!("{}", render_chain(&err));
        return Ok(exit::FAILURE);
    }
    if let Some(path) = &args.ctrf
        && let Err(err) = write_report("--ctrf", path, &report.to_ctrf(start, stop))
    {
        eprintln!("{}", render_chain(&err));
        return Ok(exit::FAILURE);
    }
    Ok(if report.all_accepted() { 0 } else { 1 })
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn write_report(flag: &'static str, path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|source| CliError::WriteReport {
        flag,
        path: path.to_owned(),
        source,
    })
}

/// `--spec FILE` with the installed guests added, else the default spec (wasi).
fn environment(args: &GradeArgs) -> Result<EnvironmentSpec, CliError> {
    let guest_dir = subrun_wasi::guests::guest_dir();
    match &args.spec {
        Some(path) => {
            let mut spec = EnvironmentSpec::from_path(path).map_err(CliError::LoadSpec)?;
            guests::complete_programs(&mut spec, guest_dir.as_deref());
            Ok(spec)
        }
        None => {
            let cwd = std::env::current_dir().map_err(CliError::CurrentDir)?;
            default_spec::default_spec(guest_dir.as_deref(), &cwd).map_err(CliError::LoadSpec)
        }
    }
}

async fn run(
    args: &GradeArgs,
    registry: &subrun::Registry,
    spec: EnvironmentSpec,
) -> Result<Report, GradeError> {
    let problem = Problem::load(&args.problem)?;
    let mut submissions = args
        .submissions
        .iter()
        .map(Submission::from_path)
        .collect::<Result<Vec<_>, _>>()?;
    submissions.extend(
        args.commands
            .iter()
            .map(|(name, command)| Submission::command(name, command)),
    );
    let mut builder = Grader::builder(problem, registry)
        .spec(spec)
        .submissions(submissions)
        .fail_fast(args.fail_fast);
    if let Some(jobs) = args.jobs {
        builder = builder.jobs(jobs);
    }
    let jsonl = args.jsonl;
    let report = builder
        .build()?
        .run_with(|case| {
            if jsonl {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", case.to_json_line());
                let _ = out.flush();
            }
        })
        .await?;
    if args.json {
        println!("{}", report.to_json());
    } else if !jsonl {
        print!("{}", report.table());
    }
    Ok(report)
}
