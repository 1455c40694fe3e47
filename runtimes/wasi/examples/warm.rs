//! Quick warm-execute latency probe (not the benchmark).
#![expect(clippy::unwrap_used, reason = "probe")]
use std::sync::Arc;
use std::time::Instant;
use subrun::runtime::{RuntimeFactory, SpawnContext};
use subrun::spec::ResolvedSpec;
use subrun::{EnvironmentSpec, ExecRequest};
use subrun_wasi::{WasiEngineConfig, WasiRuntimeFactory};

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.wat"), r#"(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1) (data (i32.const 8) "hello\n")
  (func (export "_start") (i32.store (i32.const 0) (i32.const 8)) (i32.store (i32.const 4) (i32.const 6))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20)))))"#).unwrap();
    let f = WasiRuntimeFactory::new(WasiEngineConfig::default()).unwrap();
    let spec = EnvironmentSpec::from_yaml_str("type: wasi\n", "x", dir.path()).unwrap();
    let r = ResolvedSpec::resolve(&spec, vec![], &|a| a.static_path()).unwrap();
    let rt = f
        .spawn(SpawnContext::new(Arc::new(r), dir.path().into()))
        .await
        .unwrap();
    for _ in 0..200 {
        rt.execute(ExecRequest::new("hello.wat")).await.unwrap();
    }
    let mut v = Vec::new();
    for _ in 0..5000 {
        let t = Instant::now();
        rt.execute(ExecRequest::new("hello.wat")).await.unwrap();
        v.push(t.elapsed());
    }
    v.sort();
    println!(
        "median {:?} p90 {:?} p99 {:?}",
        v[v.len() / 2],
        v[v.len() * 9 / 10],
        v[v.len() * 99 / 100]
    );
}
