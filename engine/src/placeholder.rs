//! `{{static:NAME}}` placeholders: finding and rendering them in strings and nested data.
//!
//! A placeholder renders to the path at which the *runtime* shows the asset
//! (`/static/<save_path>` for `wasi` and `docker`, the absolute host path for `local`); the
//! caller supplies that mapping. Text that is not a placeholder is left byte-for-byte intact.

use serde_json::Value;

/// The opening of a placeholder.
const OPEN: &str = "{{static:";
/// The closing of a placeholder.
const CLOSE: &str = "}}";

/// A placeholder that could not be rendered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlaceholderError {
    /// The name is not a known asset.
    #[error("unknown static asset `{name}` in `{{{{static:{name}}}}}` (known: {known})")]
    UnknownAsset {
        /// The name inside the placeholder.
        name: String,
        /// The known names, comma separated, or `none`.
        known: String,
    },
    /// `{{static:` without a closing `}}`.
    #[error("unterminated placeholder starting at byte {offset}: expected `{{{{static:NAME}}}}`")]
    Unterminated {
        /// Byte offset of the opening `{{static:`.
        offset: usize,
    },
    /// `{{static:}}` with an empty or malformed name.
    #[error(
        "invalid asset name `{name}` in placeholder: names use letters, digits, `_`, `-` and `.`"
    )]
    InvalidName {
        /// The text between `{{static:` and `}}`.
        name: String,
    },
}

/// One placeholder occurrence: the asset name and the byte range of the whole `{{static:..}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placeholder<'a> {
    /// The asset name.
    pub name: &'a str,
    /// Byte range of the placeholder in the input.
    pub range: std::ops::Range<usize>,
}

/// True for names made of ASCII letters, digits, `_`, `-` and `.` (not starting with `.`).
pub fn is_valid_asset_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Finds every placeholder in `text`, in order.
///
/// # Errors
/// An unterminated placeholder or an invalid name.
pub fn find(text: &str) -> Result<Vec<Placeholder<'_>>, PlaceholderError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(rel) = text[pos..].find(OPEN) {
        let start = pos + rel;
        let name_start = start + OPEN.len();
        let Some(close_rel) = text[name_start..].find(CLOSE) else {
            return Err(PlaceholderError::Unterminated { offset: start });
        };
        let name = &text[name_start..name_start + close_rel];
        if !is_valid_asset_name(name) {
            return Err(PlaceholderError::InvalidName {
                name: name.to_string(),
            });
        }
        let end = name_start + close_rel + CLOSE.len();
        out.push(Placeholder {
            name,
            range: start..end,
        });
        pos = end;
    }
    Ok(out)
}

/// Renders every placeholder in `text` with `lookup(name)`.
///
/// Returns the input unchanged (without allocating a new pattern) when it holds no placeholder.
///
/// # Errors
/// [`PlaceholderError::UnknownAsset`] when `lookup` returns `None`; `known` lists the names the
/// caller knows, for the message.
pub fn render<F>(text: &str, lookup: F, known: &[&str]) -> Result<String, PlaceholderError>
where
    F: Fn(&str) -> Option<String>,
{
    if !text.contains(OPEN) {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for p in find(text)? {
        out.push_str(&text[last..p.range.start]);
        match lookup(p.name) {
            Some(path) => out.push_str(&path),
            None => {
                return Err(PlaceholderError::UnknownAsset {
                    name: p.name.to_string(),
                    known: known_list(known),
                });
            }
        }
        last = p.range.end;
    }
    out.push_str(&text[last..]);
    Ok(out)
}

/// Renders placeholders in every string of a JSON value (map values and list items, at any
/// depth). Map keys are left as they are.
///
/// # Errors
/// As [`render`]; the error names the first failing string.
pub fn render_value<F>(value: &Value, lookup: &F, known: &[&str]) -> Result<Value, PlaceholderError>
where
    F: Fn(&str) -> Option<String>,
{
    Ok(match value {
        Value::String(s) => Value::String(render(s, lookup, known)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_value(v, lookup, known))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_value(v, lookup, known)?)))
                .collect::<Result<_, PlaceholderError>>()?,
        ),
        other => other.clone(),
    })
}

/// Every placeholder name used in the strings of `value`, with the JSON key path of the string
/// that holds it (for error messages such as `wasi.programs.python.module`).
///
/// # Errors
/// The first malformed placeholder, with its key path.
pub fn names_in_value(
    value: &Value,
    path: &str,
) -> Result<Vec<(String, String)>, (String, PlaceholderError)> {
    let mut out = Vec::new();
    collect(value, path, &mut out)?;
    Ok(out)
}

fn collect(
    value: &Value,
    path: &str,
    out: &mut Vec<(String, String)>,
) -> Result<(), (String, PlaceholderError)> {
    match value {
        Value::String(s) => {
            for p in find(s).map_err(|e| (path.to_string(), e))? {
                out.push((path.to_string(), p.name.to_string()));
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect(v, &format!("{path}[{i}]"), out)?;
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                collect(v, &child, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn known_list(known: &[&str]) -> String {
    if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lookup(name: &str) -> Option<String> {
        (name == "data").then(|| "/static/data".to_string())
    }

    #[test]
    fn renders_in_strings_and_nested_values() {
        assert_eq!(
            render("cat {{static:data}}/a.txt", lookup, &["data"]).unwrap(),
            "cat /static/data/a.txt"
        );
        let v = serde_json::json!({"args": ["{{static:data}}", 3, {"x": "{{static:data}}/y"}]});
        let r = render_value(&v, &lookup, &["data"]).unwrap();
        assert_eq!(
            r,
            serde_json::json!({"args": ["/static/data", 3, {"x": "/static/data/y"}]})
        );
    }

    #[test]
    fn unknown_and_malformed_names_are_errors() {
        let e = render("{{static:nope}}", lookup, &["data"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown static asset `nope` in `{{static:nope}}` (known: data)"
        );
        assert!(matches!(
            render("{{static:data", lookup, &[]),
            Err(PlaceholderError::Unterminated { offset: 0 })
        ));
        assert!(matches!(
            render("{{static:}}", lookup, &[]),
            Err(PlaceholderError::InvalidName { .. })
        ));
        assert!(matches!(
            render("{{static:a b}}", lookup, &[]),
            Err(PlaceholderError::InvalidName { .. })
        ));
    }

    proptest! {
        /// Text without the opening marker renders to itself.
        #[test]
        fn text_without_placeholders_is_unchanged(s in "[^{]*") {
            prop_assert_eq!(render(&s, lookup, &[]).unwrap(), s);
        }

        /// Rendering replaces exactly the placeholders and keeps everything around them.
        #[test]
        fn surrounding_text_is_kept(pre in "[^{]*", post in "[^{]*") {
            let text = format!("{pre}{{{{static:data}}}}{post}");
            prop_assert_eq!(render(&text, lookup, &["data"]).unwrap(), format!("{pre}/static/data{post}"));
        }
    }
}
