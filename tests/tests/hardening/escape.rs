//! The escape suite's core: a stage on the host (a secret outside the workspace, read-only
//! assets and a read-only mount, listening sockets, the host's environment), attempts made
//! from inside a guest or with crafted inputs, and a verdict judged **on the host side**:
//!
//! - `escaped`: the host saw an effect — the secret (or the name of a file next to it) in any
//!   output or in a workspace file, a file outside the grants created, changed or removed, a
//!   connection or datagram received, a host variable or the host's command line in the
//!   output, the host's own name resolved, a privileged operation that succeeded;
//! - `contained`: the guest's operation succeeded but touched only its own sandbox (a
//!   container's root filesystem, the wasm workspace seen at `/`);
//! - `blocked`: the guest's operation failed;
//! - `n/a`: the attempt does not apply to the runtime (the reason is given).
//!
//! Attempts are data ([`crate::escape_attempts`], [`crate::escape_crafted`]); on `local` each
//! carries whether it is expected to escape, since `local` isolates nothing.

use std::collections::BTreeMap;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use subrun::{ExecRequest, Mount, Session, SpawnOptions, SubmissionRuntime};
use subrun_tests::fixtures::{self, Fixture};
use subrun_tests::{Kind, Target};

use crate::escape_attempts::{Attempt, Cmd, Judge};
use crate::table;

/// Where the read-only spawn mount appears (wasi, docker).
pub(crate) const MOUNT_TARGET: &str = "/mnt/ro";
/// The docker bridge's address on the host, when the host has it.
pub(crate) const GATEWAY: &str = "172.17.0.1";

/// How an attempt ended, judged on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The guest's operation failed.
    Blocked,
    /// The operation succeeded inside the sandbox only.
    Contained,
    /// The host saw an effect outside the grants.
    Escaped,
    /// Does not apply to this runtime.
    NotApplicable,
}

impl Verdict {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Verdict::Blocked => "blocked",
            Verdict::Contained => "contained",
            Verdict::Escaped => "ESCAPED",
            Verdict::NotApplicable => "n/a",
        }
    }
}

/// What `local` is expected to do with an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LocalExpect {
    /// `local` does not isolate this: the attempt succeeds on the host.
    Escapes,
    /// Holds on `local` too (the engine's own host-side code, or nothing to take).
    Holds,
    /// Not attempted on `local` (the reason says why).
    Skip(&'static str),
    /// Not isolated by `local`, but whether the host lets it through depends on the host (the
    /// reason says on what).
    Depends(&'static str),
}

/// One attempt's result.
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub(crate) group: &'static str,
    pub(crate) name: String,
    pub(crate) verdict: Verdict,
    /// What the host saw (for `escaped`), what the guest got, or why it does not apply.
    pub(crate) evidence: String,
    /// On `local`: whether this attempt is expected to escape.
    pub(crate) local: LocalExpect,
}

impl Finding {
    pub(crate) fn new(
        group: &'static str,
        name: impl Into<String>,
        verdict: Verdict,
        evidence: impl Into<String>,
        local: LocalExpect,
    ) -> Self {
        Self {
            group,
            name: name.into(),
            verdict,
            evidence: evidence.into(),
            local,
        }
    }

    /// Whether the result is what the runtime promises: nothing escapes on wasi and docker;
    /// on local exactly the attempts expected to escape do.
    pub(crate) fn as_expected(&self, kind: Kind) -> bool {
        match (kind, self.local) {
            (Kind::Wasi | Kind::Docker, _) => self.verdict != Verdict::Escaped,
            (Kind::Local, LocalExpect::Escapes) => self.verdict == Verdict::Escaped,
            (Kind::Local, LocalExpect::Holds) => {
                matches!(self.verdict, Verdict::Blocked | Verdict::Contained)
            }
            (Kind::Local, LocalExpect::Skip(_)) => self.verdict == Verdict::NotApplicable,
            (Kind::Local, LocalExpect::Depends(_)) => self.verdict != Verdict::NotApplicable,
        }
    }
}

