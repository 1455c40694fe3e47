//! Statistics of the numbers on stdin (whitespace-separated): count, min, max, mean and
//! median, printed with the number of decimals given as the first argument (default 2) and
//! written to `stats.json` in the workspace. Exits 1 with a message when a word is not a
//! number, 2 when there are none.

use std::process::ExitCode;

use serde::Serialize;

/// What the submission reports.
#[derive(Serialize)]
struct Stats {
    count: usize,
    min: f64,
    max: f64,
    mean: f64,
    median: f64,
}

fn run() -> subrun_guest::Result<ExitCode> {
    let decimals: usize = match subrun_guest::args().first() {
        Some(d) => match d.parse() {
            Ok(d) => d,
            Err(_) => {
                eprintln!("the argument must be a number of decimals, not `{d}`");
                return Ok(ExitCode::from(1));
            }
        },
        None => 2,
    };
    let text = subrun_guest::read_stdin_to_string()?;
    let mut numbers = Vec::new();
    for word in text.split_whitespace() {
        match word.parse::<f64>() {
            Ok(n) if n.is_finite() => numbers.push(n),
            _ => {
                eprintln!("not a number: `{word}`");
                return Ok(ExitCode::from(1));
            }
        }
    }
    if numbers.is_empty() {
        eprintln!("no numbers on stdin");
        return Ok(ExitCode::from(2));
    }
    numbers.sort_by(f64::total_cmp);
    let count = numbers.len();
    let median = if count % 2 == 1 {
        numbers[count / 2]
    } else {
        (numbers[count / 2 - 1] + numbers[count / 2]) / 2.0
    };
    let stats = Stats {
        count,
        min: numbers[0],
        max: numbers[count - 1],
        mean: numbers.iter().sum::<f64>() / count as f64,
        median,
    };
    println!("count  {}", stats.count);
    for (name, value) in [
        ("min", stats.min),
        ("max", stats.max),
        ("mean", stats.mean),
        ("median", stats.median),
    ] {
        println!("{name:<6} {value:.decimals$}");
    }
    subrun_guest::write_json("stats.json", &stats)?;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => subrun_guest::report(Err(e)),
    }
}
