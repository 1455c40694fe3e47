//! `subrun grade PROBLEM SUBMISSION... [--command NAME=CMD]...`: every submission (files,
//! built sources, commands) against every case (or a shard's items, `--shard I/N`), through
//! [`subrun_grade::Grader`], with a live progress bar on a terminal; a table, `--json` or
//! `--jsonl` on stdout, and `--junit FILE` / `--ctrf FILE` written after the run.
//! `subrun grade merge REPORT.json...` puts shard reports together ([`Report::merge`]) and
//! prints and writes the result the same ways.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use subrun::EnvironmentSpec;
use subrun::terminal::escape;
use subrun_grade::{CaseResult, GradeError, Grader, Problem, Report, Submission};

use crate::args::{GradeArgs, GradeCommand, MergeArgs, ReportArgs};
use crate::error::{CliError, render_chain};
use crate::{default_spec, exit, guests, registry};

/// Exit 0 when every case is AC, 1 otherwise; a grading error, or a report file that
/// cannot be written, is printed (escaped, with its causes) and exits with 125.
pub(crate) async fn grade(args: GradeArgs) -> Result<i32, CliError> {
    if let Some(GradeCommand::Merge(merge_args)) = &args.command {
        return Ok(merge(merge_args));
    }
    let Some(problem) = args.problem.as_deref() else {
        // clap requires PROBLEM without a subcommand.
        eprintln!("subrun: grade needs PROBLEM and SUBMISSION... (see subrun grade --help)");
        return Ok(2);
    };
    let registry = registry::build()?;
    let spec = environment(&args)?;
    let start = unix_ms();
    let report = match run(problem, &args, &registry, spec).await {
        Ok(report) => report,
        Err(err) => {
            eprintln!("{}", render_chain(&err));
            return Ok(exit::FAILURE);
        }
    };
    Ok(write_files(&report, &args.output, start, unix_ms()))
}

/// `subrun grade merge`: the merged report printed and written as `subrun grade` does; an
/// unreadable report or a refused merge is printed and exits with 125.
fn merge(args: &MergeArgs) -> i32 {
    let start = unix_ms();
    let merged = args
        .reports
        .iter()
        .map(|path| read_report(path).map(|r| (path.display().to_string(), r)))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|reports| Report::merge(reports).map_err(CliError::Merge));
    match merged {
        Ok(report) => {
            print_report(&report, &args.output, false);
            write_files(&report, &args.output, start, unix_ms())
        }
        Err(err) => {
            eprintln!("{}", render_chain(&err));
            exit::FAILURE
        }
    }
}

fn read_report(path: &Path) -> Result<Report, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::ReadReport {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| CliError::ParseReport {
        path: path.to_owned(),
        source,
    })
}

/// The report on stdout: `--json`, `--jsonl` (unless its lines were printed as cases
/// finished), else the table.
fn print_report(report: &Report, output: &ReportArgs, lines_printed: bool) {
    if output.json {
        println!("{}", report.to_json());
    } else if output.jsonl {
        if !lines_printed {
            let mut out = std::io::stdout().lock();
            for case in report.submissions.iter().flat_map(|s| &s.cases) {
                let _ = writeln!(out, "{}", case.to_json_line());
            }
        }
    } else {
        print!("{}", report.table());
    }
}

/// Writes `--junit` and `--ctrf`; the exit code: 0 when every case is AC, 1 otherwise, 125
/// (printed) when a file cannot be written.
fn write_files(report: &Report, output: &ReportArgs, start: u64, stop: u64) -> i32 {
    if let Some(path) = &output.junit
        && let Err(err) = write_report("--junit", path, &report.to_junit())
    {
        eprintln!("{}", render_chain(&err));
        return exit::FAILURE;
    }
    if let Some(path) = &output.ctrf
        && let Err(err) = write_report("--ctrf", path, &report.to_ctrf(start, stop))
    {
        eprintln!("{}", render_chain(&err));
        return exit::FAILURE;
    }
    if report.all_accepted() { 0 } else { 1 }
}

/// Whether to draw the live progress bar: only on a terminal (stderr), and not when stdout
/// carries JSON (`--json`, `--jsonl`), which a program reads.
fn shows_progress(stderr_is_terminal: bool, output: &ReportArgs) -> bool {
    stderr_is_terminal && !output.json && !output.jsonl
}

/// A bar of `total` cases on stderr.
fn progress_bar(total: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {wide_msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The bar's message after a case: `submission group/case VERDICT`, names escaped.
fn progress_message(case: &CaseResult) -> String {
    format!(
        "{} {}/{} {}",
        escape(&case.submission),
        escape(&case.group),
        escape(&case.case),
        case.verdict
    )
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
    problem: &Path,
    args: &GradeArgs,
    registry: &subrun::Registry,
    spec: EnvironmentSpec,
) -> Result<Report, GradeError> {
    let problem = Problem::load(problem)?;
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
    if let Some(shard) = args.shard {
        builder = builder.shard(shard.index, shard.count);
    }
    let grader = builder.build()?;
    let bar = shows_progress(std::io::stderr().is_terminal(), &args.output)
        .then(|| progress_bar(grader.total_cases()));
    let jsonl = args.output.jsonl;
    let graded = grader
        .run_with(|case| {
            if jsonl {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", case.to_json_line());
                let _ = out.flush();
            }
            if let Some(bar) = &bar {
                bar.set_message(progress_message(case));
                bar.inc(1);
            }
        })
        .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = graded?;
    print_report(&report, &args.output, true);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(json: bool, jsonl: bool) -> ReportArgs {
        ReportArgs {
            json,
            jsonl,
            junit: None,
            ctrf: None,
        }
    }

    #[test]
    fn the_progress_bar_is_drawn_on_a_terminal_only_without_json() {
        assert!(shows_progress(true, &output(false, false)));
        assert!(!shows_progress(false, &output(false, false)), "piped");
        assert!(!shows_progress(true, &output(true, false)), "--json");
        assert!(!shows_progress(true, &output(false, true)), "--jsonl");
    }
}
