//! The guest fixtures, built by `build.rs` for wasm32-wasip1 and for the host.

include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));

/// Directory of the fixtures built for `wasm32-wasip1` (`<name>.wasm`).
pub const WASM_DIR: &str = env!("SUBRUN_FIXTURES_WASM");
/// Directory of the fixtures built for the host, statically linked (`<name>`).
pub const NATIVE_DIR: &str = env!("SUBRUN_FIXTURES_NATIVE");

/// The conformance cases that exercise each fixture. The match has no wildcard arm, so adding
/// a fixture without a case does not compile.
pub const fn cases_of(f: Fixture) -> &'static [&'static str] {
    match f {
        Fixture::CpuBound => &["cpu_bound_computes_the_same_result"],
        Fixture::DiskFill => &[
            "disk_quota_stops_a_filling_guest",
            "exhaustion::exhaustion_ends_on_time_on_*",
        ],
        Fixture::DeterminismProbe => &["deterministic_mode_repeats_exactly"],
        Fixture::EchoStdin => &[
            "stdin_closed_bytes_and_stream",
            "spin_sleep_and_blocked_stdin_time_out",
            "exhaustion::exhaustion_ends_on_time_on_*",
            "soak::soak_*",
        ],
        Fixture::EscapeAttempt => &[
            "escape::escape_attempts_fail_on_wasi",
            "escape::escape_attempts_fail_on_docker",
            "escape::escape_attempts_on_local_escape_only_where_documented",
        ],
        Fixture::EscapeProbe => &["guest_escape_attempts_fail"],
        Fixture::ExitCode => &[
            "exit_codes",
            "failing_setup_fails_spawn_with_its_output",
            "setup_leaves_the_runtime_pending",
            "a_cancelled_execute_ends_the_command",
            "poll_reports_the_last_outcome",
            "soak::soak_*",
        ],
        Fixture::FileOps => &[
            "workspace_files_round_trip",
            "setup_runs_once_in_order_and_apart",
            "static_assets_are_read_only",
            "placeholders_render_to_the_runtime_path",
        ],
        Fixture::ForkBomb => &[
            "exhaustion::exhaustion_ends_on_time_on_docker",
            "exhaustion::docker_sweep_ends_a_fork_bomb_that_refills_the_pids_limit",
        ],
        Fixture::Hello => &[
            "concurrent_executions",
            "exhaustion::exhaustion_ends_on_time_on_*",
            "soak::soak_*",
        ],
        Fixture::MemoryBomb => &[
            "memory_bomb_ends_in_a_memory_outcome",
            "exhaustion::exhaustion_ends_on_time_on_*",
        ],
        Fixture::OpenFiles => &[
            "open_files_limit_is_enforced",
            "exhaustion::exhaustion_ends_on_time_on_*",
        ],
        Fixture::OutputFlood => &[
            "output_cap_truncates_and_flags",
            "exhaustion::exhaustion_ends_on_time_on_*",
        ],
        Fixture::PrintArgs => &["args_are_passed_verbatim"],
        Fixture::PrintEnv => &["env_precedence", "host_env_only_when_included"],
        Fixture::SleepForever => &[
            "spin_sleep_and_blocked_stdin_time_out",
            "exhaustion::exhaustion_ends_on_time_on_*",
        ],
        Fixture::SlowWriter => &[
            "timeout_keeps_partial_output",
            "stream_is_live",
            "call_timeout_beats_the_spec_timeout",
        ],
        Fixture::Spin => &[
            "spin_sleep_and_blocked_stdin_time_out",
            "kill_from_another_task",
            "kill_returns_once_the_command_stopped",
            "a_cancelled_execute_ends_the_command",
            "exhaustion::exhaustion_ends_on_time_on_*",
            "soak::soak_*",
        ],
        Fixture::StackOverflow => &[
            "deep_recursion_crashes_the_guest_not_the_host",
            "exhaustion::exhaustion_ends_on_time_on_*",
        ],
        Fixture::WriteBytes => &[
            "output_is_exact_bytes",
            "stream_order_and_no_lost_bytes",
            "setup_leaves_the_runtime_pending",
        ],
    }
}
