//! Crafted inputs of the escape suite: snapshot archives whose members escape, input files
//! whose names escape, and symlinks a guest plants in the workspace for host code to follow
//! (input files written through them, file reads, snapshots, diffs, closing the session, the
//! docker runtime handing the workspace to `docker.user`), plus initial directories and
//! agent-mode asset copies that contain links leading outside. All of it is the engine's
//! host-side code, so it must hold on every runtime, `local` included.

use std::collections::BTreeMap;
use std::path::Path;

use subrun::snapshot::Snapshot;
use subrun::workspace::Workspace;
use subrun::{
    EnvironmentSpec, ExecRequest, InputFile, Mode, Registry, Session, SessionBuilder, SpawnOptions,
};
use subrun_tests::fixtures::{self, Fixture};
use subrun_tests::{Kind, Target};

use crate::escape::{Finding, LocalExpect, Stage, Verdict, clear_workspace};
use crate::tar::{Member, archive};

const GROUP_ARCHIVES: &str = "snapshot archives";
const GROUP_INPUTS: &str = "input files";
const GROUP_HOST: &str = "host reads of a planted workspace";

fn finding(
    group: &'static str,
    name: impl Into<String>,
    verdict: Verdict,
    evidence: impl Into<String>,
) -> Finding {
    Finding::new(group, name, verdict, evidence, LocalExpect::Holds)
}

/// `Escaped` when there is evidence, else `ok` with `detail`.
fn judged(
    group: &'static str,
    name: impl Into<String>,
    evidence: &[String],
    ok: Verdict,
    detail: String,
) -> Finding {
    if evidence.is_empty() {
        finding(group, name, ok, detail)
    } else {
        finding(group, name, Verdict::Escaped, evidence.join("; "))
    }
}

/// Symlinks under `root` whose target leads outside `root` (absolute, or climbing above it).
fn outside_links(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            let Ok(m) = p.symlink_metadata() else {
                continue;
            };
            if m.is_dir() {
                stack.push(p);
            } else if m.is_symlink() {
                let target = std::fs::read_link(&p).unwrap_or_default();
                let rel_depth = p
                    .strip_prefix(root)
                    .map_or(0, |r| r.components().count() - 1);
                let mut depth = rel_depth as i64;
                let mut leaves = target.is_absolute();
                for c in target.components() {
                    match c {
                        std::path::Component::ParentDir => depth -= 1,
                        std::path::Component::Normal(_) => depth += 1,
                        _ => {}
                    }
                    if depth < 0 {
                        leaves = true;
                    }
                }
                if leaves {
                    found.push(format!(
                        "a symlink leading outside was materialized: {} -> {}",
                        p.strip_prefix(root).unwrap_or(&p).display(),
                        target.display()
                    ));
                }
            }
        }
    }
    found
}

fn registry_of(s: &Session) -> Registry {
    let mut reg = Registry::new();
    reg.register(s.factory().clone()).expect("register");
    reg
}

fn builder(t: &Target, reg: &Registry, spec: EnvironmentSpec) -> SessionBuilder {
    let dir = if t.kind == Kind::Wasi {
        fixtures::WASM_DIR
    } else {
        fixtures::NATIVE_DIR
    };
    Session::builder(reg, spec).asset("fixtures", dir)
}

/// Whether docker can be asked to hand the workspace to another user (needs root).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

/// Every crafted-input attempt on `t`.
pub(crate) async fn all(t: &'static Target, st: &Stage) -> Vec<Finding> {
    let mut out = archives(st);
    let probe = t.session_with("", |b| b).await;
    let reg = registry_of(&probe);
    probe.close().await.expect("close");
    out.extend(planted(t, st, &reg).await);
    out.extend(imported(t, st, &reg).await);
    out
}

