//! The [`Grader`]: every submission against every case, through Sessions.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use subrun::{EnvironmentSpec, ExecRequest, Registry, Session, SpawnOptions, SubmissionRuntime};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::checker::Checker;
use crate::checker::sandbox::CheckerSandbox;
use crate::error::GradeError;
use crate::expected;
use crate::gate::DependencyGate;
use crate::problem::{Case, Problem, ProblemEnvironment, ProblemError, dependencies};
use crate::report::{CaseResult, GroupOutline, REPORT_FORMAT, Report, summarize};
use crate::shard::{ItemHasher, Shard, fingerprint};
use crate::submission::Submission;
use crate::verdict::{Judgement, Verdict, judge};

/// Grades submissions against a problem.
///
/// Each of `jobs` workers prepares one [`Session`] per submission, writes the submission's
/// files, captures that pristine workspace once ([`Session::update_snapshot`]) and spawns
/// one runtime (setup runs once per worker). Before every case the workspace is emptied
/// ([`Workspace::clear`](subrun::workspace::Workspace::clear), never following a symlink) and
/// the pristine snapshot written back
/// ([`Snapshot::extract_into`](subrun::snapshot::Snapshot::extract_into)), so a case's
/// leftovers never reach the next case, and only that case's granted files are written; its
/// input goes on stdin. On `docker` a container's own filesystem (`/tmp`, ...) outlives an
/// execution, so each case gets a fresh runtime there (spawned after the reset, removed after
/// the case). A submission with a [`compile_error`](Submission::compile_error) runs nothing:
/// every case is [`Verdict::CompileError`]. The expected answer stays in this process and
/// the problem directory is never mounted, so a `wasi` or `docker` submission cannot see
/// either. (A `local` submission is a host process and can read what its user can: `local`
/// is for trusted code.) Compiled modules are reused across cases and workers by the
/// runtime's own cache. A [`Checker::Program`] runs on `wasi` in a session of its own per
/// worker, emptied before every check (see [`crate::checker::program`]).
///
/// ```no_run
/// # async fn f(registry: subrun::Registry, spec: subrun::EnvironmentSpec) -> Result<(), subrun_grade::GradeError> {
/// use subrun_grade::{Grader, Problem, Submission};
/// let report = Grader::builder(Problem::load("examples/grade/sum")?, &registry)
///     .spec(spec)
///     .submission(Submission::from_path("examples/grade/sum/submissions/correct.py")?)
///     .jobs(2)
///     .build()?
///     .run_with(|case| println!("{} {}", case.case, case.verdict))
///     .await?;
/// assert!(report.all_accepted());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Grader {
    problem: Arc<Problem>,
    registry: Registry,
    spec: EnvironmentSpec,
    /// The checker program's environment, when the problem has one.
    checker_spec: Option<EnvironmentSpec>,
    submissions: Vec<Arc<Submission>>,
    jobs: usize,
    fail_fast: bool,
    /// Group indices, each after the groups it depends on: the order cases are queued in.
    group_order: Vec<usize>,
    shard: Option<Shard>,
    /// Per submission, the (group, case) indices this grader runs (the shard's).
    items: Vec<Vec<(usize, usize)>>,
    fingerprint: String,
}

/// Configures a [`Grader`]. Defaults: no spec (the problem must name its environment), no
/// submission, `jobs` = the number of cores, no fail-fast.
#[derive(Debug)]
#[must_use]
pub struct GraderBuilder {
    problem: Problem,
    registry: Registry,
    spec: Option<EnvironmentSpec>,
    submissions: Vec<Submission>,
    jobs: Option<usize>,
    fail_fast: bool,
    shard: Option<(u32, u32)>,
}

impl GraderBuilder {
    /// The environment submissions run in, unless the problem names its own (`spec:`, or a
    /// `runtime:` of another kind). The problem's limits override the spec's (a program's
    /// `deadline_factor`, such as the python guest's, still scales the time limit), and the
    /// grader's snapshots are uncompressed.
    pub fn spec(mut self, spec: EnvironmentSpec) -> Self {
        self.spec = Some(spec);
        self
    }

    /// Adds a submission.
    pub fn submission(mut self, submission: Submission) -> Self {
        self.submissions.push(submission);
        self
    }

