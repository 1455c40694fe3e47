//! Informal timings of the docker runtime against the local engine (the real numbers come from
//! the benchmark): spawn (image check + create + start), warm `execute` of `true`, cleanup.
//!
//! ```text
//! cargo run --release -p subrun-docker --example timing [-- ROUNDS]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use subrun::runtime::{RuntimeFactory, SpawnContext};
use subrun::spec::ResolvedSpec;
use subrun::{EnvironmentSpec, ExecRequest};
use subrun_docker::{DockerRuntimeFactory, TEST_IMAGE};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10);
    let factory = DockerRuntimeFactory::connect().await?;
    let spec = EnvironmentSpec::from_yaml_str(
        &format!("type: docker\ndocker: {{ image: {TEST_IMAGE} }}\n"),
        "timing.yaml",
        ".",
    )?;
    let spec = Arc::new(ResolvedSpec::resolve(&spec, Vec::new(), &|a| {
        factory.asset_path(a)
    })?);
    let workspace = tempfile::tempdir()?;
    let (mut spawns, mut execs, mut cleanups) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        let rt = factory
            .spawn(SpawnContext::new(
                spec.clone(),
                workspace.path().to_path_buf(),
            ))
            .await?;
        spawns.push(t.elapsed());
        rt.execute(ExecRequest::new("true")).await?;
        for _ in 0..20 {
            let t = Instant::now();
            let r = rt.execute(ExecRequest::new("true")).await?;
            execs.push(t.elapsed());
            assert!(r.success(), "{r:?}");
        }
        let t = Instant::now();
        rt.cleanup().await?;
        cleanups.push(t.elapsed());
    }
    println!(
        "docker ({TEST_IMAGE}), medians over {} spawns / {} warm executions:",
        spawns.len(),
        execs.len()
    );
    println!(
        "  spawn (inspect image + create + start): {:?}",
        median(spawns)
    );
    println!(
        "  warm execute(`true`):                   {:?}",
        median(execs)
    );
    println!(
        "  cleanup (force remove):                 {:?}",
        median(cleanups)
    );
    Ok(())
}
