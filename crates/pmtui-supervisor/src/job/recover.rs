//! A job task that panics (a bug) must not leave its child unsupervised or its process
//! silently dead. The host runs the job inside `catch_unwind`; on a panic it:
//! - logs it to daemon.log and keeps it as an incident that `pmtui ping` reports;
//! - ends whatever the lost run left (the child the dead task owned, and its whole tree,
//!   with the process's own `stop_signal` and `kill_timeout`): nothing runs that no job
//!   watches, and the next run cannot become a duplicate of it;
//! - records an `internal error` in the process's history;
//! - starts a fresh job for the same process, which launches it again if it should run.
//!
//! The command channel belongs to the host, so commands queued behind the one whose
//! handling panicked reach the new job. The command that panicked loses its reply, and its
//! caller reports a failure (see `Supervisor::join`), never a success.

use super::{Job, JobCmd};
use crate::contain::{self, ScanTree, Tree};
use crate::record::DesiredState;
use crate::supervisor::Shared;
use crate::tree;
use futures_util::FutureExt;
use nix::sys::signal::Signal;
use pmtui_proto::{ExitRecord, ProcessId, ProcessStatus, now_ms};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Runs `job` until it exits, and a fresh one after each panic. The job is boxed: this
/// future lives as long as the process, and would otherwise hold it several times over.
pub(super) async fn host(job: Box<Job>, mut rx: crate::lazy_queue::Receiver<JobCmd>) {
    let (shared, id) = (Arc::clone(&job.shared), job.id);
    let mut next = Some(job);
    while let Some(job) = next.take() {
        match AssertUnwindSafe(job.run(&mut rx)).catch_unwind().await {
            Ok(()) => return,
            // Boxed: the host lives as long as the process, a panic is rare.
            Err(panic) => next = Box::pin(after_panic(&shared, id, &panic_text(&*panic))).await,
        }
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// Cleans up after a job that panicked; returns the job that replaces it (none when the
/// process was deleted meanwhile).
async fn after_panic(shared: &Arc<Shared>, id: ProcessId, what: &str) -> Option<Box<Job>> {
    let found = shared.read(id, |e| {
        (
            e.spec.clone(),
            e.env.clone(),
            Arc::clone(&e.sink),
            e.desired,
            e.info.pid.zip(e.pid_start_time),
            e.info.pid,
            e.info.name.clone(),
        )
    });
    let name = found
        .as_ref()
        .map_or_else(|| format!("id {id}"), |f| f.6.clone());
    tracing::error!(
        id,
        name,
        panic = what,
        "the job task panicked; ending what its run left and starting a fresh job"
    );
    // The run the dead task owned: its whole tree, found by cgroup, main pid (with its
    // start time) and marker, ended as a stop would.
    let (signal, timeout) = found.as_ref().map_or(
        (
            Signal::SIGTERM,
            Duration::from_millis(pmtui_proto::spec::DEFAULT_KILL_TIMEOUT_MS),
        ),
        |f| {
            (
                tree::parse_signal(&f.0.stop_signal).unwrap_or(Signal::SIGTERM),
                Duration::from_millis(f.0.kill_timeout_ms),
            )
        },
    );
    let main = found.as_ref().and_then(|f| f.4);
    let mut trees = vec![Tree::Scan(ScanTree::new(main, shared.config.marker(id)))];
    if let Some(cgroups) = &shared.containment.cgroups {
        trees.push(Tree::Cgroup {
            dir: cgroups.dir_of(id),
            kill_file: cgroups.kill_file,
        });
    }
    for mut tree in trees {
        let _ = contain::end(&mut tree, signal, timeout, None).await;
    }
    if let Some(pid) = found.as_ref().and_then(|f| f.5) {
        shared.managed.remove(pid);
    }
    let (spec, env, sink, desired, ..) = found?;
    let again = desired == DesiredState::Running;
    let outcome = if again { "restart" } else { "stopped" };
    let detail = format!(
        "pmtui's job for this process failed ({what}); what its run left was ended{}",
        if again {
            " and it is started again"
        } else {
            ""
        }
    );
    shared.note_incident(format!("{name} (id {id}): {detail}"));
    let now = now_ms();
    shared.record_exit(
        id,
        ExitRecord {
            at: now,
            pid: main.map_or(0, |(pid, _)| pid),
            exit_code: None,
            exit_signal: None,
            uptime_ms: 0,
            reason: "internal error".into(),
            detail,
            outcome: outcome.into(),
            next_restart_at: again.then_some(now),
            last_stderr: Vec::new(),
            trigger: None,
            started_at: None,
        },
    );
    shared.update(id, |e| {
        e.info.status = ProcessStatus::Stopped;
        e.info.pid = None;
        e.info.next_restart_at = None;
        e.info.status_reason = Some("its job failed internally and was restarted".into());
    });
    let mut job = Box::new(Job::new(Arc::clone(shared), id, spec, env, sink));
    if again && job.task.is_some() {
        // A task is scheduled again; its next firing runs it.
        job.activate_task();
    } else if again {
        // The new job's loop launches it (as a restart: the history says why).
        job.restart_at = Some(Instant::now());
    }
    Some(job)
}