    /// Adds submissions.
    pub fn submissions(mut self, submissions: impl IntoIterator<Item = Submission>) -> Self {
        self.submissions.extend(submissions);
        self
    }

    /// Cases run at once (at least 1; default: the number of cores).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = Some(jobs.max(1));
        self
    }

    /// With `true`, the first case of a group that is not AC skips the group's cases that
    /// have not started yet (verdict [`Verdict::Skipped`]). Other groups still run.
    pub fn fail_fast(mut self, fail_fast: bool) -> Self {
        self.fail_fast = fail_fast;
        self
    }

    /// Grades only shard `index` of `count` (0-based): the (submission, case) items whose
    /// hash ([`Shard::of`]) modulo `count` is `index`. The same inputs split the same way on
    /// every machine, so the reports of shards `0..count`, each run anywhere (and any of
    /// them again), merge ([`Report::merge`]) into the report of one whole run.
    pub fn shard(mut self, index: u32, count: u32) -> Self {
        self.shard = Some((index, count));
        self
    }

    /// Resolves the environment and checks the configuration.
    ///
    /// # Errors
    /// [`GradeError::NoSubmission`]; [`GradeError::Shard`] for a shard index not below its
    /// count; [`GradeError::ShardWithDependencies`] for a shard of a problem whose groups
    /// depend on others; [`GradeError::Spec`] when no environment is given or the problem's
    /// `runtime:` does not make a valid spec; [`GradeError::CheckerSpec`] when the problem
    /// has a checker program and the registry cannot run it (no `wasi`);
    /// [`GradeError::Problem`] when a group's `depends_on` names no group or closes a cycle
    /// (a loaded problem never does).
    pub fn build(self) -> Result<Grader, GradeError> {
        if self.submissions.is_empty() {
            return Err(GradeError::NoSubmission);
        }
        let group_order = dependencies::order(&self.problem.groups)
            .map_err(|e| ProblemError::invalid(&self.problem.dir, e.key(), None, e.message()))?;
        let shard = self
            .shard
            .map(|(index, count)| Shard::new(index, count))
            .transpose()?;
        // A dependency is decided by a whole group, whose cases are spread over the shards:
        // no shard can decide it alone, so sharded runs of such problems are refused.
        if shard.is_some()
            && let Some(group) = self
                .problem
                .groups
                .iter()
                .find(|g| !g.depends_on.is_empty())
        {
            return Err(GradeError::ShardWithDependencies {
                group: group.name.clone(),
            });
        }
        let mut spec = effective_spec(&self.problem, self.spec)?;
        let limits = &self.problem.limits;
        if let Some(t) = limits.time {
            spec.limits.timeout = t;
        }
        if let Some(m) = limits.memory {
            spec.limits.memory = Some(m);
        }
        if let Some(o) = limits.output {
            spec.limits.output = o;
        }
        // The pristine snapshot is written back before every case: uncompressed, it costs no
        // decompression on that hot path (it never leaves memory).
        spec.snapshot.compression = subrun::spec::Compression::None;
        self.registry.validate(&spec).map_err(GradeError::Spec)?;
        let checker_spec = match &self.problem.checker {
            Checker::Program(program) => {
                let spec = CheckerSandbox::spec(program).map_err(GradeError::CheckerSpec)?;
                self.registry
                    .validate(&spec)
                    .map_err(GradeError::CheckerSpec)?;
                Some(spec)
            }
            _ => None,
        };
        let jobs = self.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let items = self
            .submissions
            .iter()
            .map(|s| shard_items(&self.problem, s, shard))
            .collect();
        let fingerprint = fingerprint(&self.problem, &spec, &self.submissions, self.fail_fast);
        Ok(Grader {
            problem: Arc::new(self.problem),
            registry: self.registry,
            spec,
            checker_spec,
            submissions: self.submissions.into_iter().map(Arc::new).collect(),
            jobs,
            fail_fast: self.fail_fast,
            group_order,
            shard,
            items,
            fingerprint,
        })
    }
}

