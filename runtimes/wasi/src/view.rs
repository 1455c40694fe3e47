//! What the guest sees of the filesystem, and how command words and program modules resolve
//! to module files.
//!
//! Guest view (longest prefix wins, as in wasi-libc):
//! - the workdir (default `/workspace`): the workspace, read-write (unless
//!   `wasi.mount_workspace: false`: then no workspace at all).
//! - `/`: the working directory (`wasi.cwd`, default the workspace). wasi-libc starts every
//!   program at `/`, so `open("input.txt")` and `python main.py` land in the working directory.
//! - `/static`: the runtime's static root, read-only; each file asset is there at its
//!   `save_path`, each directory asset is its own read-only preopen at `/static/<save_path>`.
//! - spec `wasi.mounts` and spawn mounts at their targets, read-only unless `writable`.
//! - a program's own `mounts`, read-only, for that program only.

use std::os::fd::{AsFd as _, AsRawFd as _};
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

/// A directory handed to the guest for one execution ([`GuestView::preopens_for`]).
pub(crate) struct GuestDir {
    /// The host path to preopen: the directory itself, or `/proc/self/fd/N` of a directory
    /// opened beneath a preopen (so a symlink in a workspace cannot lead it elsewhere).
    pub(crate) host: PathBuf,
    pub(crate) guest: String,
    pub(crate) writable: bool,
    /// Keeps a directory opened beneath a preopen alive until it is preopened.
    _held: Option<cap_std::fs::Dir>,
}

impl GuestDir {
    fn of(p: &Preopen, guest: &str) -> Self {
        Self {
            host: p.host.clone(),
            guest: guest.to_string(),
            writable: p.writable,
            _held: None,
        }
    }
}

