//! End-to-end tests of the `subrun` binary: what a user types, what they see, what is left
//! behind.

#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{TEST_IMAGE, code, docker, require_test_image, subrun, text};

/// The directory holding the spec files of these tests.
fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// A hello-world WASI command that exits with 3.
const HELLO_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from wasm\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.const 3))))
"#;

/// A WASI command that prints each of its arguments (argv[0] included) on its own line; it
/// stands in for an interpreter guest.
const ECHO_ARGS_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $i i32) (local $argc i32) (local $p i32) (local $len i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (local.set $argc (i32.load (i32.const 0)))
    (drop (call $args_get (i32.const 1024) (i32.const 4096)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $argc)))
        (local.set $p (i32.load (i32.add (i32.const 1024) (i32.mul (local.get $i) (i32.const 4)))))
        (local.set $len (i32.const 0))
        (block $end
          (loop $scan
            (br_if $end (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $len)))))
            (local.set $len (i32.add (local.get $len) (i32.const 1)))
            (br $scan)))
        (i32.store8 (i32.add (local.get $p) (local.get $len)) (i32.const 10))
        (i32.store (i32.const 16) (local.get $p))
        (i32.store (i32.const 20) (i32.add (local.get $len) (i32.const 1)))
        (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
"#;

/// Pids of live processes whose environment holds `marker` (`KEY=value`).
fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ.split(|b| *b == 0).any(|v| v == marker.as_bytes()) {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push(format!("{name} {}", text(&cmdline).replace('\0', " ")));
        }
    }
    found
}

// ---------------------------------------------------------------- spec check