/// The (group, case) indices of `submission`'s items in `shard` (all without one).
fn shard_items(
    problem: &Problem,
    submission: &Submission,
    shard: Option<Shard>,
) -> Vec<(usize, usize)> {
    let hasher = ItemHasher::new(submission);
    let all = problem.groups.iter().enumerate().flat_map(|(g, group)| {
        group
            .cases
            .iter()
            .enumerate()
            .map(move |(c, case)| (g, c, group, case))
    });
    all.filter(|(_, _, group, case)| {
        shard.is_none_or(|s| hasher.shard(&group.name, &case.name, s.count) == s.index)
    })
    .map(|(g, c, _, _)| (g, c))
    .collect()
}

fn effective_spec(
    problem: &Problem,
    caller: Option<EnvironmentSpec>,
) -> Result<EnvironmentSpec, GradeError> {
    match &problem.environment {
        Some(ProblemEnvironment::Spec(spec)) => Ok((**spec).clone()),
        Some(ProblemEnvironment::Runtime(kind)) => match caller {
            Some(spec) if spec.kind.as_str() == kind => Ok(spec),
            _ => EnvironmentSpec::from_value(
                json!({ "type": kind, "name": problem.name }),
                "problem.yaml `runtime`",
                &problem.dir,
            )
            .map_err(GradeError::Spec),
        },
        None => caller.ok_or_else(|| {
            GradeError::Spec(subrun::SpecError::new(
                "grader",
                "spec",
                "no environment: pass a spec, or name a runtime in problem.yaml",
            ))
        }),
    }
}

impl Grader {
    /// Starts configuring a grader of `problem` with the runtimes of `registry`.
    pub fn builder(problem: Problem, registry: &Registry) -> GraderBuilder {
        GraderBuilder {
            problem,
            registry: registry.clone(),
            spec: None,
            submissions: Vec::new(),
            jobs: None,
            fail_fast: false,
            shard: None,
        }
    }

    /// The spec cases run with (the problem's limits applied).
    pub fn spec(&self) -> &EnvironmentSpec {
        &self.spec
    }

    /// How many (submission, case) items this grader runs: every case of every submission,
    /// or the shard's.
    pub fn total_cases(&self) -> usize {
        self.items.iter().map(Vec::len).sum()
    }

