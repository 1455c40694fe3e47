//! subrun's own `problem.yaml`.
//!
//! ```yaml
//! name: sum                     # default: the directory's name
//! runtime: wasi                 # or `spec: env.yaml` (relative to the problem); default:
//!                               # the caller's spec
//! limits: { time: 2s, memory: 256MiB, output: 1MiB }   # each optional
//! checker: tokens               # exact | tokens | lines | unordered
//!                               # | { floats: { absolute: 1e-6, relative: 1e-9 } }
//!                               # | { program: check.wasm, convention: testlib | kattis,
//!                               #     args: [], limits: { time: 10s, memory: 512MiB } }
//! groups:
//!   - name: samples
//!     points: 0                 # default 1 per case
//!     scoring: sum              # sum (default) | min
//!     depends_on: [other]       # groups that must be fully accepted first, else SKIP
//!     cases:
//!       - name: one
//!         args: [--fast]        # appended to the submission's command
//!         stdin: "1 2\n"        # or stdin_file: cases/one.in
//!         files: { data.txt: cases/one.data }   # workspace path: problem file
//!         stdout: "3\n"         # or stdout_file: cases/one.ans; neither: any output
//!         expected_files:       # workspace path: content, or { file: problem file }
//!           out.txt: "3\n"
//!           log/sum.txt: { file: cases/one.sum }
//! ```
//!
//! Unknown keys are errors. Every path is relative to the problem directory and stays in it
//! (no `..`, not absolute); a workspace path in `files` is confined by the engine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use subrun::EnvironmentSpec;
use subrun::input::InputFile;
use subrun::spec::units::ByteSize;

use super::{
    Case, ExpectedFile, Group, Layout, Problem, ProblemEnvironment, ProblemError, ProblemLimits,
};
use crate::checker::Checker;
use crate::scoring::Scoring;

/// The document, as parsed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemFile {
    /// The problem's name.
    #[serde(default)]
    pub name: Option<String>,
    /// A runtime by name.
    #[serde(default)]
    pub runtime: Option<String>,
    /// An environment spec file, relative to the problem directory.
    #[serde(default)]
    pub spec: Option<PathBuf>,
    /// Limits per case.
    #[serde(default)]
    pub limits: LimitsFile,
    /// The checker: a name, `{ floats: { absolute, relative } }` (read by
    /// [`parse_checker`]) or `{ program: FILE, convention, args, limits }`.
    #[serde(default)]
    pub checker: Option<serde_yaml::Value>,
    /// The groups.
    pub groups: Vec<GroupFile>,
}

/// `limits`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// Wall-clock deadline per case (`2s`, `500ms`).
    #[serde(default, with = "subrun::spec::units::option_duration_serde")]
    pub time: Option<Duration>,
    /// Memory per case (`256MiB`).
    #[serde(default)]
    pub memory: Option<ByteSize>,
    /// Output per stream (`1MiB`).
    #[serde(default)]
    pub output: Option<ByteSize>,
}

/// One entry of `groups`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    /// The group's name.
    pub name: String,
    /// Its points (default: one per case).
    #[serde(default)]
    pub points: Option<f64>,
    /// Its scoring.
    #[serde(default)]
    pub scoring: Scoring,
    /// Groups that must be fully accepted before this one runs.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Its cases.
    pub cases: Vec<CaseFile>,
}

/// One entry of `cases`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// The case's name.
    pub name: String,
    /// Arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// stdin, inline.
    #[serde(default)]
    pub stdin: Option<String>,
    /// stdin from a problem file.
    #[serde(default)]
    pub stdin_file: Option<PathBuf>,
    /// Workspace path -> problem file.
    #[serde(default)]
    pub files: BTreeMap<String, PathBuf>,
    /// The expected stdout, inline.
    #[serde(default)]
    pub stdout: Option<String>,
    /// The expected stdout from a problem file.
    #[serde(default)]
    pub stdout_file: Option<PathBuf>,
    /// Workspace path -> the content the case must leave there.
    #[serde(default)]
    pub expected_files: BTreeMap<String, ExpectedSource>,
}

/// An entry of `expected_files`: the content inline (`out.txt: "3\n"`) or a problem file
/// (`out.txt: { file: answers/out.txt }`).
#[derive(Debug)]
pub enum ExpectedSource {
    /// The content itself.
    Inline(String),
    /// A file of the problem, relative to its directory.
    File(PathBuf),
}

