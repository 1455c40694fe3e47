//! `subrun run`: one command in a fresh session, its output streamed, its exit code returned.
//!
//! ```text
//!  spec (--spec FILE | default wasi spec) + grants (-e, --dir, --cwd, --no-workspace, --argv0,
//!    --module) ─▶ Session::prepare (workspace copied in, assets)
//!    ─▶ spawn (setup once) ─▶ stream(command) ─▶ chunks to the terminal as they arrive
//!    ─▶ Finished(result) ─▶ session.close() ─▶ exit with the command's exit code
//!  SIGINT/SIGTERM: kill the command, clean up, exit 130/143
//! ```

use std::path::{Path, PathBuf};

use subrun::spec::units::format_duration;
use subrun::{
    EnvironmentSpec, ExecRequest, Outcome, Registry, RuntimeError, RuntimeEvent, RuntimeResult,
    Session, SpawnOptions,
};
use subrun_wasi::guests::guest_dir;

use crate::args::RunArgs;
use crate::default_spec::default_spec;
use crate::dir_size::{MAX_BYTES, MAX_ENTRIES, check_size};
use crate::error::{CliError, render_chain};
use crate::exit::{BROKEN_PIPE, process_code};
use crate::grants::grant;
use crate::guests::{check_guest_word, complete_programs};
use crate::signals::Signals;
use crate::terminal::{Terminal, Written};

/// How a run ended, before the session is closed.
enum Ran {
    /// A signal arrived before the command started; the process exit code to use.
    Interrupted(i32),
    /// The command finished; `stopped` is set when subrun killed it (signal, closed stdout)
    /// and holds the process exit code to use instead of the command's.
    Finished {
        result: Box<RuntimeResult>,
        stopped: Option<i32>,
    },
}

/// Runs `subrun run` and returns the process exit code.
///
/// # Errors
/// A [`CliError`] when subrun itself fails (exit code 125).
pub(crate) async fn run(registry: &Registry, args: RunArgs) -> Result<i32, CliError> {
    // With --module, COMMAND holds the module's arguments: no word of it is a command.
    let command = match args.module {
        Some(_) => String::new(),
        None => command_line(&args.command),
    };
    let (mut spec, initial_dir) = choose_spec(&args, &command)?;
    let grants = grant(&args, &mut spec, &command)?;
    let host_file = host_file_word(&args, &spec, &command);
    let request = request(&grants.command, &args)?;
    if spec.kind.as_str() == subrun_local::LocalRuntimeFactory::KIND && !args.quiet {
        eprintln!(
            "subrun: warning: the `local` runtime runs the command as a host process with your rights: use it for trusted code only (--quiet hides this)"
        );
    }
    let mut signals = Signals::new()?;
    let mut builder = Session::builder(registry, spec).mode(args.mode.into());
    if let Some(dir) = initial_dir {
        builder = builder.initial_dir(dir);
    }
    for (name, path) in &args.assets {
        builder = builder.asset(name, path);
    }
    let session = builder.prepare().await.map_err(CliError::Prepare)?;
    let mut terminal = Terminal::new(!args.json);
    let ran = drive(
        &session,
        grants.spawn,
        request,
        &grants.display,
        &mut terminal,
        &mut signals,
    )
    .await;
    let closed = session.close().await.map_err(CliError::Close);
    let ran = match (ran, closed) {
        (Ok(ran), Ok(())) => ran,
        (Err(e), Ok(())) => return Err(e),
        (Ok(_), Err(c)) => return Err(c),
        (Err(e), Err(c)) => {
            eprintln!("{}", render_chain(&c));
            return Err(e);
        }
    };
    match ran {
        Ran::Interrupted(code) => {
            if !args.quiet {
                eprintln!("subrun: interrupted before the command started; session cleaned up");
            }
            Ok(code)
        }
        Ran::Finished { result, stopped } => {
            if args.json {
                let mut out = std::io::stdout().lock();
                serde_json::to_writer_pretty(&mut out, &result).map_err(CliError::Json)?;
                std::io::Write::write_all(&mut out, b"\n")
                    .map_err(|e| CliError::Json(serde_json::Error::io(e)))?;
            } else if !args.quiet {
                print_notes(&result, stopped);
                if let Some(word) = host_file
                    && stopped.is_none()
                    && result.outcome
                        == (Outcome::Exited {
                            code: subrun::exit_code::NOT_FOUND,
                        })
                {
                    eprintln!(
                        "subrun: {} is a file on this host, but the words of a command are paths in the guest's view: run it from the host with --module {0}, or show its directory with --dir",
                        subrun::terminal::escape(&word)
                    );
                }
            }
            Ok(stopped.unwrap_or_else(|| process_code(result.exit_code)))
        }
    }
}

/// COMMAND as one command line: a single argument as written, several joined with shell
/// quoting.
fn command_line(words: &[String]) -> String {
    match words {
        [one] => one.clone(),
        many => shell_words::join(many),
    }
}

/// The first word of a `wasi` command when it is an absolute path to a file on this host: if
/// the guest then does not find it (exit 127), a note says how to run a host module.
fn host_file_word(args: &RunArgs, spec: &EnvironmentSpec, command: &str) -> Option<String> {
    if args.module.is_some() || spec.kind.as_str() != "wasi" {
        return None;
    }
    let word = shell_words::split(command).ok()?.into_iter().next()?;
    // Ambient: a path the caller typed, probed on this host.
    (word.starts_with('/') && Path::new(&word).is_file()).then_some(word)
}

