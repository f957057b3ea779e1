//! What the daemon says: pushed events, replies to what the app asked, and the verbs the
//! views share (restart, stop/start, delete, open logs or detail).

use super::{App, Conn, Overlay, View};
use crate::history::Series;
use crate::hosts::HostIx;
use crate::logbuf::LogTarget;
use crate::msg::{Effect, Tag};
use pmtui_proto::{Event, EventKind, ProcessId, ProcessStatus, Request, Response};

/// Recent lines asked for when the log viewer opens on one process.
const SEED_LINES: usize = 1000;
/// Recent lines asked for when it opens on all of them, shared out among the processes.
const SEED_ALL_LINES: usize = 5000;
/// Recent lines for the monitor's merged tail, shared out among the processes.
const TAIL_LINES: usize = 500;

impl App {
    pub(super) fn connected(&mut self, pid: u32, version: String) -> Vec<Effect> {
        self.conn = Conn::Up { pid, version };
        // A new daemon numbers lines afresh: start the buffers over so none is taken for
        // one already seen.
        self.tail = crate::logbuf::LogBuffer::default();
        if self.view() == View::Logs {
            self.logs.retarget(self.logs.target);
        }
        let mut effects = vec![
            Effect::Send(Tag::Subscribe, Request::Subscribe),
            super::refresh(),
        ];
        if self.view() == View::Logs {
            effects.push(self.seed_logs());
        }
        if let View::Detail(id) = self.view() {
            effects.push(describe(id));
        }
        effects
    }

    /// One of several hosts is connected: subscribe to it, and ask again what the open
    /// view shows of it.
    pub(super) fn host_up(&mut self, host: HostIx, pid: u32, version: String) -> Vec<Effect> {
        self.hosts.set(host, Conn::Up { pid, version });
        // Its daemon may be a new one, numbering lines afresh.
        let hosts = &self.hosts;
        let mine = |id: ProcessId| hosts.host_of(id) == Some(host);
        self.tail.forget(mine);
        self.logs.forget(mine);
        let mut effects = vec![
            Effect::SendTo(host, Tag::Subscribe, Request::Subscribe),
            super::refresh(),
        ];
        match (self.view(), self.logs.target) {
            (View::Logs, LogTarget::All) => {
                if let Effect::Send(tag, request) = self.seed_logs() {
                    effects.push(Effect::SendTo(host, tag, request));
                }
            }
            (View::Logs, LogTarget::One(id)) if mine(id) => effects.push(self.seed_logs()),
            (View::Detail(id), _) if mine(id) => effects.push(describe(id)),
            _ => {}
        }
        effects
    }

    /// A reply from one of several hosts: its snapshot replaces its rows only.
    pub(super) fn host_reply(
        &mut self,
        host: HostIx,
        tag: Tag,
        result: Result<Response, String>,
    ) -> Vec<Effect> {
        match (tag, result) {
            (Tag::Subscribe, Ok(Response::Subscribed { processes, .. })) => {
                let per_process = (TAIL_LINES / processes.len().max(1)).clamp(1, 50);
                self.set_host_processes(host, processes);
                vec![Effect::SendTo(host, Tag::Tail, merged_tail(per_process))]
            }
            (tag, result) => self.reply(tag, result),
        }
    }

    pub(super) fn daemon_event(&mut self, event: Event) -> Vec<Effect> {
        match event.kind {
            EventKind::Process { process } => {
                let id = process.id;
                self.procs.upsert(*process);
                if self.view() == View::Detail(id) {
                    return vec![describe(id)];
                }
            }
            EventKind::Removed { id } => {
                self.procs.remove(id);
                if self.stack.contains(&View::Detail(id)) {
                    self.stack.retain(|v| *v != View::Detail(id));
                    self.detail = None;
                    self.say(format!("process {} was deleted", self.hosts.shown_id(id)));
                }
            }
            EventKind::Exit { id, .. } => {
                if self.view() == View::Detail(id) {
                    return vec![describe(id)];
                }
            }
            EventKind::Log { line } => {
                self.tail.push(line.clone());
                self.logs.push(line);
            }
            // Not subscribed: the table's refresh carries current values, `describe` the past.
            EventKind::Metrics { .. } | EventKind::App { .. } => {}
        }
        Vec::new()
    }

