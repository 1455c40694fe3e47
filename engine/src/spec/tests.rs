use super::*;

const BENCHMARK_DOCKER: &str = r#"
type: docker
name: python3.12
docker: { image: ghcr.io/astral-sh/uv:python3.12-trixie-slim, workdir: /workspace, mount_workspace: true }
environment: { env: { UV_CACHE_DIR: /tmp/uv-cache } }
setup:
  eval_commands: [uv init, uv add -r requirements.txt]
  resume_commands: [python -m venv .venv || true]
commands: { entry_file: "{entry_file}.py", command: uv run, agent_command: python }
"#;

const BENCHMARK_LOCAL: &str = r#"
type: local
name: python3.12
environment: { include_os_env: true }
commands: { entry_file: "{entry_file}.py", command: python3, agent_command: python3 }
"#;

fn parse(text: &str) -> Result<EnvironmentSpec, SpecError> {
    EnvironmentSpec::from_yaml_str(text, "env.yaml", ".")
}

fn one_issue(text: &str) -> (String, String) {
    let e = parse(text).unwrap_err();
    assert_eq!(e.issues.len(), 1, "{e}");
    (e.issues[0].key.clone(), e.issues[0].message.clone())
}

#[test]
fn benchmark_files_load_unchanged() {
    let d = parse(BENCHMARK_DOCKER).unwrap();
    assert_eq!(d.kind.as_str(), "docker");
    assert_eq!(
        d.setup.eval_commands,
        ["uv init", "uv add -r requirements.txt"]
    );
    assert_eq!(
        d.backend["image"],
        "ghcr.io/astral-sh/uv:python3.12-trixie-slim"
    );
    assert_eq!(d.environment.env["UV_CACHE_DIR"], "/tmp/uv-cache");
    assert_eq!(d.limits, Limits::default());
    let l = parse(BENCHMARK_LOCAL).unwrap();
    assert!(l.environment.include_os_env);
    assert!(l.backend.is_null());
    assert_eq!(
        l.commands
            .entry_command(crate::Mode::Evaluation, "main")
            .as_deref(),
        Some("python3 main.py")
    );
}

#[test]
fn unknown_key_names_the_path() {
    let (key, msg) = one_issue("type: local\nlimits: { timeout: 1s, tiemout: 2s }\n");
    assert_eq!(key, "limits.tiemout");
    assert!(msg.contains("unknown field `tiemout`"), "{msg}");
}

#[test]
fn missing_and_bad_type() {
    let (key, msg) = one_issue("name: x\n");
    assert_eq!(key, "type");
    assert!(msg.starts_with("missing"), "{msg}");
    let (key, _) = one_issue("type: 3\n");
    assert_eq!(key, "type");
}

#[test]
fn backend_section_must_match_type() {
    let (key, msg) = one_issue("type: local\ndocker: { image: x }\n");
    assert_eq!(key, "docker");
    assert!(msg.contains("named after the runtime"), "{msg}");
}

#[test]
fn malformed_durations_and_zero_timeout() {
    let (key, msg) = one_issue("type: local\nlimits: { timeout: 10x }\n");
    assert_eq!(key, "limits.timeout");
    assert!(msg.contains("invalid duration `10x`"), "{msg}");
    let (key, msg) = one_issue("type: local\nlimits: { timeout: 10 }\n");
    assert_eq!(key, "limits.timeout");
    assert!(msg.contains("no unit"), "{msg}");
    let (key, msg) = one_issue("type: local\nlimits: { timeout: 0s }\n");
    assert_eq!(key, "limits.timeout");
    assert!(msg.contains("must be positive"), "{msg}");
}

#[test]
fn asset_save_paths_may_not_escape() {
    let (key, msg) =
        one_issue("type: local\nstatic_assets: { data: { path: d, save_path: ../x } }\n");
    assert_eq!(key, "static_assets.data.save_path");
    assert!(msg.contains("`..`"), "{msg}");
    let (key, msg) =
        one_issue("type: local\nstatic_assets: { data: { path: d, save_path: /abs } }\n");
    assert_eq!(key, "static_assets.data.save_path");
    assert!(msg.contains("absolute"), "{msg}");
}

#[test]
fn unknown_placeholders_name_their_key() {
    let s = parse("type: local\nsetup: { commands: ['cat {{static:nope}}'] }\n").unwrap();
    let issues = s.placeholder_issues(&[]);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].key, "setup.commands[0]");
    assert!(issues[0].message.contains("unknown static asset `nope`"));
}

#[test]
fn normalized_spec_round_trips() {
    let d = parse(BENCHMARK_DOCKER).unwrap();
    let again = parse(&d.to_yaml()).unwrap();
    assert_eq!(d, again);
}

#[test]
fn env_scalars_become_strings() {
    let s = parse("type: local\nenvironment: { env: { N: 3, B: true } }\n").unwrap();
    assert_eq!(s.environment.env["N"], "3");
    assert_eq!(s.environment.env["B"], "true");
}

#[test]
fn json_specs_load() {
    let s = EnvironmentSpec::from_json_str(
        r#"{"type":"local","limits":{"timeout":"2s"}}"#,
        "env.json",
        ".",
    )
    .unwrap();
    assert_eq!(s.limits.timeout, std::time::Duration::from_secs(2));
}
