//! Says hello to its arguments and counts the lines on stdin.
//!
//! ```text
//! $ subrun build guest-sdk/examples/hello
//! $ printf 'a\nb\n' > in.txt
//! $ subrun run --stdin in.txt -- hello.wasm Ada Grace
//! hello, Ada and Grace, from wasm32-wasip1
//! 2 lines on stdin
//! ```

use std::process::ExitCode;

fn run() -> subrun_guest::Result<()> {
    let names = subrun_guest::args();
    let who = match names.as_slice() {
        [] => "world".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    let platform = if subrun_guest::is_wasi() {
        "wasm32-wasip1"
    } else {
        "the host"
    };
    println!("hello, {who}, from {platform}");
    let stdin = subrun_guest::read_stdin_to_string()?;
    println!("{} lines on stdin", stdin.lines().count());
    Ok(())
}

fn main() -> ExitCode {
    subrun_guest::report(run())
}