    pub(super) fn reply(&mut self, tag: Tag, result: Result<Response, String>) -> Vec<Effect> {
        let response = match result {
            Ok(response) => response,
            Err(message) => {
                self.failed(&tag, message);
                return Vec::new();
            }
        };
        match (tag, response) {
            (Tag::Subscribe, Response::Subscribed { processes, .. }) => {
                let per_process = (TAIL_LINES / processes.len().max(1)).clamp(1, 50);
                self.set_processes(processes);
                // The merged tail, and live lines from now on; asked once the count is known
                // so that a thousand processes do not send fifty thousand lines.
                return vec![Effect::Send(Tag::Tail, merged_tail(per_process))];
            }
            (
                Tag::Refresh,
                Response::Metrics {
                    host, processes, ..
                },
            ) => {
                if let Some(host) = host {
                    self.mem_total = host.memory_total;
                }
                self.set_metrics(&processes);
            }
            (Tag::Action { verb, name }, _) => self.say(format!("✔ {verb} {name}")),
            (Tag::Describe(id), Response::Details { details }) => {
                if self.view() == View::Detail(id) {
                    self.detail = details.into_iter().find(|d| d.info.id == id);
                    if let Some(d) = &self.detail {
                        self.history.set(id, Series::from_daemon(&d.metrics));
                        self.app_metrics.seed(id, &d.metrics);
                    }
                }
            }
            (Tag::LogSeed { generation }, Response::LogLines { lines }) => {
                if generation == self.logs.generation {
                    if self.hosts.is_multi() {
                        self.logs.seed_by_time(lines);
                    } else {
                        self.logs.seed(lines);
                    }
                }
            }
            (Tag::Tail, Response::LogLines { lines }) if self.hosts.is_multi() => {
                self.tail.seed_by_time(lines)
            }
            (Tag::Tail, Response::LogLines { lines }) => self.tail.seed(lines),
            (Tag::Add, Response::Started { started, restarted }) => {
                self.overlay = None;
                let names: Vec<String> = started
                    .iter()
                    .chain(&restarted)
                    .map(|p| self.named(p))
                    .collect();
                let verb = if started.is_empty() {
                    "restarted"
                } else {
                    "started"
                };
                self.say(format!("✔ {verb} {}", names.join(", ")));
                if let Some(first) = started.first().or(restarted.first()) {
                    self.procs.upsert(first.clone());
                    self.selected = Some(first.id);
                }
            }
            (tag, other) => tracing::debug!(?tag, ?other, "unexpected reply"),
        }
        Vec::new()
    }

    fn failed(&mut self, tag: &Tag, message: String) {
        match tag {
            Tag::Action { verb, name } => {
                self.complain(format!("✖ {verb} {name} failed: {message}"))
            }
            Tag::Add => {
                if let Some(Overlay::Add(form)) = &mut self.overlay {
                    form.submitting = false;
                    form.place_error(&message);
                } else {
                    self.complain(format!("✖ start failed: {message}"));
                }
            }
            Tag::Refresh => {}
            Tag::Describe(_) | Tag::LogSeed { .. } | Tag::Tail | Tag::Subscribe => {
                self.complain(format!("✖ {message}"));
            }
        }
    }

    /// `r`: restart the process (the daemon starts a stopped one).
    pub(super) fn restart(&mut self, id: ProcessId) -> Vec<Effect> {
        let Some(p) = self.procs.get(id) else {
            return Vec::new();
        };
        let verb = if p.status.is_running() {
            "restarted"
        } else {
            "started"
        };
        action(
            verb,
            &self.named(p),
            Request::Restart {
                targets: vec![id.to_string()],
                env: None,
            },
        )
    }

