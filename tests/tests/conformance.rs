//! The conformance suite, stamped out for each runtime. See `subrun_tests` for how cases and
//! skips work.

use subrun_tests::{Kind, for_each_case};

/// A test that runs `case` on `kind`.
macro_rules! case_test {
    ($kind:expr, $name:ident) => {
        #[test]
        fn $name() {
            subrun_tests::run($kind, |t| Box::pin(subrun_tests::cases::$name(t)));
        }
    };
    ($kind:expr, $name:ident, skip = $reason:literal) => {
        #[test]
        #[ignore = $reason]
        fn $name() {
            subrun_tests::run($kind, |t| Box::pin(subrun_tests::cases::$name(t)));
        }
    };
}

mod local {
    use super::*;
    macro_rules! case {
        (static_assets_are_read_only) => {
            case_test!(Kind::Local, static_assets_are_read_only, skip = "local runs trusted code: it does not isolate the filesystem (docs/runtimes/local.md)");
        };
        (guest_escape_attempts_fail) => {
            case_test!(Kind::Local, guest_escape_attempts_fail, skip = "local runs trusted code: it does not isolate anything (docs/runtimes/local.md)");
        };
        (deterministic_mode_repeats_exactly) => {
            case_test!(Kind::Local, deterministic_mode_repeats_exactly, skip = "native processes have no deterministic mode");
        };
        ($name:ident) => {
            case_test!(Kind::Local, $name);
        };
    }
    for_each_case!(case);
}

mod wasi {
    use super::*;
    macro_rules! case {
        (timeout_ends_the_whole_process_tree) => {
            case_test!(
                Kind::Wasi,
                timeout_ends_the_whole_process_tree,
                skip = "wasm guests have no shell and cannot start processes"
            );
        };
        ($name:ident) => {
            case_test!(Kind::Wasi, $name);
        };
    }
    for_each_case!(case);
}

mod docker {
    use super::*;
    macro_rules! case {
        (deterministic_mode_repeats_exactly) => {
            case_test!(
                Kind::Docker,
                deterministic_mode_repeats_exactly,
                skip = "containers have no deterministic mode"
            );
        };
        ($name:ident) => {
            case_test!(Kind::Docker, $name);
        };
    }
    for_each_case!(case);
}