/// The host side of the suite: the secret, the granted read-only trees, sockets.
pub(crate) struct Stage {
    /// Unique to this stage; in the names of files an attempt tries to create.
    pub(crate) nonce: String,
    /// The secret file's content; must never reach any output or the workspace.
    pub(crate) marker: String,
    /// The name of a file beside the secret; must never reach any output (directory listing).
    pub(crate) listing_marker: String,
    /// Holds the secret (`secret.txt`), the listing marker file and the evil programs.
    pub(crate) outside: tempfile::TempDir,
    /// `asset.txt` (file asset `asset`) and `data/data.txt` (directory asset `data`).
    pub(crate) assets: tempfile::TempDir,
    /// `data.txt`, shown read-only at [`MOUNT_TARGET`].
    pub(crate) mount: tempfile::TempDir,
    pub(crate) tcp: TcpListener,
    pub(crate) udp: UdpSocket,
    /// Whether the host has the docker bridge address [`GATEWAY`].
    pub(crate) has_gateway: bool,
    /// Host variables a guest must never see (`KEY=VALUE`, distinctive values only).
    host_env: Vec<String>,
    /// This process's `argv[0]`, as its `/proc/<pid>/cmdline` holds it (relative when the
    /// process was started by a relative path, as `cargo run` does).
    exe: String,
}

const FIXED_MTIME: u64 = 1_600_000_000;

