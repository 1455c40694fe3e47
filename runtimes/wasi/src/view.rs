//! What the guest sees of the filesystem, and how command words and program modules resolve
//! to module files.
//!
//! Guest view (longest prefix wins, as in wasi-libc):
//! - `/` and the workdir (default `/workspace`): the workspace, read-write. wasi-libc's
//!   working directory is `/`, so `open("input.txt")` lands in the workspace too.
//! - `/static`: the runtime's static root, read-only; each file asset is there at its
//!   `save_path`, each directory asset is its own read-only preopen at `/static/<save_path>`.
//! - spec `wasi.mounts` and spawn mounts at their targets, read-only unless `writable`.
//! - a program's own `mounts`, read-only, for that program only.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use cap_std::ambient_authority;
use subrun::assets::normalize_relative;
use subrun::runtime::ResolvedAsset;
use subrun::{Mount, RuntimeError};

use crate::cache::ModuleSource;
use crate::config::{EntryPoint, ProgramConfig, WasiConfig};

/// A directory the guest sees at `guest`.
pub(crate) struct Preopen {
    pub(crate) guest: String,
    pub(crate) host: PathBuf,
    pub(crate) writable: bool,
    dir: Arc<cap_std::fs::Dir>,
}

impl Preopen {
    /// Opens `host` (ambient authority: host paths come from the spec, the caller or the
    /// engine, never from the guest).
    pub(crate) fn open_ambient(
        guest: String,
        host: PathBuf,
        writable: bool,
    ) -> Result<Self, RuntimeError> {
        let dir = cap_std::fs::Dir::open_ambient_dir(&host, ambient_authority()).map_err(|e| {
            RuntimeError::backend(
                format!("open `{}` for the guest path `{guest}`", host.display()),
                e,
            )
        })?;
        Ok(Self {
            guest,
            host,
            writable,
            dir: Arc::new(dir),
        })
    }
}

/// Everything a runtime shows its guests; built once at spawn.
pub(crate) struct GuestView {
    pub(crate) workdir: String,
    pub(crate) workspace: Preopen,
    /// Static root, asset dirs and mounts, in a stable order.
    pub(crate) preopens: Vec<Preopen>,
    /// Owns the static root directory (removed on drop).
    _static_root: Option<subrun::tempdirs::PrivateDir>,
}

/// What a command resolved to.
pub(crate) enum Resolved {
    /// Run this module.
    Run(Invocation),
    /// Nothing runnable: exit 127 with this message on stderr.
    NotFound(String),
}

/// A module to run and how.
pub(crate) struct Invocation {
    pub(crate) source: ModuleSource,
    pub(crate) argv: Vec<String>,
    pub(crate) program_env: Vec<(String, String)>,
    pub(crate) program_mounts: Vec<Preopen>,
    pub(crate) entry: EntryPoint,
    pub(crate) deadline_factor: f64,
}

/// Normalizes an absolute guest path (`/a/./b` -> `/a/b`); `..` is refused.
pub(crate) fn normalize_guest_path(p: &str) -> Result<String, String> {
    if !p.starts_with('/') {
        return Err(format!("`{p}` is not absolute"));
    }
    let mut parts = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => return Err(format!("`{p}` contains `..`")),
            Component::Prefix(_) => return Err(format!("`{p}` is not a guest path")),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

/// `rest` of `path` below `prefix`, if `path` is `prefix` or beneath it.
fn strip<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix == "/" {
        return Some(path.trim_start_matches('/'));
    }
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix('/')
    }
}

impl GuestView {
    /// Builds the view: opens the workspace, lays out the static root (file assets are
    /// hard-linked, or copied across filesystems), opens asset directories and mounts.
    pub(crate) fn build(
        config: &WasiConfig,
        workspace: &Path,
        assets: &[ResolvedAsset],
        mounts: &[Mount],
    ) -> Result<Self, RuntimeError> {
        let workdir = config.workdir.clone();
        let ws = Preopen::open_ambient(workdir.clone(), workspace.to_path_buf(), true)?;
        let mut preopens = Vec::new();
        let mut static_root = None;
        if !assets.is_empty() {
            let root = subrun::tempdirs::PrivateDir::create("static")
                .map_err(|e| RuntimeError::backend("create the static asset directory", e))?;
            for a in assets {
                let dest = root.path().join(&a.save_path);
                let parent = dest.parent().unwrap_or(root.path());
                std::fs::create_dir_all(parent)
                    .map_err(|e| RuntimeError::backend(format!("lay out asset `{}`", a.name), e))?;
                if a.is_dir {
                    std::fs::create_dir_all(&dest).map_err(|e| {
                        RuntimeError::backend(format!("lay out asset `{}`", a.name), e)
                    })?;
                } else if std::fs::hard_link(&a.host_path, &dest).is_err() {
                    std::fs::copy(&a.host_path, &dest).map_err(|e| {
                        RuntimeError::backend(format!("copy asset `{}`", a.name), e)
                    })?;
                }
            }
            preopens.push(Preopen::open_ambient(
                "/static".into(),
                root.path().to_path_buf(),
                false,
            )?);
            for a in assets.iter().filter(|a| a.is_dir) {
                preopens.push(Preopen::open_ambient(
                    a.static_path(),
                    a.host_path.clone(),
                    false,
                )?);
            }
            static_root = Some(root);
        }
        for m in mounts {
            preopens.push(Preopen::open_ambient(
                m.target.clone(),
                m.host.clone(),
                m.writable,
            )?);
        }
        Ok(Self {
            workdir,
            workspace: ws,
            preopens,
            _static_root: static_root,
        })
    }

