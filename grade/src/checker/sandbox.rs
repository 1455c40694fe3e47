//! Running a [`CheckerProgram`]: a `wasi` Session of its own per grader worker.
//!
//! ```text
//!  CheckerSandbox::spec(program) ─▶ wasi spec: programs.checker = the module (a host path:
//!        │                          the host reads it, no workspace holds it), its limits
//!  start: Session::prepare ─▶ spawn (once per worker; the module compiles once, cached)
//!  check: clear ─▶ write input, output, answer (+ feedback/) ─▶ execute ─▶ read feedback
//!        ─▶ CheckerProgram::interpret ─▶ CheckOutcome
//! ```
//!
//! The checker's workspace is not the submission's: the submission never sees the answer or
//! the checker, and the checker sees the case's input, the submission's output and the
//! answer, nothing of the submission's workspace.

use std::io::Read as _;
use std::sync::Arc;

use serde_json::json;
use subrun::{
    EnvironmentSpec, ExecRequest, Registry, RuntimeResult, Session, SpawnOptions, SpecError,
    SubmissionRuntime,
};

use super::CheckOutcome;
use super::program::{
    CHECKER_OUTPUT_LIMIT, CheckerProgram, Convention, FEEDBACK_MAX_BYTES, Feedback,
};
use crate::problem::Case;
use crate::verdict::{self, Judgement};

/// The command word the checker module is registered under.
const WORD: &str = "checker";
/// The files a check writes into the checker's workspace.
const INPUT: &str = "input";
const OUTPUT: &str = "output";
const ANSWER: &str = "answer";
/// The Kattis feedback directory, with the trailing slash validators append names to.
const FEEDBACK_DIR: &str = "feedback/";

/// One worker's checker: its session and runtime, reused for every check.
pub(crate) struct CheckerSandbox {
    program: Arc<CheckerProgram>,
    session: Session,
    runtime: Arc<dyn SubmissionRuntime>,
}

impl std::fmt::Debug for CheckerSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckerSandbox")
            .field("module", &self.program.module)
            .finish_non_exhaustive()
    }
}

impl CheckerSandbox {
    /// The environment a checker program runs in: `wasi`, the module as the program
    /// `checker` (named relative to the spec's base directory, so it is always read from
    /// the host, never from a workspace), the program's time and memory limits,
    /// [`CHECKER_OUTPUT_LIMIT`] per stream, no environment variables, nothing mounted.
    ///
    /// # Errors
    /// A [`SpecError`] when the module's path has no file name or directory.
    pub(crate) fn spec(program: &CheckerProgram) -> Result<EnvironmentSpec, SpecError> {
        let origin = format!("checker {}", program.module.display());
        let (Some(dir), Some(name)) = (program.module.parent(), program.module.file_name()) else {
            return Err(SpecError::new(
                &origin,
                "module",
                "expected the path of a .wasm file",
            ));
        };
        let doc = json!({
            "type": "wasi",
            "name": "checker",
            "wasi": { "programs": { WORD: { "module": name.to_string_lossy() } } },
        });
        let mut spec = EnvironmentSpec::from_value(doc, &origin, dir)?;
        spec.limits.timeout = program.limits.time;
        spec.limits.memory = Some(program.limits.memory);
        spec.limits.output = CHECKER_OUTPUT_LIMIT;
        Ok(spec)
    }

    /// Prepares the checker's session and spawns its runtime.
    ///
    /// # Errors
    /// The engine's, when the session or the runtime cannot be made.
    pub(crate) async fn start(
        registry: &Registry,
        spec: EnvironmentSpec,
        program: Arc<CheckerProgram>,
    ) -> Result<Self, subrun::Error> {
        let session = Session::builder(registry, spec).prepare().await?;
        let runtime = session.spawn(SpawnOptions::new()).await?;
        Ok(Self {
            program,
            session,
            runtime,
        })
    }

    /// Closes the session (its workspace is removed).
    pub(crate) async fn close(self) {
        if let Err(e) = self.session.close().await {
            tracing::warn!(error = %e, "closing a checker session failed");
        }
    }

    /// The verdict of a case graded by the checker program: the submission's outcome first
    /// (as [`verdict::judge`]), then, for a clean exit, the checker's. A case without an
    /// input or an answer gives the checker an empty file.
    pub(crate) async fn judge(&self, result: &RuntimeResult, case: &Case) -> Judgement {
        if let Some(judgement) = verdict::judge_execution(result) {
            return judgement;
        }
        let input = case.stdin.as_deref().unwrap_or_default();
        let answer = case.answer.as_deref().unwrap_or_default();
        verdict::of_check(self.check(input, &result.stdout, answer).await)
    }

    /// Runs the checker once on fresh copies of the three files.
    pub(crate) async fn check(&self, input: &[u8], output: &[u8], answer: &[u8]) -> CheckOutcome {
        let args = shell_words::join(&self.program.args);
        let (command, stdin) = match self.program.convention {
            Convention::Testlib => (format!("{WORD} {INPUT} {OUTPUT} {ANSWER}"), None),
            Convention::Kattis => (
                format!("{WORD} {INPUT} {ANSWER} {FEEDBACK_DIR}"),
                Some(output),
            ),
        };
        let command = if args.is_empty() {
            command
        } else {
            format!("{command} {args}")
        };
        if let Err(e) = self.reset(input, output, answer) {
            return CheckOutcome::CheckerFailed(escape(&format!(
                "checker failed: cannot prepare its workspace: {e}"
            )));
        }
        let mut request = ExecRequest::new(command);
        if let Some(bytes) = stdin {
            request = request.stdin(bytes.to_vec());
        }
        let result = match self.runtime.execute(request).await {
            Ok(r) => r,
            Err(e) => {
                return CheckOutcome::CheckerFailed(escape(&format!(
                    "checker failed: the engine could not run it: {e}"
                )));
            }
        };
        let feedback = match self.program.convention {
            Convention::Testlib => Feedback::default(),
            Convention::Kattis => Feedback {
                judge_message: self.feedback_file("judgemessage.txt"),
                score: self.feedback_file("score.txt"),
            },
        };
        tracing::debug!(exit_code = result.exit_code, outcome = %result.outcome, "checker ran");
        self.program.interpret(&result, &feedback, output, answer)
    }

    /// Empties the checker's workspace (never following a symlink it planted) and writes the
    /// files of this check.
    fn reset(&self, input: &[u8], output: &[u8], answer: &[u8]) -> Result<(), subrun::Error> {
        let ws = self.session.workspace();
        ws.clear()?;
        ws.write_file(INPUT, input)?;
        ws.write_file(ANSWER, answer)?;
        match self.program.convention {
            Convention::Testlib => ws.write_file(OUTPUT, output)?,
            Convention::Kattis => ws.create_dir_all(FEEDBACK_DIR.trim_end_matches('/'))?,
        }
        Ok(())
    }

    /// The first [`FEEDBACK_MAX_BYTES`] of `feedback/NAME`, when the checker wrote it (through
    /// the workspace's capability: a symlink cannot lead out of it).
    fn feedback_file(&self, name: &str) -> Option<Vec<u8>> {
        let dir = self.session.workspace().dir();
        let file = dir.open(format!("{FEEDBACK_DIR}{name}")).ok()?;
        let mut bytes = Vec::new();
        file.take(FEEDBACK_MAX_BYTES).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }
}

fn escape(text: &str) -> String {
    subrun::terminal::escape(text).into_owned()
}
