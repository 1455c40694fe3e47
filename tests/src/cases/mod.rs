//! The conformance cases: each is an async function over a [`Target`](crate::Target), written
//! once and stamped out per runtime by `tests/conformance.rs`. Where runtimes legitimately
//! differ (how a native crash reads versus a wasm trap), the expectation is data keyed by the
//! runtime kind, next to the case.

mod basics;
mod driver;
mod limits;
mod setup;
mod streaming;
mod workspace;

pub use basics::*;
pub use driver::*;
pub use limits::*;
pub use setup::*;
pub use streaming::*;
pub use workspace::*;

/// Invokes `$m!(case)` for every case, in a stable order.
#[macro_export]
macro_rules! for_each_case {
    ($m:ident) => {
        $m!(exit_codes);
        $m!(output_is_exact_bytes);
        $m!(stdin_closed_bytes_and_stream);
        $m!(env_precedence);
        $m!(host_env_only_when_included);
        $m!(args_are_passed_verbatim);
        $m!(missing_command_exits_127);
        $m!(setup_runs_once_in_order_and_apart);
        $m!(failing_setup_fails_spawn_with_its_output);
        $m!(setup_leaves_the_runtime_pending);
        $m!(kill_returns_once_the_command_stopped);
        $m!(call_timeout_beats_the_spec_timeout);
        $m!(a_cancelled_execute_ends_the_command);
        $m!(timeout_keeps_partial_output);
        $m!(timeout_ends_the_whole_process_tree);
        $m!(spin_sleep_and_blocked_stdin_time_out);
        $m!(kill_from_another_task);
        $m!(kill_and_cleanup_are_idempotent);
        $m!(poll_reports_the_last_outcome);
        $m!(stream_order_and_no_lost_bytes);
        $m!(stream_is_live);
        $m!(output_cap_truncates_and_flags);
        $m!(memory_bomb_ends_in_a_memory_outcome);
        $m!(deep_recursion_crashes_the_guest_not_the_host);
        $m!(open_files_limit_is_enforced);
        $m!(disk_quota_stops_a_filling_guest);
        $m!(workspace_files_round_trip);
        $m!(workspace_paths_are_confined);
        $m!(placeholders_render_to_the_runtime_path);
        $m!(static_assets_are_read_only);
        $m!(guest_escape_attempts_fail);
        $m!(deterministic_mode_repeats_exactly);
        $m!(cpu_bound_computes_the_same_result);
        $m!(concurrent_executions);
    };
}