/// Archives whose members escape, read and (if accepted) restored into a fresh workspace.
fn archives(st: &Stage) -> Vec<Finding> {
    let n = &st.nonce;
    let outside = st.outside_str();
    let secret = st.secret_str();
    let beside = format!("../escape-{n}.txt");
    let abs = format!("{outside}/abs-{n}.txt");
    let dotted = format!("a/../../escape-{n}.txt");
    let dot_first = format!("./../escape-{n}.txt");
    let dir = format!("../escape-{n}-dir/");
    let link = format!("link-{n}");
    let through = format!("link-{n}/through-{n}.txt");
    let up_through = format!("up/escape-{n}.txt");
    let long = format!("../escape-{n}-long.txt");
    let pax = format!("../escape-{n}-pax.txt");
    let data: &[u8] = b"restored by a crafted archive\n";
    let cases: Vec<(String, Vec<Member<'_>>)> = vec![
        (
            "a member named ../x".into(),
            vec![Member::File(&beside, data)],
        ),
        (
            "a member with an absolute name".into(),
            vec![Member::File(&abs, data)],
        ),
        (
            "a member named a/../../x".into(),
            vec![Member::File(&dotted, data)],
        ),
        (
            "a member named ./../x".into(),
            vec![Member::File(&dot_first, data)],
        ),
        (
            "a directory member named ../d/".into(),
            vec![Member::Dir(&dir)],
        ),
        (
            "an absolute symlink to the outside dir, then a file through it".into(),
            vec![
                Member::Symlink(&link, &outside),
                Member::File(&through, data),
            ],
        ),
        (
            "a symlink to .., then a file through it".into(),
            vec![Member::Symlink("up", ".."), Member::File(&up_through, data)],
        ),
        (
            "an absolute symlink member".into(),
            vec![Member::Symlink("evil", "/etc/passwd")],
        ),
        (
            "a symlink member climbing out".into(),
            vec![Member::Symlink("evil", "../../../../../etc/passwd")],
        ),
        (
            "a hard link member to the secret's absolute path".into(),
            vec![Member::HardLink("hl", &secret)],
        ),
        (
            "a hard link member climbing out".into(),
            vec![Member::HardLink("hl", "../../../../../etc/passwd")],
        ),
        (
            "a GNU long name ../x".into(),
            vec![Member::GnuLongName(&long, data)],
        ),
        ("a PAX path ../x".into(), vec![Member::PaxPath(&pax, data)]),
    ];
    let mut out = Vec::new();
    for (name, members) in cases {
        let bytes = archive(&members);
        let ws = Workspace::create_temp().expect("a scratch workspace");
        let before = st.host_state(ws.path());
        let finding = match Snapshot::from_archive_bytes(bytes) {
            Err(e) => finding(
                GROUP_ARCHIVES,
                name,
                Verdict::Blocked,
                format!("refused: {e}"),
            ),
            Ok(snap) => {
                let restored = snap.restore_into(&ws);
                let mut evidence = crate::escape::state_diff(&before, &st.host_state(ws.path()));
                evidence.extend(st.workspace_leaks(ws.path()));
                evidence.extend(outside_links(ws.path()));
                let detail = match restored {
                    Ok(()) => "accepted and restored inside".to_string(),
                    Err(e) => format!("read, but the restore refused: {e}"),
                };
                judged(GROUP_ARCHIVES, name, &evidence, Verdict::Contained, detail)
            }
        };
        if finding.verdict == Verdict::Escaped {
            st.populate();
        }
        st.clear_beside(ws.path());
        out.push(finding);
    }
    out
}