    /// `s`: stop a running process, start a stopped one.
    pub(super) fn stop_or_start(&mut self, id: ProcessId) -> Vec<Effect> {
        let Some(p) = self.procs.get(id) else {
            return Vec::new();
        };
        match p.status {
            ProcessStatus::Stopped | ProcessStatus::Errored => action(
                "started",
                &self.named(p),
                Request::Restart {
                    targets: vec![id.to_string()],
                    env: None,
                },
            ),
            _ => action(
                "stopped",
                &self.named(p),
                Request::Stop {
                    targets: vec![id.to_string()],
                },
            ),
        }
    }

    /// `w`: watch the process's files, or stop watching them (no restart either way).
    pub(super) fn toggle_watch(&mut self, id: ProcessId) -> Vec<Effect> {
        let Some(p) = self.procs.get(id) else {
            return Vec::new();
        };
        let enabled = p.watch.is_none();
        action(
            if enabled {
                "watching"
            } else {
                "stopped watching"
            },
            &self.named(p),
            Request::Watch {
                targets: vec![id.to_string()],
                enabled,
            },
        )
    }

    /// `d`: ask first.
    pub(super) fn confirm_delete(&mut self, id: ProcessId) -> Vec<Effect> {
        if let Some(p) = self.procs.get(id) {
            self.overlay = Some(Overlay::Confirm {
                id,
                name: p.name.clone(),
            });
        }
        Vec::new()
    }

    pub(super) fn delete(&mut self, id: ProcessId, name: &str) -> Vec<Effect> {
        action(
            "deleted",
            &format!("{name} (id {})", self.hosts.shown_id(id)),
            Request::Delete {
                targets: vec![id.to_string()],
            },
        )
    }

    pub(super) fn open_detail(&mut self, id: ProcessId) -> Vec<Effect> {
        self.selected = Some(id);
        self.detail = None;
        self.history.keep_only(id);
        self.detail_scroll = 0;
        if let Some(View::Detail(_)) = self.stack.last() {
            self.stack.pop();
        }
        self.push(View::Detail(id));
        vec![describe(id)]
    }

    pub(super) fn open_logs(&mut self, target: LogTarget) -> Vec<Effect> {
        if let LogTarget::One(id) = target {
            self.selected = Some(id);
        }
        self.logs.retarget(target);
        // Opened afresh, the viewer shows both streams: a stream kept from last time hid
        // lines with no reason on screen.
        self.logs.set_stream(crate::logbuf::StreamFilter::Combined);
        self.push(View::Logs);
        vec![self.seed_logs()]
    }

    pub(super) fn seed_logs(&self) -> Effect {
        let (targets, lines) = match self.logs.target {
            LogTarget::All => (
                Vec::new(),
                (SEED_ALL_LINES / self.procs.counts.total.max(1)).clamp(20, SEED_LINES),
            ),
            LogTarget::One(id) => (vec![id.to_string()], SEED_LINES),
        };
        Effect::Send(
            Tag::LogSeed {
                generation: self.logs.generation,
            },
            Request::Logs {
                targets,
                lines,
                follow: false,
                stream: None,
                grep: None,
            },
        )
    }
}

fn describe(id: ProcessId) -> Effect {
    Effect::Send(
        Tag::Describe(id),
        Request::Describe {
            targets: vec![id.to_string()],
            history: true,
        },
    )
}

impl App {
    /// `web (id 5)`: names are shared by instances, so the id says which one; with several
    /// hosts, `web (id 5 on ssh://b)`.
    fn named(&self, p: &pmtui_proto::ProcessInfo) -> String {
        match self.hosts.label_of(p.id) {
            Some(host) => format!("{} (id {} on {host})", p.name, self.hosts.shown_id(p.id)),
            None => format!("{} (id {})", p.name, p.id),
        }
    }
}

fn action(verb: &'static str, name: &str, request: Request) -> Vec<Effect> {
    vec![Effect::Send(
        Tag::Action {
            verb,
            name: name.to_string(),
        },
        request,
    )]
}

/// The merged tail of every process, `per_process` lines each, then live lines.
fn merged_tail(per_process: usize) -> Request {
    Request::Logs {
        targets: Vec::new(),
        lines: per_process,
        follow: true,
        stream: None,
        grep: None,
    }
}
