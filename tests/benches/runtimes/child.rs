//! The re-executed bench binary (`--child cold|disk`): a fresh process that creates an
//! engine on a given cache directory, spawns a runtime and measures its first execute. It
//! prints one JSON line on stdout; the parent measures the whole process from the outside.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::json;
use subrun_tests::fixtures::Fixture;

use crate::guests;
use crate::hello::HELLO;
use crate::options::{ChildMode, ChildProgram};
use crate::targets::{Error, Runtime, expect_stdout, spawn, timed_execute, wasi_factory};

/// Runs the child and prints its report; `started` is taken first thing in `main`.
pub(crate) fn main(
    mode: ChildMode,
    program: ChildProgram,
    cache_dir: &Path,
    started: Instant,
) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("child: cannot build the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(measure(mode, program, cache_dir, started)) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("child: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn measure(
    mode: ChildMode,
    program: ChildProgram,
    cache_dir: &Path,
    started: Instant,
) -> Result<String, Error> {
    let t = Instant::now();
    let factory = wasi_factory(cache_dir)?;
    let engine = factory.engine().clone();
    let engine_s = t.elapsed().as_secs_f64();
    let runtime = Runtime::wasi(factory);

    let t = Instant::now();
    let (session, cmd, want, _sources) = match program {
        ChildProgram::Hello => (
            runtime.session("", None).await?,
            runtime.cmd(Fixture::Hello, &[]),
            HELLO.to_string(),
            None,
        ),
        ChildProgram::Python | ChildProgram::Node => {
            let files = guests::GuestFiles::find()?;
            let sources = guests::sources()?;
            let session = runtime
                .session_on(files.spec()?, Some(sources.path()))
                .await?;
            let cmd = if program == ChildProgram::Python {
                guests::PYTHON_CMD
            } else {
                guests::NODE_CMD
            };
            (session, cmd.to_string(), HELLO.to_string(), Some(sources))
        }
    };
    let session_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let rt = spawn(&session).await?;
    let spawn_s = t.elapsed().as_secs_f64();

    let (first, r) = timed_execute(rt.as_ref(), &cmd).await?;
    expect_stdout(&r, &want)?;
    let main_to_first_result_s = started.elapsed().as_secs_f64();
    let (second, r) = timed_execute(rt.as_ref(), &cmd).await?;
    expect_stdout(&r, &want)?;
    let stats = engine.cache_stats();
    let expected = match mode {
        ChildMode::Cold => stats.compiled == 1 && stats.loaded_from_disk == 0,
        ChildMode::Disk => stats.compiled == 0 && stats.loaded_from_disk == 1,
    };
    if !expected {
        return Err(format!(
            "{mode:?} run of {program:?}: unexpected cache counters {stats:?} (cache dir {})",
            cache_dir.display()
        ));
    }
    session
        .close()
        .await
        .map_err(|e| format!("close the session: {e}"))?;
    Ok(json!({
        "engine_s": engine_s,
        "session_s": session_s,
        "spawn_s": spawn_s,
        "first_execute_s": first.as_secs_f64(),
        "second_execute_s": second.as_secs_f64(),
        "main_to_first_result_s": main_to_first_result_s,
        "compiled": stats.compiled,
        "loaded_from_disk": stats.loaded_from_disk,
        "memory_hits": stats.memory_hits,
    })
    .to_string())
}
