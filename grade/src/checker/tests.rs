use proptest::prelude::*;

use super::*;

fn ok(c: &Checker, out: &str, ans: &str) -> bool {
    c.check(out.as_bytes(), ans.as_bytes()) == CheckOutcome::Accepted
}

fn verdict(c: &Checker, out: &str, ans: &str) -> &'static str {
    match c.check(out.as_bytes(), ans.as_bytes()) {
        CheckOutcome::Accepted => "AC",
        CheckOutcome::WrongAnswer(_) => "WA",
        CheckOutcome::PresentationError(_) => "PE",
        other => panic!("a built-in checker gave {other:?}"),
    }
}

const ABS: FloatTolerance = FloatTolerance {
    absolute: Some(1e-6),
    relative: None,
};
const REL: FloatTolerance = FloatTolerance {
    absolute: None,
    relative: Some(1e-3),
};

#[test]
fn exact_compares_bytes_and_calls_a_layout_difference_pe() {
    assert!(ok(&Checker::Exact, "3\n", "3\n"));
    assert_eq!(verdict(&Checker::Exact, "3", "3\n"), "PE");
    assert_eq!(verdict(&Checker::Exact, "3\r\n", "3\n"), "PE");
    assert_eq!(verdict(&Checker::Exact, "4\n", "3\n"), "WA");
}

#[test]
fn tokens_ignores_every_kind_of_whitespace_but_not_case_or_token_boundaries() {
    assert!(ok(&Checker::Tokens, "  1\t2\r\n\n3 \x0b\x0c", "1 2 3\n"));
    assert!(ok(&Checker::Tokens, "", "\n \n"));
    assert_eq!(verdict(&Checker::Tokens, "12 3", "1 23"), "WA");
    assert_eq!(verdict(&Checker::Tokens, "Yes", "YES"), "WA");
    assert_eq!(verdict(&Checker::Tokens, "1 2", "1 2 3"), "WA");
    assert_eq!(verdict(&Checker::Tokens, "1.0", "1"), "WA");
}

#[test]
fn lines_ignores_trailing_whitespace_and_trailing_empty_lines_only() {
    assert!(ok(&Checker::Lines, "a b  \t\r\nc\n\n\n", "a b\nc"));
    assert!(ok(&Checker::Lines, "a\r\n", "a\n"));
    // Leading whitespace, inner spacing and inner empty lines count; a layout-only
    // difference is PE.
    assert_eq!(verdict(&Checker::Lines, " a\n", "a\n"), "PE");
    assert_eq!(verdict(&Checker::Lines, "a  b\n", "a b\n"), "PE");
    assert_eq!(verdict(&Checker::Lines, "a\n\nb\n", "a\nb\n"), "PE");
    assert_eq!(verdict(&Checker::Lines, "a\nc\n", "a\nb\n"), "WA");
}

#[test]
fn unordered_compares_lines_as_a_multiset() {
    assert!(ok(&Checker::Unordered, "b\na  \nc\n\n", "a\nb\nc\n"));
    assert_eq!(verdict(&Checker::Unordered, "a\na\nb\n", "a\nb\nb\n"), "WA");
    assert_eq!(verdict(&Checker::Unordered, "a\nb\n", "a\nb\nc\n"), "WA");
}

#[test]
fn floats_within_absolute_tolerance_inclusive() {
    let c = Checker::Floats(ABS);
    assert!(ok(&c, "0.5000005", "0.5"));
    assert!(ok(&c, "1.5", "1.5000001"));
    // 0.25 + 2^-20 is exact in binary: a difference of exactly the bound passes.
    let exact_bound = FloatTolerance {
        absolute: Some(2f64.powi(-20)),
        relative: None,
    };
    assert!(floats_equal(0.25 + 2f64.powi(-20), 0.25, exact_bound));
    assert!(!floats_equal(0.25 + 2f64.powi(-19), 0.25, exact_bound));
    assert_eq!(verdict(&c, "0.500002", "0.5"), "WA");
}

#[test]
fn floats_relative_tolerance_scales_with_the_answer() {
    let c = Checker::Floats(REL);
    assert!(ok(&c, "1000.9", "1000"));
    assert_eq!(verdict(&c, "1001.1", "1000"), "WA");
    // Relative to the answer only: near 0 nothing but 0 passes.
    assert_eq!(verdict(&c, "1e-300", "0"), "WA");
    assert!(ok(&c, "0", "0"));
}

#[test]
fn floats_either_bound_accepts() {
    let both = FloatTolerance {
        absolute: Some(1e-6),
        relative: Some(1e-3),
    };
    assert!(floats_equal(1000.5, 1000.0, both));
    assert!(floats_equal(1e-7, 0.0, both));
    assert!(!floats_equal(2e-6, 0.0, both));
}