    /// Locates a guest path (absolute, or relative to the working directory) in the view.
    fn locate(
        &self,
        guest: &str,
        extra: &[Preopen],
        catch_all: bool,
    ) -> Result<Option<ModuleSource>, String> {
        if !guest.starts_with('/') {
            let rel = normalize_relative(guest)?;
            return Ok(Some(self.confined(&self.workspace, &rel, guest)));
        }
        let path = normalize_guest_path(guest)?;
        let mut best: Option<(&Preopen, &str)> = None;
        let candidates = std::iter::once(&self.workspace)
            .chain(&self.preopens)
            .chain(extra);
        for p in candidates {
            if let Some(rest) = strip(&path, &p.guest)
                && best.is_none_or(|(b, _)| p.guest.len() > b.guest.len())
            {
                best = Some((p, rest));
            }
        }
        match best {
            Some((p, rest)) => Ok(Some(self.confined(p, rest, guest))),
            None if catch_all => {
                let rest = path.trim_start_matches('/');
                Ok(Some(self.confined(&self.workspace, rest, guest)))
            }
            None => Ok(None),
        }
    }

    fn confined(&self, p: &Preopen, rel: &str, display: &str) -> ModuleSource {
        ModuleSource::Confined {
            dir: p.dir.clone(),
            rel: if rel.is_empty() {
                ".".into()
            } else {
                rel.to_string()
            },
            display: display.to_string(),
        }
    }

    /// Resolves the words of a command: a `programs` entry, or a `.wasm`/`.wat` file (any
    /// path containing `/` too) in the guest view.
    pub(crate) fn resolve_command(
        &self,
        words: &[String],
        config: &WasiConfig,
        spec_base: &Path,
    ) -> Result<Resolved, RuntimeError> {
        let (first, rest) = words
            .split_first()
            .ok_or_else(|| RuntimeError::InvalidCommand {
                command: String::new(),
                source: subrun::command::CommandError::Empty,
            })?;
        if let Some(program) = config.programs.get(first) {
            return self
                .resolve_program(first, program, rest, spec_base)
                .map(Resolved::Run);
        }
        let looks_like_module =
            first.ends_with(".wasm") || first.ends_with(".wat") || first.contains('/');
        if !looks_like_module {
            return Ok(Resolved::NotFound(format!(
                "subrun: {first}: command not found (not in wasi.programs, and not a .wasm or .wat file)\n"
            )));
        }
        match self.locate(first, &[], true) {
            Ok(Some(source)) => Ok(Resolved::Run(Invocation {
                source,
                argv: words.to_vec(),
                program_env: Vec::new(),
                program_mounts: Vec::new(),
                entry: EntryPoint::Auto,
                deadline_factor: 1.0,
            })),
            Ok(None) => Ok(Resolved::NotFound(format!(
                "subrun: {first}: No such file or directory\n"
            ))),
            Err(reason) => Ok(Resolved::NotFound(format!("subrun: {first}: {reason}\n"))),
        }
    }

    fn resolve_program(
        &self,
        word: &str,
        program: &ProgramConfig,
        rest: &[String],
        spec_base: &Path,
    ) -> Result<Invocation, RuntimeError> {
        let mut mounts = Vec::new();
        for (guest, host) in &program.mounts {
            let host = PathBuf::from(host);
            let host = if host.is_absolute() {
                host
            } else {
                spec_base.join(host)
            };
            mounts.push(Preopen::open_ambient(guest.clone(), host, false)?);
        }
        // A guest path under the workdir, /static or a mount; else a host path from the spec.
        let source = match self.locate(&program.module, &mounts, false) {
            Ok(Some(s)) if program.module.starts_with('/') => s,
            _ => {
                let p = PathBuf::from(&program.module);
                ModuleSource::Host(if p.is_absolute() {
                    p
                } else {
                    spec_base.join(p)
                })
            }
        };
        let mut argv = vec![program.argv0.clone().unwrap_or_else(|| word.to_string())];
        argv.extend(program.args.iter().cloned());
        argv.extend(rest.iter().cloned());
        Ok(Invocation {
            source,
            argv,
            program_env: program
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            program_mounts: mounts,
            entry: program.entry,
            deadline_factor: program.deadline_factor.unwrap_or(1.0),
        })
    }
}
