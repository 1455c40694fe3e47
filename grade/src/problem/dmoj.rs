//! DMOJ's `init.yml`, read in place: `test_cases` (single cases and `batched` ones),
//! `pretest_test_cases`, `archive` (a zip of the data), `checker`, batch `dependencies`.
//!
//! ```yaml
//! archive: aplusb.zip            # optional; a path is looked up in the problem directory,
//!                                # then in the archive (as DMOJ does)
//! checker: { name: floats, args: { precision: 6 } }   # or a name: standard (default), ...
//! pretest_test_cases:
//!   - { in: aplusb.p1.in, out: aplusb.p1.out }
//! test_cases:
//!   - { in: aplusb.1.in, out: aplusb.1.out, points: 5 }   # group `case1`
//!   - batched:                                          # group `batch1`, all or nothing
//!       - { in: aplusb.2.in, out: aplusb.2.out }
//!       - { in: aplusb.3.in, out: aplusb.3.out }
//!     points: 20
//!   - batched: [{ in: aplusb.4.in, out: aplusb.4.out }]
//!     points: 75
//!     dependencies: [1]                                 # batch numbers, from 1: `batch1`
//! ```
//!
//! Mapped: a single case is a group `caseN` of its own (N counts every case, as DMOJ numbers
//! them); a batch is a group `batchB` scored `min` (all or nothing); the pretests are one
//! group `pretests` worth 0 points, graded first; `dependencies` become `depends_on`; a
//! top-level `points` is the default of every case and batch; `output_limit_length` is the
//! output limit; newlines of inputs and answers are normalized (`\r\n`, `\r` to `\n`) unless
//! `binary_data: true`. Checkers: see [`dmoj_checker`]. Everything else that changes a verdict
//! is refused with an error naming the key (interactive graders, generators, custom checker
//! files, per-case limits or checkers, `io_redirects`, regex `test_cases`).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};
use subrun::spec::units::ByteSize;

use super::{Case, Group, Layout, Problem, ProblemError, ProblemLimits};
use crate::checker::{Checker, FloatTolerance};
use crate::scoring::Scoring;

/// The most bytes one file of an archive may hold (a bound against zip bombs).
const MAX_ARCHIVE_ENTRY: u64 = 1 << 30;

/// Top-level keys accepted and not used: they do not change a verdict here.
const TOP_UNUSED: &[&str] = &["output_prefix_length", "wall_time_factor", "unbuffered"];

/// Keys that change a verdict and have no subrun equivalent, with why.
const NOT_MAPPED: &[(&str, &str)] = &[
    ("grader", "interactive graders are not supported"),
    ("interactive", "interactive problems are not supported"),
    ("custom_judge", "custom judges are not supported"),
    ("signature_grader", "signature graders are not supported"),
    (
        "generator",
        "test data generators are not supported: give `in` and `out` files",
    ),
    (
        "generator_args",
        "test data generators are not supported: give `in` and `out` files",
    ),
    ("io_redirects", "file I/O redirects are not supported"),
    ("file_io", "file I/O is not supported"),
    (
        "symlinks",
        "symlinks into the submission's directory are not supported",
    ),
    (
        "time_limit",
        "per-case time limits are not supported: give the limit in the spec",
    ),
    (
        "memory_limit",
        "per-case memory limits are not supported: give the limit in the spec",
    ),
    (
        "depends",
        "`depends` (pretest dependencies) is not supported: use batch `dependencies`",
    ),
];

/// One data file, from the problem directory or the archive.
struct Data {
    dir: PathBuf,
    archive: Option<(PathBuf, zip::ZipArchive<File>)>,
    binary: bool,
}

impl Data {
    /// The file `rel` (normalized unless `binary_data`), or a message.
    fn read(&mut self, rel: &str) -> Result<Vec<u8>, String> {
        let path = super::native::inside(&self.dir, Path::new(rel))?;
        let bytes = if path.is_file() {
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
        } else if let Some((name, archive)) = &mut self.archive {
            let entry = match archive.by_name(rel) {
                Ok(entry) => entry,
                Err(zip::result::ZipError::FileNotFound) => {
                    return Err(format!(
                        "no file `{rel}` in the problem directory or in the archive {}",
                        name.display()
                    ));
                }
                Err(e) => return Err(format!("cannot read `{rel}` from {}: {e}", name.display())),
            };
            if entry.size() > MAX_ARCHIVE_ENTRY {
                return Err(format!(
                    "`{rel}` in {} holds {} bytes, more than the {MAX_ARCHIVE_ENTRY} allowed",
                    name.display(),
                    entry.size()
                ));
            }
            let mut bytes = Vec::new();
            entry
                .take(MAX_ARCHIVE_ENTRY + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| format!("cannot read `{rel}` from {}: {e}", name.display()))?;
            if bytes.len() as u64 > MAX_ARCHIVE_ENTRY {
                return Err(format!("`{rel}` in {} is too large", name.display()));
            }
            bytes
        } else {
            return Err(format!(
                "no file `{rel}` in the problem directory ({})",
                path.display()
            ));
        };
        Ok(if self.binary {
            bytes
        } else {
            normalize_newlines(bytes)
        })
    }
}