impl Stage {
    /// Builds the stage. The temp root is `std::env::temp_dir()`, as for workspaces.
    pub(crate) fn new() -> Self {
        let stamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("clock")
            .as_nanos();
        let nonce = format!("{}x{stamp}", std::process::id());
        let host_env: Vec<String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(_, v)| v.len() >= 8)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert!(
            !host_env.is_empty(),
            "the host has no distinctive environment variable to look for"
        );
        let tcp = TcpListener::bind("0.0.0.0:0").expect("bind a host TCP port");
        tcp.set_nonblocking(true).expect("nonblocking listener");
        let udp = UdpSocket::bind("0.0.0.0:0").expect("bind a host UDP port");
        udp.set_nonblocking(true).expect("nonblocking socket");
        let stage = Self {
            marker: format!("SUBRUN-SECRET-{nonce}"),
            listing_marker: format!("SUBRUN-LISTING-{nonce}"),
            nonce,
            outside: tempfile::tempdir().expect("outside dir"),
            assets: tempfile::tempdir().expect("asset dir"),
            mount: tempfile::tempdir().expect("mount dir"),
            tcp,
            udp,
            has_gateway: TcpListener::bind((GATEWAY, 0)).is_ok(),
            host_env,
            exe: std::env::args_os()
                .next()
                .and_then(|a| a.into_string().ok())
                .unwrap_or_default(),
        };
        stage.populate();
        stage
    }

    pub(crate) fn secret(&self) -> PathBuf {
        self.outside.path().join("secret.txt")
    }

    pub(crate) fn outside_str(&self) -> String {
        self.outside.path().display().to_string()
    }

    pub(crate) fn secret_str(&self) -> String {
        self.secret().display().to_string()
    }

    /// The evil program beside the secret (a copy of `escape_attempt`) for `kind`.
    pub(crate) fn evil(&self, kind: Kind) -> String {
        let name = if kind == Kind::Wasi {
            "evil.wasm"
        } else {
            "evil"
        };
        self.outside.path().join(name).display().to_string()
    }

    /// `path` relative to a guest whose working directory is `ws` (climbs to `/` first).
    pub(crate) fn climb(ws: &Path, path: &str) -> String {
        let depth = ws.components().count();
        format!(
            "{}{}",
            "../".repeat(depth + 2),
            path.trim_start_matches('/')
        )
    }

    /// (Re)creates every host tree in its original state: fixed content, modes and mtimes.
    pub(crate) fn populate(&self) {
        let fresh = |root: &Path, files: &[(&str, String)]| {
            for e in std::fs::read_dir(root).expect("read stage dir").flatten() {
                let p = e.path();
                if p.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                    std::fs::remove_dir_all(&p).expect("clear stage dir");
                } else {
                    std::fs::remove_file(&p).expect("clear stage file");
                }
            }
            for (rel, content) in files {
                let p = root.join(rel);
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent).expect("stage parent");
                }
                std::fs::write(&p, content).expect("stage file");
                set_mode(&p, 0o644);
                let f = std::fs::File::options()
                    .write(true)
                    .open(&p)
                    .expect("open stage file");
                f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(FIXED_MTIME))
                    .expect("stage mtime");
            }
        };
        fresh(
            self.outside.path(),
            &[
                ("secret.txt", format!("{}\n", self.marker)),
                (&self.listing_marker, "beside the secret\n".into()),
            ],
        );
        for (name, dir) in [
            ("evil.wasm", fixtures::WASM_DIR),
            ("evil", fixtures::NATIVE_DIR),
        ] {
            let ext = if name.ends_with(".wasm") { ".wasm" } else { "" };
            let from = Path::new(dir).join(format!("{}{ext}", Fixture::EscapeAttempt.name()));
            let to = self.outside.path().join(name);
            std::fs::copy(&from, &to).expect("copy the evil program");
            set_mode(&to, 0o755);
        }
        fresh(
            self.assets.path(),
            &[
                ("asset.txt", "asset content\n".into()),
                ("data/data.txt", "directory asset content\n".into()),
            ],
        );
        fresh(
            self.mount.path(),
            &[("data.txt", "mounted content\n".into())],
        );
    }

    /// Everything an attempt could change on the host, as comparable text per path.
    pub(crate) fn host_state(&self, ws: &Path) -> BTreeMap<String, String> {
        let mut state = BTreeMap::new();
        for (label, root) in [
            ("outside", self.outside.path()),
            ("assets", self.assets.path()),
            ("mount", self.mount.path()),
        ] {
            tree_state(root, label, &mut state);
        }
        // Files created next to the workspace (`../` from its root) carry the nonce.
        if let Some(parent) = ws.parent() {
            for e in std::fs::read_dir(parent).into_iter().flatten().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.contains(&self.nonce) {
                    state.insert(format!("beside the workspace: {name}"), "exists".into());
                }
            }
        }
        state
    }

    /// Removes what attempts created beside the workspace.
    pub(crate) fn clear_beside(&self, ws: &Path) {
        if let Some(parent) = ws.parent() {
            for e in std::fs::read_dir(parent).into_iter().flatten().flatten() {
                if e.file_name().to_string_lossy().contains(&self.nonce) {
                    let _ = std::fs::remove_dir_all(e.path());
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    /// Connections and datagrams the host sockets received since the last call.
    fn network_hits(&self) -> Vec<String> {
        let mut hits = Vec::new();
        while let Ok((_, from)) = self.tcp.accept() {
            hits.push(format!(
                "the host's TCP port accepted a connection from {from}"
            ));
        }
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = self.udp.recv_from(&mut buf) {
            hits.push(format!(
                "the host's UDP port received {n} bytes from {from}"
            ));
        }
        hits
    }

    /// What in `text` (guest output, or a file it left) shows a host secret.
    pub(crate) fn leaks_in(&self, text: &str) -> Vec<String> {
        let mut leaks = Vec::new();
        if text.contains(&self.marker) {
            leaks.push("the secret file's content".to_string());
        }
        if text.contains(&self.listing_marker) {
            leaks.push("the name of a file beside the secret".to_string());
        }
        for kv in &self.host_env {
            if text.contains(kv.as_str()) {
                let key = kv.split('=').next().unwrap_or_default();
                leaks.push(format!("the host variable {key}"));
            }
        }
        if !self.exe.is_empty() && text.contains(&self.exe) {
            leaks.push("the host process's command line".to_string());
        }
        leaks
    }

    /// Regular files in the workspace that hold a host secret.
    pub(crate) fn workspace_leaks(&self, ws: &Path) -> Vec<String> {
        let mut found = Vec::new();
        let mut stack = vec![ws.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let Ok(m) = e.path().symlink_metadata() else {
                    continue;
                };
                if m.is_dir() {
                    stack.push(e.path());
                } else if m.is_file() && m.len() < (1 << 20) {
                    let text =
                        String::from_utf8_lossy(&std::fs::read(e.path()).unwrap_or_default())
                            .into_owned();
                    for leak in self.leaks_in(&text) {
                        found.push(format!(
                            "{leak} in the workspace file {}",
                            e.path().strip_prefix(ws).unwrap_or(&e.path()).display()
                        ));
                    }
                }
            }
        }
        found
    }
}

/// Sets the permission bits of `p`.
pub(crate) fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("set mode");
}

/// Every entry under `root`: kind, mode, owner, size, mtime and a content hash for files,
/// the target for symlinks (never followed).
fn tree_state(root: &Path, label: &str, out: &mut BTreeMap<String, String>) {
    use std::hash::{Hash as _, Hasher as _};
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            let rel = format!("{label}/{}", p.strip_prefix(root).unwrap_or(&p).display());
            let Ok(m) = p.symlink_metadata() else {
                continue;
            };
            let owner = format!("mode {:o} owner {}:{}", m.mode(), m.uid(), m.gid());
            let v = if m.is_dir() {
                stack.push(p.clone());
                format!("dir {owner}")
            } else if m.is_symlink() {
                format!(
                    "symlink -> {:?}",
                    std::fs::read_link(&p).unwrap_or_default()
                )
            } else {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(&p).unwrap_or_default().hash(&mut h);
                format!(
                    "file {owner} size {} mtime {} content {:x}",
                    m.len(),
                    m.mtime(),
                    h.finish()
                )
            };
            out.insert(rel, v);
        }
    }
}