    /// The fingerprint its report carries ([`Report::fingerprint`]).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Starts grading on the current tokio runtime and returns the stream of case results,
    /// each sent as it finishes, and the task that ends with the final report (after the
    /// last result was sent). Dropping the receiver does not stop the grading.
    ///
    /// ```no_run
    /// # async fn f(grader: subrun_grade::Grader) -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut cases, report) = grader.stream();
    /// while let Some(case) = cases.recv().await {
    ///     println!("{} {}", case.case, case.verdict);
    /// }
    /// let report = report.await??;
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn stream(
        self,
    ) -> (
        mpsc::UnboundedReceiver<CaseResult>,
        tokio::task::JoinHandle<Result<Report, GradeError>>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            self.run_with(|case| {
                let _ = tx.send(case.clone());
            })
            .await
        });
        (rx, task)
    }

    /// Grades everything and returns the report.
    ///
    /// # Errors
    /// As [`run_with`](Self::run_with).
    pub async fn run(self) -> Result<Report, GradeError> {
        self.run_with(|_| {}).await
    }

    /// Grades every submission (one after the other) against every case (`jobs` at a time),
    /// calling `on_case` with each result as it finishes, and returns the report (cases in
    /// problem order).
    ///
    /// # Errors
    /// [`GradeError::Prepare`] when a session cannot be prepared or its runtime spawned
    /// (its setup failed). An engine error while running one case is that case's
    /// [`Verdict::InternalError`], not an `Err`.
    pub async fn run_with(
        self,
        mut on_case: impl FnMut(&CaseResult),
    ) -> Result<Report, GradeError> {
        let outline: Vec<GroupOutline> = self
            .problem
            .groups
            .iter()
            .map(|g| GroupOutline {
                group: g.name.clone(),
                points: g.points,
                scoring: g.scoring,
                cases: g.cases.iter().map(|c| c.name.clone()).collect(),
            })
            .collect();
        let mut submissions = Vec::with_capacity(self.submissions.len());
        for (submission, items) in self.submissions.iter().zip(&self.items) {
            let cases = self.run_submission(submission, items, &mut on_case).await?;
            submissions.push(summarize(&outline, &submission.name, cases));
        }
        Ok(Report {
            format: REPORT_FORMAT,
            problem: self.problem.name.clone(),
            fingerprint: self.fingerprint.clone(),
            shard: self.shard,
            groups: outline,
            submissions,
        })
    }

    async fn run_submission(
        &self,
        submission: &Arc<Submission>,
        items: &[(usize, usize)],
        on_case: &mut impl FnMut(&CaseResult),
    ) -> Result<Vec<Vec<Option<CaseResult>>>, GradeError> {
        let problem = &self.problem;
        if let Some(message) = submission.compile_message() {
            return Ok(compile_errors(
                problem, submission, &message, items, on_case,
            ));
        }
        let mut results: Vec<Vec<Option<CaseResult>>> = problem
            .groups
            .iter()
            .map(|g| vec![None; g.cases.len()])
            .collect();
        if items.is_empty() {
            // None of its cases is in this shard: nothing to prepare.
            return Ok(results);
        }
        // Groups queue after the groups they depend on, so a worker waiting for one waits
        // for cases already taken (see `gate`); the gate counts this run's items.
        let position = |g: usize| self.group_order.iter().position(|&o| o == g);
        let mut queue: Vec<(usize, usize)> = items.to_vec();
        queue.sort_by_key(|&(g, c)| (position(g), c));
        let queue: VecDeque<(usize, usize)> = queue.into();
        let mut cases = vec![0usize; problem.groups.len()];
        for &(g, _) in items {
            cases[g] += 1;
        }
        let deps = dependencies::resolve(&problem.groups)
            .map_err(|e| ProblemError::invalid(&problem.dir, e.key(), None, e.message()))?;
        let workers = self.jobs.min(queue.len()).max(1);
        // On wasi a module submission runs from a host file the grader owns, not from the
        // workspace: the reset before every case then never copies the module again (and
        // its unchanged file keeps the runtime's content hash cached).
        let (spec, run_as, _module_dir) = match module_program(&self.spec, submission)? {
            Some((spec, run_as, dir)) => (spec, Arc::new(run_as), Some(dir)),
            None => (self.spec.clone(), submission.clone(), None),
        };
        let shared = Arc::new(Shared {
            problem: problem.clone(),
            submission: run_as,
            queue: Mutex::new(queue),
            failed: problem
                .groups
                .iter()
                .map(|_| AtomicBool::new(false))
                .collect(),
            fail_fast: self.fail_fast,
            gate: DependencyGate::new(&cases, deps),
        });
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut set = JoinSet::new();
        for _ in 0..workers {
            set.spawn(worker(
                shared.clone(),
                self.registry.clone(),
                spec.clone(),
                self.checker_spec.clone(),
                tx.clone(),
            ));
        }
        drop(tx);
        while let Some((g, c, result)) = rx.recv().await {
            on_case(&result);
            results[g][c] = Some(result);
        }
        while let Some(joined) = set.join_next().await {
            joined.map_err(|e| GradeError::Worker(e.to_string()))??;
        }
        for &(g, c) in items {
            let group = &problem.groups[g];
            results[g][c].get_or_insert_with(|| {
                let mut r = blank(
                    &submission.name,
                    &group.name,
                    &group.cases[c],
                    Verdict::InternalError,
                );
                r.message = Some("the case was not run".into());
                r
            });
        }
        Ok(results)
    }
}

/// The command word a module submission runs under on wasi.
const MODULE_WORD: &str = "subrun-submission";

