//! Answering one request: the verb on the supervisor, the reply, the stream to install
//! after it, and the write-through to the per-process files for requests that change the set.

use super::{Follow, Install, OutFrame, Outgoing};
use crate::{Daemon, Shutdown};
use futures_util::FutureExt;
use pmtui_proto::frames::Part;
use pmtui_proto::{ErrorKind, Request, Response, ServerFrame, codec};
use pmtui_supervisor::SupervisorError;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::mpsc;

pub(super) async fn handle(
    daemon: Arc<Daemon>,
    id: u64,
    request: Request,
    out: mpsc::UnboundedSender<Outgoing>,
) {
    if request == Request::ListJson {
        list_json(&daemon, id, &out).await;
        return;
    }
    let changes = matches!(
        request,
        Request::Start { .. }
            | Request::Apply { .. }
            | Request::Update { .. }
            | Request::Stop { .. }
            | Request::Restart { .. }
            | Request::Reload { .. }
            | Request::Delete { .. }
            | Request::Reset { .. }
            | Request::Run { .. }
            | Request::Scale { .. }
            | Request::Watch { .. }
            | Request::Resurrect
    );
    // A rename (an update under a new name) leaves the old name's file to rewrite too.
    let renamed: BTreeSet<String> = match &request {
        Request::Update { ids, .. } => daemon
            .supervisor
            .list()
            .into_iter()
            .filter(|p| ids.contains(&p.id))
            .map(|p| p.name)
            .collect(),
        _ => BTreeSet::new(),
    };
    // The ids before the change, for `make_durable` to tell this request's creations; only
    // requests that change the set need them (a `wait-ready` per process of a 1,000-app
    // file would copy the table's ids a thousand times).
    let before = if changes {
        daemon.supervisor.ids()
    } else {
        BTreeSet::new()
    };
    let verb = request.verb();
    let work = async {
        let (response, then) = respond(&daemon, request).await;
        // On disk before the reply, so a daemon killed right after cannot revive a process
        // the caller was told is stopped (the persister alone may still be behind); a
        // change that cannot be recorded is undone and reported instead.
        let response = if changes {
            crate::persist::make_durable(&daemon, &before, response, renamed).await
        } else {
            response
        };
        (response, then)
    };
    // A bug that panics here must still answer: the client would otherwise wait for ever.
    let (response, then) = match std::panic::AssertUnwindSafe(work).catch_unwind().await {
        Ok(done) => done,
        Err(panic) => (panicked(verb, &*panic), None),
    };
    let _ = out.send(Outgoing {
        frame: OutFrame::Typed(ServerFrame::Reply { id, response }),
        then,
    });
}

/// The most of `ls --json`'s rows written before they go out as a part of the reply: the
/// client prints a part while the next is written, and neither side holds the whole list
/// (780 KB at 1,000 processes). A list this short is one part, as any other reply.
const LIST_PART: usize = 64 * 1024;

/// `list_json`: the rows written straight into the reply frame, laid out as `ls --json`
/// prints them, so that neither side encodes or re-indents them again; sent in parts of
/// about `LIST_PART` bytes as they are written (the session writes them in a row).
async fn list_json(daemon: &Daemon, id: u64, out: &mpsc::UnboundedSender<Outgoing>) {
    let mut cursor = pmtui_supervisor::JsonCursor::default();
    let mut parts: Option<mpsc::UnboundedSender<Part>> = None;
    // The end of the last part's last line, which begins the next part.
    let mut carry = Vec::new();
    loop {
        let first = parts.is_none();
        let write = || {
            // Room for the part and its last row, which goes past the limit.
            let mut bytes = Vec::with_capacity(LIST_PART + 4096);
            bytes.extend_from_slice(&carry);
            if first {
                codec::processes_reply_head(id, &mut bytes);
            }
            let more = daemon
                .supervisor
                .list_json(&mut cursor, &mut bytes, LIST_PART);
            let rest = if more {
                // A part ends with a line break: a client printing parts as they come
                // writes whole lines (one write each, through a line-buffered stdout).
                let cut = bytes
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |at| at + 1);
                bytes.split_off(cut)
            } else {
                bytes.extend_from_slice(codec::PROCESSES_REPLY_TAIL);
                Vec::new()
            };
            let part = Part {
                bytes: bytes.into(),
                more,
            };
            (part, rest)
        };
        let part = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(write)) {
            Ok((part, rest)) => {
                carry = rest;
                part
            }
            // A bug that panics here must still answer, as in `handle`; once a part is
            // out, the message cannot be finished: dropping `parts` ends the connection,
            // and the client says it was lost.
            Err(panic) => {
                let response = panicked("list_json", &*panic);
                if first {
                    let frame = OutFrame::Typed(ServerFrame::Reply { id, response });
                    let _ = out.send(Outgoing { frame, then: None });
                }
                return;
            }
        };
        let more = part.more;
        match &parts {
            Some(tx) => {
                if tx.send(part).is_err() {
                    return;
                }
            }
            None if !more => {
                let frame = OutFrame::Encoded(part.bytes);
                let _ = out.send(Outgoing { frame, then: None });
            }
            None => {
                let (tx, rx) = mpsc::unbounded_channel();
                let _ = tx.send(part);
                let _ = out.send(Outgoing {
                    frame: OutFrame::Parts(rx),
                    then: None,
                });
                parts = Some(tx);
            }
        }
        if !more {
            return;
        }
        // The session writes this part (and the client prints it) while the next one is
        // written: on one thread, only if this task lets it run.
        tokio::task::yield_now().await;
    }
}