impl<'de> Deserialize<'de> for ExpectedSource {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ExpectedSource;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the expected content as a string, or { file: PATH }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ExpectedSource::Inline(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut file = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "file" if file.is_none() => file = Some(map.next_value::<PathBuf>()?),
                        "file" => return Err(serde::de::Error::duplicate_field("file")),
                        other => return Err(serde::de::Error::unknown_field(other, &["file"])),
                    }
                }
                file.map(ExpectedSource::File)
                    .ok_or_else(|| serde::de::Error::missing_field("file"))
            }
        }
        de.deserialize_any(Visitor)
    }
}

pub(super) fn load(dir: &Path, dir_name: String) -> Result<Problem, ProblemError> {
    let file = dir.join("problem.yaml");
    let text = String::from_utf8_lossy(&super::read(&file)?).into_owned();
    let de = serde_yaml::Deserializer::from_str(&text);
    let doc: ProblemFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        let message = e.into_inner().to_string();
        // serde_yaml prefixes its own (shorter) path; the key already says where.
        let message = match message.split_once(": ") {
            Some((path, rest)) if !path.contains(' ') && key.starts_with(path) => rest.to_owned(),
            _ => message,
        };
        ProblemError::invalid(&file, key, None, message)
    })?;
    let bad = |key: String, case: Option<&str>, message: String| {
        ProblemError::invalid(&file, key, case, message)
    };

    let environment = match (&doc.runtime, &doc.spec) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "spec".into(),
                None,
                "give `runtime` or `spec`, not both".into(),
            ));
        }
        (Some(r), None) => Some(ProblemEnvironment::Runtime(r.clone())),
        (None, Some(p)) => {
            let path = inside(dir, p).map_err(|m| bad("spec".into(), None, m))?;
            Some(ProblemEnvironment::Spec(Box::new(
                EnvironmentSpec::from_path(path)?,
            )))
        }
        (None, None) => None,
    };
    let checker = match &doc.checker {
        None => Checker::default(),
        Some(v) if v.get("program").is_some() => Checker::Program(
            super::program::native_program(dir, v).map_err(|(key, m)| bad(key, None, m))?,
        ),
        Some(v) => parse_checker(v).map_err(|m| bad("checker".into(), None, m))?,
    };
    if let Checker::Floats(t) = &checker {
        let valid = |v: Option<f64>| v.is_none_or(|v| v >= 0.0 && !v.is_nan());
        if t.absolute.is_none() && t.relative.is_none() {
            return Err(bad(
                "checker.floats".into(),
                None,
                "give `absolute`, `relative` or both".into(),
            ));
        }
        if !valid(t.absolute) || !valid(t.relative) {
            return Err(bad(
                "checker.floats".into(),
                None,
                "tolerances are non-negative numbers".into(),
            ));
        }
    }
    if doc.groups.is_empty() {
        return Err(bad("groups".into(), None, "no groups".into()));
    }
    let mut group_names = BTreeSet::new();
    let mut groups = Vec::with_capacity(doc.groups.len());
    for (gi, g) in doc.groups.into_iter().enumerate() {
        let gkey = format!("groups[{gi}]");
        if !group_names.insert(g.name.clone()) {
            return Err(bad(
                format!("{gkey}.name"),
                None,
                format!("group `{}` appears twice", g.name),
            ));
        }
        if g.cases.is_empty() {
            return Err(bad(format!("{gkey}.cases"), None, "no cases".into()));
        }
        if let Some(p) = g.points
            && !(p >= 0.0 && p.is_finite())
        {
            return Err(bad(
                format!("{gkey}.points"),
                None,
                "expected a non-negative number".into(),
            ));
        }
        let mut case_names = BTreeSet::new();
        let mut cases = Vec::with_capacity(g.cases.len());
        for (ci, c) in g.cases.into_iter().enumerate() {
            let ckey = format!("{gkey}.cases[{ci}]");
            let name = c.name.clone();
            let case_bad = |key: &str, m: String| bad(format!("{ckey}.{key}"), Some(&name), m);
            if !case_names.insert(c.name.clone()) {
                return Err(case_bad(
                    "name",
                    format!("case `{}` appears twice in the group", c.name),
                ));
            }
            let from_file = |key: &str, p: &Path| -> Result<Vec<u8>, ProblemError> {
                let path = inside(dir, p).map_err(|m| case_bad(key, m))?;
                std::fs::read(&path)
                    .map_err(|e| case_bad(key, format!("cannot read {}: {e}", path.display())))
            };
            let stdin = match (c.stdin, &c.stdin_file) {
                (Some(_), Some(_)) => {
                    return Err(case_bad(
                        "stdin_file",
                        "give `stdin` or `stdin_file`, not both".into(),
                    ));
                }
                (Some(s), None) => Some(s.into_bytes()),
                (None, Some(p)) => Some(from_file("stdin_file", p)?),
                (None, None) => None,
            };
            let answer = match (c.stdout, &c.stdout_file) {
                (Some(_), Some(_)) => {
                    return Err(case_bad(
                        "stdout_file",
                        "give `stdout` or `stdout_file`, not both".into(),
                    ));
                }
                (Some(s), None) => Some(s.into_bytes()),
                (None, Some(p)) => Some(from_file("stdout_file", p)?),
                (None, None) => None,
            };
            let mut files = Vec::with_capacity(c.files.len());
            for (target, source) in &c.files {
                let key = format!("files.{target}");
                let bytes = from_file(&key, source)?;
                files.push(InputFile::bytes(target.clone(), bytes));
            }
            let mut expected_files = Vec::with_capacity(c.expected_files.len());
            for (path, source) in c.expected_files {
                let key = format!("expected_files.{path}");
                if !is_workspace_path(&path) {
                    return Err(case_bad(
                        &key,
                        format!(
                            "`{path}` is not a workspace path: expected a relative path \
                             without `.` or `..` components"
                        ),
                    ));
                }
                let content = match source {
                    ExpectedSource::Inline(text) => text.into_bytes(),
                    ExpectedSource::File(p) => from_file(&key, &p)?,
                };
                expected_files.push(ExpectedFile { path, content });
            }
            cases.push(Case {
                name: c.name,
                args: c.args,
                stdin,
                files,
                answer,
                expected_files,
            });
        }
        groups.push(Group {
            name: g.name,
            points: g.points.unwrap_or(cases.len() as f64),
            scoring: g.scoring,
            depends_on: g.depends_on,
            cases,
        });
    }
    super::dependencies::order(&groups).map_err(|e| bad(e.key(), None, e.message()))?;
    Ok(Problem {
        name: doc.name.unwrap_or(dir_name),
        dir: dir.to_path_buf(),
        layout: Layout::Subrun,
        limits: ProblemLimits {
            time: doc.limits.time,
            memory: doc.limits.memory,
            output: doc.limits.output,
        },
        checker,
        environment,
        groups,
    })
}