/// `\r\n` and lone `\r` become `\n`, as DMOJ does for data that is not `binary_data`.
fn normalize_newlines(bytes: Vec<u8>) -> Vec<u8> {
    if !bytes.contains(&b'\r') {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut it = bytes.iter().copied().peekable();
    while let Some(b) = it.next() {
        if b == b'\r' {
            if it.peek() == Some(&b'\n') {
                it.next();
            }
            out.push(b'\n');
        } else {
            out.push(b);
        }
    }
    out
}

/// What the walk over `test_cases` keeps.
struct Loader {
    file: PathBuf,
    data: Data,
    checker: Checker,
    default_points: Option<f64>,
}

/// Which list an entry is in.
#[derive(Clone, Copy, PartialEq)]
enum List {
    Pretests,
    Tests,
}

impl List {
    fn key(self) -> &'static str {
        match self {
            List::Pretests => "pretest_test_cases",
            List::Tests => "test_cases",
        }
    }
}

pub(super) fn load(dir: &Path, name: String) -> Result<Problem, ProblemError> {
    let file = dir.join("init.yml");
    let text = String::from_utf8_lossy(&super::read(&file)?).into_owned();
    let doc: Value = serde_yaml::from_str(&text)
        .map_err(|e| ProblemError::invalid(&file, "", None, e.to_string()))?;
    let bad = |key: &str, message: String| ProblemError::invalid(&file, key, None, message);
    let Value::Mapping(top) = doc else {
        return Err(bad("", "expected a mapping with `test_cases`".into()));
    };
    let mut limits = ProblemLimits::default();
    let mut binary = false;
    let mut checker = Checker::Tokens;
    let mut default_points = None;
    let mut archive = None;
    for (key, value) in &top {
        let key = key_str(key);
        match key {
            "test_cases" | "pretest_test_cases" => {}
            "archive" => {
                let rel = value
                    .as_str()
                    .ok_or_else(|| bad(key, "expected the path of a zip file".into()))?;
                let path = super::native::inside(dir, Path::new(rel)).map_err(|m| bad(key, m))?;
                let opened = File::open(&path)
                    .map_err(|e| bad(key, format!("cannot open {}: {e}", path.display())))?;
                let zip = zip::ZipArchive::new(opened).map_err(|e| {
                    bad(
                        key,
                        format!("{} is not a readable zip file: {e}", path.display()),
                    )
                })?;
                archive = Some((path, zip));
            }
            "checker" => checker = dmoj_checker(value).map_err(|(k, m)| bad(&k, m))?,
            "points" => default_points = Some(points(value).map_err(|m| bad(key, m))?),
            "output_limit_length" => {
                let n = value
                    .as_u64()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad(key, "expected a positive number of bytes".into()))?;
                limits.output = Some(ByteSize(n));
            }
            "binary_data" => {
                binary = value
                    .as_bool()
                    .ok_or_else(|| bad(key, "expected true or false".into()))?;
            }
            k if TOP_UNUSED.contains(&k) => {}
            k => return Err(bad(k, not_mapped(k))),
        }
    }
    let mut loader = Loader {
        file: file.clone(),
        data: Data {
            dir: dir.to_path_buf(),
            archive,
            binary,
        },
        checker,
        default_points,
    };
    let mut groups = Vec::new();
    if let Some(list) = top.get("pretest_test_cases") {
        let cases = loader.list(list, List::Pretests)?;
        let cases: Vec<Case> = cases.into_iter().flat_map(|g| g.cases).collect();
        if !cases.is_empty() {
            groups.push(Group {
                name: "pretests".into(),
                points: 0.0,
                scoring: Scoring::Sum,
                depends_on: Vec::new(),
                cases: dedupe(cases),
            });
        }
    }
    let Some(list) = top.get("test_cases") else {
        return Err(bad(
            "test_cases",
            "missing: expected a list of test cases".into(),
        ));
    };
    let tests = loader.list(list, List::Tests)?;
    if tests.is_empty() {
        return Err(bad("test_cases", "no test cases".into()));
    }
    groups.extend(tests);
    Ok(Problem {
        name,
        dir: dir.to_path_buf(),
        layout: Layout::Dmoj,
        limits,
        checker: loader.checker,
        environment: None,
        groups,
    })
}

