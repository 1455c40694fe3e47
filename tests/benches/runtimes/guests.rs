//! Section `guests`: `python main.py` on the CPython guest and `node hello.js` on the QuickJS
//! guest under `wasi` (first run in a new process, from the disk cache in a new process,
//! warm), against the host's `python3` and `node` run by `local`.

use std::path::{Path, PathBuf};

use serde_json::json;
use subrun::EnvironmentSpec;
use subrun_wasi::guests;
use tempfile::TempDir;

use crate::Bench;
use crate::cold::children;
use crate::hello::HELLO;
use crate::options::{ChildProgram, Section};
use crate::report::Measure;
use crate::targets::{Error, Runtime, expect_stdout, spawn, timed_execute, wasi_factory};

/// The Python command, the same on `wasi` and `local`.
pub(crate) const PYTHON_CMD: &str = "python main.py";
/// The JavaScript command, the same on `wasi` and `local`.
pub(crate) const NODE_CMD: &str = "node hello.js";

/// The interpreter guests installed in the guest directory (`subrun_wasi::guests`: the rule
/// and the program entries `subrun run` uses).
pub(crate) struct GuestFiles {
    dir: PathBuf,
}

impl GuestFiles {
    /// The guest directory; `Err` when none is set at all.
    pub(crate) fn find() -> Result<Self, Error> {
        let dir = guests::guest_dir().ok_or_else(|| {
            format!(
                "no guest directory (set {}); run {}",
                guests::GUEST_DIR_ENV,
                guests::FETCH_SCRIPT
            )
        })?;
        Ok(Self {
            dir: std::path::absolute(&dir).unwrap_or(dir),
        })
    }

    /// `Ok` when the guest that `word` runs is installed, else what to do about it.
    fn installed(&self, word: &str) -> Result<(), Error> {
        let guest = guests::Guest::for_word(word)
            .ok_or_else(|| format!("subrun_wasi::guests knows no `{word}`"))?;
        let missing = guest.missing_in(&self.dir);
        if missing.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
        Err(format!(
            "run {} ({} missing)",
            guests::FETCH_SCRIPT,
            list.join(", ")
        ))
    }

    /// A `wasi` spec with the installed guests as programs (as `subrun run` has them) and a
    /// 120 s deadline (the first run compiles the interpreter, which takes a while).
    pub(crate) fn spec(&self) -> Result<EnvironmentSpec, Error> {
        let programs = serde_json::to_value(guests::installed_programs(&self.dir))
            .map_err(|e| format!("serialize the guest programs: {e}"))?;
        let doc = json!({
            "type": "wasi",
            "limits": { "timeout": "120s" },
            "wasi": { "programs": programs },
        });
        EnvironmentSpec::from_value(doc, "bench guests spec", std::env::temp_dir())
            .map_err(|e| format!("the guests spec is invalid: {e}"))
    }
}

/// A directory with `main.py` and `hello.js`, each printing `hello, world`.
pub(crate) fn sources() -> Result<TempDir, Error> {
    let dir = tempfile::Builder::new()
        .prefix("subrun-bench-src-")
        .tempdir()
        .map_err(|e| format!("create a temporary directory: {e}"))?;
    for (name, text) in [
        ("main.py", "print(\"hello, world\")\n"),
        ("hello.js", "process.stdout.write(\"hello, world\\n\");\n"),
    ] {
        std::fs::write(dir.path().join(name), text).map_err(|e| format!("write {name}: {e}"))?;
    }
    Ok(dir)
}

/// Warm executes of `cmd` in a session on `spec` (or the base spec) with `sources` copied in.
async fn warm(
    runtime: &Runtime,
    spec: Option<EnvironmentSpec>,
    sources: &Path,
    cmd: &str,
    warmup: usize,
    n: usize,
) -> Result<Vec<std::time::Duration>, Error> {
    let session = match spec {
        Some(s) => runtime.session_on(s, Some(sources)).await?,
        None => {
            // No address-space limit: node reserves more than 512 MiB of virtual memory.
            let extra = "limits: { timeout: 120s, memory: null }\n";
            runtime.session(extra, Some(sources)).await?
        }
    };
    let rt = spawn(&session).await?;
    let mut samples = Vec::with_capacity(n);
    for i in 0..warmup + n {
        let (took, r) = timed_execute(rt.as_ref(), cmd).await?;
        expect_stdout(&r, HELLO)?;
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

/// The rows of one interpreter: new-process cold and disk runs, warm in-process runs, and the
/// native interpreter through `local`.
#[expect(
    clippy::too_many_arguments,
    reason = "one call per interpreter, all named at the call"
)]
async fn interpreter(
    b: &mut Bench,
    files: &GuestFiles,
    program: ChildProgram,
    name: &str,
    found: Result<(), Error>,
    wasi_cmd: &str,
    native_cmd: &str,
    native_label: &str,
) {
    let s = Section::Guests;
    let id = |k: &str| format!("guests.{name}.{k}");
    if let Err(why) = found {
        for (k, label) in [
            ("cold.first", "first run, compile"),
            ("disk.first", "first run, disk cache"),
            ("wasi.warm", "warm execute"),
        ] {
            b.report.push(
                s,
                &id(k),
                format!("wasi {name}: {label}"),
                Measure::Unavailable(why.clone()),
                "",
            );
        }
    } else {
        let (n_cold, n_disk) = (b.opts.n(2, 1), b.opts.n(3, 1));
        children(
            b,
            s,
            &format!("guests.{name}"),
            &format!("wasi {name}"),
            program,
            n_cold,
            n_disk,
        )
        .await;
        // The warm runs load the module the children compiled, when they did.
        let primed = b.tmp.path().join(format!("guests.{name}-cache-0"));
        let result = match (sources(), files.spec(), wasi_factory(&primed)) {
            (Ok(src), Ok(spec), Ok(factory)) => {
                let rt = Runtime::wasi(factory);
                warm(&rt, Some(spec), src.path(), wasi_cmd, 2, b.opts.n(20, 5)).await
            }
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Err(e),
        };
        b.push_times(
            s,
            &id("wasi.warm"),
            format!("wasi {name}: warm execute, `{wasi_cmd}`"),
            result,
            "one runtime, module in memory",
        );
    }
    let native = match sources() {
        Ok(src) => warm(&b.local, None, src.path(), native_cmd, 2, b.opts.n(20, 5)).await,
        Err(e) => Err(e),
    };
    b.push_times(
        s,
        &id("local.native"),
        format!("local: `{native_cmd}` ({native_label})"),
        native,
        "host interpreter, sh -c",
    );
    for k in ["wasi.warm", "cold.first", "disk.first"] {
        b.report
            .ratio(&id(k), "wasi/native", &id(k), &id("local.native"));
    }
}

pub(crate) async fn run(b: &mut Bench) {
    let files = match GuestFiles::find() {
        Ok(f) => f,
        Err(why) => {
            b.report.push(
                Section::Guests,
                "guests",
                "python and QuickJS guests",
                Measure::Unavailable(why),
                "",
            );
            return;
        }
    };
    let python_found = files.installed("python");
    interpreter(
        b,
        &files,
        ChildProgram::Python,
        "python",
        python_found,
        PYTHON_CMD,
        "python3 main.py",
        "host python3",
    )
    .await;
    let node_found = files.installed("node");
    interpreter(
        b,
        &files,
        ChildProgram::Node,
        "quickjs",
        node_found,
        NODE_CMD,
        "node hello.js",
        "host node",
    )
    .await;
}
