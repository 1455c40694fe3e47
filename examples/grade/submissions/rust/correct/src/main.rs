//! Sum of numbers: every integer on stdin, summed.
use std::io::Read;

fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).expect("stdin");
    let sum: i64 = input
        .split_whitespace()
        .map(|t| t.parse::<i64>().expect("an integer"))
        .sum();
    println!("{sum}");
}
