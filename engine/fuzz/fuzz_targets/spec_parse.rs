//! Spec parsing: `EnvironmentSpec::from_yaml_str` and `from_json_str` on arbitrary text never
//! panic, and a spec that parses prints (`to_yaml`) to a document that parses to an equal spec.

#![no_main]

use libfuzzer_sys::fuzz_target;
use subrun::EnvironmentSpec;

const ORIGIN: &str = "fuzz.yaml";
const BASE: &str = "/nonexistent-fuzz-base";

fn round_trips(spec: &EnvironmentSpec, how: &str) {
    let yaml = spec.to_yaml();
    let again = EnvironmentSpec::from_yaml_str(&yaml, ORIGIN, BASE).unwrap_or_else(|e| {
        panic!(
            "a spec parsed from {how} prints YAML that does not parse: {e}\n--- yaml ---\n{yaml}"
        )
    });
    assert_eq!(
        &again, spec,
        "{how} -> to_yaml -> parse changed the spec\n{yaml}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = EnvironmentSpec::from_yaml_str(text, ORIGIN, BASE) {
        round_trips(&spec, "YAML");
    }
    if let Ok(spec) = EnvironmentSpec::from_json_str(text, ORIGIN, BASE) {
        round_trips(&spec, "JSON");
    }
});