/// Everything a runtime shows its guests; built once at spawn.
pub(crate) struct GuestView {
    pub(crate) workdir: String,
    /// The workspace; preopened at `workdir` only when `mount_workspace`, but command words
    /// name modules in it either way.
    pub(crate) workspace: Preopen,
    mount_workspace: bool,
    /// The working directory (`wasi.cwd`), a guest path; `None`: the workspace.
    cwd: Option<String>,
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

/// The preopen that holds the absolute, normalized guest `path` (the longest prefix wins, as
/// in wasi-libc), and the rest of the path below it.
fn longest<'a, 'p>(
    path: &'p str,
    candidates: impl IntoIterator<Item = &'a Preopen>,
) -> Option<(&'a Preopen, &'p str)> {
    let mut best: Option<(&Preopen, &str)> = None;
    for p in candidates {
        if let Some(rest) = strip(path, &p.guest)
            && best.is_none_or(|(b, _)| p.guest.len() > b.guest.len())
        {
            best = Some((p, rest));
        }
    }
    best
}

/// `rel` below `base` (`rel` may be empty).
fn below(base: &str, rel: &str) -> String {
    match (base, rel) {
        (_, "") => base.to_string(),
        ("" | ".", _) => rel.to_string(),
        _ => format!("{base}/{rel}"),
    }
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
            mount_workspace: config.mount_workspace,
            cwd: config.cwd.clone(),
            preopens,
            _static_root: static_root,
        })
    }

    /// The directories the guest sees at a path: the workspace (when mounted), the static
    /// root, asset directories and mounts.
    fn shown(&self) -> impl Iterator<Item = &Preopen> {
        self.mount_workspace
            .then_some(&self.workspace)
            .into_iter()
            .chain(&self.preopens)
    }

    /// Checks that `wasi.cwd` is in the view (a program's own mounts do not count).
    ///
    /// # Errors
    /// A message for `wasi.cwd` naming the path and what the guest sees.
    pub(crate) fn check_cwd(&self) -> Result<(), String> {
        let Some(cwd) = &self.cwd else {
            return Ok(());
        };
        if longest(cwd, self.shown()).is_none() {
            return Err(format!(
                "`{cwd}` is not in the guest's view, which holds {}",
                self.describe()
            ));
        }
        Ok(())
    }

    /// What `/` shows: the working directory's preopen and the path below it.
    fn root(&self) -> Option<(&Preopen, &str)> {
        match &self.cwd {
            Some(cwd) => longest(cwd, self.shown()),
            None if self.mount_workspace => Some((&self.workspace, "")),
            None => None,
        }
    }

    /// What the guest sees, for messages: `/workspace (the workspace), / (...), /static, /data`.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.mount_workspace {
            parts.push(format!("{} (the workspace)", self.workdir));
        }
        if self.workdir != "/" && self.root().is_some() {
            match &self.cwd {
                Some(cwd) => parts.push(format!("/ (the working directory {cwd})")),
                None => parts.push("/ (the workspace)".into()),
            }
        }
        parts.extend(
            self.preopens
                .iter()
                .filter(|p| !p.guest.starts_with("/static/"))
                .map(|p| p.guest.clone()),
        );
        if parts.is_empty() {
            "no directory".into()
        } else {
            parts.join(", ")
        }
    }

    /// The directories the guest gets for one execution, in preopen order (fd 3 onwards):
    /// the workspace at the workdir (when mounted), the working directory at `/`, the static
    /// root, asset directories and mounts, then `program_mounts`. A working directory below
    /// a preopen is opened beneath it now (a symlink cannot lead it out), so it may be one a
    /// setup command made.
    ///
    /// # Errors
    /// When the working directory cannot be opened.
    pub(crate) fn preopens_for(
        &self,
        program_mounts: &[Preopen],
    ) -> Result<Vec<GuestDir>, RuntimeError> {
        let mut dirs = Vec::new();
        if self.mount_workspace {
            dirs.push(GuestDir::of(&self.workspace, &self.workdir));
        }
        if self.workdir != "/"
            && let Some((p, rest)) = self.root()
        {
            if rest.is_empty() {
                dirs.push(GuestDir::of(p, "/"));
            } else {
                let dir = p.dir.open_dir(rest).map_err(|e| {
                    RuntimeError::backend(
                        format!(
                            "open the working directory `{}`",
                            self.cwd.as_deref().unwrap_or(rest)
                        ),
                        e,
                    )
                })?;
                dirs.push(GuestDir {
                    host: PathBuf::from(format!("/proc/self/fd/{}", dir.as_fd().as_raw_fd())),
                    guest: "/".into(),
                    writable: p.writable,
                    _held: Some(dir),
                });
            }
        }
        for p in self.preopens.iter().chain(program_mounts) {
            dirs.push(GuestDir::of(p, &p.guest));
        }
        Ok(dirs)
    }

    /// Locates a guest path (absolute, or relative to the working directory) in the view.
    /// `via_root`: an absolute path outside every other preopen is looked up in what `/`
    /// shows (commands: yes; program modules: no). Returns the module and whether only `/`
    /// held it.
    fn locate(
        &self,
        guest: &str,
        extra: &[Preopen],
        via_root: bool,
    ) -> Result<Option<(ModuleSource, bool)>, String> {
        if !guest.starts_with('/') {
            let rel = normalize_relative(guest)?;
            return Ok(match &self.cwd {
                Some(cwd) => longest(cwd, self.shown())
                    .map(|(p, rest)| (self.confined(p, &below(rest, &rel), guest), false)),
                None => Some((self.confined(&self.workspace, &rel, guest), false)),
            });
        }
        let path = normalize_guest_path(guest)?;
        let candidates = std::iter::once(&self.workspace)
            .chain(&self.preopens)
            .chain(extra);
        if let Some((p, rest)) = longest(&path, candidates) {
            return Ok(Some((self.confined(p, rest, guest), false)));
        }
        if !via_root {
            return Ok(None);
        }
        Ok(self.root().map(|(p, base)| {
            let rest = path.trim_start_matches('/');
            (self.confined(p, &below(base, rest), guest), true)
        }))
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
                .resolve_program(first, program, rest, config, spec_base)
                .map(Resolved::Run);
        }
        let looks_like_module =
            first.ends_with(".wasm") || first.ends_with(".wat") || first.contains('/');
        if !looks_like_module {
            return Ok(Resolved::NotFound(format!(
                "subrun: {first}: command not found (not in wasi.programs, and not a .wasm or .wat file)\n"
            )));
        }
        let outside = || {
            Resolved::NotFound(format!(
                "subrun: {first}: not in the guest's view, which holds {}; a module on the host runs through a mount or a `wasi.programs` entry\n",
                self.describe()
            ))
        };
        let source = match self.locate(first, &[], true) {
            Ok(Some((source, true))) if !exists(&source) => return Ok(outside()),
            Ok(Some((source, _))) => source,
            Ok(None) if first.starts_with('/') => return Ok(outside()),
            Ok(None) => {
                return Ok(Resolved::NotFound(format!(
                    "subrun: {first}: No such file or directory\n"
                )));
            }
            Err(reason) => return Ok(Resolved::NotFound(format!("subrun: {first}: {reason}\n"))),
        };
        let mut argv = words.to_vec();
        if let Some(argv0) = &config.argv0 {
            argv[0].clone_from(argv0);
        }
        Ok(Resolved::Run(Invocation {
            source,
            argv,
            program_env: Vec::new(),
            program_mounts: Vec::new(),
            entry: EntryPoint::Auto,
            deadline_factor: 1.0,
        }))
    }

    fn resolve_program(
        &self,
        word: &str,
        program: &ProgramConfig,
        rest: &[String],
        config: &WasiConfig,
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
            Ok(Some((s, _))) if program.module.starts_with('/') => s,
            _ => {
                let p = PathBuf::from(&program.module);
                ModuleSource::Host(if p.is_absolute() {
                    p
                } else {
                    spec_base.join(p)
                })
            }
        };
        let argv0 = config.argv0.as_ref().or(program.argv0.as_ref());
        let mut argv = vec![argv0.cloned().unwrap_or_else(|| word.to_string())];
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

/// Whether a module file in the view exists (an unreadable one counts as existing: loading
/// it says why). A host path from the spec is not probed here.
fn exists(source: &ModuleSource) -> bool {
    match source {
        ModuleSource::Confined { dir, rel, .. } => {
            !matches!(dir.metadata(rel), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
        }
        ModuleSource::Host(_) => true,
    }
}
