//! The workspace, static assets, placeholders, confinement, determinism and concurrency.

use std::time::Duration;

use subrun::{Error, ExecRequest, FileContent, InputFile, Outcome};

use crate::Target;
use crate::fixtures::Fixture;
use crate::target::Kind;

/// Files written by the session reach the command; files the command writes come back.
pub async fn workspace_files_round_trip(t: &Target) {
    let (s, rt) = t.spawn("").await;
    s.materialize_input_files(&[InputFile::text("cases/in.txt", "input from the session\n")])
        .unwrap();
    let r = rt
        .execute(ExecRequest::new(
            t.cmd(Fixture::FileOps, &["read", "cases/in.txt"]),
        ))
        .await
        .unwrap();
    assert_eq!(r.stdout_text(), "input from the session\n");
    let r = rt
        .execute(ExecRequest::new(
            t.cmd(Fixture::FileOps, &["write", "out/result.txt", "42"]),
        ))
        .await
        .unwrap();
    assert_eq!(
        r.outcome,
        Outcome::Exited { code: 0 },
        "{}",
        r.stderr_text()
    );
    let files = s.get_file_contents(&["out/*.txt"]).unwrap();
    assert_eq!(
        files.get("out/result.txt"),
        Some(&FileContent::Text("42".into()))
    );
    s.close().await.unwrap();
}

/// Input files and globs that would leave the workspace are refused, and nothing is written
/// outside.
pub async fn workspace_paths_are_confined(t: &Target) {
    let (s, _rt) = t.spawn("").await;
    let parent = s.workspace().path().parent().expect("parent").to_path_buf();
    for bad in [
        "../escaped.txt",
        "/tmp/escaped-abs.txt",
        "a/../../escaped.txt",
    ] {
        let err = s
            .materialize_input_files(&[InputFile::text(bad, "x")])
            .unwrap_err();
        assert!(
            err.to_string().contains(bad) || err.to_string().contains(".."),
            "{bad}: {err}"
        );
    }
    assert!(!parent.join("escaped.txt").exists());
    assert!(!std::path::Path::new("/tmp/escaped-abs.txt").exists());
    for glob in ["../*", "/etc/*"] {
        assert!(
            matches!(s.get_file_contents(&[glob]), Err(Error::Workspace(_))),
            "{glob}"
        );
    }
    s.close().await.unwrap();
}

/// `{{static:NAME}}` renders to where the runtime shows the asset, in commands and env values.
pub async fn placeholders_render_to_the_runtime_path(t: &Target) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.txt"), "asset content").unwrap();
    let s = t
        .session_with("", |b| b.asset("data", dir.path().join("data.txt")))
        .await;
    let rt = s.spawn(Default::default()).await.unwrap();
    let r = rt
        .execute(
            ExecRequest::new(t.cmd(Fixture::FileOps, &["read", "{{static:data}}"]))
                .env("WHERE", "{{static:data}}"),
        )
        .await
        .unwrap();
    assert_eq!(r.stdout_text(), "asset content", "{}", r.stderr_text());
    let expected = match t.kind {
        Kind::Wasi | Kind::Docker => "/static/data".to_string(),
        Kind::Local => dir
            .path()
            .join("data.txt")
            .canonicalize()
            .unwrap()
            .display()
            .to_string(),
    };
    assert_eq!(s.render("{{static:data}}").unwrap(), expected);
    let r = rt
        .execute(
            ExecRequest::new(t.cmd(Fixture::PrintEnv, &["WHERE"])).env("WHERE", "{{static:data}}"),
        )
        .await
        .unwrap();
    assert_eq!(r.stdout_text(), format!("WHERE={expected}\n"));
    s.close().await.unwrap();
}

/// A static asset cannot be written or added to by the guest.
pub async fn static_assets_are_read_only(t: &Target) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    std::fs::write(dir.path().join("d/data.txt"), "original").unwrap();
    let s = t
        .session_with("", |b| b.asset("data", dir.path().join("d")))
        .await;
    let rt = s.spawn(Default::default()).await.unwrap();
    for (path, text) in [
        ("{{static:data}}/data.txt", "overwritten"),
        ("{{static:data}}/new.txt", "added"),
    ] {
        let r = rt
            .execute(ExecRequest::new(
                t.cmd(Fixture::FileOps, &["write", path, text]),
            ))
            .await
            .unwrap();
        assert_eq!(
            r.outcome,
            Outcome::Exited { code: 1 },
            "{path}: {}",
            r.stderr_text()
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("d/data.txt")).unwrap(),
        "original"
    );
    assert!(!dir.path().join("d/new.txt").exists());
    let r = rt
        .execute(ExecRequest::new(
            t.cmd(Fixture::FileOps, &["read", "{{static:data}}/data.txt"]),
        ))
        .await
        .unwrap();
    assert_eq!(r.stdout_text(), "original");
    s.close().await.unwrap();
}

