//! `subrun spec check`: parse, validate against the registry, check placeholders; print the
//! normalized spec of each valid file and every problem of each invalid one.

use std::path::Path;

use subrun::spec::SpecIssue;
use subrun::{EnvironmentSpec, Registry, SpecError};

use crate::args::CheckArgs;
use crate::exit::INVALID_SPEC;

/// Checks every file; normalized specs go to stdout (a YAML stream, one document per valid
/// file), problems to stderr as `FILE: KEY: MESSAGE` lines. Returns 0, or 1 when any file is
/// invalid.
pub(crate) fn check(registry: &Registry, args: &CheckArgs) -> i32 {
    let caller_assets: Vec<String> = args.assets.iter().map(|(n, _)| n.clone()).collect();
    let mut invalid = 0;
    let mut printed = 0;
    for file in &args.files {
        match check_one(registry, file, &caller_assets) {
            Ok(spec) => {
                if printed > 0 {
                    println!("---");
                }
                println!(
                    "# {}",
                    subrun::terminal::escape(&file.display().to_string())
                );
                print!("{}", spec.to_yaml());
                printed += 1;
            }
            Err(err) => {
                invalid += 1;
                for issue in &err.issues {
                    eprintln!("{}", issue_line(&err.origin, issue));
                }
            }
        }
    }
    if invalid == 0 {
        0
    } else {
        eprintln!(
            "subrun: {invalid} of {} spec file{} invalid",
            args.files.len(),
            if args.files.len() == 1 { "" } else { "s" }
        );
        INVALID_SPEC
    }
}

/// Parses `file`, then collects the runtime's validation issues and the placeholder issues
/// (names known: the spec's own assets and `caller_assets`).
fn check_one(
    registry: &Registry,
    file: &Path,
    caller_assets: &[String],
) -> Result<EnvironmentSpec, SpecError> {
    let spec = EnvironmentSpec::from_path(file)?;
    let mut issues = match registry.validate(&spec) {
        Ok(()) => Vec::new(),
        Err(e) => e.issues,
    };
    let mut known = spec.asset_names();
    known.extend(caller_assets.iter().cloned());
    issues.extend(spec.placeholder_issues(&known));
    if issues.is_empty() {
        Ok(spec)
    } else {
        Err(SpecError::from_issues(&spec.origin, issues))
    }
}

/// `FILE: KEY: MESSAGE` (or `FILE: MESSAGE` for the whole document), escaped: keys and
/// messages quote what the file holds.
fn issue_line(origin: &str, issue: &SpecIssue) -> String {
    let line = if issue.key.is_empty() {
        format!("{origin}: {}", issue.message)
    } else {
        format!("{origin}: {}: {}", issue.key, issue.message)
    };
    subrun::terminal::escape(&line).into_owned()
}