impl Loader {
    fn bad(&self, key: &str, case: Option<&str>, message: String) -> ProblemError {
        ProblemError::invalid(&self.file, key, case, message)
    }

    /// The groups of `test_cases` (or of `pretest_test_cases`, flattened by the caller).
    fn list(&mut self, list: &Value, which: List) -> Result<Vec<Group>, ProblemError> {
        let lkey = which.key();
        let Value::Sequence(entries) = list else {
            let message = if list.is_mapping() {
                "regex test case formats (`input_format`, `output_format`) are not supported: \
                 list the cases"
            } else {
                "expected a list of test cases"
            };
            return Err(self.bad(lkey, None, message.into()));
        };
        let mut groups = Vec::new();
        let mut case_no = 0usize;
        let mut batch_no = 0usize;
        for (i, entry) in entries.iter().enumerate() {
            let key = format!("{lkey}[{i}]");
            let Value::Mapping(map) = entry else {
                return Err(self.bad(&key, None, "expected a mapping".into()));
            };
            if let Some(batched) = map.get("batched") {
                batch_no += 1;
                let group = self.batch(map, batched, &key, batch_no, &mut case_no, which)?;
                groups.push(group);
            } else {
                case_no += 1;
                let case = self.case(map, &key, case_no, Where::Single)?;
                let points = self.points_of(map, &key, which)?;
                groups.push(Group {
                    name: format!("case{case_no}"),
                    points,
                    scoring: Scoring::Sum,
                    depends_on: Vec::new(),
                    cases: vec![case],
                });
            }
        }
        Ok(groups)
    }

    /// `points` of a single case or a batch, else the top-level default; pretests are worth
    /// nothing (their group has 0 points), so they need none.
    fn points_of(&self, map: &Mapping, key: &str, which: List) -> Result<f64, ProblemError> {
        match map.get("points") {
            _ if which == List::Pretests => Ok(0.0),
            Some(v) => points(v).map_err(|m| self.bad(&format!("{key}.points"), None, m)),
            None => self.default_points.ok_or_else(|| {
                self.bad(
                    &format!("{key}.points"),
                    None,
                    "missing: give the points of the case or batch (or a top-level `points`)"
                        .into(),
                )
            }),
        }
    }

    fn batch(
        &mut self,
        map: &Mapping,
        batched: &Value,
        key: &str,
        batch_no: usize,
        case_no: &mut usize,
        which: List,
    ) -> Result<Group, ProblemError> {
        let mut depends_on = Vec::new();
        for (k, value) in map {
            let k = key_str(k);
            let kkey = format!("{key}.{k}");
            match k {
                "batched" | "points" | "output_prefix_length" => {}
                "checker" => self.same_checker(value, &kkey, None)?,
                "dependencies" if which == List::Pretests => {
                    return Err(self.bad(
                        &kkey,
                        None,
                        "pretests are one group here: dependencies between pretest batches \
                         are not supported"
                            .into(),
                    ));
                }
                "dependencies" => {
                    let Some(list) = value.as_sequence() else {
                        return Err(self.bad(
                            &kkey,
                            None,
                            "expected a list of batch numbers".into(),
                        ));
                    };
                    for (j, d) in list.iter().enumerate() {
                        let dkey = format!("{kkey}[{j}]");
                        let n = d.as_u64().and_then(|n| usize::try_from(n).ok());
                        match n {
                            Some(n) if n >= 1 && n < batch_no => {
                                depends_on.push(format!("batch{n}"));
                            }
                            _ => {
                                return Err(self.bad(
                                    &dkey,
                                    None,
                                    format!(
                                        "expected the number of an earlier batch (1 to {}): batch \
                                         {batch_no} can only depend on batches before it",
                                        batch_no - 1
                                    ),
                                ));
                            }
                        }
                    }
                }
                k => return Err(self.bad(&kkey, None, not_mapped(k))),
            }
        }
        let Some(list) = batched.as_sequence().filter(|l| !l.is_empty()) else {
            return Err(self.bad(
                &format!("{key}.batched"),
                None,
                "expected a non-empty list of cases".into(),
            ));
        };
        let mut cases = Vec::with_capacity(list.len());
        for (j, entry) in list.iter().enumerate() {
            let ckey = format!("{key}.batched[{j}]");
            let Value::Mapping(cmap) = entry else {
                return Err(self.bad(&ckey, None, "expected a mapping".into()));
            };
            if cmap.contains_key("batched") {
                return Err(self.bad(&ckey, None, "batches cannot be nested".into()));
            }
            *case_no += 1;
            cases.push(self.case(cmap, &ckey, *case_no, Where::Batched)?);
        }
        Ok(Group {
            name: format!("batch{batch_no}"),
            points: self.points_of(map, key, which)?,
            scoring: Scoring::Min,
            depends_on,
            cases: dedupe(cases),
        })
    }