/// The spec and the directory to copy in: `--spec` (with `--workspace` if given), or the
/// default spec with `--workspace` or the current directory.
fn choose_spec(
    args: &RunArgs,
    command: &str,
) -> Result<(EnvironmentSpec, Option<PathBuf>), CliError> {
    let guests = guest_dir();
    if let Some(path) = &args.spec {
        let mut spec = EnvironmentSpec::from_path(path).map_err(CliError::LoadSpec)?;
        complete_programs(&mut spec, guests.as_deref());
        check_guest_word(&spec, command, guests.as_deref())?;
        return Ok((spec, args.workspace.clone()));
    }
    // Ambient: the process's current directory is the default workspace.
    let cwd = std::env::current_dir().map_err(CliError::CurrentDir)?;
    let spec = default_spec(guests.as_deref(), &cwd).map_err(CliError::LoadSpec)?;
    check_guest_word(&spec, command, guests.as_deref())?;
    let dir = match &args.workspace {
        Some(dir) => dir.clone(),
        None => {
            check_size(&cwd, MAX_ENTRIES, MAX_BYTES)?;
            cwd
        }
    };
    Ok((spec, Some(dir)))
}

/// The request: the command, `--timeout`, `--stdin`.
fn request(command: &str, args: &RunArgs) -> Result<ExecRequest, CliError> {
    let mut request = ExecRequest::new(command);
    if let Some(timeout) = args.timeout {
        request = request.timeout(timeout);
    }
    match args.stdin.as_deref() {
        None => {}
        Some(p) if p == Path::new("-") => request = request.stdin_reader(tokio::io::stdin()),
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|source| CliError::ReadStdin {
                path: p.to_path_buf(),
                source,
            })?;
            request = request.stdin(bytes);
        }
    }
    Ok(request)
}

/// Spawns the runtime and streams the command, killing it on a signal or a closed stdout.
async fn drive(
    session: &Session,
    spawn: SpawnOptions,
    request: ExecRequest,
    command: &str,
    terminal: &mut Terminal,
    signals: &mut Signals,
) -> Result<Ran, CliError> {
    let runtime = tokio::select! {
        spawned = session.spawn(spawn) => spawned.map_err(|source| CliError::Spawn {
            kind: session.spec().kind.to_string(),
            source,
        })?,
        code = signals.next() => return Ok(Ran::Interrupted(code)),
    };
    let execute_error = |source| CliError::Execute {
        command: command.to_string(),
        source,
    };
    // Starting includes compiling the module (seconds for a large one): a signal meanwhile
    // ends the run at once (the compilation is abandoned with the session).
    let mut execution = tokio::select! {
        started = runtime.stream(request) => started.map_err(execute_error)?,
        code = signals.next() => return Ok(Ran::Interrupted(code)),
    };
    let control = execution.control();
    let mut stopped = None;
    loop {
        tokio::select! {
            event = execution.next_event() => match event {
                Some(RuntimeEvent::Stdout(chunk)) => {
                    if terminal.stdout(&chunk) == Written::StdoutClosed && stopped.is_none() {
                        stopped = Some(BROKEN_PIPE);
                        control.kill();
                    }
                }
                Some(RuntimeEvent::Stderr(chunk)) => terminal.stderr(&chunk),
                Some(RuntimeEvent::Finished(result)) => return Ok(Ran::Finished { result, stopped }),
                Some(other) => tracing::debug!(event = ?other, "event not shown"),
                None => {
                    return Err(execute_error(RuntimeError::Lost {
                        id: execution.id().clone(),
                    }));
                }
            },
            code = signals.next(), if stopped.is_none() => {
                stopped = Some(code);
                control.kill();
            }
        }
    }
}

/// One line on stderr for anything but a plain exit: timeouts, limits, traps, kills, and
/// truncated output.
fn print_notes(result: &RuntimeResult, stopped: Option<i32>) {
    if let Some(code) = stopped {
        eprintln!(
            "subrun: stopped ({}); the command was killed and the session cleaned up (exit code {code})",
            if code == BROKEN_PIPE {
                "stdout was closed"
            } else {
                "signal"
            }
        );
        return;
    }
    match &result.outcome {
        Outcome::Exited { .. } => {}
        Outcome::TimedOut => match result.usage.deadline {
            Some(d) => eprintln!(
                "subrun: timed out after {} (exit code {})",
                format_duration(d),
                result.exit_code
            ),
            None => eprintln!("subrun: timed out (exit code {})", result.exit_code),
        },
        // A trap message may quote names from the module (its name section, imports).
        other => eprintln!(
            "subrun: {} (exit code {})",
            subrun::terminal::escape(&other.to_string()),
            result.exit_code
        ),
    }
    for (stream, truncated) in [
        ("stdout", result.stdout_truncated),
        ("stderr", result.stderr_truncated),
    ] {
        if truncated {
            eprintln!("subrun: {stream} was truncated at the output limit (limits.output)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_argument_is_a_command_line_several_are_quoted() {
        let words = |w: &[&str]| w.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(
            command_line(&words(&["sleep 30 & sleep 30; echo never"])),
            "sleep 30 & sleep 30; echo never"
        );
        assert_eq!(
            command_line(&words(&["python", "main.py", "a b"])),
            "python main.py 'a b'"
        );
    }
}
