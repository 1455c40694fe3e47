//! Crashes on inputs of more than two numbers: an index out of bounds panics, and a panic
//! aborts a wasm32-wasip1 program with a trap (RE, trap: unreachable executed).
use std::io::Read;

fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).expect("stdin");
    let numbers: Vec<i64> = input
        .split_whitespace()
        .map(|t| t.parse().expect("an integer"))
        .collect();
    let first_two = [0; 2];
    let mut sum = 0;
    for (i, n) in numbers.iter().enumerate() {
        sum += n + first_two[std::hint::black_box(i)];
    }
    println!("{sum}");
}
