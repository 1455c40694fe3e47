//! Command splitting: `split_command` never panics, and the words of a command that splits,
//! quoted with shell-words and joined, split back to the same words.

#![no_main]

use libfuzzer_sys::fuzz_target;
use subrun::command::split_command;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(words) = split_command(line) else {
        return;
    };
    assert!(!words.is_empty(), "Ok with no words for {line:?}");
    let requoted = words
        .iter()
        .map(|w| shell_words::quote(w).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    match split_command(&requoted) {
        Ok(again) => assert_eq!(again, words, "{line:?} -> {requoted:?}"),
        Err(e) => {
            panic!("{line:?} split into {words:?}, whose quoted form {requoted:?} fails: {e}")
        }
    }
});
