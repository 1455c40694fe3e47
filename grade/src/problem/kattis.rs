//! The Kattis / ICPC layout (problemtools' legacy format, and `limits.time_limit` of the
//! 2023-07 format).
//!
//! Mapped: `data/sample/` and `data/secret/` (`NAME.in` + `NAME.ans`), each subdirectory of
//! `data/secret/` as a group of its own (`secret/NAME`); `limits.time_limit` (seconds), else
//! a `.timelimit` file (seconds, as problemtools writes it); `limits.memory` and
//! `limits.output` (MiB); `limits.validation_time` (seconds) and `limits.validation_memory`
//! (MiB) for a custom output validator; `validator_flags` `float_tolerance`,
//! `float_absolute_tolerance`, `float_relative_tolerance` (the `floats` checker).
//!
//! Custom validation: `validation: custom` (or `custom score`), or no `validation` key and an
//! `output_validators/` directory, runs the one `.wasm` (or `.wat`) module found directly in
//! `output_validators/` or in one subdirectory of it as a [`Checker::Program`] with the
//! Kattis convention, `validator_flags` as its arguments.
//!
//! Not mapped, and refused with an error rather than ignored when they change a verdict:
//! interactive validation, `case_sensitive` and `space_change_sensitive` (default
//! validation). Kattis's default validator compares
//! tokens case-insensitively; subrun's `tokens` is case-sensitive (documented difference).
//! `time_multiplier` and `time_safety_margin` need the judges' solutions' times and are read
//! but not applied; `testdata.yaml` is not read. Informational keys (`name`, `author`,
//! `source`, `license`, ...) are accepted.

use std::path::Path;
use std::time::Duration;

use serde_yaml::Value;
use subrun::spec::units::ByteSize;

use super::{Group, Layout, Problem, ProblemError, ProblemLimits, paired_cases};
use crate::checker::{Checker, CheckerLimits, CheckerProgram, Convention, FloatTolerance};
use crate::scoring::Scoring;

/// `problem.yaml` keys accepted and not used.
const INFORMATIONAL: &[&str] = &[
    "name",
    "author",
    "source",
    "source_url",
    "license",
    "rights_owner",
    "uuid",
    "keywords",
    "problem_format_version",
    "type",
    "languages",
    "credits",
    "version",
    "embargo_until",
    "constants",
    "grading",
    "scoring",
];

/// `limits` keys accepted and not used.
const LIMITS_UNUSED: &[&str] = &[
    "time_multiplier",
    "time_safety_margin",
    "time_multipliers",
    "time_resolution",
    "code",
    "compilation_time",
    "compilation_memory",
    "validation_output",
    "validation_passes",
];

pub(super) fn load(dir: &Path, dir_name: String) -> Result<Problem, ProblemError> {
    let yaml_path = dir.join("problem.yaml");
    let mut name = dir_name;
    let mut limits = ProblemLimits::default();
    let mut validator_limits = CheckerLimits::default();
    let mut validation: Option<String> = None;
    let mut flags: Option<String> = None;
    if yaml_path.is_file() {
        let text = String::from_utf8_lossy(&super::read(&yaml_path)?).into_owned();
        let doc: Value = serde_yaml::from_str(&text)
            .map_err(|e| ProblemError::invalid(&yaml_path, "", None, e.to_string()))?;
        let bad =
            |key: &str, message: String| ProblemError::invalid(&yaml_path, key, None, message);
        let map = match &doc {
            Value::Null => Default::default(),
            Value::Mapping(m) => m.clone(),
            _ => return Err(bad("", "expected a mapping".into())),
        };
        for (key, value) in &map {
            let key = key.as_str().unwrap_or("");
            match key {
                "name" => {
                    if let Some(n) = value.as_str() {
                        name = n.to_owned();
                    }
                }
                "limits" => (limits, validator_limits) = kattis_limits(value, &bad)?,
                "validation" | "validator_flags" => {
                    let Some(text) = value.as_str() else {
                        return Err(bad(key, "expected a string".into()));
                    };
                    let slot = if key == "validation" {
                        &mut validation
                    } else {
                        &mut flags
                    };
                    *slot = Some(text.to_owned());
                }
                k if INFORMATIONAL.contains(&k) => {}
                k => return Err(bad(k, "unknown key".into())),
            }
        }
    }
    if let Some(t) = read_timelimit_file(dir)?
        && limits.time.is_none()
    {
        limits.time = Some(t);
    }
    let mut checker = kattis_checker(dir, &yaml_path, validation.as_deref(), flags.as_deref())?;
    if let Checker::Program(program) = &mut checker {
        program.limits = validator_limits;
    }
    let mut groups = Vec::new();
    for kind in ["sample", "secret"] {
        let d = dir.join("data").join(kind);
        if !d.is_dir() {
            continue;
        }
        push_group(&mut groups, kind.to_owned(), paired_cases(&d, false)?);
        let mut subdirs: Vec<_> = std::fs::read_dir(&d)
            .map_err(|source| ProblemError::Read {
                path: d.clone(),
                source,
            })?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        subdirs.sort();
        for sub in subdirs {
            let group = format!(
                "{kind}/{}",
                sub.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            );
            push_group(&mut groups, group, paired_cases(&sub, false)?);
        }
    }
    if groups.is_empty() {
        return Err(ProblemError::invalid(
            dir.join("data"),
            "",
            None,
            "no cases: expected data/sample/NAME.in + NAME.ans or data/secret/NAME.in + NAME.ans",
        ));
    }
    Ok(Problem {
        name,
        dir: dir.to_path_buf(),
        layout: Layout::Kattis,
        limits,
        checker,
        environment: None,
        groups,
    })
}

