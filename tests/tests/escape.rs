//! The escape suite: every attempt to get out of the grants (paths, links, renames, static
//! assets, read-only mounts, host variables and /proc, sockets and names, programs outside,
//! privileges, crafted snapshot archives and input files, links planted for host code), run
//! against each runtime and judged on the host side. Nothing escapes on `wasi` and `docker`;
//! on `local`, which runs trusted code and isolates nothing, exactly the attempts documented
//! as not isolated succeed (docs/security.md). The cores live in `hardening/` and are shared
//! with the `security-report` binary.

#[path = "hardening/escape.rs"]
mod escape;
#[path = "hardening/escape_attempts.rs"]
mod escape_attempts;
#[path = "hardening/escape_crafted.rs"]
mod escape_crafted;
#[path = "hardening/table.rs"]
mod table;
#[path = "hardening/tar.rs"]
mod tar;

use subrun_tests::Kind;

fn suite(kind: Kind) {
    subrun_tests::run(kind, |t| {
        Box::pin(async move {
            let findings = escape::run_all(t).await;
            let (tried, escaped, contained, blocked, na) = escape::counts(&findings);
            println!(
                "{:?}: {tried} attempts, {escaped} escaped, {contained} contained, {blocked} blocked, {na} n/a\n{}",
                t.kind,
                escape::findings_table(t.kind, &findings)
            );
            let wrong = escape::unexpected(t.kind, &findings);
            assert!(
                wrong.is_empty(),
                "{:?}: attempts that did not end as promised:\n- {}",
                t.kind,
                wrong.join("\n- ")
            );
        })
    });
}

/// No attempt escapes a wasm guest.
#[test]
fn escape_attempts_fail_on_wasi() {
    suite(Kind::Wasi);
}

/// No attempt escapes a container.
#[test]
fn escape_attempts_fail_on_docker() {
    suite(Kind::Docker);
}

/// `local` lets through exactly what it documents it does not isolate; the engine's host-side
/// protections (archives, input files, planted links) hold there too.
#[test]
fn escape_attempts_on_local_escape_only_where_documented() {
    suite(Kind::Local);
}
