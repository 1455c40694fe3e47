//! Escaping what a guest or a submission controls before subrun prints it.
//!
//! File names, symlink targets, names from a module's name section or its imports, trap and
//! error messages: any of them may hold `ESC [2J` (clear the screen), `\r`, a newline followed
//! by a forged `subrun: exited 0`, or a bidirectional override that reorders what a reader
//! sees. [`escape`] turns every such character into a visible escape, so one message is one
//! line and reads as what it is. A guest's own stdout and stderr are its output and are
//! passed through unchanged; this is for what subrun itself writes about them.

use std::borrow::Cow;
use std::fmt::Write;

/// True for the characters [`escape`] rewrites: control characters (C0 including `\n`, `\r`
/// and `\t`, DEL, C1) and the Unicode format characters that reorder or hide text
/// (bidirectional embeddings, overrides and isolates, marks, zero-width characters).
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
        )
}

/// `text` with every character for which [`needs_escape`] holds written as a Rust escape
/// (`\u{1b}`, `\n`, `\r`, `\u{202e}`) and a backslash written as `\\` when anything was
/// escaped, so the original can be read back; borrowed unchanged when nothing needs it.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    escape_into(&mut out, text);
    Cow::Owned(out)
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if needs_escape(c) {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                _ => {
                    let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
                }
            }
        } else {
            out.push(c);
        }
    }
}

/// [`escape`] over bytes that may not be UTF-8: invalid sequences are written as `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => escape(text),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() + 8);
            for chunk in bytes.utf8_chunks() {
                escape_into(&mut out, chunk.valid());
                for b in chunk.invalid() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
            Cow::Owned(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(escape("main.py: ok é ✓"), Cow::Borrowed(_)));
        assert!(matches!(escape("a\\b"), Cow::Borrowed(_)));
    }

    #[test]
    fn control_and_reordering_characters_become_visible() {
        assert_eq!(
            escape("x\u{1b}[2J\nsubrun: exited 0\r\t\u{7f}\u{9b}\u{202e}\\"),
            "x\\u{1b}[2J\\nsubrun: exited 0\\r\\t\\u{7f}\\u{9b}\\u{202e}\\\\"
        );
        assert_eq!(escape_bytes(b"a\\\xff\x1b"), "a\\\\\\xff\\u{1b}");
        assert_eq!(escape_bytes(b"ok"), "ok");
    }

    proptest::proptest! {
        #[test]
        fn escaped_text_holds_no_control_character(s in ".*") {
            let e = escape(&s);
            proptest::prop_assert!(!e.chars().any(needs_escape), "{e:?}");
        }
    }
}