/// Differences between two host states, as evidence lines.
pub(crate) fn state_diff(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut diff = Vec::new();
    for (k, v) in after {
        match before.get(k) {
            None => diff.push(format!("{k} was created")),
            Some(old) if old != v => diff.push(format!("{k} changed ({old} => {v})")),
            Some(_) => {}
        }
    }
    for k in before.keys() {
        if !after.contains_key(k) {
            diff.push(format!("{k} was removed"));
        }
    }
    diff
}

/// A session for the guest attempts: the two assets, and on wasi and docker the read-only
/// mount. `local` refuses spawn mounts, so it gets none (the mount attempts are n/a there).
pub(crate) async fn spawn_stage(
    t: &'static Target,
    st: &Stage,
) -> (Session, Arc<dyn SubmissionRuntime>) {
    let asset = st.assets.path().join("asset.txt");
    let data = st.assets.path().join("data");
    let s = t
        .session_with("", |b| b.asset("asset", &asset).asset("data", &data))
        .await;
    let mut opts = SpawnOptions::new();
    if t.kind != Kind::Local {
        opts = opts.mount(Mount {
            host: st.mount.path().to_path_buf(),
            target: MOUNT_TARGET.into(),
            writable: false,
        });
    }
    let rt = s.spawn(opts).await.unwrap_or_else(|e| {
        panic!(
            "spawn the escape stage: {}",
            subrun_tests::target::chain(&e)
        )
    });
    (s, rt)
}

