//! Section `docker`: spawn (for docker: container create and start) and warm execute of a
//! trivial command (the hello fixture) on `docker`, next to `local` and `wasi`.

use std::time::{Duration, Instant};

use crate::Bench;
use crate::hello::warm_executes;
use crate::options::Section;
use crate::report::Measure;
use crate::targets::{Error, Runtime, spawn};

/// Spawns `n` runtimes in one session after `warmup` untimed ones; the timed region is
/// `Session::spawn` (for docker: create and start the container); each runtime is cleaned up
/// (container removed) after its sample, outside the timed region.
async fn spawns(runtime: &Runtime, warmup: usize, n: usize) -> Result<Vec<Duration>, Error> {
    let session = runtime.session("", None).await?;
    let mut samples = Vec::with_capacity(n);
    for i in 0..warmup + n {
        let started = Instant::now();
        let rt = spawn(&session).await?;
        let took = started.elapsed();
        rt.cleanup()
            .await
            .map_err(|e| format!("clean up: {}", subrun_tests::target::chain(&e)))?;
        if i >= warmup {
            samples.push(took);
        }
    }
    session
        .close()
        .await
        .map_err(|e| format!("close the session: {e}"))?;
    Ok(samples)
}

pub(crate) async fn run(b: &mut Bench) {
    let docker = Runtime::docker().await;
    let s = Section::Docker;
    let (spawn_n, exec_n) = (b.opts.n(300, 30), b.opts.n(300, 30));
    let wasi = spawns(&b.wasi, 10, spawn_n).await;
    b.push_times(
        s,
        "docker.wasi.spawn",
        "wasi: spawn",
        wasi,
        "Session::spawn; lays out a /static dir per spawn (fs metadata work)",
    );
    let local = spawns(&b.local, 5, spawn_n).await;
    b.push_times(
        s,
        "docker.local.spawn",
        "local: spawn",
        local,
        "Session::spawn",
    );
    match &docker {
        Ok(d) => {
            let r = spawns(d, 1, b.opts.n(10, 3)).await;
            b.push_times(
                s,
                "docker.docker.spawn",
                "docker: spawn (container create + start)",
                r,
                "Session::spawn; container removed after each, untimed",
            );
        }
        Err(why) => b.report.push(
            s,
            "docker.docker.spawn",
            "docker: spawn (container create + start)",
            Measure::Unavailable(why.clone()),
            "",
        ),
    }
    let wasi = warm_executes(&b.wasi, 100, exec_n * 10).await;
    b.push_times(
        s,
        "docker.wasi.execute",
        "wasi: warm execute, hello",
        wasi.map(|w| w.samples),
        "",
    );
    let local = warm_executes(&b.local, 10, exec_n).await;
    b.push_times(
        s,
        "docker.local.execute",
        "local: warm execute, hello",
        local.map(|w| w.samples),
        "",
    );
    match &docker {
        Ok(d) => {
            let r = warm_executes(d, 5, b.opts.n(100, 15)).await;
            b.push_times(
                s,
                "docker.docker.execute",
                "docker: warm execute, hello (exec in container)",
                r.map(|w| w.samples),
                "sh -c through an attached exec",
            );
        }
        Err(why) => b.report.push(
            s,
            "docker.docker.execute",
            "docker: warm execute, hello (exec in container)",
            Measure::Unavailable(why.clone()),
            "",
        ),
    }
    for what in ["spawn", "execute"] {
        let id = |k: &str| format!("docker.{k}.{what}");
        b.report
            .ratio(&id("local"), "local/wasi", &id("local"), &id("wasi"));
        b.report
            .ratio(&id("docker"), "docker/local", &id("docker"), &id("local"));
        b.report
            .ratio(&id("docker"), "docker/wasi", &id("docker"), &id("wasi"));
    }
}