fn push_group(groups: &mut Vec<Group>, name: String, cases: Vec<super::Case>) {
    if !cases.is_empty() {
        groups.push(Group {
            name,
            points: cases.len() as f64,
            scoring: Scoring::Sum,
            depends_on: Vec::new(),
            cases,
        });
    }
}

fn read_timelimit_file(dir: &Path) -> Result<Option<Duration>, ProblemError> {
    let path = dir.join(".timelimit");
    if !path.is_file() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&super::read(&path)?).into_owned();
    let first = text.split_whitespace().next().unwrap_or("");
    seconds(first).map(Some).ok_or_else(|| {
        ProblemError::invalid(
            &path,
            "",
            None,
            format!("expected a time limit in seconds, got `{first}`"),
        )
    })
}

fn seconds(text: &str) -> Option<Duration> {
    let s: f64 = text.parse().ok()?;
    (s > 0.0)
        .then(|| Duration::try_from_secs_f64(s).ok())
        .flatten()
}

/// `limits`: the submission's, and the output validator's (`validation_time` in seconds,
/// `validation_memory` in MiB; the defaults of [`CheckerLimits`] otherwise).
fn kattis_limits(
    value: &Value,
    bad: &dyn Fn(&str, String) -> ProblemError,
) -> Result<(ProblemLimits, CheckerLimits), ProblemError> {
    let mut limits = ProblemLimits::default();
    let mut validator = CheckerLimits::default();
    let Some(map) = value.as_mapping() else {
        return Err(bad("limits", "expected a mapping".into()));
    };
    for (key, value) in map {
        let key = key.as_str().unwrap_or("");
        let path = format!("limits.{key}");
        let number = || {
            value
                .as_f64()
                .filter(|v| *v > 0.0)
                .ok_or_else(|| bad(&path, "expected a positive number".into()))
        };
        match key {
            "time_limit" | "validation_time" => {
                let s = number()?;
                let time = Duration::try_from_secs_f64(s).map_err(|e| bad(&path, e.to_string()))?;
                if key == "time_limit" {
                    limits.time = Some(time);
                } else {
                    validator.time = time;
                }
            }
            "validation_memory" => validator.memory = mib(number()?),
            "memory" => limits.memory = Some(mib(number()?)),
            "output" => limits.output = Some(mib(number()?)),
            k if LIMITS_UNUSED.contains(&k) => {}
            _ => return Err(bad(&path, "unknown key".into())),
        }
    }
    Ok((limits, validator))
}

fn mib(n: f64) -> ByteSize {
    ByteSize((n * 1024.0 * 1024.0) as u64)
}

/// The checker `validation` and `validator_flags` ask for. Custom validation (`custom`,
/// `custom score`, or no `validation` key and an `output_validators/` directory) runs the
/// one module of `output_validators/` with the Kattis convention, the flags as its arguments;
/// default validation maps the flags to `tokens` or `floats`.
fn kattis_checker(
    dir: &Path,
    yaml_path: &Path,
    validation: Option<&str>,
    flags: Option<&str>,
) -> Result<Checker, ProblemError> {
    let bad = |key: &str, message: String| ProblemError::invalid(yaml_path, key, None, message);
    let validators = dir.join("output_validators");
    let custom = match validation.map(str::trim) {
        None => validators.is_dir(),
        Some("default") => false,
        Some("custom" | "custom score") => true,
        Some(v) if v.split_whitespace().any(|w| w == "interactive") => {
            return Err(bad(
                "validation",
                "interactive problems are not supported yet".into(),
            ));
        }
        Some(other) => {
            return Err(bad(
                "validation",
                format!("unknown validation `{other}`: expected default, custom or custom score"),
            ));
        }
    };
    if !custom {
        return flags.map_or(Ok(Checker::Tokens), |f| validator_flags(f, &bad));
    }
    if !validators.is_dir() {
        return Err(bad(
            "validation",
            format!(
                "custom validation needs an output validator in {}",
                validators.display()
            ),
        ));
    }
    Ok(Checker::Program(CheckerProgram {
        module: super::program::kattis_validator(&validators)?,
        convention: Convention::Kattis,
        args: flags
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        limits: CheckerLimits::default(),
    }))
}

fn validator_flags(
    text: &str,
    bad: &dyn Fn(&str, String) -> ProblemError,
) -> Result<Checker, ProblemError> {
    let key = "validator_flags";
    let mut tol = FloatTolerance {
        absolute: None,
        relative: None,
    };
    let mut words = text.split_whitespace();
    while let Some(flag) = words.next() {
        let mut number = || {
            words
                .next()
                .and_then(|w| w.parse::<f64>().ok())
                .filter(|v| *v >= 0.0)
                .ok_or_else(|| {
                    bad(
                        key,
                        format!("`{flag}` needs a non-negative number after it"),
                    )
                })
        };
        match flag {
            "float_tolerance" => {
                let v = number()?;
                tol.absolute = Some(v);
                tol.relative = Some(v);
            }
            "float_absolute_tolerance" => tol.absolute = Some(number()?),
            "float_relative_tolerance" => tol.relative = Some(number()?),
            "case_sensitive" | "space_change_sensitive" => {
                return Err(bad(key, format!("`{flag}` is not supported yet")));
            }
            other => return Err(bad(key, format!("unknown flag `{other}`"))),
        }
    }
    Ok(if tol.absolute.is_some() || tol.relative.is_some() {
        Checker::Floats(tol)
    } else {
        Checker::Tokens
    })
}
