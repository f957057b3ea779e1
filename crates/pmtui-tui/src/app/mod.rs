//! The model and `update`: every input (key, mouse, daemon event, reply, tick) goes through
//! `App::update`, which changes the model and returns the effects to run. Rendering (in
//! `ui`) only reads the model, apart from remembering where it drew things for the mouse.

mod daemon;
mod dashboard;
mod detail;
mod logs;
mod monitor;
mod mouse;
mod overlay;

use crate::form::AddForm;
use crate::history::History;
use crate::logbuf::LogBuffer;
use crate::msg::{Effect, Msg, Resolver};
use crate::procs::ProcTable;
use crate::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use pmtui_proto::{ProcessDetail, ProcessId, ProcessInfo};
use ratatui::layout::Rect;
use tui_input::Input;

/// How long a status message stays.
const TOAST_MS: u64 = 6000;

/// What `esc` on the first view says instead of quitting.
const ESC_AT_THE_ROOT: &str = "esc goes back and never quits: q quits (processes keep running)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Dashboard,
    Detail(ProcessId),
    Logs,
    Monitor,
}

#[derive(Debug)]
pub enum Overlay {
    Help,
    Confirm { id: ProcessId, name: String },
    Add(Box<AddForm>),
}

/// A one-line text being edited in place of the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Editing {
    Filter,
    LogSearch,
    LogFilter,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conn {
    Connecting,
    Up { pid: u32, version: String },
    Down(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub text: String,
    pub error: bool,
    pub until: u64,
    /// The view it was said in: leaving that view drops it, so a message never stands
    /// under a view it is not about.
    pub view: View,
}

/// Where the last frame put things, for mouse clicks and paging.
#[derive(Debug, Default, Clone)]
pub struct Areas {
    pub table: Rect,
    /// `(column index, x from, x to)` of each shown column header.
    pub columns: Vec<(usize, u16, u16)>,
    pub log_body: Rect,
    /// The shown-line position drawn on each row of `log_body`.
    pub log_rows: Vec<usize>,
    pub cards: Rect,
    pub card_width: u16,
    pub card_columns: usize,
    /// Monitor cards off screen: before the first shown, after the last.
    pub cards_hidden: (usize, usize),
}

pub struct App {
    pub now: u64,
    pub theme: Theme,
    pub size: (u16, u16),
    pub procs: ProcTable,
    pub selected: Option<ProcessId>,
    /// Where the selection was, to land near it when its process goes away.
    selected_hint: usize,
    /// First table row on screen (kept by the renderer).
    pub table_top: usize,
    /// First card row on screen in the monitor (kept by the renderer).
    pub card_top: usize,
    /// Views entered, the current one last; esc goes back one.
    pub stack: Vec<View>,
    pub overlay: Option<Overlay>,
    pub editing: Option<Editing>,
    pub input: Input,
    pub detail: Option<ProcessDetail>,
    pub detail_scroll: usize,
    /// Lines of the help overlay scrolled past (when it is taller than the terminal).
    pub help_scroll: usize,
    pub history: History,
    /// The apps' own metrics (latest values; sparklines of the detail's process).
    pub app_metrics: crate::app_metrics::AppMetrics,
    pub logs: LogBuffer,
    /// The merged tail of every process, for the monitor.
    pub tail: LogBuffer,
    pub toast: Option<Toast>,
    pub conn: Conn,
    pub resolver: Option<Resolver>,
    /// The context or remote host of the daemon, shown in the title (`None`: this host's).
    pub host_label: Option<String>,
    /// With several hosts: each one's label and connection (empty with one host).
    pub hosts: crate::hosts::Hosts,
    /// Total memory of the machine, the scale of memory bars.
    pub mem_total: u64,
    pub areas: Areas,
    /// The most memory each process was seen using, the scale of the monitor's bars.
    pub mem_peaks: std::collections::HashMap<ProcessId, u64>,
    /// The detail view lists inherited environment variables too (`e`).
    pub env_expanded: bool,
    /// The dashboard shows the selected process's output below the list (`o`).
    pub log_pane: bool,
    /// The zone log times are shown in (UTC until the runtime sets the system's).
    pub tz: jiff::tz::TimeZone,
    pub dirty: bool,
}

impl App {
    pub fn new(theme: Theme, now: u64, root: View) -> Self {
        Self {
            now,
            theme,
            size: (80, 24),
            procs: ProcTable::default(),
            selected: None,
            selected_hint: 0,
            table_top: 0,
            card_top: 0,
            stack: vec![root],
            overlay: None,
            editing: None,
            input: Input::default(),
            detail: None,
            detail_scroll: 0,
            help_scroll: 0,
            history: History::default(),
            app_metrics: Default::default(),
            logs: LogBuffer::default(),
            tail: LogBuffer::default(),
            toast: None,
            conn: Conn::Connecting,
            resolver: None,
            host_label: None,
            hosts: Default::default(),
            mem_total: 0,
            areas: Areas::default(),
            tz: jiff::tz::TimeZone::UTC,
            log_pane: false,
            mem_peaks: Default::default(),
            env_expanded: false,
            dirty: true,
        }
    }

    pub fn view(&self) -> View {
        self.stack.last().copied().unwrap_or(View::Dashboard)
    }

    /// The process under the selection, if any.
    pub fn current(&self) -> Option<&ProcessInfo> {
        self.procs.get(self.selected?)
    }

    /// Replaces the process list (a snapshot).
    pub fn set_processes(&mut self, rows: Vec<ProcessInfo>) {
        self.record_detail(&rows);
        self.procs.replace(rows);
        self.sync();
    }

    /// Replaces the rows of one host (its snapshot), with several hosts.
    pub fn set_host_processes(&mut self, host: crate::hosts::HostIx, rows: Vec<ProcessInfo>) {
        self.record_detail(&rows);
        let hosts = &self.hosts;
        self.procs
            .replace_where(rows, |id| hosts.host_of(id) == Some(host));
        self.sync();
    }

    fn record_detail(&mut self, rows: &[ProcessInfo]) {
        if let View::Detail(id) = self.view()
            && let Some(row) = rows.iter().find(|p| p.id == id)
        {
            self.history.record(row, self.now);
        }
    }

    /// Takes the latest CPU and memory of each process (statuses come from events).
    pub fn set_metrics(&mut self, metrics: &[pmtui_proto::ProcessMetrics]) {
        let detail = match self.view() {
            View::Detail(id) => Some(id),
            _ => None,
        };
        for m in metrics {
            let Some(p) = self.procs.get_mut(m.id) else {
                continue;
            };
            (p.cpu, p.memory) = m
                .current
                .as_ref()
                .map_or((0.0, 0), |s| (f64::from(s.cpu), s.memory));
            self.app_metrics
                .record(m.id, m.current.as_ref().map(|s| s.app.as_slice()));
            let peak = self.mem_peaks.entry(m.id).or_default();
            *peak = (*peak).max(p.memory);
            if detail == Some(m.id) {
                let row = p.clone();
                self.history.record(&row, self.now);
            }
        }
        self.sync();
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        // A log line changes the screen only where logs are shown.
        let seen = match &msg {
            Msg::Daemon(pmtui_proto::Event {
                kind: pmtui_proto::EventKind::Log { .. },
                ..
            }) => {
                matches!(self.view(), View::Logs | View::Monitor)
                    || self.log_pane && self.view() == View::Dashboard
            }
            _ => true,
        };
        let effects = match msg {
            Msg::Key(key) if key.kind != KeyEventKind::Release => self.key(key),
            Msg::Key(_) => return Vec::new(),
            Msg::Mouse(event) => self.mouse(event),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                Vec::new()
            }
            Msg::Tick(now) => self.tick(now),
            Msg::Daemon(event) => self.daemon_event(event),
            Msg::Reply(tag, result) => self.reply(tag, result),
            Msg::Disconnected(why) => {
                self.conn = Conn::Down(why);
                Vec::new()
            }
            Msg::Connected {
                daemon_pid,
                version,
            } => self.connected(daemon_pid, version),
            Msg::Done(Ok(text)) => {
                self.say(text);
                Vec::new()
            }
            Msg::Done(Err(text)) => {
                self.complain(text);
                Vec::new()
            }
            Msg::HostUp {
                host,
                daemon_pid,
                version,
            } => self.host_up(host, daemon_pid, version),
            Msg::HostDown { host, why } => {
                self.hosts.set(host, Conn::Down(why));
                Vec::new()
            }
            Msg::HostReply(host, tag, result) => self.host_reply(host, tag, result),
        };
        self.sync();
        if self.toast.as_ref().is_some_and(|t| t.view != self.view()) {
            self.toast = None;
        }
        self.dirty |= seen;
        effects
    }

    /// Keeps order, counts and selection in step with the rows.
    fn sync(&mut self) {
        self.procs.refresh(self.now);
        let order = self.procs.order();
        match self.selected.and_then(|id| self.procs.position(id)) {
            Some(pos) => self.selected_hint = pos,
            None => {
                self.selected = order
                    .get(self.selected_hint.min(order.len().saturating_sub(1)))
                    .copied();
            }
        }
    }

    fn tick(&mut self, now: u64) -> Vec<Effect> {
        self.now = now;
        if self.toast.as_ref().is_some_and(|t| t.until <= now) {
            self.toast = None;
        }
        if self.hosts.is_multi() {
            // Each connected host answers for itself.
            return if self.hosts.up() > 0 {
                vec![refresh()]
            } else {
                Vec::new()
            };
        }
        match self.conn {
            Conn::Up { .. } => vec![refresh()],
            _ => Vec::new(),
        }
    }

    pub fn say(&mut self, text: impl Into<String>) {
        self.toast = Some(Toast {
            text: text.into(),
            error: false,
            until: self.now + TOAST_MS,
            view: self.view(),
        });
    }

    pub fn complain(&mut self, text: impl Into<String>) {
        self.toast = Some(Toast {
            text: text.into(),
            error: true,
            until: self.now + TOAST_MS * 2,
            view: self.view(),
        });
    }

    fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return vec![Effect::Quit];
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('z') {
            return vec![Effect::Suspend];
        }
        if self.overlay.is_some() {
            return self.overlay_key(key);
        }
        if let Some(editing) = self.editing {
            return self.edit_key(editing, key);
        }
        match self.view() {
            View::Dashboard => self.dashboard_key(key),
            View::Detail(id) => self.detail_key(id, key),
            View::Logs => self.logs_key(key),
            View::Monitor => self.monitor_key(key),
        }
    }

    /// `q`: back one view; on the first view, quits.
    fn back_or_quit(&mut self) -> Vec<Effect> {
        if self.stack.len() <= 1 {
            return vec![Effect::Quit];
        }
        self.back()
    }

    /// `esc`: back one view. On the first view it stays and says how to quit: after a burst
    /// of escs the UI must still be there, not gone with the next keys landing in the shell.
    fn back(&mut self) -> Vec<Effect> {
        if self.stack.len() <= 1 {
            self.say(ESC_AT_THE_ROOT);
            return Vec::new();
        }
        self.stack.pop();
        if !matches!(self.view(), View::Detail(_)) {
            self.detail = None;
        }
        Vec::new()
    }

    fn push(&mut self, view: View) {
        // Never stack the same view twice: going "to" a view below returns to it.
        if let Some(i) = self.stack.iter().position(|v| *v == view) {
            self.stack.truncate(i + 1);
        } else {
            self.stack.push(view);
        }
    }

    /// Moves the selection by `delta` rows of the current order.
    fn select_by(&mut self, delta: isize) {
        let len = self.procs.len();
        if len == 0 {
            return;
        }
        let pos = self
            .selected
            .and_then(|id| self.procs.position(id))
            .unwrap_or(0) as isize;
        let pos = (pos + delta).clamp(0, len as isize - 1) as usize;
        self.select_at(pos);
    }

    fn select_at(&mut self, pos: usize) {
        if let Some(id) = self.procs.order().get(pos) {
            self.selected = Some(*id);
            self.selected_hint = pos;
        }
    }

    /// Rows on one page of the table, as last drawn.
    fn page(&self) -> isize {
        (self.areas.table.height.saturating_sub(1)).max(1) as isize
    }
}

/// The once-a-second request for current CPU and memory (and the host's memory).
fn refresh() -> Effect {
    Effect::Send(
        crate::msg::Tag::Refresh,
        pmtui_proto::Request::Metrics {
            targets: Vec::new(),
            history: false,
        },
    )
}

#[cfg(test)]
mod tests;
