//! Ids between one host's daemon and the UI. Rows, events and replies coming up get their UI
//! id (`Hosts::ui_id`); requests going down name the daemon's own id again. With one host
//! both directions leave ids as they are.

use crate::hosts::{HostIx, Hosts};
use pmtui_proto::{Event, EventKind, ProcessId, ProcessInfo, Request, Response};

#[derive(Debug, Clone, Copy)]
pub(super) struct Ids {
    pub host: HostIx,
    pub multi: bool,
}

impl Ids {
    fn up(self, id: ProcessId) -> Option<ProcessId> {
        if !self.multi {
            return Some(id);
        }
        let ui = Hosts::ui_id(self.host, id);
        if ui.is_none() {
            tracing::warn!(
                host = self.host,
                id,
                "process id too large to show beside other hosts"
            );
        }
        ui
    }

    fn rows(self, rows: Vec<ProcessInfo>) -> Vec<ProcessInfo> {
        rows.into_iter()
            .filter_map(|mut p| {
                p.id = self.up(p.id)?;
                Some(p)
            })
            .collect()
    }

    /// An event of this host, renumbered; `None` for a process that cannot be shown.
    pub fn event(self, mut event: Event) -> Option<Event> {
        match &mut event.kind {
            EventKind::Process { process } => process.id = self.up(process.id)?,
            EventKind::Removed { id } | EventKind::Exit { id, .. } => *id = self.up(*id)?,
            EventKind::Log { line } => line.id = self.up(line.id)?,
            // Not subscribed to by the UI.
            EventKind::Metrics { .. } | EventKind::App { .. } => {}
        }
        Some(event)
    }

    /// A reply of this host, renumbered.
    pub fn response(self, response: Response) -> Response {
        match response {
            Response::Subscribed { seq, processes } => Response::Subscribed {
                seq,
                processes: self.rows(processes),
            },
            Response::Processes { processes } => Response::Processes {
                processes: self.rows(processes),
            },
            Response::Started { started, restarted } => Response::Started {
                started: self.rows(started),
                restarted: self.rows(restarted),
            },
            Response::Details { details } => Response::Details {
                details: details
                    .into_iter()
                    .filter_map(|mut d| {
                        d.info.id = self.up(d.info.id)?;
                        Some(d)
                    })
                    .collect(),
            },
            Response::LogLines { lines } => Response::LogLines {
                lines: lines
                    .into_iter()
                    .filter_map(|mut l| {
                        l.id = self.up(l.id)?;
                        Some(l)
                    })
                    .collect(),
            },
            Response::Metrics {
                interval_ms,
                host,
                processes,
            } => Response::Metrics {
                interval_ms,
                host,
                processes: processes
                    .into_iter()
                    .filter_map(|mut m| {
                        m.id = self.up(m.id)?;
                        Some(m)
                    })
                    .collect(),
            },
            other => other,
        }
    }
}

/// Where a request goes.
#[derive(Debug, PartialEq)]
pub(super) enum Route {
    /// To one host, its targets renumbered for that daemon.
    Host(HostIx, Request),
    /// To every connected host (it names no process: `metrics`, `logs` of all).
    Every(Request),
    /// To this machine's daemon (a start: the add form resolves paths here).
    Local(Request),
}

/// The targets of the requests the UI sends that name processes.
fn targets_mut(request: &mut Request) -> Option<&mut Vec<String>> {
    match request {
        Request::Stop { targets }
        | Request::Restart { targets, .. }
        | Request::Reload { targets, .. }
        | Request::Delete { targets }
        | Request::Watch { targets, .. }
        | Request::Reset { targets }
        | Request::Signal { targets, .. }
        | Request::Describe { targets, .. }
        | Request::Flush { targets }
        | Request::Logs { targets, .. }
        | Request::Metrics { targets, .. } => Some(targets),
        _ => None,
    }
}

/// Routes a request of a several-host UI by the UI ids it names (the UI names one process
/// per request; ids of several hosts in one request go to the first one's host).
pub(super) fn route(mut request: Request) -> Route {
    if matches!(
        request,
        Request::Start { .. } | Request::Apply { .. } | Request::Run { .. }
    ) {
        return Route::Local(request);
    }
    let Some(targets) = targets_mut(&mut request) else {
        return Route::Every(request);
    };
    let mut host = None;
    for target in targets.iter_mut() {
        if let Ok(id) = target.parse::<ProcessId>() {
            let (h, own) = Hosts::split(id);
            host.get_or_insert(h);
            *target = own.to_string();
        }
    }
    match host {
        Some(h) => Route::Host(h, request),
        None => Route::Every(request),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::STRIDE;

    #[test]
    fn requests_go_to_the_host_of_their_process() {
        let restart = Request::Restart {
            targets: vec![(STRIDE + 4).to_string()],
            env: None,
        };
        assert_eq!(
            route(restart),
            Route::Host(
                1,
                Request::Restart {
                    targets: vec!["4".into()],
                    env: None
                }
            )
        );
        let metrics = Request::Metrics {
            targets: Vec::new(),
            history: false,
        };
        assert_eq!(route(metrics.clone()), Route::Every(metrics));
    }

    #[test]
    fn rows_of_a_second_host_are_renumbered() {
        let ids = Ids {
            host: 2,
            multi: true,
        };
        let event = Event {
            seq: 1,
            kind: EventKind::Removed { id: 5 },
        };
        assert_eq!(
            ids.event(event).map(|e| e.kind),
            Some(EventKind::Removed { id: 2 * STRIDE + 5 })
        );
        let one = Ids {
            host: 0,
            multi: false,
        };
        let big = Event {
            seq: 1,
            kind: EventKind::Removed { id: STRIDE + 1 },
        };
        assert_eq!(one.event(big.clone()), Some(big));
    }
}