/// A built-in checker as `problem.yaml` spells it: `exact`, `tokens`, `lines`, `unordered`,
/// or a mapping `{ floats: { absolute: A, relative: R } }`. (A checker program,
/// `{ program: FILE, ... }`, is read by the loader, which knows the problem directory.)
///
/// # Errors
/// A message for anything else.
pub fn parse_checker(value: &serde_yaml::Value) -> Result<Checker, String> {
    use serde_yaml::Value;
    const EXPECTED: &str = "expected exact, tokens, lines, unordered, { floats: { absolute: A, relative: R } } or { program: FILE.wasm, convention: testlib | kattis }";
    match value {
        Value::String(s) => match s.as_str() {
            "exact" => Ok(Checker::Exact),
            "tokens" => Ok(Checker::Tokens),
            "lines" => Ok(Checker::Lines),
            "unordered" => Ok(Checker::Unordered),
            "floats" => Err("`floats` needs a tolerance: { floats: { absolute: 1e-6 } }".into()),
            other => Err(format!("unknown checker `{other}`: {EXPECTED}")),
        },
        Value::Mapping(m) if m.len() == 1 => match m.get("floats") {
            Some(t) => serde_yaml::from_value(t.clone())
                .map(Checker::Floats)
                .map_err(|e| format!("floats: {e}")),
            None => Err(EXPECTED.into()),
        },
        _ => Err(EXPECTED.into()),
    }
}

/// True for a normalized relative workspace path: `/`-separated components, none empty,
/// `.` or `..`.
fn is_workspace_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\0')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// `rel` under `dir`, refused when absolute or when it climbs out with `..`.
pub(super) fn inside(dir: &Path, rel: &Path) -> Result<PathBuf, String> {
    let ok = rel
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !ok || rel.as_os_str().is_empty() {
        return Err(format!(
            "`{}` must be a relative path inside the problem directory",
            rel.display()
        ));
    }
    Ok(dir.join(rel))
}