/// Tries to connect to `port` on the host's loopback until `stop`; counts successes.
fn connector(
    port: u16,
    stop: Arc<AtomicBool>,
    hits: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        while !stop.load(Ordering::Acquire) {
            if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(50)).is_ok() {
                hits.fetch_add(1, Ordering::AcqRel);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

/// Removes every entry of the workspace (symlinks are removed, never followed).
pub(crate) fn clear_workspace(ws: &Path) {
    for e in std::fs::read_dir(ws).into_iter().flatten().flatten() {
        let p = e.path();
        if p.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            let _ = std::fs::remove_dir_all(&p);
        } else {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// The guest's own view: `DONE` on its last step means the operation succeeded.
fn guest_view(stdout: &str) -> (bool, String) {
    let last = stdout.lines().last().unwrap_or_default();
    (last.contains(": DONE"), last.to_string())
}

/// Runs one guest attempt on `rt` and judges it on the host.
pub(crate) async fn run_attempt(
    t: &'static Target,
    st: &Stage,
    s: &Session,
    rt: &Arc<dyn SubmissionRuntime>,
    a: &Attempt,
) -> Finding {
    let not_applicable =
        |why: &str| Finding::new(a.group, a.name, Verdict::NotApplicable, why, a.local);
    if let (Kind::Local, LocalExpect::Skip(why)) = (t.kind, a.local) {
        return not_applicable(why);
    }
    if a.needs_gateway && !st.has_gateway {
        return not_applicable("the host has no docker bridge address");
    }
    let ws = s.workspace().path().to_path_buf();
    let command = match &a.cmd {
        Cmd::Fixture(args) => {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            t.cmd(Fixture::EscapeAttempt, &args)
        }
        Cmd::Raw(c) => c.clone(),
    };
    let before = st.host_state(&ws);
    let _ = st.network_hits();
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let conn = a
        .serve_port
        .map(|p| connector(p, stop.clone(), served.clone()));
    let r = rt
        .execute(ExecRequest::new(command.clone()).timeout(Duration::from_secs(20)))
        .await;
    stop.store(true, Ordering::Release);
    if let Some(c) = conn {
        let _ = c.join();
    }
    let r = match r {
        Ok(r) => r,
        // The runtime refused to run it at all (e.g. a command word it cannot resolve).
        Err(e) => {
            return Finding::new(
                a.group,
                a.name,
                Verdict::Blocked,
                format!("refused: {}", subrun_tests::target::chain(&e)),
                a.local,
            );
        }
    };
    let stdout = r.stdout_text();
    let output = format!("{stdout}{}", r.stderr_text());
    let mut evidence: Vec<String> = st
        .leaks_in(&output)
        .into_iter()
        .map(|l| format!("{l} in the output"))
        .collect();
    evidence.extend(st.workspace_leaks(&ws));
    evidence.extend(state_diff(&before, &st.host_state(&ws)));
    evidence.extend(st.network_hits());
    if served.load(Ordering::Acquire) > 0 {
        evidence.push("the host connected to a port the guest listened on".into());
    }
    let (mut done, last) = guest_view(&stdout);
    match a.judge {
        Judge::Host => {}
        Judge::DoneIsEscape if done => evidence.push(format!("{} ({last})", a.done_means)),
        Judge::ExitZeroIsEscape if done && last.contains("exit Some(0)") => {
            evidence.push(format!("{} ({last})", a.done_means));
        }
        // The program ran but the operation itself was refused.
        Judge::ExitZeroIsEscape => done = false,
        Judge::DoneIsEscape => {}
    }
    let shown = if last.is_empty() {
        format!("{:?}: {}", r.outcome, r.stderr_text().trim())
    } else {
        last
    };
    let finding = if !evidence.is_empty() {
        Finding::new(
            a.group,
            a.name,
            Verdict::Escaped,
            evidence.join("; "),
            a.local,
        )
    } else if done {
        Finding::new(a.group, a.name, Verdict::Contained, shown, a.local)
    } else {
        Finding::new(a.group, a.name, Verdict::Blocked, shown, a.local)
    };
    if finding.verdict == Verdict::Escaped {
        st.populate();
    }
    st.clear_beside(&ws);
    clear_workspace(&ws);
    finding
}

/// Runs every guest attempt and every crafted input on `t`.
pub(crate) async fn run_all(t: &'static Target) -> Vec<Finding> {
    let st = Stage::new();
    let (s, rt) = spawn_stage(t, &st).await;
    let attempts = crate::escape_attempts::all(t, &st, s.workspace().path());
    let mut findings = Vec::new();
    for a in &attempts {
        findings.push(run_attempt(t, &st, &s, &rt, a).await);
    }
    s.close().await.expect("close the escape stage");
    findings.extend(crate::escape_crafted::all(t, &st).await);
    findings
}

/// Counts per verdict: (attempts, escaped, contained, blocked, n/a).
pub(crate) fn counts(findings: &[Finding]) -> (usize, usize, usize, usize, usize) {
    let n = |v: Verdict| findings.iter().filter(|f| f.verdict == v).count();
    (
        findings.len() - n(Verdict::NotApplicable),
        n(Verdict::Escaped),
        n(Verdict::Contained),
        n(Verdict::Blocked),
        n(Verdict::NotApplicable),
    )
}

/// The findings as a markdown table.
pub(crate) fn findings_table(kind: Kind, findings: &[Finding]) -> String {
    let rows: Vec<Vec<String>> = findings
        .iter()
        .map(|f| {
            let expected = match (kind, f.local) {
                (Kind::Local, LocalExpect::Escapes) => "escapes (not isolated)",
                (Kind::Local, LocalExpect::Holds) => "holds",
                (Kind::Local, LocalExpect::Skip(_)) => "not attempted",
                (Kind::Local, LocalExpect::Depends(_)) => "not isolated; the host decides",
                (Kind::Wasi | Kind::Docker, _) => "holds",
            };
            let mut evidence = f.evidence.clone();
            if evidence.len() > 160 {
                let mut cut = 160;
                while !evidence.is_char_boundary(cut) {
                    cut -= 1;
                }
                evidence.truncate(cut);
                evidence.push('…');
            }
            vec![
                f.group.to_string(),
                f.name.clone(),
                f.verdict.label().to_string(),
                expected.to_string(),
                evidence,
            ]
        })
        .collect();
    table::render(
        &["group", "attempt", "verdict", "expected", "evidence"],
        &rows,
    )
}

/// The findings that differ from what the runtime promises, one line each.
pub(crate) fn unexpected(kind: Kind, findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| !f.as_expected(kind))
        .map(|f| {
            format!(
                "{} / {}: {} ({})",
                f.group,
                f.name,
                f.verdict.label(),
                f.evidence
            )
        })
        .collect()
}