/// The answer to a request whose handler panicked: the client would otherwise wait for
/// ever, and the daemon carries on.
fn panicked(verb: &str, panic: &(dyn std::any::Any + Send)) -> Response {
    let what = panic_text(panic);
    tracing::error!(verb, panic = %what, "a request handler panicked");
    let message = format!(
        "internal error while handling `{verb}`: {what}; the daemon carries on, but check \
         `pmtui ls` and daemon.log (please report this)"
    );
    Response::error(ErrorKind::Internal, message)
}

/// A panic's message.
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

async fn respond(daemon: &Arc<Daemon>, request: Request) -> (Response, Option<Install>) {
    let supervisor = &daemon.supervisor;
    let processes = |r: Result<Vec<pmtui_proto::ProcessInfo>, SupervisorError>| match r {
        Ok(processes) => Response::Processes { processes },
        Err(err) => failure(err),
    };
    let response = match request {
        Request::Ping => Response::Pong {
            version: pmtui_proto::VERSION.to_string(),
            pid: std::process::id(),
            home: daemon.paths.home.display().to_string(),
            uptime_ms: daemon.started.elapsed().as_millis() as u64,
            processes: supervisor.count(),
            warnings: daemon
                .warnings
                .iter()
                .cloned()
                .chain(supervisor.log_failures())
                .collect(),
            state_problems: daemon.store.problems(),
            containment: supervisor.containment().mode().to_string(),
            cgroup: supervisor
                .containment()
                .cgroups
                .as_ref()
                .map(|c| c.base.display().to_string()),
            incidents: supervisor.incidents(),
        },
        Request::Start {
            spec,
            force,
            update_env,
        } => match supervisor.start(*spec, force, update_env).await {
            Ok(outcome) => Response::Started {
                started: outcome.started,
                restarted: outcome.restarted,
            },
            Err(err) => failure(err),
        },
        Request::Apply { specs, restart_all } => match supervisor.apply(specs, restart_all).await {
            Ok(outcome) => Response::Applied {
                started: outcome.started,
                restarted: outcome.restarted,
                unchanged: outcome.unchanged,
            },
            Err(err) => failure(err),
        },
        Request::Update { ids, spec } => processes(supervisor.update(&ids, *spec).await),
        Request::Stop { targets } => processes(supervisor.stop(&targets).await),
        Request::Restart { targets, env } => processes(supervisor.restart(&targets, env).await),
        Request::Reload {
            targets,
            parallel,
            env,
        } => {
            let options = pmtui_supervisor::ReloadOptions {
                parallel: parallel.max(1) as usize,
                env,
                reason: "reload",
            };
            processes(supervisor.reload(&targets, options).await)
        }
        Request::Delete { targets } => processes(supervisor.delete(&targets).await),
        Request::Reset { targets } => processes(supervisor.reset(&targets).await),
        Request::Watch { targets, enabled } => processes(supervisor.watch(&targets, enabled).await),
        Request::Run { targets } => processes(supervisor.run(&targets).await),
        Request::Events { targets } => {
            // Subscribed before the targets are read, so nothing between is missed.
            let rx = supervisor.subscribe_app_events();
            let ids = if targets.is_empty() {
                None
            } else {
                match supervisor.ids_of(&targets) {
                    Ok(ids) => Some(ids),
                    Err(err) => return (failure(err), None),
                }
            };
            return (
                Response::Done {
                    message: "following events".into(),
                },
                Some(Install::AppEvents(rx, ids)),
            );
        }
        Request::Scale { target, to } => match supervisor.scale(&target, to).await {
            Ok(outcome) => Response::Scaled {
                started: outcome.started,
                deleted: outcome.deleted,
                kept: outcome.kept,
            },
            Err(err) => failure(err),
        },
        Request::Signal { signal, targets } => {
            processes(supervisor.signal(&signal, &targets).await)
        }
        // Answered in `handle`; the typed rows, should it get here.
        Request::List | Request::ListJson => Response::Processes {
            processes: supervisor.list(),
        },
        Request::Describe { targets, history } => match supervisor.describe(&targets, history) {
            Ok(details) => Response::Details { details },
            Err(err) => failure(err),
        },
        Request::Save { force } => crate::persist::save_dump(daemon, force),
        Request::Resurrect => crate::persist::resurrect(daemon).await,
        Request::Flush { targets } => match supervisor.flush(&targets).await {
            Ok(n) => Response::Done {
                message: format!(
                    "flushed the logs of {}",
                    pmtui_proto::plural(n, "process", "processes")
                ),
            },
            Err(err) => failure(err),
        },
        Request::ReloadLogs => {
            let n = supervisor.reload_logs().await;
            Response::Done {
                message: format!(
                    "reopened the logs of {}",
                    pmtui_proto::plural(n, "process", "processes")
                ),
            }
        }
        Request::Logs {
            targets,
            lines,
            follow,
            stream,
            grep,
        } => {
            let grep = match grep.as_deref().map(regex::Regex::new).transpose() {
                Ok(grep) => grep,
                Err(err) => {
                    return (
                        Response::error(ErrorKind::BadRequest, format!("bad --grep: {err}")),
                        None,
                    );
                }
            };
            let query = pmtui_supervisor::logs::LogQuery {
                lines,
                stream,
                grep: grep.clone(),
            };
            match supervisor.logs(&targets, query).await {
                Ok(snapshot) => {
                    let then = follow.then(|| {
                        Install::Logs(Follow {
                            rx: snapshot.rx,
                            after: snapshot.after,
                            ids: snapshot.ids,
                            stream,
                            grep,
                        })
                    });
                    return (
                        Response::LogLines {
                            lines: snapshot.lines,
                        },
                        then,
                    );
                }
                Err(err) => failure(err),
            }
        }
        Request::Subscribe => {
            let (seq, processes, rx) = supervisor.subscribe();
            return (
                Response::Subscribed { seq, processes },
                Some(Install::Events(rx)),
            );
        }
        Request::Metrics { targets, history } => match supervisor.metrics(&targets, history) {
            Ok(snapshot) => metrics_response(snapshot),
            Err(err) => failure(err),
        },
        Request::SubscribeMetrics { targets } => match supervisor.subscribe_metrics(&targets) {
            Ok(sub) => {
                return (
                    metrics_response(sub.snapshot),
                    Some(Install::Metrics((sub.rx, sub.ids))),
                );
            }
            Err(err) => failure(err),
        },
        Request::WaitReady { id, timeout_ms } => {
            use pmtui_supervisor::probe::ReadyOutcome;
            if supervisor.current_run(id).is_none() {
                return (
                    Response::error(
                        ErrorKind::UnknownProcess,
                        format!("no process with id {id}"),
                    ),
                    None,
                );
            }
            let timeout = timeout_ms.map(std::time::Duration::from_millis);
            let (outcome, reason) = match supervisor.wait_ready(id, None, timeout).await {
                ReadyOutcome::Ready => ("ready", None),
                ReadyOutcome::TimedOut => {
                    let own = supervisor
                        .run_ready(id)
                        .is_some_and(|r| r.phase == pmtui_supervisor::probe::Phase::TimedOut);
                    let why = match (own, timeout_ms) {
                        (false, Some(ms)) => format!("still not ready after {ms} ms"),
                        _ => "no ready signal within its listen_timeout".to_string(),
                    };
                    ("timeout", Some(why))
                }
                ReadyOutcome::Failed(why) => ("failed", Some(why)),
            };
            Response::Readiness {
                id,
                outcome: outcome.into(),
                reason,
            }
        }
        Request::Kill => {
            // Everything is stopped before the reply, so `pmtui kill` returning means it is done;
            // and forgotten on disk, or the reply says what a new daemon would bring back.
            let before = supervisor.ids();
            let deleted = supervisor.delete(&["all".to_string()]).await;
            let response = match deleted {
                Ok(processes) => {
                    let forgotten = crate::persist::make_durable(
                        daemon,
                        &before,
                        Response::Processes { processes },
                        BTreeSet::new(),
                    )
                    .await;
                    match forgotten {
                        Response::Error { kind, message } => Response::Error {
                            kind,
                            message: format!("every process stopped; daemon exiting. {message}"),
                        },
                        _ => Response::Done {
                            message: "every process stopped; daemon exiting".into(),
                        },
                    }
                }
                Err(_) => Response::Done {
                    message: "every process stopped; daemon exiting".into(),
                },
            };
            return (response, Some(Install::Shutdown(Shutdown::Kill)));
        }
    };
    (response, None)
}

fn failure(err: SupervisorError) -> Response {
    Response::error(err.kind(), err.to_string())
}

fn metrics_response(snapshot: pmtui_supervisor::MetricsSnapshot) -> Response {
    Response::Metrics {
        interval_ms: snapshot.interval_ms,
        host: snapshot.host,
        processes: snapshot.processes,
    }
}
