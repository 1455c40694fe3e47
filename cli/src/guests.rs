//! Interpreter guests (`python`, `python3`, `node`) for the default spec: where their files
//! live and which of them are installed.
//!
//! The table is data: each entry names its command words, its module file and the support
//! files it needs in the guest directory. An entry whose files are all present becomes a
//! `wasi.programs` entry for each of its words; the guest directory is shown to it read-only
//! at [`GUEST_MOUNT`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// Where an interpreter guest sees the guest directory (read-only).
pub(crate) const GUEST_MOUNT: &str = "/usr/lib/subrun/guests";

/// The script that fetches and verifies the guest files.
pub(crate) const FETCH_SCRIPT: &str = "scripts/fetch-guests.sh";

/// One interpreter guest.
#[derive(Debug)]
pub(crate) struct GuestProgram {
    /// Command words that run it.
    pub(crate) words: &'static [&'static str],
    /// What it is, for messages.
    pub(crate) what: &'static str,
    /// The module file in the guest directory.
    pub(crate) module: &'static str,
    /// Other files it needs from the guest directory.
    pub(crate) support: &'static [&'static str],
    /// argv after `argv[0]`, before the command's own arguments; `{guests}` is replaced by
    /// [`GUEST_MOUNT`].
    pub(crate) args: &'static [&'static str],
    /// The deadline factor (interpreted guests run several times slower than native code).
    pub(crate) deadline_factor: f64,
}

/// The interpreter guests the default spec knows.
pub(crate) const GUEST_PROGRAMS: &[GuestProgram] = &[
    GuestProgram {
        words: &["python", "python3"],
        what: "CPython 3.12 (WASI build)",
        module: "python-3.12.0.wasm",
        support: &[],
        args: &[],
        // A pure-Python loop runs about 8 times slower than native CPython.
        deadline_factor: 8.0,
    },
    GuestProgram {
        words: &["node"],
        what: "QuickJS-ng with a Node-like shim",
        module: "quickjs.wasm",
        support: &["node-shim.js"],
        args: &["--std", "-I", "{guests}/node-shim.js"],
        deadline_factor: 4.0,
    },
];

impl GuestProgram {
    /// The files this guest needs, module first.
    fn files(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.module).chain(self.support.iter().copied())
    }

    /// The files missing from `dir`.
    pub(crate) fn missing_in(&self, dir: &Path) -> Vec<PathBuf> {
        self.files()
            .map(|f| dir.join(f))
            .filter(|p| !p.is_file())
            .collect()
    }

    /// The `wasi.programs` entry (module and shim read through the read-only mount).
    fn program_entry(&self, dir: &Path) -> Value {
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| a.replace("{guests}", GUEST_MOUNT))
            .collect();
        json!({
            "module": format!("{GUEST_MOUNT}/{}", self.module),
            "args": args,
            "mounts": { GUEST_MOUNT: dir.display().to_string() },
            "deadline_factor": self.deadline_factor,
        })
    }
}

/// The guest directory: `$SUBRUN_GUEST_DIR`, else `$XDG_DATA_HOME/subrun/guests`, else
/// `$HOME/.local/share/subrun/guests` (ambient: reads the process environment).
pub(crate) fn guest_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("SUBRUN_GUEST_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(data) = var("XDG_DATA_HOME") {
        return Some(PathBuf::from(data).join("subrun").join("guests"));
    }
    var("HOME").map(|h| PathBuf::from(h).join(".local/share/subrun/guests"))
}

/// `wasi.programs` for every guest whose files are all in `dir`.
pub(crate) fn installed_programs(dir: Option<&Path>) -> BTreeMap<String, Value> {
    let mut programs = BTreeMap::new();
    let Some(dir) = dir else {
        return programs;
    };
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    for guest in GUEST_PROGRAMS {
        if guest.missing_in(&dir).is_empty() {
            for word in guest.words {
                programs.insert((*word).to_string(), guest.program_entry(&dir));
            }
        }
    }
    programs
}

/// When `word` names a known guest that is not installed, the message that says what is
/// missing and how to fetch it.
pub(crate) fn missing_guest_message(word: &str, dir: Option<&Path>) -> Option<String> {
    let guest = GUEST_PROGRAMS.iter().find(|g| g.words.contains(&word))?;
    let Some(dir) = dir else {
        return Some(format!(
            "`{word}` runs {what} from the guest directory, but none is set: set SUBRUN_GUEST_DIR (or HOME) and fetch the guests with `{FETCH_SCRIPT}` from the subrun repository",
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
        "`{word}` runs {what}, which is not installed: {list} missing. Fetch the guests with `{FETCH_SCRIPT}` from the subrun repository (it places them in the guest directory: $SUBRUN_GUEST_DIR, else $XDG_DATA_HOME/subrun/guests, else ~/.local/share/subrun/guests)",
        what = guest.what,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guest_is_offered_only_with_all_its_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(installed_programs(Some(dir.path())).is_empty());
        std::fs::write(dir.path().join("quickjs.wasm"), b"\0asm").unwrap();
        // The module alone is not enough: node also needs its shim.
        assert!(installed_programs(Some(dir.path())).is_empty());
        let msg = missing_guest_message("node", Some(dir.path())).unwrap();
        assert!(msg.contains("node-shim.js missing"), "{msg}");
        assert!(msg.contains(FETCH_SCRIPT), "{msg}");
        std::fs::write(dir.path().join("node-shim.js"), b"").unwrap();
        let programs = installed_programs(Some(dir.path()));
        assert_eq!(programs.keys().collect::<Vec<_>>(), ["node"]);
        assert_eq!(
            programs["node"]["args"],
            json!(["--std", "-I", "/usr/lib/subrun/guests/node-shim.js"])
        );
        assert_eq!(missing_guest_message("node", Some(dir.path())), None);
        assert!(missing_guest_message("python3", Some(dir.path())).is_some());
        assert_eq!(missing_guest_message("ls", Some(dir.path())), None);
    }

    #[test]
    fn python_and_python3_share_the_cpython_module() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("python-3.12.0.wasm"), b"\0asm").unwrap();
        let programs = installed_programs(Some(dir.path()));
        assert_eq!(programs.keys().collect::<Vec<_>>(), ["python", "python3"]);
        assert_eq!(
            programs["python3"]["module"],
            "/usr/lib/subrun/guests/python-3.12.0.wasm"
        );
        assert_eq!(programs["python"]["deadline_factor"], 8.0);
    }
}
