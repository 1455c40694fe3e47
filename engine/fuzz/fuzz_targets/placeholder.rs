//! Placeholder rendering: `find`, `render` and `render_value` never panic; text without
//! `{{static:` renders to itself; rendering every placeholder back to itself is the identity;
//! rendering replaces exactly the ranges `find` reports.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use subrun::placeholder::{find, render, render_value};

const OPEN: &str = "{{static:";

/// Renders each asset to a marker that holds no `{{static:` itself.
fn marker(name: &str) -> Option<String> {
    (!name.starts_with('x')).then(|| format!("<{name}>"))
}

/// Renders each placeholder to itself.
fn itself(name: &str) -> Option<String> {
    Some(format!("{{{{static:{name}}}}}"))
}

fn contains_open(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains(OPEN),
        Value::Array(items) => items.iter().any(contains_open),
        Value::Object(map) => map.values().any(contains_open),
        _ => false,
    }
}

fn check_text(text: &str) {
    let found = find(text);
    let rendered = render(text, marker, &["a", "b"]);
    if !text.contains(OPEN) {
        assert_eq!(found.as_deref().map(<[_]>::len), Ok(0), "{text:?}");
        assert_eq!(
            rendered.as_deref(),
            Ok(text),
            "text without `{{{{static:` changed"
        );
        return;
    }
    match found {
        Ok(places) => {
            assert_eq!(
                render(text, itself, &[]).as_deref(),
                Ok(text),
                "self-render changed {text:?}"
            );
            // The expected output, from the ranges.
            let mut expected = String::new();
            let mut last = 0;
            let mut unknown = None;
            for p in &places {
                assert!(
                    p.range.start >= last && p.range.end <= text.len(),
                    "{p:?} in {text:?}"
                );
                assert_eq!(&text[p.range.clone()], format!("{{{{static:{}}}}}", p.name));
                expected.push_str(&text[last..p.range.start]);
                match marker(p.name) {
                    Some(m) => expected.push_str(&m),
                    None => {
                        unknown.get_or_insert(p.name);
                    }
                }
                last = p.range.end;
            }
            expected.push_str(&text[last..]);
            match unknown {
                None => assert_eq!(rendered.as_deref(), Ok(expected.as_str()), "{text:?}"),
                Some(name) => {
                    let e = rendered.expect_err("an unknown asset rendered");
                    assert!(e.to_string().contains(name), "{e} does not name `{name}`");
                }
            }
        }
        Err(e) => {
            let r = rendered.expect_err("find failed but render succeeded");
            assert_eq!(r, e, "find and render disagree on {text:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_text(text);
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        let rendered = render_value(&value, &marker, &["a", "b"]);
        if !contains_open(&value) {
            assert_eq!(
                rendered.as_ref(),
                Ok(&value),
                "a value without `{{{{static:` changed"
            );
        }
        if let Ok(back) = render_value(&value, &itself, &[]) {
            assert_eq!(back, value, "self-render changed a value");
        }
    }
});
