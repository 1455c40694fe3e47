//! C and C++ submissions: clang with wasi-libc (`--target=wasm32-wasi`, the triple clang 14
//! knows; the module is a `wasm32-wasip1` command). Before compiling, every piece clang needs
//! is looked up through clang itself, so a missing one is named with its Debian package.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{BuildError, BuildOptions, Built, collect_diagnostics, create_parent, output_path};

/// clang's name for the target.
const CLANG_TARGET: &str = "--target=wasm32-wasi";

/// The Debian major version of clang assumed when clang itself is missing (bookworm's).
const DEFAULT_CLANG_MAJOR: &str = "14";

/// The language of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Language {
    /// C, with `clang`.
    C,
    /// C++, with `clang++` and `-fno-exceptions` (wasi-libc's libc++ has no exceptions).
    Cpp,
}

impl Language {
    fn compiler(self) -> &'static str {
        match self {
            Language::C => "clang",
            Language::Cpp => "clang++",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Language::C => "C",
            Language::Cpp => "C++",
        }
    }
}

/// A piece of the toolchain clang could not find.
struct Missing {
    /// What it is, for the message.
    what: &'static str,
    /// The Debian package that provides it.
    package: String,
}

/// Compiles `file` to `options.out` (default `<stem>.wasm`).
///
/// # Errors
/// See [`super::build`].
pub(super) fn build(
    file: &Path,
    lang: Language,
    options: &BuildOptions,
) -> Result<Built, BuildError> {
    let sysroot = sysroot();
    check_toolchain(lang, sysroot.as_ref())?;
    let stem = file
        .file_stem()
        .map_or_else(|| "main".into(), |s| s.to_string_lossy().into_owned());
    let out = output_path(options, &stem);
    create_parent(&out)?;
    let mut cmd = Command::new(lang.compiler());
    cmd.arg(CLANG_TARGET).arg("-O2");
    if let Some(root) = &sysroot {
        cmd.arg(sysroot_flag(root));
    }
    if lang == Language::Cpp {
        cmd.arg("-fno-exceptions");
    }
    cmd.arg("-o")
        .arg(&out)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let run_tool = |source| BuildError::RunTool {
        tool: lang.compiler().into(),
        source,
    };
    let mut child = cmd.spawn().map_err(run_tool)?;
    let diagnostics = child
        .stderr
        .take()
        .map(|stderr| collect_diagnostics(stderr, options.echo))
        .unwrap_or_default();
    let status = child.wait().map_err(run_tool)?;
    if !status.success() {
        return Err(BuildError::Failed {
            what: format!("{} of {}", lang.compiler(), file.display()),
            diagnostics,
        });
    }
    Ok(Built {
        module: out,
        diagnostics,
    })
}

/// `WASI_SYSROOT` (the wasi-sdk convention), when set and not empty.
fn sysroot() -> Option<OsString> {
    std::env::var_os("WASI_SYSROOT").filter(|s| !s.is_empty())
}

fn sysroot_flag(root: &OsString) -> OsString {
    let mut flag = OsString::from("--sysroot=");
    flag.push(root);
    flag
}

/// Asks clang where the linker, wasi-libc, compiler-rt (and libc++) are; fails naming every
/// missing piece and the one `apt-get install` line that provides them.
fn check_toolchain(lang: Language, sysroot: Option<&OsString>) -> Result<(), BuildError> {
    let compiler = lang.compiler();
    let version = match Command::new(compiler).arg("-dumpversion").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Ok(_) | Err(_) => {
            let mut packages = vec!["clang".to_string(), "lld".into(), "wasi-libc".into()];
            packages.extend(runtime_packages(lang, DEFAULT_CLANG_MAJOR));
            return Err(BuildError::ToolMissing(format!(
                "`{compiler}` is not installed (or does not run): subrun builds {} for WebAssembly with clang and wasi-libc. Install them (Debian/Ubuntu, as root) with: {}",
                lang.name(),
                apt_line(&packages)
            )));
        }
    };
    let major = version.split('.').next().unwrap_or(DEFAULT_CLANG_MAJOR);
    let probe = |arg: &[&str]| -> Option<PathBuf> {
        let mut cmd = Command::new(compiler);
        cmd.arg(CLANG_TARGET);
        if let Some(root) = sysroot {
            cmd.arg(sysroot_flag(root));
        }
        let out = cmd.args(arg).stdin(Stdio::null()).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let path = PathBuf::from(text);
        (out.status.success() && path.is_absolute() && path.is_file()).then_some(path)
    };
    let mut missing = Vec::new();
    let mut need = |found: Option<PathBuf>, what: &'static str, package: String| {
        if found.is_none() {
            missing.push(Missing { what, package });
        }
    };
    need(
        probe(&["-print-prog-name=wasm-ld"]),
        "wasm-ld, the WebAssembly linker",
        "lld".into(),
    );
    need(
        probe(&["-print-file-name=libc.a"]),
        "wasi-libc (libc.a for wasm32-wasi)",
        "wasi-libc".into(),
    );
    need(
        probe(&["--rtlib=compiler-rt", "-print-libgcc-file-name"]),
        "compiler-rt's builtins for wasm32",
        format!("libclang-rt-{major}-dev-wasm32"),
    );
    if lang == Language::Cpp {
        need(
            probe(&["-print-file-name=libc++.a"]),
            "libc++ for wasm32-wasi",
            format!("libc++-{major}-dev-wasm32"),
        );
        need(
            probe(&["-print-file-name=libc++abi.a"]),
            "libc++abi for wasm32-wasi",
            format!("libc++abi-{major}-dev-wasm32"),
        );
    }
    if missing.is_empty() {
        return Ok(());
    }
    let what: Vec<&str> = missing.iter().map(|m| m.what).collect();
    let packages: Vec<String> = missing.into_iter().map(|m| m.package).collect();
    let sysroot_note = sysroot.map_or_else(String::new, |root| {
        format!(
            " (WASI_SYSROOT={} is set: clang looks for wasi-libc there; unset it to use the system's)",
            root.to_string_lossy()
        )
    });
    Err(BuildError::ToolMissing(format!(
        "clang {version} cannot build {} for WebAssembly: missing {}{sysroot_note}. Install (Debian/Ubuntu, as root) with: {}",
        lang.name(),
        what.join(", "),
        apt_line(&packages)
    )))
}

/// The compiler-rt (and for C++, libc++) packages of clang `major`.
fn runtime_packages(lang: Language, major: &str) -> Vec<String> {
    let mut p = vec![format!("libclang-rt-{major}-dev-wasm32")];
    if lang == Language::Cpp {
        p.push(format!("libc++-{major}-dev-wasm32"));
        p.push(format!("libc++abi-{major}-dev-wasm32"));
    }
    p
}

/// The Debian command that installs `packages`.
fn apt_line(packages: &[String]) -> String {
    format!(
        "apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpp_needs_libcxx_too() {
        assert_eq!(
            runtime_packages(Language::C, "14"),
            ["libclang-rt-14-dev-wasm32"]
        );
        assert_eq!(
            runtime_packages(Language::Cpp, "19"),
            [
                "libclang-rt-19-dev-wasm32",
                "libc++-19-dev-wasm32",
                "libc++abi-19-dev-wasm32"
            ]
        );
    }
}