/// For a module submission (a `.wasm` or `.wat` file that its command runs, such as a built
/// source) on `wasi`: the module written once to a directory of the grader's, a spec with it
/// as the program [`MODULE_WORD`] (its `argv[0]` the file's name, as before), and the
/// submission without the module file, run by that word. `None` for anything else.
fn module_program(
    spec: &EnvironmentSpec,
    submission: &Submission,
) -> Result<Option<(EnvironmentSpec, Submission, tempfile::TempDir)>, GradeError> {
    if spec.kind.as_str() != "wasi" {
        return Ok(None);
    }
    let Some(index) = submission.files.iter().position(|(path, _)| {
        (path.ends_with(".wasm") || path.ends_with(".wat"))
            && !path.contains('/')
            && submission.command == shell_words::quote(path)
    }) else {
        return Ok(None);
    };
    let prep = |source| GradeError::StageModule {
        submission: submission.name.clone(),
        source,
    };
    let (name, bytes) = &submission.files[index];
    let dir = tempfile::Builder::new()
        .prefix("subrun-grade-module-")
        .tempdir()
        .map_err(prep)?;
    let module = dir.path().join(name);
    std::fs::write(&module, bytes).map_err(prep)?;
    let mut spec = spec.clone();
    let entry = json!({ "module": module.to_string_lossy(), "argv0": name });
    match &mut spec.backend {
        Value::Object(section) => {
            let programs = section
                .entry("programs")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            match programs {
                Value::Object(p) => {
                    p.insert(MODULE_WORD.to_owned(), entry);
                }
                _ => return Ok(None),
            }
        }
        Value::Null => spec.backend = json!({ "programs": { MODULE_WORD: entry } }),
        _ => return Ok(None),
    }
    let mut run_as = submission.clone();
    run_as.files.remove(index);
    run_as.command = MODULE_WORD.to_owned();
    Ok(Some((spec, run_as, dir)))
}

struct Shared {
    problem: Arc<Problem>,
    submission: Arc<Submission>,
    queue: Mutex<VecDeque<(usize, usize)>>,
    failed: Vec<AtomicBool>,
    fail_fast: bool,
    gate: DependencyGate,
}

impl Shared {
    fn next(&self) -> Option<(usize, usize)> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }
}

type Sent = (usize, usize, CaseResult);

async fn worker(
    shared: Arc<Shared>,
    registry: Registry,
    spec: EnvironmentSpec,
    checker_spec: Option<EnvironmentSpec>,
    tx: mpsc::UnboundedSender<Sent>,
) -> Result<(), GradeError> {
    let submission = &shared.submission;
    let prep = |source: subrun::Error| GradeError::Prepare {
        submission: submission.name.clone(),
        source,
    };
    let fresh_runtime_per_case = spec.kind.as_str() == "docker";
    let session = Session::builder(&registry, spec)
        .prepare()
        .await
        .map_err(prep)?;
    for (path, bytes) in &submission.files {
        session
            .workspace()
            .write_file(path, bytes)
            .map_err(|e| prep(e.into()))?;
    }
    let pristine = session.update_snapshot().map_err(prep)?;
    // A container's own filesystem (`/tmp`, `/var/tmp`, ...) outlives an execution: on
    // docker each case gets a fresh runtime, so nothing a case left there reaches the next.
    // A wasi guest sees only the workspace (reset below) and read-only mounts.
    let runtime = if fresh_runtime_per_case {
        None
    } else {
        Some(session.spawn(SpawnOptions::new()).await.map_err(prep)?)
    };
    let checker = match (&shared.problem.checker, checker_spec) {
        (Checker::Program(program), Some(spec)) => Some(
            CheckerSandbox::start(&registry, spec, Arc::new(program.clone()))
                .await
                .map_err(GradeError::PrepareChecker)?,
        ),
        _ => None,
    };
    while let Some((g, c)) = shared.next() {
        let held = shared.gate.hold(g);
        let group = &shared.problem.groups[g];
        let case = &group.cases[c];
        let required = if shared.gate.is_free(g) {
            Ok(())
        } else {
            shared.gate.wait(g).await
        };
        let result = if let Err(d) = required {
            skipped_after(
                submission,
                &group.name,
                case,
                &shared.problem.groups[d].name,
            )
        } else if shared.fail_fast && shared.failed[g].load(Ordering::SeqCst) {
            skipped(submission, &group.name, case)
        } else {
            let ctx = CaseContext {
                session: &session,
                runtime: runtime.as_deref(),
                pristine: &pristine,
                checker: checker.as_ref(),
                problem: &shared.problem,
                submission,
                group: &group.name,
            };
            run_case(&ctx, case).await
        };
        if shared.fail_fast && !result.verdict.is_accepted() {
            shared.failed[g].store(true, Ordering::SeqCst);
        }
        held.finish(result.verdict.is_accepted());
        if tx.send((g, c, result)).is_err() {
            break;
        }
    }
    if let Err(e) = session.close().await {
        tracing::warn!(error = %e, "closing a grading session failed");
    }
    if let Some(checker) = checker {
        checker.close().await;
    }
    Ok(())
}