#[test]
fn floats_edge_cases_negative_zero_exponents_nan_inf() {
    let c = Checker::Floats(ABS);
    assert!(ok(&c, "-0", "0"));
    assert!(ok(&c, "-0.0", "+0"));
    assert!(ok(&c, "1e3 2.5E-1 .5 1.", "1000 0.25 0.5 1"));
    assert!(ok(&c, "NaN", "nan"));
    assert!(ok(&c, "inf -Infinity", "INF -inf"));
    assert_eq!(verdict(&c, "nan", "0"), "WA");
    assert_eq!(verdict(&c, "inf", "-inf"), "WA");
    assert_eq!(verdict(&c, "1e308", "inf"), "WA");
    let huge = Checker::Floats(FloatTolerance {
        absolute: Some(f64::INFINITY),
        relative: None,
    });
    assert_eq!(verdict(&huge, "5", "inf"), "WA");
    // Not floats: compared exactly.
    assert!(ok(&c, "abc", "abc"));
    assert_eq!(verdict(&c, "0x10", "16"), "WA");
    assert_eq!(verdict(&c, "1,5", "1.5"), "WA");
}

#[test]
fn a_mismatch_names_the_first_differing_line_and_shows_a_short_diff() {
    let CheckOutcome::WrongAnswer(m) = Checker::Tokens.check(b"1\n2\n9\n4\n", b"1\n2\n3\n4\n")
    else {
        panic!("expected WA");
    };
    assert_eq!(m.message, "token 3: expected `3`, got `9`");
    assert_eq!(m.first_diff_line, Some(3));
    assert!(m.diff.contains("-3\n+9"), "{}", m.diff);
    let long_out: String = (0..100).map(|i| format!("{i}\n")).collect();
    let CheckOutcome::WrongAnswer(m) = Checker::Exact.check(long_out.as_bytes(), b"x\n") else {
        panic!("expected WA");
    };
    assert!(m.diff.lines().count() <= DIFF_MAX_LINES + 1);
    assert!(m.diff.ends_with('…'));
}

proptest! {
    #[test]
    fn every_checker_accepts_the_answer_itself(s in "[ -~\n\t]{0,200}") {
        for c in [Checker::Exact, Checker::Tokens, Checker::Lines, Checker::Unordered, Checker::Floats(ABS)] {
            prop_assert!(ok(&c, &s, &s), "{} refused identical text", c.name());
        }
    }

    #[test]
    fn tokens_accepts_any_rewhitespacing(words in prop::collection::vec("[a-z0-9]{1,5}", 0..20), seps in prop::collection::vec("[ \t\r\n]{1,3}", 21)) {
        let joined = words.join(" ");
        let mut spaced = seps[0].clone();
        for (w, sep) in words.iter().zip(&seps[1..]) {
            spaced.push_str(w);
            spaced.push_str(sep);
        }
        prop_assert!(ok(&Checker::Tokens, &spaced, &joined));
    }

    #[test]
    fn floats_accepts_within_half_the_bound_and_refuses_beyond_twice(x in -1e6f64..1e6, d in 0.0f64..1.0) {
        let tol = FloatTolerance { absolute: Some(1e-3), relative: None };
        prop_assert!(floats_equal(x + d * 0.5e-3, x, tol));
        prop_assert!(!floats_equal(x + 2e-3 + d, x, tol));
    }

    #[test]
    fn unordered_accepts_any_permutation(lines in prop::collection::vec("[a-z]{1,4}", 0..12), seed in any::<u64>()) {
        let mut shuffled = lines.clone();
        let n = shuffled.len();
        if n > 1 {
            for i in 0..n {
                let j = ((seed >> (i % 60)) as usize) % n;
                shuffled.swap(i, j);
            }
        }
        prop_assert!(ok(&Checker::Unordered, &shuffled.join("\n"), &lines.join("\n")));
    }
}

#[test]
fn messages_and_diffs_escape_what_the_submission_printed() {
    let CheckOutcome::WrongAnswer(m) = Checker::Tokens.check(b"\x1b[2J\xe2\x80\xae\n", b"3\n")
    else {
        panic!("expected WA");
    };
    assert_eq!(
        m.message,
        "token 1: expected `3`, got `\\u{1b}[2J\\u{202e}`"
    );
    assert!(
        !m.diff.contains('\x1b') && !m.diff.contains('\u{202e}'),
        "{}",
        m.diff
    );
    assert!(m.diff.contains("+\\u{1b}[2J\\u{202e}"), "{}", m.diff);
}