/// `spec check` run in the data directory, so messages name files as typed.
fn spec_check(args: &[&str]) -> Output {
    let cache = tempfile::tempdir().unwrap();
    subrun(cache.path())
        .current_dir(data())
        .args(["spec", "check"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn spec_check_accepts_both_benchmark_files_unchanged() {
    let out = spec_check(&["docker-python.yaml", "local.yaml"]);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    insta::assert_snapshot!("normalized_benchmark_specs", text(&out.stdout));
}

#[test]
fn spec_check_does_not_need_a_docker_engine() {
    let cache = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .current_dir(data())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["spec", "check", "docker-python.yaml"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
}

/// Checks one invalid file: exit 1, nothing on stdout, and the message on stderr.
fn rejected(file: &str) -> String {
    let out = spec_check(&[file]);
    assert_eq!(code(&out), 1, "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    text(&out.stderr)
}

#[test]
fn spec_check_rejects_an_unknown_key() {
    insta::assert_snapshot!(rejected("invalid/unknown-key.yaml"), @r"
    invalid/unknown-key.yaml: environment.inherit: unknown field `inherit`, expected `env` or `include_os_env`
    subrun: 1 of 1 spec file invalid
    ");
}

#[test]
fn spec_check_rejects_a_missing_type() {
    insta::assert_snapshot!(rejected("invalid/missing-type.yaml"), @r"
    invalid/missing-type.yaml: type: missing: every spec names its runtime, e.g. `type: wasi` (or docker, local)
    subrun: 1 of 1 spec file invalid
    ");
}

#[test]
fn spec_check_rejects_an_unknown_type_listing_the_registered_runtimes() {
    insta::assert_snapshot!(rejected("invalid/unknown-type.yaml"), @r"
    invalid/unknown-type.yaml: type: unknown runtime type `firecracker`: registered runtimes are `docker`, `local`, `wasi`
    subrun: 1 of 1 spec file invalid
    ");
}

#[test]
fn spec_check_rejects_an_asset_save_path_with_dotdot() {
    insta::assert_snapshot!(rejected("invalid/save-path-dotdot.yaml"), @r"
    invalid/save-path-dotdot.yaml: static_assets.data.save_path: `../outside` contains `..`: paths may not leave their root
    subrun: 1 of 1 spec file invalid
    ");
}

#[test]
fn spec_check_rejects_an_absolute_asset_save_path() {
    insta::assert_snapshot!(rejected("invalid/save-path-absolute.yaml"), @r"
    invalid/save-path-absolute.yaml: static_assets.data.save_path: `/etc/data` is absolute: expected a relative path
    subrun: 1 of 1 spec file invalid
    ");
}

#[test]
fn spec_check_rejects_an_unknown_static_placeholder() {
    insta::assert_snapshot!(rejected("invalid/unknown-placeholder.yaml"), @r"
    invalid/unknown-placeholder.yaml: commands.command: unknown static asset `dataset` in `{{static:dataset}}` (known: data)
    subrun: 1 of 1 spec file invalid
    ");
}

#[test]
fn spec_check_knows_assets_passed_with_asset() {
    let out = spec_check(&[
        "--asset",
        "dataset=anywhere",
        "invalid/unknown-placeholder.yaml",
    ]);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("python {{static:dataset}}/main.py"));
}

#[test]
fn spec_check_rejects_a_malformed_duration() {
    insta::assert_snapshot!(rejected("invalid/bad-duration.yaml"), @r#"
    invalid/bad-duration.yaml: limits.timeout: invalid duration `10 parsecs` (unknown time unit "parsecs", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations)): expected a duration like `10s`, `500ms` or `2m`
    subrun: 1 of 1 spec file invalid
    "#);
}

#[test]
fn spec_check_reports_every_invalid_file_and_prints_the_valid_ones() {
    let out = spec_check(&[
        "invalid/missing-type.yaml",
        "local.yaml",
        "invalid/bad-duration.yaml",
        "no-such-file.yaml",
    ]);
    assert_eq!(code(&out), 1);
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("# local.yaml\n"), "{stdout}");
    assert!(stdout.contains("include_os_env: true"), "{stdout}");
    let stderr = text(&out.stderr);
    for expected in [
        "invalid/missing-type.yaml: type: ",
        "invalid/bad-duration.yaml: limits.timeout: ",
        "no-such-file.yaml: cannot read the file: ",
        "subrun: 3 of 4 spec files invalid",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
}

#[test]
fn spec_default_describes_the_bare_wasi_spec() {
    let cache = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .args(["spec", "default"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    let yaml = text(&out.stdout);
    assert!(yaml.contains("type: wasi"), "{yaml}");
    assert!(yaml.contains("programs: {}"), "{yaml}");
    assert!(yaml.contains("include_os_env: false"), "{yaml}");
}

// ---------------------------------------------------------------- run: local

#[test]
fn run_timeout_ends_the_whole_command_within_the_deadline() {
    let cache = tempfile::tempdir().unwrap();
    let marker = format!("SUBRUN_CLI_TEST_MARKER=timeout-{}", std::process::id());
    let (key, value) = marker.split_once('=').unwrap();
    let started = Instant::now();
    let out = subrun(cache.path())
        .env(key, value)
        .arg("run")
        .arg("--spec")
        .arg(data().join("local.yaml"))
        .args(["--timeout", "1s", "--", "sleep 30 & sleep 30; echo never"])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(code(&out), 124, "stderr: {}", text(&out.stderr));
    assert!(
        elapsed < Duration::from_millis(2500),
        "a 1 s deadline took {elapsed:?}"
    );
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("trusted code only"), "{stderr}");
    assert!(
        stderr.contains("timed out after 1s (exit code 124)"),
        "{stderr}"
    );
    // `include_os_env: true` passed the marker to both sleeps: none may be left.
    assert_eq!(processes_with(&marker), Vec::<String>::new());
}

#[test]
fn run_json_reports_the_timeout_and_the_output_so_far() {
    let cache = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .arg("run")
        .arg("--spec")
        .arg(data().join("local.yaml"))
        .args(["--quiet", "--json", "--timeout", "1s", "--"])
        .arg("echo partial; sleep 30 & sleep 30; echo never")
        .output()
        .unwrap();
    assert_eq!(code(&out), 124, "stderr: {}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["outcome"]["kind"], "timed_out");
    assert_eq!(result["timed_out"], true);
    assert_eq!(result["exit_code"], 124);
    assert_eq!(result["stdout"], "partial\n");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn run_json_has_outcome_exit_code_and_exact_output() {
    let cache = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .arg("run")
        .arg("--spec")
        .arg(data().join("local.yaml"))
        .args([
            "--quiet",
            "--json",
            "--",
            "printf hello; echo err >&2; exit 3",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 3, "stderr: {}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        result["outcome"],
        serde_json::json!({"kind": "exited", "code": 3})
    );
    assert_eq!(result["exit_code"], 3);
    assert_eq!(result["stdout"], "hello");
    assert_eq!(result["stderr"], "err\n");
    assert_eq!(result["timed_out"], false);
}

#[test]
fn run_plain_streams_both_streams_and_exits_with_the_commands_code() {
    let cache = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .arg("run")
        .arg("--spec")
        .arg(data().join("local.yaml"))
        .args(["--quiet", "--", "printf out; printf err >&2; exit 7"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 7);
    assert_eq!(text(&out.stdout), "out");
    assert_eq!(text(&out.stderr), "err");
}

#[test]
fn run_plain_delivers_output_before_the_command_ends() {
    let cache = tempfile::tempdir().unwrap();
    let mut child = subrun(cache.path())
        .arg("run")
        .arg("--spec")
        .arg(data().join("local.yaml"))
        .args(["--quiet", "--", "echo first; sleep 5; echo second"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0_u8; 6];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    // `first` arrived while the command still sleeps: it has not exited yet.
    assert_eq!(&first, b"first\n");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the command ended early"
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "second\n");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn run_joins_several_arguments_with_shell_quoting() {
    let cache = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .arg("run")
        .arg("--spec")
        .arg(data().join("local.yaml"))
        .args(["--quiet", "--", "printf", "%s|", "a b", "$HOME", "c"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "a b|$HOME|c|");
}

#[test]
fn run_workspace_is_copied_in_and_the_original_is_never_modified() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input.txt"), "original\n").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/keep.txt"), "keep\n").unwrap();
    let out = subrun(cache.path())
        .arg("run")
        .arg("--spec")
        .arg(data().join("local.yaml"))
        .arg("--workspace")
        .arg(dir.path())
        .args([
            "--quiet",
            "--",
            "cat input.txt sub/keep.txt; echo changed > input.txt; rm sub/keep.txt; touch new.txt; pwd",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("original\nkeep\n"), "{stdout}");
    // The command ran in a copy, elsewhere, and the copy is gone afterwards.
    let workspace = stdout.lines().nth(2).unwrap();
    assert_ne!(Path::new(workspace), dir.path());
    assert!(
        !Path::new(workspace).exists(),
        "{workspace} was left behind"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("input.txt")).unwrap(),
        "original\n"
    );
    assert!(dir.path().join("sub/keep.txt").exists());
    assert!(!dir.path().join("new.txt").exists());
}

#[test]
fn run_stdin_from_a_file() {
    let cache = tempfile::tempdir().unwrap();
    let input = cache.path().join("input.bin");
    std::fs::write(&input, b"line 1\nline 2 \xff\n").unwrap();
    let out = subrun(cache.path())
        .arg("run")
        .arg("--spec")
        .arg(data().join("local.yaml"))
        .arg("--stdin")
        .arg(&input)
        .args(["--quiet", "--", "cat"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(out.stdout, b"line 1\nline 2 \xff\n");
}

#[test]
fn run_stdin_dash_streams_this_process_stdin() {
    let cache = tempfile::tempdir().unwrap();
    let mut child = subrun(cache.path())
        .arg("run")
        .arg("--spec")
        .arg(data().join("local.yaml"))
        .args(["--quiet", "--stdin", "-", "--", "read a; echo got $a; cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    stdin.write_all(b"one\n").unwrap();
    stdin.flush().unwrap();
    // The first line is answered while stdin is still open: it is a live stream.
    let mut answer = [0_u8; 8];
    std::io::Read::read_exact(&mut stdout, &mut answer).unwrap();
    assert_eq!(&answer, b"got one\n");
    stdin.write_all(b"two\n").unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "two\n");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn run_without_stdin_gives_the_command_end_of_file() {
    let cache = tempfile::tempdir().unwrap();
    let mut child = subrun(cache.path())
        .arg("run")
        .arg("--spec")
        .arg(data().join("local.yaml"))
        .args(["--quiet", "--", "cat; echo eof"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // subrun's own stdin stays open (and silent) the whole time: the command must not see it.
    let open_stdin = child.stdin.take().unwrap();
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    drop(open_stdin);
    assert_eq!(stdout, "eof\n");
}

#[test]
fn run_asset_is_rendered_and_copied_in_agent_mode() {
    let cache = tempfile::tempdir().unwrap();
    let asset = cache.path().join("data.csv");
    std::fs::write(&asset, "a,b\n1,2\n").unwrap();
    let mut asset_arg = std::ffi::OsString::from("data=");
    asset_arg.push(&asset);
    let out = subrun(cache.path())
        .arg("run")
        .arg("--spec")
        .arg(data().join("local.yaml"))
        .arg("--asset")
        .arg(&asset_arg)
        .args(["--quiet", "--", "cat {{static:data}}"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "a,b\n1,2\n");
    // In agent mode the asset is also copied into the workspace, at its name.
    let out = subrun(cache.path())
        .arg("run")
        .arg("--spec")
        .arg(data().join("local.yaml"))
        .arg("--asset")
        .arg(&asset_arg)
        .args(["--quiet", "--mode", "agent", "--", "cat data"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "a,b\n1,2\n");
}

#[test]
fn run_interrupted_kills_the_command_and_exits_130() {
    let cache = tempfile::tempdir().unwrap();
    let marker = format!("SUBRUN_CLI_TEST_MARKER=sigint-{}", std::process::id());
    let (key, value) = marker.split_once('=').unwrap();
    let mut child = subrun(cache.path())
        .env(key, value)
        .arg("run")
        .arg("--spec")
        .arg(data().join("local.yaml"))
        .args(["--", "echo started; sleep 30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut started = [0_u8; 8];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut started).unwrap();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 130, "stderr: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("session cleaned up"));
    // Only the subrun process itself carried the marker, and it is gone too.
    assert_eq!(processes_with(&marker), Vec::<String>::new());
}

// ---------------------------------------------------------------- run: failures

#[test]
fn run_with_a_bad_spec_fails_with_125_and_the_error_chain() {
    let cache = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .current_dir(data())
        .args([
            "run",
            "--spec",
            "invalid/unknown-type.yaml",
            "--",
            "echo never",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    assert_eq!(text(&out.stdout), "");
    insta::assert_snapshot!(text(&out.stderr), @r"
    subrun: cannot prepare the session
      caused by: invalid/unknown-type.yaml: type: unknown runtime type `firecracker`: registered runtimes are `docker`, `local`, `wasi`
    ");
}

/// Asserts that an error report prints each cause once: no line twice, and no line that
/// contains the text of a cause printed below it.
fn assert_each_cause_once(stderr: &str) {
    let lines: Vec<&str> = stderr
        .lines()
        .map(|l| {
            l.strip_prefix("subrun: ")
                .or_else(|| l.strip_prefix("  caused by: "))
                .unwrap_or_else(|| panic!("not an error report line: {l:?}"))
        })
        .collect();
    for (i, line) in lines.iter().enumerate() {
        for cause in &lines[i + 1..] {
            assert!(
                !line.contains(cause),
                "{line:?} repeats its cause {cause:?}:\n{stderr}"
            );
        }
    }
}

/// Regression (issue 10): wasi flattened wasmtime's and the OS's errors into its own
/// messages, so the CLI printed an unreadable module's I/O error twice, and a compile or
/// link error inside the line of its parent. Each cause is now its own line, once.
#[test]
fn run_wasi_load_failures_print_each_cause_once() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir(&ws).unwrap();
    std::fs::write(ws.join("text.wasm"), "not a module\n").unwrap();
    std::fs::write(
        ws.join("imports.wat"),
        r#"(module (import "env" "launch_missiles" (func)) (func (export "_start")))"#,
    )
    .unwrap();
    let run = |cwd: &Path, args: &[&str]| {
        let out = subrun(cache.path())
            .current_dir(cwd)
            .arg("run")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(code(&out), 125, "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "");
        let stderr = text(&out.stderr).replace(&dir.path().display().to_string(), "[DIR]");
        assert_each_cause_once(&stderr);
        stderr
    };

    insta::assert_snapshot!(run(dir.path(), &["--workspace", "ws", "--", "text.wasm"]), @r"
    subrun: cannot run `text.wasm`
      caused by: load the module failed
      caused by: cannot compile module `text.wasm`
      caused by: expected `(`\n     --> <anon>:1:1\n      |\n    1 | not a module\n      | ^
    ");
    insta::assert_snapshot!(run(dir.path(), &["--workspace", "ws", "--", "imports.wat"]), @r"
    subrun: cannot run `imports.wat`
      caused by: load the module failed
      caused by: cannot link module `imports.wat`
      caused by: unknown import: `env::launch_missiles` has not been defined
    ");

    // A module the spec names on the host that cannot be read: a symlink loop (which even
    // root cannot read) and a directory.
    std::os::unix::fs::symlink("loop.wasm", dir.path().join("loop.wasm")).unwrap();
    std::fs::create_dir(dir.path().join("dir.wasm")).unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        format!(
            "type: wasi\nwasi: {{ programs: {{ loop: {{ module: \"{0}/loop.wasm\" }}, dir: {{ module: \"{0}/dir.wasm\" }} }} }}\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let spec = spec.to_str().unwrap();
    insta::assert_snapshot!(run(&ws, &["--spec", spec, "--", "loop"]), @r"
    subrun: cannot run `loop`
      caused by: load the module failed
      caused by: cannot read module `[DIR]/loop.wasm`
      caused by: Too many levels of symbolic links (os error 40)
    ");
    insta::assert_snapshot!(run(&ws, &["--spec", spec, "--", "dir"]), @r"
    subrun: cannot run `dir`
      caused by: load the module failed
      caused by: cannot read module `[DIR]/dir.wasm`
      caused by: Is a directory (os error 21)
    ");
}

#[test]
fn run_with_a_missing_spec_file_fails_with_125() {
    let cache = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .args(["run", "--spec", "/nonexistent/spec.yaml", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    assert!(
        text(&out.stderr).starts_with("subrun: /nonexistent/spec.yaml: cannot read the file:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn usage_errors_exit_2() {
    let cache = tempfile::tempdir().unwrap();
    for args in [
        &["run"][..],
        &["run", "--timeout", "5", "--", "true"],
        &["run", "--mode", "grading", "--", "true"],
        &["run", "--asset", "no-equals-sign", "--", "true"],
        &["spec", "check"],
        &["frobnicate"],
    ] {
        let out = subrun(cache.path()).args(args).output().unwrap();
        assert_eq!(code(&out), 2, "{args:?}: {}", text(&out.stderr));
    }
    let out = subrun(cache.path())
        .args(["run", "--timeout", "5", "--", "true"])
        .output()
        .unwrap();
    assert!(text(&out.stderr).contains("`5` has no unit"));
}

#[test]
fn help_documents_the_exit_codes() {
    let cache = tempfile::tempdir().unwrap();
    for args in [&["--help"][..], &["run", "--help"]] {
        let out = subrun(cache.path()).args(args).output().unwrap();
        assert_eq!(code(&out), 0);
        let help = text(&out.stdout);
        for needle in ["124 timed out", "125", "usage error"] {
            assert!(help.contains(needle), "{args:?} help lacks {needle:?}");
        }
    }
}

// ---------------------------------------------------------------- run: wasi (default spec)

#[test]
fn run_wasm_with_workspace_uses_the_default_wasi_spec() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.wat"), HELLO_WAT).unwrap();
    let out = subrun(cache.path())
        .arg("run")
        .arg("--workspace")
        .arg(dir.path())
        .args(["--", "hello.wat"])
        .output()
        .unwrap();
    assert_eq!(text(&out.stderr), "");
    assert_eq!(text(&out.stdout), "hello from wasm\n");
    assert_eq!(code(&out), 3);
}

#[test]
fn run_wasm_from_the_current_directory_without_options() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.wat"), HELLO_WAT).unwrap();
    let out = subrun(cache.path())
        .current_dir(dir.path())
        .args(["run", "--json", "--", "hello.wat"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 3, "stderr: {}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        result["outcome"],
        serde_json::json!({"kind": "exited", "code": 3})
    );
    assert_eq!(result["stdout"], "hello from wasm\n");
    assert_eq!(result["usage"]["deadline"], 10.0);
}

#[test]
fn run_unknown_wasm_command_is_127() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .current_dir(dir.path())
        .args(["run", "--", "gcc", "main.c"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 127);
    assert!(text(&out.stderr).contains("gcc: command not found"));
}

#[test]
fn run_refuses_to_copy_a_huge_current_directory() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for i in 0..20_001 {
        std::fs::File::create(dir.path().join(i.to_string())).unwrap();
    }
    let out = subrun(cache.path())
        .current_dir(dir.path())
        .args(["run", "--", "hello.wat"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("too large"), "{stderr}");
    assert!(stderr.contains("more than 20000 files"), "{stderr}");
    assert!(stderr.contains("--workspace DIR"), "{stderr}");
}

#[test]
fn run_python_without_the_guest_says_how_to_fetch_it() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .current_dir(dir.path())
        .args(["run", "--", "python", "main.py"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("python-3.12.0.wasm, "), "{stderr}");
    assert!(stderr.contains("zoneinfo/UTC"), "{stderr}");
    assert!(stderr.contains("scripts/fetch-guests.sh"), "{stderr}");
}

/// A guest directory whose "interpreters" print their argv.
fn fake_guests(root: &Path) -> PathBuf {
    let guests = root.join("guests");
    std::fs::create_dir(&guests).unwrap();
    // The runtime compiles `.wasm` files written in the text format too.
    std::fs::write(guests.join("python-3.12.0.wasm"), ECHO_ARGS_WAT).unwrap();
    std::fs::write(guests.join("quickjs.wasm"), ECHO_ARGS_WAT).unwrap();
    std::fs::write(guests.join("node-shim.js"), "// shim\n").unwrap();
    // The Python guest's time zone database (only its presence is checked).
    std::fs::create_dir(guests.join("zoneinfo")).unwrap();
    std::fs::write(guests.join("zoneinfo/UTC"), "TZif").unwrap();
    std::fs::write(guests.join("zoneinfo/tzdata.zi"), "# version\n").unwrap();
    guests
}

#[test]
fn run_python_uses_the_installed_guest_with_its_deadline_factor() {
    let cache = tempfile::tempdir().unwrap();
    let guests = fake_guests(cache.path());
    let dir = tempfile::tempdir().unwrap();
    for word in ["python", "python3"] {
        let out = subrun(cache.path())
            .env("SUBRUN_GUEST_DIR", &guests)
            .current_dir(dir.path())
            .args([
                "run",
                "--json",
                "--timeout",
                "1s",
                "--",
                word,
                "main.py",
                "a b",
            ])
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
        let result: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(result["stdout"], format!("{word}\nmain.py\na b\n"));
        assert_eq!(result["usage"]["deadline_factor"], 8.0);
        assert_eq!(result["usage"]["deadline"], 8.0);
    }
}

#[test]
fn run_node_gets_the_shim_from_the_guest_directory() {
    let cache = tempfile::tempdir().unwrap();
    let guests = fake_guests(cache.path());
    let dir = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .env("SUBRUN_GUEST_DIR", &guests)
        .current_dir(dir.path())
        .args(["run", "--", "node", "main.js"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "node\n--std\n-I\n/usr/lib/subrun/guests/node-shim.js\nmain.js\n"
    );
    // Without the shim, node is not offered and the message names the missing file.
    std::fs::remove_file(guests.join("node-shim.js")).unwrap();
    let out = subrun(cache.path())
        .env("SUBRUN_GUEST_DIR", &guests)
        .current_dir(dir.path())
        .args(["run", "--", "node", "main.js"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    assert!(text(&out.stderr).contains("node-shim.js missing"));
}

// ---------------------------------------------------------------- run: the guest's view

/// The probe of the view tests, built from C once per build (`subrun build`, clang with
/// wasi-libc): each argument `env:KEY`, `read:PATH`, `write:PATH`, `argv0` prints one line.
const PROBE_C: &str = r#"#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strncmp(a, "env:", 4)) {
      const char *v = getenv(a + 4);
      printf("%s=%s\n", a + 4, v ? v : "(unset)");
    } else if (!strncmp(a, "read:", 5)) {
      FILE *f = fopen(a + 5, "r");
      char buf[256] = {0};
      if (!f) { printf("read %s: %s\n", a + 5, strerror(errno)); continue; }
      buf[fread(buf, 1, sizeof buf - 1, f)] = 0;
      fclose(f);
      printf("read %s: %s", a + 5, buf);
    } else if (!strncmp(a, "write:", 6)) {
      FILE *f = fopen(a + 6, "w");
      if (!f) { printf("write %s: %s\n", a + 6, strerror(errno)); continue; }
      fputs("written\n", f);
      fclose(f);
      printf("write %s: ok\n", a + 6);
    } else if (!strcmp(a, "argv0")) {
      printf("argv0=%s\n", argv[0]);
    }
  }
  return 0;
}
"#;

/// The probe module's bytes (built once per test build; concurrent tests race harmlessly
/// to the same file, each renaming its own build into place).
fn probe_wasm() -> Vec<u8> {
    let dest = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-view-probe.wasm");
    if let Ok(bytes) = std::fs::read(&dest) {
        return bytes;
    }
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probe.c"), PROBE_C).unwrap();
    let out = subrun_build(cache.path(), dir.path(), &[os("probe.c")]);
    assert_eq!(
        code(&out),
        0,
        "clang with wasi-libc is required (scripts/setup.sh installs it); stderr: {}",
        text(&out.stderr)
    );
    let staged = dest.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::copy(dir.path().join("probe.wasm"), &staged).unwrap();
    std::fs::rename(&staged, &dest).unwrap();
    std::fs::read(&dest).unwrap()
}

/// A WASI command that asks for the preopen at fd 3 and exits with the errno it gets
/// (0 when there is one; 8, EBADF, when the guest has no directory at all).
const PROBE_FD3_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $proc_exit (call $fd_prestat_get (i32.const 3) (i32.const 0)))))
"#;

/// A WASI command that calls `sock_shutdown` (which wasmtime-wasi does not implement, and
/// logs a warning about), then writes `guest-bytes` on stderr.
const SOCK_SHUTDOWN_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "sock_shutdown" (func $sock_shutdown (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "guest-bytes\n")
  (func (export "_start")
    (drop (call $sock_shutdown (i32.const 1) (i32.const 2)))
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 12))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))))
"#;

/// A WASI command that prints each of its environment variables on its own line.
fn echo_env_wat() -> String {
    ECHO_ARGS_WAT
        .replace("args_sizes_get", "environ_sizes_get")
        .replace("args_get", "environ_get")
}

/// `subrun run ARGS...` in `dir` (with a private cache in `cache`) and `env` set.
fn run_in<A: AsRef<std::ffi::OsStr>>(
    cache: &Path,
    dir: &Path,
    env: &[(&str, &std::ffi::OsStr)],
    args: impl IntoIterator<Item = A>,
) -> Output {
    let mut cmd = subrun(cache);
    cmd.current_dir(dir).arg("run").args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

/// Asserts that the run exited with `expected` and printed `stdout`, showing stderr if not.
fn assert_ran(out: &Output, expected: i32, stdout: &str) {
    assert_eq!(code(out), expected, "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), stdout);
}

/// A temporary directory holding the probe as `x.wasm`.
fn dir_with_probe() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.wasm"), probe_wasm()).unwrap();
    dir
}

#[test]
fn run_env_and_dir_work_as_written() {
    // subrun run -e A=1 -e B --dir ./data::/data:ro -- x.wasm
    let cache = tempfile::tempdir().unwrap();
    let dir = dir_with_probe();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/in.txt"), "from the host\n").unwrap();
    let out = run_in(
        cache.path(),
        dir.path(),
        &[("B", os("from this process")), ("C", os("not passed"))],
        [
            "-e",
            "A=1",
            "-e",
            "B",
            "--dir",
            "./data::/data:ro",
            "--",
            "x.wasm",
        ]
        .into_iter()
        .chain([
            "env:A",
            "env:B",
            "env:C",
            "read:/data/in.txt",
            "write:/data/out.txt",
        ]),
    );
    assert_ran(
        &out,
        0,
        "A=1\nB=from this process\nC=(unset)\nread /data/in.txt: from the host\nwrite /data/out.txt: Operation not permitted\n",
    );
    assert_eq!(text(&out.stderr), "");
    assert!(!dir.path().join("data/out.txt").exists());
}

#[test]
fn run_env_key_alone_without_a_host_value_leaves_it_unset() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("env.wat"), echo_env_wat()).unwrap();
    let out = subrun(cache.path())
        .current_dir(dir.path())
        .env_remove("SUBRUN_CLI_TEST_UNSET")
        .args(["run", "-e", "SUBRUN_CLI_TEST_UNSET", "--env", "X=a=b"])
        .args(["--", "env.wat"])
        .output()
        .unwrap();
    assert_ran(&out, 0, "X=a=b\n");
}

#[test]
fn run_dir_is_writable_without_ro_and_shown_at_its_host_path_without_guest() {
    let cache = tempfile::tempdir().unwrap();
    let dir = dir_with_probe();
    let shared = tempfile::tempdir().unwrap();
    let out_file = shared.path().join("out.txt");
    let write = format!("write:{}", out_file.display());
    let out = run_in(
        cache.path(),
        dir.path(),
        &[],
        [
            os("--dir"),
            shared.path().as_os_str(),
            os("--"),
            os("x.wasm"),
            os(&write),
        ],
    );
    assert_ran(&out, 0, &format!("write {}: ok\n", out_file.display()));
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "written\n");
}

#[test]
fn run_option_errors_name_the_option() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = data().join("local.yaml");
    let local = local.to_str().unwrap();
    for (args, status, message) in [
        (
            &["--dir", "./missing::/data", "--", "x.wasm"][..],
            125,
            "subrun: --dir ./missing: No such file or directory",
        ),
        // The spec flag was `--env FILE`: the file is not taken for a variable's name.
        (
            &["--env", local, "--", "true"],
            2,
            "the spec is given with --spec FILE",
        ),
        (
            &["--spec", local, "--dir", "/tmp", "--", "true"],
            125,
            "subrun: --dir is not supported by the `local` runtime: local commands see the host filesystem as it is: use the host path itself\n",
        ),
        (
            &["--spec", local, "--no-workspace", "--", "true"],
            125,
            "subrun: --no-workspace is not supported by the `local` runtime",
        ),
        (
            &["--cwd", "data", "--", "x.wasm"],
            2,
            "`data` is not absolute",
        ),
        (
            &["--module", "missing.wasm"],
            125,
            "subrun: cannot read the --module file missing.wasm\n",
        ),
    ] {
        let out = run_in(cache.path(), dir.path(), &[], args);
        assert_eq!(code(&out), status, "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(message),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn run_python_with_cwd_in_a_mounted_directory_reads_the_callers_files() {
    // subrun run --dir "$PWD" --cwd "$PWD" -- python main.py data.txt
    let guests = real_guests();
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.py"),
        "import sys\ntext = open(sys.argv[1]).read()\nprint('read', text.strip())\nopen('out.txt', 'w').write(text.upper())\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("data.txt"), "caller's data\n").unwrap();
    let pwd = dir.path().as_os_str();
    // The workspace copy holds nothing: what the guest reads is the caller's directory.
    let out = run_in(
        cache.path(),
        dir.path(),
        &[
            ("SUBRUN_GUEST_DIR", guests.as_os_str()),
            ("XDG_CACHE_HOME", shared_wasm_cache().as_os_str()),
        ],
        [
            os("--workspace"),
            empty.path().as_os_str(),
            os("--dir"),
            pwd,
            os("--cwd"),
            pwd,
        ]
        .into_iter()
        .chain([os("--"), os("python"), os("main.py"), os("data.txt")]),
    );
    assert_ran(&out, 0, "read caller's data\n");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.txt")).unwrap(),
        "CALLER'S DATA\n"
    );
}

#[test]
fn run_cwd_below_the_workspace_and_outside_the_view() {
    let cache = tempfile::tempdir().unwrap();
    let dir = dir_with_probe();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/in.txt"), "in sub\n").unwrap();
    std::fs::copy(dir.path().join("x.wasm"), dir.path().join("sub/y.wasm")).unwrap();
    // Relative paths, the guest's and the command word's, resolve in the working directory.
    let out = run_in(
        cache.path(),
        dir.path(),
        &[],
        ["--cwd", "/workspace/sub", "--", "y.wasm", "read:in.txt"]
            .into_iter()
            .chain(["read:/workspace/sub/in.txt"]),
    );
    assert_ran(
        &out,
        0,
        "read in.txt: in sub\nread /workspace/sub/in.txt: in sub\n",
    );
    let out = run_in(
        cache.path(),
        dir.path(),
        &[],
        ["--cwd", "/elsewhere", "--", "x.wasm"],
    );
    assert_eq!(code(&out), 125);
    assert!(
        text(&out.stderr).contains(
            "wasi.cwd: `/elsewhere` is not in the guest's view, which holds /workspace (the workspace)\n"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn run_cwd_on_local_runs_the_command_there() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        cache.path(),
        dir.path(),
        &[],
        [
            os("--spec"),
            data().join("local.yaml").as_os_str(),
            os("--cwd"),
        ]
        .into_iter()
        .chain([dir.path().as_os_str(), os("--quiet"), os("-e"), os("A=1")])
        .chain([os("--"), os("pwd; echo $A")]),
    );
    assert_ran(&out, 0, &format!("{}\n1\n", dir.path().display()));
}

#[test]
fn run_no_workspace_gives_the_guest_no_preopen() {
    // subrun run --no-workspace -- x.wasm
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.wat"), PROBE_FD3_WAT).unwrap();
    // With the workspace, fd 3 is its preopen; without, there is none: EBADF (8).
    assert_ran(
        &run_in(cache.path(), dir.path(), &[], ["--", "x.wat"]),
        0,
        "",
    );
    let out = run_in(
        cache.path(),
        dir.path(),
        &[],
        ["--no-workspace", "--", "x.wat"],
    );
    assert_ran(&out, 8, "");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn run_no_workspace_still_shows_the_dirs_asked_for() {
    let cache = tempfile::tempdir().unwrap();
    let dir = dir_with_probe();
    std::fs::write(dir.path().join("in.txt"), "workspace file\n").unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/in.txt"), "mounted file\n").unwrap();
    // Command words still name modules in the workspace (relative ones: in the cwd).
    let out = run_in(
        cache.path(),
        dir.path(),
        &[],
        [
            "--no-workspace",
            "--dir",
            "data::/data",
            "--cwd",
            "/data",
            "--",
        ]
        .into_iter()
        .chain(["/workspace/x.wasm", "read:in.txt", "read:/workspace/in.txt"]),
    );
    assert_ran(
        &out,
        0,
        "read in.txt: mounted file\nread /workspace/in.txt: No such file or directory\n",
    );
}

#[test]
fn run_quiet_prints_only_the_guests_bytes_on_stderr() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.wat"), SOCK_SHUTDOWN_WAT).unwrap();
    for extra in [&["--quiet"][..], &[]] {
        let out = run_in(
            cache.path(),
            dir.path(),
            &[],
            extra.iter().chain(&["--", "x.wat"]),
        );
        assert_ran(&out, 0, "");
        assert_eq!(out.stderr, b"guest-bytes\n", "{extra:?}");
    }
    // -v asks for the libraries' logs, wasmtime-wasi's warning among them.
    let out = run_in(cache.path(), dir.path(), &[], ["-v", "--", "x.wat"]);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("guest-bytes\n"), "{stderr}");
    assert!(
        stderr.contains("p1 sock_shutdown is not implemented"),
        "{stderr}"
    );
}

#[test]
fn run_argv0_is_what_the_guest_sees() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("args.wat"), ECHO_ARGS_WAT).unwrap();
    let out = run_in(
        cache.path(),
        dir.path(),
        &[],
        ["--argv0", "my prog", "--", "args.wat", "a"],
    );
    assert_ran(&out, 0, "my prog\na\n");
    // A program's argv[0] too.
    let guests = fake_guests(cache.path());
    let out = run_in(
        cache.path(),
        dir.path(),
        &[("SUBRUN_GUEST_DIR", guests.as_os_str())],
        ["--argv0", "python3.12", "--", "python", "main.py"],
    );
    assert_ran(&out, 0, "python3.12\nmain.py\n");
}

#[test]
fn run_module_from_a_host_path_is_not_copied_in() {
    let cache = tempfile::tempdir().unwrap();
    let modules = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let module = modules.path().join("args.wat");
    std::fs::write(&module, ECHO_ARGS_WAT).unwrap();
    std::fs::write(modules.path().join("probe.wasm"), probe_wasm()).unwrap();
    let out = run_in(
        cache.path(),
        workspace.path(),
        &[],
        [
            os("--module"),
            module.as_os_str(),
            os("--"),
            os("python"),
            os("a b"),
        ],
    );
    // `python` is an argument here, not the (uninstalled) interpreter guest.
    assert_ran(&out, 0, &format!("{}\npython\na b\n", module.display()));
    // The guest sees the workspace, not the module's directory.
    let probe = modules.path().join("probe.wasm");
    let out = run_in(
        cache.path(),
        workspace.path(),
        &[],
        [
            os("--module"),
            probe.as_os_str(),
            os("--argv0"),
            os("probe"),
        ]
        .into_iter()
        .chain([os("--"), os("argv0"), os("read:probe.wasm")]),
    );
    assert_ran(
        &out,
        0,
        "argv0=probe\nread probe.wasm: No such file or directory\n",
    );
}

#[test]
fn run_absolute_host_path_outside_the_view_says_so() {
    let cache = tempfile::tempdir().unwrap();
    let modules = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let module = modules.path().join("hello.wat");
    std::fs::write(&module, HELLO_WAT).unwrap();
    let out = run_in(
        cache.path(),
        workspace.path(),
        &[],
        [os("--"), module.as_os_str()],
    );
    assert_eq!(code(&out), 127);
    let path = module.display();
    assert_eq!(
        text(&out.stderr),
        format!(
            "subrun: {path}: not in the guest's view, which holds /workspace (the workspace), / (the workspace); a module on the host runs through a mount or a `wasi.programs` entry\nsubrun: {path} is a file on this host, but the words of a command are paths in the guest's view: run it from the host with --module {path}, or show its directory with --dir\n"
        )
    );
    // Shown with --dir, the same path runs.
    let out = run_in(
        cache.path(),
        workspace.path(),
        &[],
        [
            os("--dir"),
            modules.path().as_os_str(),
            os("--"),
            module.as_os_str(),
        ],
    );
    assert_ran(&out, 3, "hello from wasm\n");
}

// ---------------------------------------------------------------- docker and gc

#[test]
fn docker_spec_fails_clearly_when_the_engine_is_unreachable() {
    let cache = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .arg("run")
        .arg("--spec")
        .arg(data().join("docker-python.yaml"))
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot spawn the `docker` runtime"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cannot reach the Docker engine"),
        "{stderr}"
    );
}

#[test]
fn gc_fails_clearly_when_the_engine_is_unreachable() {
    let cache = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .arg("gc")
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("subrun: cannot remove leftover containers\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cannot reach the Docker engine"),
        "{stderr}"
    );
}

#[test]
fn run_docker_spec_runs_in_a_container_that_is_removed_afterwards() {
    require_test_image();
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.txt"), "from the host\n").unwrap();
    let spec = cache.path().join("busybox.yaml");
    std::fs::write(
        &spec,
        format!("type: docker\ndocker: {{ image: {TEST_IMAGE} }}\n"),
    )
    .unwrap();
    let out = subrun(cache.path())
        .arg("run")
        .arg("--spec")
        .arg(&spec)
        .arg("--workspace")
        .arg(dir.path())
        .args(["--", "cat in.txt; hostname; echo new > new.txt; exit 4"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 4, "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("from the host"));
    // The container's hostname is its short id: the container must be gone.
    let container = lines.next().unwrap();
    assert!(!container.is_empty());
    assert_eq!(
        docker(&["ps", "-aq", "--filter", &format!("id={container}")]),
        ""
    );
    assert!(!dir.path().join("new.txt").exists());
}

#[test]
fn run_docker_takes_env_dir_and_cwd() {
    require_test_image();
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("in.txt"), "from the host\n").unwrap();
    let spec = cache.path().join("busybox.yaml");
    std::fs::write(
        &spec,
        format!("type: docker\ndocker: {{ image: {TEST_IMAGE} }}\n"),
    )
    .unwrap();
    let mut dir_arg = data.path().as_os_str().to_owned();
    dir_arg.push("::/data:ro");
    let out = subrun(cache.path())
        .current_dir(dir.path())
        .env("B", "from this process")
        .arg("run")
        .arg("--spec")
        .arg(&spec)
        .arg("--dir")
        .arg(&dir_arg)
        .args(["--cwd", "/data", "-e", "A=1", "-e", "B", "--"])
        .arg("pwd; cat in.txt; echo \"$A/$B\"; touch new 2>/dev/null || echo read-only")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "/data\nfrom the host\n1/from this process\nread-only\n"
    );
    assert!(!data.path().join("new").exists());
}

#[test]
fn run_docker_spec_with_a_missing_image_names_it() {
    let cache = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .arg("run")
        .arg("--spec")
        .arg(data().join("docker-python.yaml"))
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("image `ghcr.io/astral-sh/uv:python3.12-trixie-slim` not found locally"),
        "{stderr}"
    );
}

#[test]
fn gc_removes_leftover_containers_by_label_and_says_which() {
    require_test_image();
    let cache = tempfile::tempdir().unwrap();
    let session = format!("cli-gc-test-{}", std::process::id());
    let id = docker(&[
        "create",
        "--label",
        &format!("subrun.session={session}"),
        TEST_IMAGE,
        "true",
    ]);
    let out = subrun(cache.path())
        .args(["gc", "--session", &session])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(
        stdout,
        format!(
            "removed 1 container: {short}\n  {short} session={session} image={TEST_IMAGE} state=created\n",
            short = &id[..12]
        )
    );
    assert_eq!(docker(&["ps", "-aq", "--filter", &format!("id={id}")]), "");
    let again = subrun(cache.path())
        .args(["gc", "--session", &session])
        .output()
        .unwrap();
    assert_eq!(code(&again), 0);
    assert_eq!(text(&again.stdout), "nothing to remove\n");
}

// ---------------------------------------------------------------- build, examples, real guests

/// The repository's root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `subrun build ...` with its own cargo target directory (so the repository's examples never
/// get a target/ of their own from the tests).
fn subrun_build(cache: &Path, cwd: &Path, args: &[&std::ffi::OsStr]) -> Output {
    build_env(&mut subrun(cache))
        .current_dir(cwd)
        .arg("build")
        .args(args)
        .output()
        .unwrap()
}

/// The environment of a command that builds: the tests' own cargo target directory, and no
/// rustflags or sysroot of the test's environment.
fn build_env(cmd: &mut Command) -> &mut Command {
    cmd.env(
        "CARGO_TARGET_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("subrun-build"),
    )
    .env_remove("RUSTFLAGS")
    .env_remove("CARGO_ENCODED_RUSTFLAGS")
    .env_remove("WASI_SYSROOT")
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

#[test]
fn build_then_run_the_hello_example() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let example = repo().join("guest-sdk/examples/hello");
    let out = subrun_build(cache.path(), dir.path(), &[example.as_os_str()]);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello.wasm\n");
    assert!(dir.path().join("hello.wasm").is_file());
    std::fs::write(dir.path().join("in.txt"), "x\ny\n").unwrap();
    let out = subrun(cache.path())
        .current_dir(dir.path())
        .args([
            "run",
            "--stdin",
            "in.txt",
            "--",
            "hello.wasm",
            "Ada",
            "Grace",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "hello, Ada and Grace, from wasm32-wasip1\n2 lines on stdin\n"
    );
}

#[test]
fn build_then_run_the_rust_submission_example() {
    // docs/examples.md: subrun build examples/rust-submission -o .../stats.wasm, then run it.
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let example = repo().join("examples/rust-submission");
    let wasm = dir.path().join("sub/stats.wasm");
    let out = subrun_build(
        cache.path(),
        &repo(),
        &[example.as_os_str(), os("-o"), wasm.as_os_str()],
    );
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{}\n", wasm.display()));
    let out = subrun(cache.path())
        .current_dir(repo())
        .arg("run")
        .arg("--workspace")
        .arg(dir.path().join("sub"))
        .args(["--stdin", "examples/rust-submission/cases/1.in"])
        .args(["--", "stats.wasm", "2"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        std::fs::read_to_string(example.join("cases/1.out")).unwrap()
    );
}

#[test]
fn build_then_run_the_c_submission_example() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("sub/sum.wasm");
    let out = subrun_build(
        cache.path(),
        &repo(),
        &[
            os("examples/c-submission/main.c"),
            os("-o"),
            wasm.as_os_str(),
        ],
    );
    assert_eq!(
        code(&out),
        0,
        "clang with wasi-libc is required (scripts/setup.sh installs it); stderr: {}",
        text(&out.stderr)
    );
    let out = subrun(cache.path())
        .current_dir(repo())
        .arg("run")
        .arg("--workspace")
        .arg(dir.path().join("sub"))
        .args([
            "--stdin",
            "examples/c-submission/cases/1.in",
            "--",
            "sum.wasm",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        std::fs::read_to_string(repo().join("examples/c-submission/cases/1.out")).unwrap()
    );
}

#[test]
fn build_a_cpp_file_without_exceptions() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sort.cpp"),
        "#include <algorithm>\n#include <iostream>\n#include <vector>\nint main() {\n  std::vector<int> v{3, 1, 2};\n  std::sort(v.begin(), v.end());\n  for (int x : v) std::cout << x << ' ';\n  std::cout << '\\n';\n  return 5;\n}\n",
    )
    .unwrap();
    let out = subrun_build(cache.path(), dir.path(), &[os("sort.cpp")]);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "sort.wasm\n");
    let out = subrun(cache.path())
        .current_dir(dir.path())
        .args(["run", "--", "sort.wasm"])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "1 2 3 \n");
    assert_eq!(code(&out), 5);
}

#[test]
fn build_without_the_rust_target_says_to_add_it() {
    // A sysroot without wasm32-wasip1's standard library: what rustc sees when the target
    // was never added (rustc and cargo read the same RUSTFLAGS).
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .current_dir(dir.path())
        .env("RUSTFLAGS", format!("--sysroot={}", empty.path().display()))
        // cargo's rustup proxy names the toolchain; without it the default toolchain is used
        // and the hint has no `--toolchain`.
        .env_remove("RUSTUP_TOOLCHAIN")
        .arg("build")
        .arg(repo().join("guest-sdk/examples/hello"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the Rust target wasm32-wasip1 is not installed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("install it with `rustup target add wasm32-wasip1`"),
        "{stderr}"
    );
    assert!(!dir.path().join("hello.wasm").exists());
}

#[test]
fn build_c_without_clang_says_what_to_install() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let empty_path = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.c"), "int main(void) { return 0; }\n").unwrap();
    let out = subrun(cache.path())
        .current_dir(dir.path())
        .env("PATH", empty_path.path())
        .args(["build", "main.c"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("`clang` is not installed"), "{stderr}");
    assert!(
        stderr.contains(
            "apt-get install -y --no-install-recommends clang lld wasi-libc libclang-rt-14-dev-wasm32"
        ),
        "{stderr}"
    );
    // C++ needs libc++ too.
    std::fs::write(dir.path().join("main.cpp"), "int main() { return 0; }\n").unwrap();
    let out = subrun(cache.path())
        .current_dir(dir.path())
        .env("PATH", empty_path.path())
        .args(["build", "main.cpp"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    assert!(
        text(&out.stderr).contains("libc++-14-dev-wasm32 libc++abi-14-dev-wasm32"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn build_c_without_wasi_libc_names_the_package() {
    // The real clang, pointed at a sysroot without wasi-libc.
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.c"), "int main(void) { return 0; }\n").unwrap();
    let out = subrun(cache.path())
        .current_dir(dir.path())
        .env("WASI_SYSROOT", empty.path())
        .args(["build", "main.c"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("missing wasi-libc (libc.a for wasm32-wasi)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("apt-get install -y --no-install-recommends wasi-libc"),
        "{stderr}"
    );
    assert!(!dir.path().join("main.wasm").exists());
}

#[test]
fn build_reports_compile_errors_with_exit_1() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.c"), "int main( { return 0; }\n").unwrap();
    let out = subrun_build(cache.path(), dir.path(), &[os("bad.c")]);
    assert_eq!(code(&out), 1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("bad.c:1:"), "{stderr}");
    assert!(stderr.contains("subrun: clang of bad.c failed"), "{stderr}");
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn build_refuses_what_it_cannot_build() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.py"), "print(1)\n").unwrap();
    let out = subrun_build(cache.path(), dir.path(), &[os("main.py")]);
    assert_eq!(code(&out), 125);
    assert!(
        text(&out.stderr).contains("cannot build main.py: not a Cargo project"),
        "{}",
        text(&out.stderr)
    );
    let out = subrun_build(cache.path(), dir.path(), &[]);
    assert_eq!(code(&out), 125);
    assert!(
        text(&out.stderr).contains("a directory without a Cargo.toml"),
        "{}",
        text(&out.stderr)
    );
}

/// One compiled-module cache for the tests that run the real interpreter guests, so CPython
/// (26 MB of wasm, seconds to compile) is compiled once per build, not once per test.
fn shared_wasm_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-guests-cache")
}

/// The installed guest directory; a missing guest fails the test, naming the script.
fn real_guests() -> PathBuf {
    let dir = subrun_wasi::guests::guest_dir()
        .expect("no guest directory: set SUBRUN_GUEST_DIR or HOME and run scripts/fetch-guests.sh");
    for guest in subrun_wasi::guests::GUESTS {
        let missing = guest.missing_in(&dir);
        assert!(
            missing.is_empty(),
            "{missing:?} missing: run scripts/fetch-guests.sh"
        );
    }
    dir
}

#[test]
fn the_python_grader_example_grades_both_submissions() {
    let guests = real_guests();
    let cache = tempfile::tempdir().unwrap();
    let grade = |submission: &str| {
        subrun(cache.path())
            .env("SUBRUN_GUEST_DIR", &guests)
            .env("XDG_CACHE_HOME", shared_wasm_cache())
            .current_dir(repo())
            .args([
                "run",
                "--spec",
                "examples/python-grader/grader.yaml",
                "--workspace",
                submission,
                "--",
                "python",
                "/static/grader/grade.py",
            ])
            .output()
            .unwrap()
    };
    let out = grade("examples/python-grader/submission");
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "01-simple.json       pass\n02-plateau.json      pass\n03-empty.json        pass\n04-decreasing.json   pass\nscore: 4/4\n"
    );
    let out = grade("examples/python-grader/submission-buggy");
    assert_eq!(code(&out), 1, "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "01-simple.json       pass\n02-plateau.json      fail  expected 3, got 6\n03-empty.json        error IndexError: list index out of range\n04-decreasing.json   pass\nscore: 2/4\n"
    );
    // The submission's directory is never modified (no grade.json, no __pycache__).
    let entries: Vec<_> = std::fs::read_dir(repo().join("examples/python-grader/submission"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["solution.py"]);
}

#[test]
fn run_python_and_node_with_the_default_spec() {
    let guests = real_guests();
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.py"),
        "import sys\nprint('py', sys.argv[1:], sys.stdin.read().split())\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("main.js"),
        "const fs = require('fs');\nconsole.log('js', process.argv.slice(2), fs.readFileSync(0, 'utf8').split(/\\s+/).filter(Boolean));\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("in.txt"), "3 4\n").unwrap();
    for (cmd, expected) in [
        (["python", "main.py"], "py ['a b'] ['3', '4']\n"),
        (["python3", "main.py"], "py ['a b'] ['3', '4']\n"),
        (["node", "main.js"], "js [ 'a b' ] [ '3', '4' ]\n"),
    ] {
        let out = subrun(cache.path())
            .env("SUBRUN_GUEST_DIR", &guests)
            .env("XDG_CACHE_HOME", shared_wasm_cache())
            .current_dir(dir.path())
            .args(["run", "--stdin", "in.txt", "--"])
            .args(cmd)
            .arg("a b")
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{cmd:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), expected, "{cmd:?}");
    }
}

/// `subrun grade` on examples/grade/sum with its four submissions, as `--json`.
fn grade_example(extra: &[&str]) -> Output {
    let guests = real_guests();
    let cache = tempfile::tempdir().unwrap();
    let mut cmd = subrun(cache.path());
    cmd.env("SUBRUN_GUEST_DIR", &guests)
        .env("XDG_CACHE_HOME", shared_wasm_cache())
        .current_dir(repo())
        .arg("grade")
        .args(extra);
    cmd.output().unwrap()
}

#[test]
fn grade_gives_the_example_submissions_their_verdicts_and_exits_1() {
    let out = grade_example(&[
        "--json",
        "-j",
        "2",
        "examples/grade/sum",
        "examples/grade/submissions/correct.py",
        "examples/grade/submissions/wrong.py",
        "examples/grade/submissions/crash.py",
        "examples/grade/submissions/slow.py",
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts: Vec<(String, Vec<String>, f64)> = report["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let cases = s["cases"].as_array().unwrap();
            let v = cases
                .iter()
                .map(|c| c["verdict"].as_str().unwrap().to_owned())
                .collect();
            (
                s["submission"].as_str().unwrap().to_owned(),
                v,
                s["score"].as_f64().unwrap(),
            )
        })
        .collect();
    let expect = |name: &str, v: [&str; 3], score: f64| {
        (
            name.to_owned(),
            v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
            score,
        )
    };
    assert_eq!(
        verdicts,
        [
            expect("correct.py", ["AC", "AC", "AC"], 100.0),
            expect("wrong.py", ["AC", "WA", "WA"], 10.0),
            expect("crash.py", ["AC", "RE", "RE"], 10.0),
            expect("slow.py", ["TLE", "TLE", "TLE"], 0.0),
        ]
    );
    assert_eq!(
        report["submissions"][2]["cases"][1]["failure"],
        serde_json::json!({ "exit_code": 1 })
    );
}

#[test]
fn grade_exits_0_when_every_case_is_ac_and_prints_the_table_or_json_lines() {
    let out = grade_example(&[
        "examples/grade/sum",
        "examples/grade/submissions/correct.py",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.starts_with("submission  group    case      verdict  time"),
        "{table}"
    );
    assert!(
        table.contains("correct.py: 100/100 points, 3/3 cases accepted"),
        "{table}"
    );

    let out = grade_example(&[
        "--jsonl",
        "examples/grade/sum",
        "examples/grade/submissions/correct.py",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let mut cases: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["verdict"], "AC");
            v["case"].as_str().unwrap().to_owned()
        })
        .collect();
    cases.sort();
    assert_eq!(cases, ["many", "negative", "small"]);
}

#[test]
fn grade_writes_junit_and_ctrf_reports_beside_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let ctrf = dir.path().join("ctrf.json");
    let out = grade_example(&[
        "--junit",
        junit.to_str().unwrap(),
        "--ctrf",
        ctrf.to_str().unwrap(),
        "examples/grade/sum",
        "examples/grade/submissions/correct.py",
        "examples/grade/submissions/wrong.py",
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("wrong.py: 10/100 points, 1/3 cases accepted"),
        "the table is still printed"
    );

    // JUnit: well-formed, a suite per submission with its counts, a failure per WA.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut suites = Vec::new();
    let mut failures = Vec::new();
    loop {
        match reader.read_event().expect("well-formed JUnit XML") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let attr = |k: &str| {
                    e.try_get_attribute(k)
                        .unwrap()
                        .map(|a| a.unescape_value().unwrap().into_owned())
                        .unwrap_or_default()
                };
                match e.name().as_ref() {
                    b"testsuite" => suites.push([attr("name"), attr("tests"), attr("failures")]),
                    b"failure" => failures.push(attr("type")),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    assert_eq!(
        suites,
        [["correct.py", "3", "0"], ["wrong.py", "3", "2"]].map(|s| s.map(String::from))
    );
    assert_eq!(failures, ["WA", "WA"]);
    assert!(
        xml.contains(r#"classname="wrong.py.main" name="negative""#),
        "{xml}"
    );

    // CTRF: the summary and one test per case.
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&ctrf).unwrap()).unwrap();
    let results = &doc["results"];
    assert_eq!(results["tool"]["name"], "subrun");
    let summary = &results["summary"];
    assert_eq!(
        ["tests", "passed", "failed", "pending", "skipped", "other"].map(|k| summary[k].clone()),
        [6, 4, 2, 0, 0, 0].map(Value::from)
    );
    assert!(summary["start"].as_u64().unwrap() <= summary["stop"].as_u64().unwrap());
    let statuses: Vec<&str> = results["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["passed", "passed", "passed", "passed", "failed", "failed"]
    );
}

#[test]
fn grade_exits_125_naming_a_report_file_it_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("missing-dir/report.xml");
    let out = grade_example(&[
        "--junit",
        junit.to_str().unwrap(),
        "examples/grade/sum",
        "examples/grade/submissions/correct.py",
    ]);
    assert_eq!(code(&out), 125);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "cannot write the --junit report {}",
            junit.display()
        )),
        "{err}"
    );
}

#[test]
fn grade_exits_125_naming_the_file_key_and_case_of_a_bad_problem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("problem.yaml"),
        "groups:\n  - name: g\n    cases:\n      - { name: c1, stdin_file: nope.in }\n",
    )
    .unwrap();
    let sub = dir.path().join("s.py");
    std::fs::write(&sub, "print(1)\n").unwrap();
    let out = grade_example(&[dir.path().to_str().unwrap(), sub.to_str().unwrap()]);
    assert_eq!(code(&out), 125);
    let err = text(&out.stderr);
    assert!(
        err.contains("problem.yaml, key `groups[0].cases[0].stdin_file`, case `c1`: cannot read"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn grade_gives_the_c_example_submissions_built_by_subrun_build_their_verdicts() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut modules = Vec::new();
    for name in ["correct", "wrong", "slow", "crash"] {
        let wasm = dir.path().join(format!("{name}.wasm"));
        let source = format!("examples/grade/submissions/c/{name}.c");
        let out = subrun_build(
            cache.path(),
            &repo(),
            &[os(&source), os("-o"), wasm.as_os_str()],
        );
        assert_eq!(
            code(&out),
            0,
            "clang with wasi-libc is required (scripts/setup.sh installs it); stderr: {}",
            text(&out.stderr)
        );
        modules.push(wasm.to_str().unwrap().to_owned());
    }
    let mut args = vec!["--json", "examples/grade/sum"];
    args.extend(modules.iter().map(String::as_str));
    let out = grade_example(&args);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts: Vec<Vec<&str>> = report["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["verdict"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ["AC", "AC", "AC"],
            ["AC", "WA", "WA"],
            ["TLE", "TLE", "TLE"],
            ["AC", "RE", "RE"],
        ]
    );
    assert_eq!(
        report["submissions"][3]["cases"][1]["failure"],
        serde_json::json!({ "trap": "out-of-bounds memory access" })
    );
}

/// Each submission's verdicts in a `--json` report: `(name, [verdict per case])`.
fn report_verdicts(report: &Value) -> Vec<(String, Vec<String>)> {
    report["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let v = s["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["verdict"].as_str().unwrap().to_owned())
                .collect();
            (s["submission"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

fn named(name: &str, v: [&str; 3]) -> (String, Vec<String>) {
    (name.to_owned(), v.map(String::from).to_vec())
}

/// docs/examples.md: the example problem with its correct, wrong, slow and crashing
/// submission in Python, C and Rust, in one call; C and Rust are built by the grader.
#[test]
fn grade_gives_the_example_submissions_in_each_language_their_verdicts() {
    let guests = real_guests();
    let cache = tempfile::tempdir().unwrap();
    let mut args = vec!["--json".to_owned(), "examples/grade/sum".to_owned()];
    for lang in ["py", "c", "rust"] {
        for name in ["correct", "wrong", "slow", "crash"] {
            args.push(match lang {
                "py" => format!("examples/grade/submissions/{name}.py"),
                "c" => format!("examples/grade/submissions/c/{name}.c"),
                _ => format!("examples/grade/submissions/rust/{name}"),
            });
        }
    }
    let out = build_env(&mut subrun(cache.path()))
        .env("SUBRUN_GUEST_DIR", &guests)
        .env("XDG_CACHE_HOME", shared_wasm_cache())
        .current_dir(repo())
        .arg("grade")
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut want = Vec::new();
    for (correct, wrong, slow, crash) in [
        ("correct.py", "wrong.py", "slow.py", "crash.py"),
        ("correct.c", "wrong.c", "slow.c", "crash.c"),
        ("correct", "wrong", "slow", "crash"),
    ] {
        want.push(named(correct, ["AC", "AC", "AC"]));
        want.push(named(wrong, ["AC", "WA", "WA"]));
        want.push(named(slow, ["TLE", "TLE", "TLE"]));
        want.push(named(crash, ["AC", "RE", "RE"]));
    }
    assert_eq!(report_verdicts(&report), want);
    let failure = |s: usize| report["submissions"][s]["cases"][1]["failure"].clone();
    assert_eq!(failure(3), serde_json::json!({ "exit_code": 1 }));
    assert_eq!(
        failure(7),
        serde_json::json!({ "trap": "out-of-bounds memory access" })
    );
    assert_eq!(
        failure(11),
        serde_json::json!({ "trap": "unreachable executed" }),
        "a Rust panic aborts"
    );
    // The examples' directories get no target/ of their own, the current one no module.
    assert!(
        !repo()
            .join("examples/grade/submissions/rust/correct/target")
            .exists()
    );
    for name in ["correct", "wrong", "slow", "crash"] {
        assert!(!repo().join(format!("{name}.wasm")).exists(), "{name}.wasm");
    }
}

#[test]
fn grade_gives_ce_with_the_compilers_message_for_code_that_does_not_build() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.c"), "int main( { return 0; }\n").unwrap();
    let bad = dir.path().join("bad.c");
    let out = grade_example(&[
        "examples/grade/sum",
        bad.to_str().unwrap(),
        "examples/grade/submissions/correct.py",
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let ce: Vec<&str> = table.lines().filter(|l| l.starts_with("bad.c ")).collect();
    assert_eq!(ce.len(), 3, "{table}");
    for line in ce {
        assert!(line.contains(" CE "), "{line}");
        assert!(line.contains("compile error: "), "{line}");
        assert!(line.contains("bad.c:1:"), "{line}");
    }
    assert!(
        table.contains("bad.c: 0/100 points, 0/3 cases accepted"),
        "{table}"
    );
    assert!(table.contains("correct.py: 100/100 points"), "{table}");
}

#[test]
fn grade_runs_commands_on_docker_with_nothing_of_the_current_directory() {
    require_test_image();
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("docker.yaml");
    std::fs::write(
        &spec,
        format!("type: docker\nname: grade-cli\ndocker: {{ image: {TEST_IMAGE} }}\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("stray.txt"), "from the current directory\n").unwrap();
    // The example problem with a limit a `docker exec` on a loaded machine always meets.
    let problem = dir.path().join("sum");
    std::fs::create_dir_all(problem.join("cases")).unwrap();
    let example = repo().join("examples/grade/sum");
    for entry in std::fs::read_dir(example.join("cases")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), problem.join("cases").join(entry.file_name())).unwrap();
    }
    let yaml = std::fs::read_to_string(example.join("problem.yaml")).unwrap();
    assert!(yaml.contains("time: 250ms"), "{yaml}");
    std::fs::write(
        problem.join("problem.yaml"),
        yaml.replace("time: 250ms", "time: 20s"),
    )
    .unwrap();
    let sum = r#"sum=awk '{for(i=1;i<=NF;i++)s+=$i} END{printf "%.0f\n", s}'"#;
    let cache = tempfile::tempdir().unwrap();
    let out = subrun(cache.path())
        .current_dir(dir.path())
        .arg("grade")
        .arg("--json")
        .arg("--spec")
        .arg(&spec)
        .arg(&problem)
        .args(["--command", sum])
        .args(["--command", "ls=ls -A; test ! -e stray.txt"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report_verdicts(&report),
        [
            named("sum", ["AC", "AC", "AC"]),
            named("ls", ["WA", "WA", "WA"])
        ]
    );
    // `ls -A` printed nothing: the workspace starts empty (the WA says `got` nothing).
    let message = report["submissions"][1]["cases"][0]["message"]
        .as_str()
        .unwrap();
    assert!(!message.contains("stray"), "{message}");
}

/// A `--json` report without what two runs of the same inputs measure differently.
fn without_measurements(mut report: Value) -> Value {
    for s in report["submissions"].as_array_mut().unwrap() {
        for c in s["cases"].as_array_mut().unwrap() {
            for key in ["wall_time", "cpu_time", "reset_time", "peak_memory", "fuel"] {
                c.as_object_mut().unwrap().remove(key);
            }
        }
    }
    report
}

#[test]
fn grade_shards_merged_by_grade_merge_give_the_report_of_the_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let subs = [
        "examples/grade/sum",
        "examples/grade/submissions/correct.py",
        "examples/grade/submissions/wrong.py",
        "examples/grade/submissions/crash.py",
    ];
    let whole = grade_example(&[&["--json", "-j", "2"][..], &subs].concat());
    assert_eq!(code(&whole), 1, "{}", text(&whole.stderr));
    let mut files = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let out = grade_example(&[&["--json", "--shard", &shard][..], &subs].concat());
        assert!([0, 1].contains(&code(&out)), "{}", text(&out.stderr));
        assert!(
            out.stderr.is_empty(),
            "no progress bar when stderr is not a terminal: {}",
            text(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            report["shard"],
            serde_json::json!({ "index": i, "count": 3 })
        );
        let file = dir.path().join(format!("shard-{i}.json"));
        std::fs::write(&file, &out.stdout).unwrap();
        files.push(file.to_str().unwrap().to_owned());
    }
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let junit = dir.path().join("merged.xml");
    let merged = grade_example(
        &[
            &["merge", "--json", "--junit", junit.to_str().unwrap()][..],
            &files,
        ]
        .concat(),
    );
    assert_eq!(
        code(&merged),
        1,
        "not every case is AC: {}",
        text(&merged.stderr)
    );
    let merged_doc: Value = serde_json::from_slice(&merged.stdout).unwrap();
    let whole_doc: Value = serde_json::from_slice(&whole.stdout).unwrap();
    assert_eq!(merged_doc["shard"], Value::Null);
    assert_eq!(
        without_measurements(merged_doc),
        without_measurements(whole_doc)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"classname="crash.py.main" name="many""#),
        "{xml}"
    );

    // The table, from the shards given in another order, one of them twice.
    let out = grade_example(&[&["merge"][..], &[files[2], files[0], files[1], files[0]]].concat());
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for line in [
        "correct.py: 100/100 points, 3/3 cases accepted",
        "wrong.py: 10/100 points, 1/3 cases accepted",
        "crash.py: 10/100 points, 1/3 cases accepted",
    ] {
        assert!(table.contains(line), "{table}");
    }
}

#[test]
fn grade_merge_exits_125_naming_a_missing_shard_or_a_file_that_is_not_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = grade_example(&[
        "--json",
        "--shard",
        "0/2",
        "examples/grade/sum",
        "examples/grade/submissions/correct.py",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let shard = dir.path().join("shard-0.json");
    std::fs::write(&shard, &out.stdout).unwrap();
    let out = grade_example(&["merge", shard.to_str().unwrap()]);
    assert_eq!(code(&out), 125);
    assert_eq!(
        text(&out.stderr).trim_end(),
        format!(
            "subrun: shard 1/2 is missing: the reports given are shards 0/2 ({})",
            shard.display()
        )
    );
    assert!(out.stdout.is_empty());

    let bogus = dir.path().join("bogus.json");
    std::fs::write(&bogus, "{\"problem\": \"sum\"}").unwrap();
    let out = grade_example(&["merge", shard.to_str().unwrap(), bogus.to_str().unwrap()]);
    assert_eq!(code(&out), 125);
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "subrun: {}: not a subrun grade report (`subrun grade --json` writes one)\n  caused by: missing field",
            bogus.display()
        )),
        "{err}"
    );

    let missing = dir.path().join("missing.json");
    let out = grade_example(&["merge", missing.to_str().unwrap()]);
    assert_eq!(code(&out), 125);
    assert!(
        text(&out.stderr).starts_with(&format!(
            "subrun: cannot read the report {}",
            missing.display()
        )),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn grade_shard_must_be_an_index_below_its_count() {
    for (shard, message) in [
        (
            "3/3",
            "invalid value '3/3' for '--shard <I/N>': shard index 3 is not below the count 3",
        ),
        ("x", "invalid value 'x' for '--shard <I/N>': `x` is not I/N"),
        ("0/0", "the shard count must be at least 1"),
    ] {
        let out = grade_example(&[
            "--shard",
            shard,
            "examples/grade/sum",
            "examples/grade/submissions/correct.py",
        ]);
        assert_eq!(code(&out), 2, "--shard {shard}");
        assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
    }
}