    fn case(
        &mut self,
        map: &Mapping,
        key: &str,
        case_no: usize,
        at: Where,
    ) -> Result<Case, ProblemError> {
        let path_of = |k: &str| -> Result<Option<String>, ProblemError> {
            match map.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => {
                    Err(self.bad(&format!("{key}.{k}"), None, "expected a file path".into()))
                }
            }
        };
        let input = path_of("in")?;
        let output = path_of("out")?;
        let name = input.clone().unwrap_or_else(|| format!("#{case_no}"));
        for (k, value) in map {
            let k = key_str(k);
            let kkey = format!("{key}.{k}");
            match k {
                "in" | "out" | "output_prefix_length" => {}
                // A batched case's points are not used by DMOJ either: the batch has them.
                "points" => {}
                "checker" => self.same_checker(value, &kkey, Some(&name))?,
                "dependencies" if at == Where::Single => {
                    return Err(self.bad(
                        &kkey,
                        Some(&name),
                        "only batches have dependencies in DMOJ".into(),
                    ));
                }
                k => return Err(self.bad(&kkey, Some(&name), not_mapped(k))),
            }
        }
        let stdin = match &input {
            Some(rel) => self
                .data
                .read(rel)
                .map_err(|m| self.bad(&format!("{key}.in"), Some(&name), m))?,
            None => Vec::new(),
        };
        let Some(out) = output else {
            return Err(self.bad(
                &format!("{key}.out"),
                Some(&name),
                "missing: every case needs its answer file (generators are not supported)".into(),
            ));
        };
        let answer = self
            .data
            .read(&out)
            .map_err(|m| self.bad(&format!("{key}.out"), Some(&name), m))?;
        Ok(Case {
            name,
            args: Vec::new(),
            stdin: Some(stdin),
            files: Vec::new(),
            answer: Some(answer),
            expected_files: Vec::new(),
        })
    }

    /// A `checker` below the top level must be the problem's: subrun has one per problem.
    fn same_checker(
        &self,
        value: &Value,
        key: &str,
        case: Option<&str>,
    ) -> Result<(), ProblemError> {
        let checker = dmoj_checker(value).map_err(|(k, m)| {
            let k = k.strip_prefix("checker").unwrap_or(&k);
            self.bad(&format!("{key}{k}"), case, m)
        })?;
        if checker != self.checker {
            return Err(self.bad(
                key,
                case,
                "a checker per case or batch is not supported: subrun applies one checker to \
                 the whole problem (give it at the top level)"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Where a case is.
#[derive(Clone, Copy, PartialEq)]
enum Where {
    Single,
    Batched,
}

fn key_str(key: &Value) -> &str {
    key.as_str().unwrap_or("")
}

fn points(value: &Value) -> Result<f64, String> {
    value
        .as_f64()
        .filter(|p| *p >= 0.0 && p.is_finite())
        .ok_or_else(|| "expected a non-negative number".into())
}

fn not_mapped(key: &str) -> String {
    NOT_MAPPED
        .iter()
        .find(|(k, _)| *k == key)
        .map_or_else(|| "unknown key".to_owned(), |(_, why)| (*why).to_owned())
}

/// Case names unique in their group: a repeated name gets ` (2)`, ` (3)`, ...
fn dedupe(mut cases: Vec<Case>) -> Vec<Case> {
    let mut seen = BTreeSet::new();
    for case in &mut cases {
        if !seen.insert(case.name.clone()) {
            let mut n = 2;
            while !seen.insert(format!("{} ({n})", case.name)) {
                n += 1;
            }
            case.name = format!("{} ({n})", case.name);
        }
    }
    cases
}

/// A DMOJ checker as subrun's [`Checker`]: a name, or `{ name: NAME, args: { .. } }`.
///
/// | DMOJ | subrun |
/// |---|---|
/// | `standard` (the default) | `tokens` |
/// | `identical` (`pe_allowed` accepted) | `exact` |
/// | `floats` (`precision` P, default 6; `error_mode` `default`, `absolute` or `relative`) | `floats` with `absolute` and `relative` 10^-P (or the one `error_mode` names) |
/// | `floatsabs`, `floatsrel` (`precision` P, default 6) | `floats` with `absolute` / `relative` 10^-P |
/// | `sorted` (`split_on: lines`, the default) | `unordered` |
///
/// # Errors
/// The key (`checker`, `checker.args.precision`, ...) and a message for any other checker
/// (custom `.py` checkers, `bridged`, `linecount`, ...) or argument.
pub fn dmoj_checker(value: &Value) -> Result<Checker, (String, String)> {
    let (name, args) = match value {
        Value::String(s) => (s.as_str(), None),
        Value::Mapping(m) => {
            if let Some(k) = m.keys().map(key_str).find(|k| *k != "name" && *k != "args") {
                return Err((format!("checker.{k}"), "unknown key".into()));
            }
            let name = m.get("name").and_then(Value::as_str).ok_or_else(|| {
                (
                    "checker.name".to_owned(),
                    "expected the checker's name".to_owned(),
                )
            })?;
            (name, m.get("args"))
        }
        _ => {
            return Err((
                "checker".into(),
                "expected a checker name or { name, args }".into(),
            ));
        }
    };
    let empty = Mapping::new();
    let args = match args {
        None | Some(Value::Null) => &empty,
        Some(Value::Mapping(m)) => m,
        Some(_) => return Err(("checker.args".into(), "expected a mapping".into())),
    };
    let only = |allowed: &[&str]| -> Result<(), (String, String)> {
        match args.keys().map(key_str).find(|k| !allowed.contains(k)) {
            Some(k) => Err((
                format!("checker.args.{k}"),
                format!("not an argument of `{name}` that subrun maps"),
            )),
            None => Ok(()),
        }
    };
    let arg_str = |key: &str, expected: &str| -> Result<Option<&str>, (String, String)> {
        match args.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err((
                format!("checker.args.{key}"),
                format!("expected {expected}"),
            )),
        }
    };
    let floats = |absolute: bool, relative: bool| -> Result<Checker, (String, String)> {
        let epsilon = match args.get("precision") {
            None => 1e-6,
            Some(v) => v
                .as_u64()
                .filter(|p| *p <= 300)
                .map(|p| 10f64.powi(-(p as i32)))
                .ok_or_else(|| {
                    (
                        "checker.args.precision".to_owned(),
                        "expected a number of decimal digits (0 to 300)".to_owned(),
                    )
                })?,
        };
        Ok(Checker::Floats(FloatTolerance {
            absolute: absolute.then_some(epsilon),
            relative: relative.then_some(epsilon),
        }))
    };
    match name {
        "standard" => only(&[]).map(|()| Checker::Tokens),
        "identical" => {
            only(&["pe_allowed"])?;
            match args.get("pe_allowed") {
                None | Some(Value::Bool(_)) => Ok(Checker::Exact),
                Some(_) => Err((
                    "checker.args.pe_allowed".into(),
                    "expected true or false".into(),
                )),
            }
        }
        "floats" => {
            only(&["precision", "error_mode"])?;
            match arg_str("error_mode", "default, absolute or relative")? {
                None | Some("default") => floats(true, true),
                Some("absolute") => floats(true, false),
                Some("relative") => floats(false, true),
                Some(_) => Err((
                    "checker.args.error_mode".into(),
                    "expected default, absolute or relative".into(),
                )),
            }
        }
        "floatsabs" => only(&["precision"]).and_then(|()| floats(true, false)),
        "floatsrel" => only(&["precision"]).and_then(|()| floats(false, true)),
        "sorted" => {
            only(&["split_on"])?;
            match arg_str("split_on", "lines")? {
                None | Some("lines") => Ok(Checker::Unordered),
                Some(_) => Err((
                    "checker.args.split_on".into(),
                    "only `lines` maps (to `unordered`); `whitespace` has no subrun equivalent"
                        .into(),
                )),
            }
        }
        n if n.contains('.') => Err((
            "checker".into(),
            format!("custom checker files (`{n}`) are not supported"),
        )),
        n => Err((
            "checker".into(),
            format!(
                "checker `{n}` has no subrun equivalent (supported: standard, identical, \
                 floats, floatsabs, floatsrel, sorted)"
            ),
        )),
    }
}
