//! Streaming: chunks as written, nothing lost, exactly one `Finished` last.

use std::time::{Duration, Instant};

use subrun::{ExecRequest, Outcome, RuntimeEvent};

use crate::Target;
use crate::fixtures::Fixture;

/// Over many runs every byte arrives, in order, on the right stream, and `Finished` comes
/// once, last, with the concatenation of the chunks.
pub async fn stream_order_and_no_lost_bytes(t: &Target) {
    let (s, rt) = t.spawn("").await;
    let out: String = (0..200).map(|i| format!("out-{i};")).collect();
    let err: String = (0..100).map(|i| format!("err-{i};")).collect();
    let cmd = t.cmd(Fixture::WriteBytes, &[&out, &err]);
    for run in 0..t.stream_runs {
        let mut exec = rt.stream(ExecRequest::new(cmd.clone())).await.unwrap();
        let (mut so, mut se, mut finished) = (Vec::new(), Vec::new(), Vec::new());
        while let Some(ev) = exec.next_event().await {
            assert!(finished.is_empty(), "run {run}: an event after Finished");
            match ev {
                RuntimeEvent::Stdout(b) => so.extend_from_slice(&b),
                RuntimeEvent::Stderr(b) => se.extend_from_slice(&b),
                RuntimeEvent::Finished(r) => finished.push(r),
                other => panic!("unexpected event {other:?}"),
            }
        }
        assert_eq!(finished.len(), 1, "run {run}: exactly one Finished");
        let r = &finished[0];
        assert_eq!(r.outcome, Outcome::Exited { code: 0 });
        assert_eq!(so, out.as_bytes(), "run {run}: stdout lost bytes");
        assert_eq!(se, err.as_bytes(), "run {run}: stderr lost bytes");
        assert_eq!(r.stdout, so);
        assert_eq!(r.stderr, se);
    }
    s.close().await.unwrap();
}

/// Chunks arrive while the command is still running, not all at the end.
pub async fn stream_is_live(t: &Target) {
    let (s, rt) = t.spawn("").await;
    let start = Instant::now();
    let mut exec = rt
        .stream(ExecRequest::new(t.cmd(Fixture::SlowWriter, &["4", "300"])))
        .await
        .unwrap();
    let mut arrivals = Vec::new();
    let mut end = None;
    while let Some(ev) = exec.next_event().await {
        match ev {
            RuntimeEvent::Stdout(b) => {
                arrivals.push((start.elapsed(), String::from_utf8_lossy(&b).into_owned()))
            }
            RuntimeEvent::Finished(r) => {
                assert_eq!(r.stdout_text(), "tick 0\ntick 1\ntick 2\ntick 3\n");
                end = Some(start.elapsed());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let end = end.expect("finished");
    let first = arrivals.first().expect("some output").0;
    assert!(
        first + Duration::from_millis(600) < end,
        "the first chunk arrived at {first:?}, the end at {end:?}: output was not streamed live"
    );
    s.close().await.unwrap();
}