struct CaseContext<'a> {
    session: &'a Session,
    /// The worker's runtime; `None`: a fresh one per case.
    runtime: Option<&'a dyn SubmissionRuntime>,
    pristine: &'a subrun::snapshot::Snapshot,
    checker: Option<&'a CheckerSandbox>,
    problem: &'a Problem,
    submission: &'a Submission,
    group: &'a str,
}

fn blank(submission: &str, group: &str, case: &Case, verdict: Verdict) -> CaseResult {
    CaseResult {
        submission: submission.to_owned(),
        group: group.to_owned(),
        case: case.name.clone(),
        verdict,
        failure: None,
        exit_code: None,
        wall_time: 0.0,
        cpu_time: None,
        fuel: None,
        peak_memory: None,
        output_bytes: 0,
        points: None,
        fraction: 0.0,
        deadline: None,
        message: None,
        first_diff_line: None,
        diff: None,
        reset_time: 0.0,
    }
}

fn skipped(submission: &Submission, group: &str, case: &Case) -> CaseResult {
    let mut r = blank(&submission.name, group, case, Verdict::Skipped);
    r.message = Some("skipped: an earlier case of the group failed (--fail-fast)".into());
    r
}

fn skipped_after(submission: &Submission, group: &str, case: &Case, required: &str) -> CaseResult {
    let mut r = blank(&submission.name, group, case, Verdict::Skipped);
    r.message = Some(escape_owned(&format!(
        "skipped: group `{required}`, which this group depends on, was not fully accepted"
    )));
    r
}

/// Resets the workspace to the pristine submission plus this case's granted files, runs
/// the command with the case's stdin, and judges the result.
async fn run_case(ctx: &CaseContext<'_>, case: &Case) -> CaseResult {
    let started = Instant::now();
    let workspace = ctx.session.workspace();
    // Not `restore_into`: its all-or-nothing staging costs two directories per case, and
    // here a failed reset is the case's IE and the next case resets again anyway.
    let reset = workspace
        .clear()
        .map_err(subrun::Error::from)
        .and_then(|()| {
            ctx.pristine
                .extract_into(workspace)
                .map_err(subrun::Error::from)
        })
        .and_then(|()| ctx.session.materialize_input_files(&case.files).map(drop));
    let reset_time = started.elapsed();
    let mut out = blank(
        &ctx.submission.name,
        ctx.group,
        case,
        Verdict::InternalError,
    );
    out.reset_time = reset_time.as_secs_f64();
    if let Err(e) = reset {
        out.message = Some(escape_owned(&format!("cannot reset the workspace: {e}")));
        return out;
    }
    let mut request = ExecRequest::new(ctx.submission.command_with(&case.args));
    if let Some(stdin) = &case.stdin {
        request = request.stdin(stdin.clone());
    }
    let fresh = match ctx.runtime {
        Some(_) => None,
        None => match ctx.session.spawn(SpawnOptions::new()).await {
            Ok(runtime) => Some(runtime),
            Err(e) => {
                out.message = Some(escape_owned(&format!("cannot spawn the runtime: {e}")));
                return out;
            }
        },
    };
    let Some(runtime) = ctx.runtime.or(fresh.as_deref()) else {
        return out;
    };
    let executed = runtime.execute(request).await;
    if let Some(fresh) = &fresh
        && let Err(e) = fresh.cleanup().await
    {
        tracing::warn!(error = %e, "cleaning up a case's runtime failed");
    }
    let result = match executed {
        Ok(r) => r,
        Err(e) => {
            out.message = Some(escape_owned(&format!("the engine failed: {e}")));
            return out;
        }
    };
    let Judgement {
        mut verdict,
        failure,
        mut mismatch,
        mut message,
        mut fraction,
    } = match ctx.checker {
        Some(checker) => checker.judge(&result, case).await,
        None => judge(&result, case.answer.as_deref(), &ctx.problem.checker),
    };
    if verdict.is_accepted()
        && let Some(f) = expected::check(ctx.session, &case.expected_files, &ctx.problem.checker)
    {
        verdict = f.verdict;
        message = Some(f.message);
        mismatch = f.mismatch;
        fraction = 0.0;
    }
    tracing::debug!(submission = %ctx.submission.name, group = ctx.group, case = %case.name, verdict = %verdict, reset_us = reset_time.as_micros() as u64, wall_us = result.usage.wall_time.as_micros() as u64, "case graded");
    out.verdict = verdict;
    out.fraction = fraction;
    out.failure = failure;
    out.exit_code = Some(result.exit_code);
    out.wall_time = result.usage.wall_time.as_secs_f64();
    out.cpu_time = result.usage.cpu_time.map(|d: Duration| d.as_secs_f64());
    out.fuel = result.usage.fuel_consumed;
    out.peak_memory = result.usage.peak_memory;
    out.deadline = result.usage.deadline.map(|d| d.as_secs_f64());
    out.output_bytes = result.usage.stdout_bytes + result.usage.stderr_bytes;
    out.message = message;
    if let Some(m) = mismatch {
        out.first_diff_line = m.first_diff_line;
        out.diff = Some(m.diff);
    }
    out
}