/// A guest plants symlinks that lead outside; then the host writes input files through them,
/// reads files, snapshots, diffs and closes the session.
async fn planted(t: &'static Target, st: &Stage, reg: &Registry) -> Vec<Finding> {
    let n = &st.nonce;
    let handover = t.kind == Kind::Docker && is_root();
    let spec = if handover {
        EnvironmentSpec::from_yaml_str(
            &format!(
                "type: docker\ndocker: {{ image: \"{}\", user: \"4242:4242\" }}\nsnapshot: {{ compression: none }}\n",
                subrun_docker::TEST_IMAGE
            ),
            "escape.yaml",
            std::env::temp_dir(),
        )
        .expect("docker spec")
    } else {
        t.spec("snapshot: { compression: none }\n")
    };
    let s = builder(t, reg, spec)
        .prepare()
        .await
        .expect("prepare the planted session");
    let rt = s
        .spawn(SpawnOptions::new())
        .await
        .expect("spawn the planted session");
    let ws = s.workspace().path().to_path_buf();
    let outside = st.outside_str();
    let secret = st.secret_str();
    let links = [
        ("evil-dir", outside.clone()),
        ("evil-rel", Stage::climb(&ws, &outside)),
        ("evil-file", secret.clone()),
        ("evil-file-rel", Stage::climb(&ws, &secret)),
    ];
    let mut planted_by = Vec::new();
    for (link, target) in &links {
        let r = rt
            .execute(ExecRequest::new(
                t.cmd(Fixture::EscapeAttempt, &["symlink", target, link]),
            ))
            .await
            .expect("plant a symlink");
        if ws
            .join(link)
            .symlink_metadata()
            .is_ok_and(|m| m.is_symlink())
        {
            planted_by.push(format!("{link}: by the guest"));
        } else {
            std::os::unix::fs::symlink(target, ws.join(link)).expect("plant from the host");
            planted_by.push(format!(
                "{link}: by the test (the guest could not: {})",
                r.stdout_text().trim()
            ));
        }
    }
    let planted_note = planted_by.join(", ");
    let baseline = st.host_state(&ws);
    let mut out = Vec::new();

    // Reads.
    for glob in [
        "evil-file",
        "evil-file-rel",
        "evil-dir/*",
        "evil-rel/*",
        "**",
    ] {
        let name = format!("get_file_contents({glob:?})");
        let f = match s.get_file_contents(&[glob]) {
            Err(e) => finding(GROUP_HOST, name, Verdict::Blocked, format!("refused: {e}")),
            Ok(files) => {
                let text = format!("{files:?}");
                let evidence: Vec<String> = st
                    .leaks_in(&text)
                    .into_iter()
                    .map(|l| format!("{l} was read back"))
                    .collect();
                let keys: Vec<&String> = files.keys().collect();
                judged(
                    GROUP_HOST,
                    name,
                    &evidence,
                    Verdict::Blocked,
                    format!("read only {keys:?}"),
                )
            }
        };
        out.push(f);
    }
    let f = match s.update_snapshot() {
        Err(e) => finding(
            GROUP_HOST,
            "snapshot of the workspace",
            Verdict::Blocked,
            format!("refused: {e}"),
        ),
        Ok(snap) => {
            let text = String::from_utf8_lossy(snap.archive()).into_owned();
            let mut evidence: Vec<String> = st
                .leaks_in(&text)
                .into_iter()
                .map(|l| format!("{l} in the archive"))
                .collect();
            for e in snap.entries() {
                if e.path.starts_with("evil") {
                    evidence.push(format!("archived the planted link {}", e.path));
                }
            }
            judged(
                GROUP_HOST,
                "snapshot of the workspace",
                &evidence,
                Verdict::Blocked,
                format!("{} planted links left out", snap.skipped().len()),
            )
        }
    };
    out.push(f);
    let f = match s.diff_since_baseline() {
        Err(e) => finding(
            GROUP_HOST,
            "diff of the workspace",
            Verdict::Blocked,
            format!("refused: {e}"),
        ),
        Ok(d) => {
            let text = format!("{d:?}");
            let evidence: Vec<String> = st
                .leaks_in(&text)
                .into_iter()
                .map(|l| format!("{l} in the diff"))
                .collect();
            judged(
                GROUP_HOST,
                "diff of the workspace",
                &evidence,
                Verdict::Blocked,
                "no secret in the diff".into(),
            )
        }
    };
    out.push(f);
    if handover {
        // Hand the workspace back to root, so the next spawn hands it to docker.user again,
        // walking the planted links.
        std::os::unix::fs::lchown(&ws, Some(0), Some(0)).expect("give the workspace back to root");
        let before = st.host_state(&ws);
        let r = s.spawn(SpawnOptions::new()).await;
        let evidence = crate::escape::state_diff(&before, &st.host_state(&ws));
        let detail = match r {
            Ok(_) => {
                "the workspace was handed over; the links' targets kept their owner".to_string()
            }
            Err(e) => format!("refused: {e}"),
        };
        out.push(judged(
            GROUP_HOST,
            "docker.user hand-over (chown -R) of a planted workspace",
            &evidence,
            Verdict::Blocked,
            detail,
        ));
    } else {
        let why = match t.kind {
            Kind::Docker => "needs root: the workspace is handed to docker.user only then",
            Kind::Wasi | Kind::Local => "docker only (the workspace is handed to docker.user)",
        };
        out.push(Finding::new(
            GROUP_HOST,
            "docker.user hand-over (chown -R) of a planted workspace",
            Verdict::NotApplicable,
            why,
            LocalExpect::Skip(why),
        ));
    }

    // Input files.
    let inputs = [
        ("an input file named ../x", format!("../escape-{n}.txt")),
        (
            "an input file with an absolute name",
            format!("{outside}/abs-{n}.txt"),
        ),
        (
            "an input file named a/../../x",
            format!("a/../../escape-{n}.txt"),
        ),
        (
            "an input file through a planted absolute dir symlink",
            format!("evil-dir/pwned-{n}.txt"),
        ),
        (
            "an input file through a planted relative dir symlink",
            format!("evil-rel/pwned-{n}.txt"),
        ),
        (
            "an input file over a planted symlink to the secret",
            "evil-file".to_string(),
        ),
        (
            "an input file over a planted relative symlink to the secret",
            "evil-file-rel".to_string(),
        ),
    ];
    for (name, path) in inputs {
        let before = st.host_state(&ws);
        let r =
            s.materialize_input_files(&[InputFile::text(path.clone(), "written by the host\n")]);
        let evidence = crate::escape::state_diff(&before, &st.host_state(&ws));
        let f = match r {
            Err(e) => judged(
                GROUP_INPUTS,
                name,
                &evidence,
                Verdict::Blocked,
                format!("refused: {e}"),
            ),
            Ok(p) => judged(
                GROUP_INPUTS,
                name,
                &evidence,
                Verdict::Contained,
                format!("written inside as {p:?}"),
            ),
        };
        if f.verdict == Verdict::Escaped {
            st.populate();
        }
        st.clear_beside(&ws);
        out.push(f);
    }

    // Closing removes the workspace without following the links.
    clear_workspace_but_links(&ws);
    let before = baseline;
    let ws_path = ws.clone();
    s.close().await.expect("close the planted session");
    let mut evidence = crate::escape::state_diff(&before, &st.host_state(&ws_path));
    if ws_path.exists() {
        evidence.push("the workspace was left behind".into());
    }
    out.push(judged(
        GROUP_HOST,
        "close a session whose workspace holds planted links",
        &evidence,
        Verdict::Blocked,
        format!("removed; nothing outside touched ({planted_note})"),
    ));
    out
}

