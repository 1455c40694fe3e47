//! Builds the guest fixtures in `fixtures/` twice: for `wasm32-wasip1` (the wasi runtime) and
//! for the host, statically linked (the local runtime, and the docker runtime's busybox
//! image). Generates the `Fixture` enum: a fixture without a conformance case fails to compile
//! (see `cases_of` in src/fixtures.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let fixtures = manifest.join("fixtures");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let host = std::env::var("TARGET").expect("TARGET");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("cargo:rerun-if-changed=fixtures/src");
    println!("cargo:rerun-if-changed=fixtures/Cargo.toml");

    let mut names: Vec<String> = std::fs::read_dir(fixtures.join("src/bin"))
        .expect("fixtures/src/bin")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".rs")
                .map(str::to_string)
        })
        .collect();
    names.sort();

    let target_dir = out.join("fixtures-target");
    build(&cargo, &fixtures, &target_dir, "wasm32-wasip1", "");
    build(
        &cargo,
        &fixtures,
        &target_dir,
        &host,
        "-Ctarget-feature=+crt-static",
    );

    let wasm_dir = out.join("fixtures/wasm");
    let native_dir = out.join("fixtures/native");
    for d in [&wasm_dir, &native_dir] {
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).expect("create fixture dir");
    }
    for n in &names {
        copy(
            &target_dir.join(format!("wasm32-wasip1/release/{n}.wasm")),
            &wasm_dir.join(format!("{n}.wasm")),
        );
        copy(
            &target_dir.join(format!("{host}/release/{n}")),
            &native_dir.join(n),
        );
    }
    println!(
        "cargo:rustc-env=SUBRUN_FIXTURES_WASM={}",
        wasm_dir.display()
    );
    println!(
        "cargo:rustc-env=SUBRUN_FIXTURES_NATIVE={}",
        native_dir.display()
    );

    let variant = |n: &str| {
        n.split('_')
            .map(|w| w[..1].to_uppercase() + &w[1..])
            .collect::<String>()
    };
    let mut code = String::from(
        "/// Every guest fixture (one per `fixtures/src/bin/*.rs`).\n#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\npub enum Fixture {\n",
    );
    for n in &names {
        code += &format!("    /// `fixtures/src/bin/{n}.rs`\n    {},\n", variant(n));
    }
    code += "}\n\nimpl Fixture {\n    /// Every fixture.\n    pub const ALL: &[Fixture] = &[";
    code += &names
        .iter()
        .map(|n| format!("Fixture::{}", variant(n)))
        .collect::<Vec<_>>()
        .join(", ");
    code += "];\n\n    /// The binary's name.\n    pub fn name(self) -> &'static str {\n        match self {\n";
    for n in &names {
        code += &format!("            Fixture::{} => \"{n}\",\n", variant(n));
    }
    code += "        }\n    }\n}\n";
    std::fs::write(out.join("fixtures.rs"), code).expect("write fixtures.rs");
}

fn build(cargo: &str, fixtures: &Path, target_dir: &Path, target: &str, rustflags: &str) {
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            target,
            "--target-dir",
        ])
        .arg(target_dir)
        .arg("--manifest-path")
        .arg(fixtures.join("Cargo.toml"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_MAKEFLAGS")
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags)
        .status()
        .expect("run cargo to build the guest fixtures");
    if !status.success() {
        let hint = if target.starts_with("wasm32") {
            "\nIf the error says the target may not be installed, run: rustup target add wasm32-wasip1"
        } else {
            ""
        };
        panic!("building the guest fixtures for {target} failed{hint}");
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("copy {} -> {}: {e}", from.display(), to.display()));
}