/// Every case of a submission that could not be built: CE with the compiler's message, and
/// nothing run.
fn compile_errors(
    problem: &Problem,
    submission: &Submission,
    message: &str,
    items: &[(usize, usize)],
    on_case: &mut impl FnMut(&CaseResult),
) -> Vec<Vec<Option<CaseResult>>> {
    let mut results: Vec<Vec<Option<CaseResult>>> = problem
        .groups
        .iter()
        .map(|g| vec![None; g.cases.len()])
        .collect();
    for &(g, c) in items {
        let group = &problem.groups[g];
        let mut r = blank(
            &submission.name,
            &group.name,
            &group.cases[c],
            Verdict::CompileError,
        );
        r.message = Some(message.to_owned());
        on_case(&r);
        results[g][c] = Some(r);
    }
    results
}

fn escape_owned(text: &str) -> String {
    subrun::terminal::escape(text).into_owned()
}

#[cfg(test)]
mod module_tests {
    use super::*;

    fn spec(kind: &str) -> EnvironmentSpec {
        EnvironmentSpec::from_value(json!({ "type": kind }), "test", "/").expect("spec")
    }

    /// A module submission runs from a host file the grader wrote once, so the pristine
    /// workspace (written back before every case) no longer holds the module; the guest's
    /// `argv[0]` is still the file's name. Scripts, commands and other runtimes keep their files.
    #[test]
    fn on_wasi_a_module_submission_runs_from_the_graders_file_not_the_workspace() {
        let sub = Submission::command("sum.wasm", "sum.wasm")
            .file("sum.wasm", b"\0asm\x01\0\0\0".to_vec())
            .file("data.txt", "kept");
        let (staged, run_as, dir) = module_program(&spec("wasi"), &sub)
            .expect("staged")
            .expect("a module submission");
        assert_eq!(run_as.command, MODULE_WORD);
        assert_eq!(
            run_as.command_with(&["7".into()]),
            format!("{MODULE_WORD} 7")
        );
        assert_eq!(
            run_as.files,
            vec![("data.txt".to_owned(), b"kept".to_vec())]
        );
        assert_eq!(run_as.name, "sum.wasm");
        let entry = &staged.backend["programs"][MODULE_WORD];
        assert_eq!(entry["argv0"], "sum.wasm");
        let module = std::path::Path::new(entry["module"].as_str().expect("a path"));
        assert!(module.starts_with(dir.path()), "{module:?}");
        assert_eq!(std::fs::read(module).expect("written"), b"\0asm\x01\0\0\0");

        let script = Submission::command("a.py", "python a.py").file("a.py", "print(1)");
        assert!(
            module_program(&spec("wasi"), &script)
                .expect("ok")
                .is_none()
        );
        assert!(module_program(&spec("local"), &sub).expect("ok").is_none());
        let with_args = Submission::command("x", "sum.wasm --fast").file("sum.wasm", b"m".to_vec());
        assert!(
            module_program(&spec("wasi"), &with_args)
                .expect("ok")
                .is_none()
        );
    }
}