/// Keeps only the planted links (an input may have replaced one with a file: put it back).
fn clear_workspace_but_links(ws: &Path) {
    let keep: BTreeMap<String, std::path::PathBuf> = std::fs::read_dir(ws)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let target = std::fs::read_link(e.path()).ok()?;
            Some((name, target))
        })
        .collect();
    clear_workspace(ws);
    for (name, target) in keep {
        let _ = std::os::unix::fs::symlink(target, ws.join(name));
    }
}

/// An initial directory and an agent-mode directory asset that contain links leading outside.
async fn imported(t: &'static Target, st: &Stage, reg: &Registry) -> Vec<Finding> {
    let dir = tempfile::tempdir().expect("initial dir");
    std::fs::write(dir.path().join("ok.txt"), "fine\n").expect("ok.txt");
    std::os::unix::fs::symlink(st.secret(), dir.path().join("link")).expect("link");
    std::os::unix::fs::symlink(st.outside.path(), dir.path().join("dirlink")).expect("dirlink");
    std::os::unix::fs::symlink("../../../../../../../etc/passwd", dir.path().join("climb"))
        .expect("climb");
    let mut out = Vec::new();
    for (name, agent) in [
        ("an initial directory with links leading outside", false),
        (
            "an agent-mode directory asset with links leading outside",
            true,
        ),
    ] {
        let b = builder(t, reg, t.spec(""));
        let b = if agent {
            b.mode(Mode::Agent).asset("linked", dir.path())
        } else {
            b.initial_dir(dir.path())
        };
        let f = match b.prepare().await {
            Err(e) => finding(
                GROUP_INPUTS,
                name,
                Verdict::Blocked,
                format!("refused: {e}"),
            ),
            Ok(s) => {
                let ws = s.workspace().path().to_path_buf();
                let mut evidence = st.workspace_leaks(&ws);
                evidence.extend(outside_links(&ws));
                let f = judged(
                    GROUP_INPUTS,
                    name,
                    &evidence,
                    Verdict::Contained,
                    "copied; the links leading outside were left out".into(),
                );
                s.close().await.expect("close");
                f
            }
        };
        out.push(f);
    }
    out
}
