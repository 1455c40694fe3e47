//! Splitting a command line into words as a POSIX shell does, for runtimes that run a program
//! directly (no `sh`): quotes and escapes are honoured; operators, expansions and globs are
//! refused with an error that names them, so a command never means something different on a
//! runtime without a shell.

/// Why a command line cannot be split into a program and its arguments.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The command is empty or only white space.
    #[error("empty command")]
    Empty,
    /// A shell operator, expansion or glob outside quotes.
    #[error(
        "shell {what} `{token}` at byte {offset} is not supported: the command runs one program with its arguments, without a shell (quote it to pass it literally)"
    )]
    ShellSyntax {
        /// `operator`, `expansion`, `glob` or `comment`.
        what: &'static str,
        /// The offending text, for example `&&` or `$(`.
        token: String,
        /// Byte offset in the command.
        offset: usize,
    },
    /// An unterminated quote or a trailing backslash.
    #[error("unbalanced quoting: {0}")]
    Quoting(String),
}

/// Splits `command` into words.
///
/// # Errors
/// [`CommandError`] naming the operator, expansion or glob that a shell would interpret.
pub fn split_command(command: &str) -> Result<Vec<String>, CommandError> {
    check_syntax(command)?;
    let words = shell_words::split(command).map_err(|e| CommandError::Quoting(e.to_string()))?;
    if words.is_empty() {
        return Err(CommandError::Empty);
    }
    Ok(words)
}

fn check_syntax(command: &str) -> Result<(), CommandError> {
    #[derive(PartialEq)]
    enum Q {
        None,
        Single,
        Double,
    }
    let bytes = command.as_bytes();
    let mut q = Q::None;
    let mut i = 0;
    let mut word_start = true;
    let err = |what, start: usize, len: usize| CommandError::ShellSyntax {
        what,
        token: command[start..(start + len).min(command.len())].to_string(),
        offset: start,
    };
    while i < bytes.len() {
        let c = bytes[i];
        match q {
            Q::Single => {
                if c == b'\'' {
                    q = Q::None;
                }
            }
            Q::Double => match c {
                b'"' => q = Q::None,
                b'\\' => i += 1,
                b'$' => {
                    return Err(err(
                        "expansion",
                        i,
                        if bytes.get(i + 1) == Some(&b'(') {
                            2
                        } else {
                            1
                        },
                    ));
                }
                b'`' => return Err(err("expansion", i, 1)),
                _ => {}
            },
            Q::None => {
                match c {
                    b'\'' => q = Q::Single,
                    b'"' => q = Q::Double,
                    b'\\' => i += 1,
                    b'|' | b'&' | b';' | b'<' | b'>' | b'(' | b')' | b'\n' => {
                        let mut len = 1;
                        while i + len < bytes.len() && b"|&;<>".contains(&bytes[i + len]) {
                            len += 1;
                        }
                        return Err(err("operator", i, len));
                    }
                    b'$' => {
                        return Err(err(
                            "expansion",
                            i,
                            if bytes.get(i + 1) == Some(&b'(') {
                                2
                            } else {
                                1
                            },
                        ));
                    }
                    b'`' => return Err(err("expansion", i, 1)),
                    b'*' | b'?' | b'[' => return Err(err("glob", i, 1)),
                    b'~' if word_start => return Err(err("expansion", i, 1)),
                    b'#' if word_start => return Err(err("comment", i, 1)),
                    _ => {}
                }
                word_start = c.is_ascii_whitespace();
                i += 1;
                continue;
            }
        }
        word_start = false;
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quotes_and_escapes_split_like_a_shell() {
        assert_eq!(
            split_command("python main.py 'a b' \"c d\" e\\ f").unwrap(),
            ["python", "main.py", "a b", "c d", "e f"]
        );
        assert_eq!(
            split_command("echo '|' \"&&\" '$HOME'").unwrap(),
            ["echo", "|", "&&", "$HOME"]
        );
        assert_eq!(
            split_command("prog --x=1 a#b").unwrap(),
            ["prog", "--x=1", "a#b"]
        );
    }

    #[test]
    fn operators_expansions_and_globs_are_named() {
        for (cmd, token) in [
            ("a && b", "&&"),
            ("a | b", "|"),
            ("a; b", ";"),
            ("a > out", ">"),
            ("a 2>&1", ">&"),
            ("echo $(id)", "$("),
            ("echo $HOME", "$"),
            ("echo \"$HOME\"", "$"),
            ("ls *.txt", "*"),
            ("cd ~", "~"),
            ("a # comment", "#"),
            ("sleep 30 &", "&"),
        ] {
            match split_command(cmd) {
                Err(CommandError::ShellSyntax { token: t, .. }) => assert_eq!(t, token, "{cmd}"),
                other => panic!("{cmd}: {other:?}"),
            }
        }
        let msg = split_command("a && b").unwrap_err().to_string();
        assert!(msg.contains("operator `&&`"), "{msg}");
    }

    #[test]
    fn empty_and_unbalanced() {
        assert_eq!(split_command("   "), Err(CommandError::Empty));
        assert!(matches!(
            split_command("echo 'oops"),
            Err(CommandError::Quoting(_))
        ));
    }

    proptest! {
        /// Quoting each word with shell_words::quote and splitting gives the words back.
        #[test]
        fn quoted_words_round_trip(words in proptest::collection::vec("[ -~]{1,12}", 1..6)) {
            let line = words.iter().map(|w| shell_words::quote(w).into_owned()).collect::<Vec<_>>().join(" ");
            prop_assert_eq!(split_command(&line).unwrap(), words);
        }

        /// Arbitrary input never panics.
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = split_command(&s);
        }
    }
}
