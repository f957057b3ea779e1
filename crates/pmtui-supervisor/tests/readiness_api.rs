//! The readiness API other features build on (`current_run`, `wait_ready`,
//! `app_messages`), driven through a real `Supervisor` with real processes.
//!
//! One test function: a `Supervisor` makes the test process a child subreaper that reaps
//! the children it does not own, so two engines in one process would reap each other's.

use pmtui_proto::{HealthCheck, OnFailure, ProbeKind, ProcessSpec};
use pmtui_supervisor::{AppPayload, MessageSource, ReadyOutcome, Supervisor, SupervisorConfig};
use std::path::Path;
use std::time::Duration;

const LONG: Option<Duration> = Some(Duration::from_secs(30));

fn spec(name: &str, script: &str) -> ProcessSpec {
    ProcessSpec {
        name: name.into(),
        script: "sh".into(),
        args: vec!["-c".into(), script.into()],
        env: std::env::vars().collect(),
        cwd: std::env::temp_dir(),
        ..ProcessSpec::default()
    }
}

async fn started(sup: &Supervisor, spec: ProcessSpec) -> u32 {
    let outcome = sup.start(spec, false, false).await.expect("start");
    outcome.started[0].id
}

#[tokio::test]
async fn readiness_api() {
    let home = tempfile::tempdir().expect("home");
    let sup = Supervisor::new(SupervisorConfig::new(home.path().to_path_buf()));
    waits_follow_runs_and_report_how_they_ended(&sup).await;
    node_messages_reach_the_stream_and_ready_counts(&sup, home.path()).await;
    a_probe_decides_readiness(&sup, home.path()).await;
}

async fn a_probe_decides_readiness(sup: &Supervisor, home: &Path) {
    let flag = home.join("healthy");
    let probed = ProcessSpec {
        health_check: Some(Box::new(HealthCheck {
            kind: ProbeKind::Exec,
            command: Some(format!("test -e {}", flag.display())),
            interval_ms: 50,
            retries: 2,
            on_failure: OnFailure::None,
            ..HealthCheck::default()
        })),
        ..spec("probed", "exec sleep 60")
    };
    let id = started(sup, probed).await;
    match sup.wait_ready(id, None, LONG).await {
        ReadyOutcome::Failed(why) => {
            assert!(
                why.starts_with("health check failed: exec test -e"),
                "{why}"
            );
            assert!(why.ends_with("exit 1"), "{why}");
        }
        other => panic!("a probe that fails twice fails the wait: {other:?}"),
    }
    std::fs::write(&flag, "").expect("flag");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        // The run stays failed until a probe passes, then it is ready.
        if sup.wait_ready(id, None, LONG).await == ReadyOutcome::Ready {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sup.delete(&["all".into()]).await.expect("delete");
}

async fn waits_follow_runs_and_report_how_they_ended(sup: &Supervisor) {
    // Nothing awaited: ready once started.
    let id = started(sup, spec("plain", "exec sleep 60")).await;
    assert_eq!(sup.wait_ready(id, None, LONG).await, ReadyOutcome::Ready);
    let run = sup.current_run(id).expect("known");
    assert_eq!(run, 1);

    // A restart: a wait for a later run sees the new one, not the old ready one.
    let waiter = {
        let sup = sup.clone();
        tokio::spawn(async move { sup.wait_ready(id, Some(run), LONG).await })
    };
    sup.restart(&["plain".into()], None).await.expect("restart");
    assert_eq!(waiter.await.expect("join"), ReadyOutcome::Ready);
    assert_eq!(sup.current_run(id), Some(2));

    // wait_ready without a signal: timed out at listen_timeout.
    let silent = ProcessSpec {
        wait_ready: true,
        listen_timeout_ms: Some(200),
        ..spec("silent", "exec sleep 60")
    };
    let id = started(sup, silent).await;
    assert_eq!(sup.wait_ready(id, None, LONG).await, ReadyOutcome::TimedOut);

    // A run that exits before it is ready failed, with the reason.
    let crash = ProcessSpec {
        wait_ready: true,
        listen_timeout_ms: Some(60_000),
        ..spec("crash", "exit 3")
    };
    let id = started(sup, crash).await;
    match sup.wait_ready(id, None, LONG).await {
        ReadyOutcome::Failed(why) => assert!(why.contains("exited with code 3"), "{why}"),
        other => panic!("expected a failure, got {other:?}"),
    }

    // The caller's own bound.
    let slow = ProcessSpec {
        wait_ready: true,
        listen_timeout_ms: Some(60_000),
        ..spec("slow", "exec sleep 60")
    };
    let id = started(sup, slow).await;
    let outcome = sup
        .wait_ready(id, None, Some(Duration::from_millis(100)))
        .await;
    assert_eq!(outcome, ReadyOutcome::TimedOut);

    // Deleted while waited on.
    let waiter = {
        let sup = sup.clone();
        tokio::spawn(async move { sup.wait_ready(id, None, LONG).await })
    };
    sup.delete(&["all".into()]).await.expect("delete");
    assert!(matches!(
        waiter.await.expect("join"),
        ReadyOutcome::Failed(_)
    ));
    assert_eq!(sup.current_run(id), None);
}

async fn node_messages_reach_the_stream_and_ready_counts(sup: &Supervisor, home: &Path) {
    let mut messages = sup.app_messages();
    let script = home.join("app.js");
    std::fs::write(
        &script,
        "process.send({ type: 'listening', port: 1234 });\nprocess.send('ready');\nsetInterval(() => {}, 1000);\n",
    )
    .expect("script");
    let app = ProcessSpec {
        name: "node-app".into(),
        script: script.display().to_string(),
        interpreter: Some("node".into()),
        env: std::env::vars().collect(),
        cwd: home.to_path_buf(),
        wait_ready: true,
        listen_timeout_ms: Some(60_000),
        ..ProcessSpec::default()
    };
    let id = started(sup, app).await;
    assert_eq!(sup.wait_ready(id, None, LONG).await, ReadyOutcome::Ready);
    let first = tokio::time::timeout(Duration::from_secs(30), messages.recv())
        .await
        .expect("a message in time")
        .expect("a message");
    assert_eq!((first.id, first.run), (id, 1));
    assert_eq!(first.source, MessageSource::NodeIpc);
    assert_eq!(
        first.payload,
        AppPayload::Json(serde_json::json!({"type": "listening", "port": 1234}))
    );
    sup.delete(&["all".into()]).await.expect("delete");
}