/// Escape attempts from inside the guest all fail, checked on the host side too: the secret
/// outside the workspace is never read, nothing appears outside, the asset is unchanged, the
/// host port sees no connection.
pub async fn guest_escape_attempts_fail(t: &Target) {
    let outside = tempfile::tempdir().unwrap();
    let secret_text = format!(
        "SECRET-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    );
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, &secret_text).unwrap();
    let asset_dir = tempfile::tempdir().unwrap();
    std::fs::write(asset_dir.path().join("asset.txt"), "asset").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();

    let s = t
        .session_with("", |b| b.asset("asset", asset_dir.path().join("asset.txt")))
        .await;
    let rt = s.spawn(Default::default()).await.unwrap();
    // The secret, relative to the guest's working directory on the host side.
    let depth = s.workspace().path().components().count();
    let rel = format!(
        "{}{}",
        "../".repeat(depth + 2),
        secret.display().to_string().trim_start_matches('/')
    );
    let secret_abs = secret.display().to_string();
    let outside_abs = outside.path().display().to_string();
    let r = rt
        .execute(
            ExecRequest::new(t.cmd(
                Fixture::EscapeProbe,
                &[&secret_abs, &rel, &outside_abs, "{{static:asset}}", &port],
            ))
            .timeout(Duration::from_secs(20)),
        )
        .await
        .unwrap();
    let report = format!("{}{}", r.stdout_text(), r.stderr_text());
    assert!(
        r.stdout_text().lines().count() >= 15,
        "the probe did not run to the end: {report}"
    );
    assert!(
        !report.contains(&secret_text),
        "the secret leaked:\n{report}"
    );
    // Writes are judged on the host: a container may write its own root filesystem (`../` from
    // /workspace is the container's `/`), which is not the host's.
    for line in r.stdout_text().lines() {
        assert!(
            !line.starts_with("read host env CARGO_MANIFEST_DIR: DONE"),
            "escape: {line}\n{report}"
        );
    }
    let mut left: Vec<_> = std::fs::read_dir(outside.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    left.sort();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("secret.txt")],
        "files appeared outside the workspace"
    );
    let parent = s.workspace().path().parent().unwrap();
    let escaped = std::fs::read_dir(parent)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("escape-"));
    assert!(!escaped, "a file was written next to the workspace");
    assert_eq!(
        std::fs::read_to_string(asset_dir.path().join("asset.txt")).unwrap(),
        "asset"
    );
    assert!(!asset_dir.path().join("asset.txt.new").exists());
    assert!(
        listener.accept().is_err(),
        "the guest connected to a host port"
    );
    s.close().await.unwrap();
}

/// Deterministic mode: the same guest printing clocks, random numbers and float bits gives
/// identical stdout, stderr, exit code and fuel on every run.
pub async fn deterministic_mode_repeats_exactly(t: &Target) {
    let (s, rt) = t
        .spawn("wasi: { deterministic: true }\nlimits: { fuel: 1000000000 }\n")
        .await;
    let cmd = t.cmd(Fixture::DeterminismProbe, &[]);
    let first = rt.execute(ExecRequest::new(cmd.clone())).await.unwrap();
    assert_eq!(
        first.outcome,
        Outcome::Exited { code: 0 },
        "{}",
        first.stderr_text()
    );
    assert!(first.usage.fuel_consumed.unwrap_or(0) > 0);
    for run in 1..20 {
        let r = rt.execute(ExecRequest::new(cmd.clone())).await.unwrap();
        assert_eq!(r.stdout, first.stdout, "run {run}");
        assert_eq!(r.stderr, first.stderr, "run {run}");
        assert_eq!(r.exit_code, first.exit_code);
        assert_eq!(
            r.usage.fuel_consumed, first.usage.fuel_consumed,
            "run {run}"
        );
    }
    // A fresh runtime (new session, new workspace) gives the same bytes too.
    let (s2, rt2) = t
        .spawn("wasi: { deterministic: true }\nlimits: { fuel: 1000000000 }\n")
        .await;
    let again = rt2.execute(ExecRequest::new(cmd)).await.unwrap();
    assert_eq!(again.stdout, first.stdout);
    s2.close().await.unwrap();
    s.close().await.unwrap();
}

/// The same CPU-bound program computes the same answer on every runtime.
pub async fn cpu_bound_computes_the_same_result(t: &Target) {
    let (s, rt) = t.spawn("").await;
    let r = rt
        .execute(ExecRequest::new(t.cmd(Fixture::CpuBound, &["100000"])))
        .await
        .unwrap();
    assert_eq!(
        r.stdout_text(),
        "primes=9592 lcg=5ba1ae5c9af9bd01\n",
        "{}",
        r.stderr_text()
    );
    s.close().await.unwrap();
}

/// Many executions on one runtime at once all complete with their own output.
pub async fn concurrent_executions(t: &Target) {
    let (s, rt) = t.spawn("").await;
    let n = if t.kind == Kind::Docker { 8 } else { 32 };
    let mut tasks = Vec::new();
    for _ in 0..n {
        let rt = rt.clone();
        let cmd = t.cmd(Fixture::Hello, &[]);
        tasks.push(tokio::spawn(async move {
            rt.execute(ExecRequest::new(cmd)).await
        }));
    }
    for task in tasks {
        let r = task.await.unwrap().unwrap();
        assert_eq!(r.stdout_text(), "hello, world\n");
    }
    s.close().await.unwrap();
}
