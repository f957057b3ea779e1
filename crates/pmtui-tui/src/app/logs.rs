//! Log viewer keys.

use super::{App, Editing, Overlay};
use crate::fmt;
use crate::logbuf::{LogBuffer, LogTarget};
use crate::msg::Effect;
use crossterm::event::{KeyCode, KeyEvent};

impl App {
    pub(super) fn logs_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let page = self.areas.log_body.height.max(1) as isize;
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.logs.move_by(-1),
            KeyCode::Down | KeyCode::Char('j') => self.logs.move_by(1),
            KeyCode::PageUp => self.logs.move_by(-page),
            KeyCode::PageDown => self.logs.move_by(page),
            KeyCode::Home | KeyCode::Char('g') => self.logs.to_start(),
            KeyCode::End | KeyCode::Char('G') => self.logs.to_end(),
            KeyCode::Char('f') => self.logs.toggle_follow(),
            KeyCode::Char('/') => self.start_editing(Editing::LogSearch),
            KeyCode::Char('&') => self.start_editing(Editing::LogFilter),
            KeyCode::Char('n') | KeyCode::Char('N') => {
                let forward = key.code == KeyCode::Char('n');
                if self.logs.search.is_empty() {
                    self.complain("no search yet: press / to search");
                } else if !self.logs.find(forward) {
                    self.complain(format!("no line contains {:?}", self.logs.search));
                }
            }
            KeyCode::Tab | KeyCode::BackTab => {
                let next = self.logs.stream.next();
                self.logs.set_stream(next);
            }
            KeyCode::Char('w') => self.logs.wrap = !self.logs.wrap,
            KeyCode::Char('t') => self.logs.timestamps = !self.logs.timestamps,
            KeyCode::Char('c') => {
                self.logs.clear();
                self.say("view cleared (the log files are untouched)");
            }
            KeyCode::Char('v') => {
                self.logs.anchor = match self.logs.anchor {
                    Some(_) => None,
                    None => Some(self.logs.cursor),
                };
            }
            KeyCode::Char('y') => return self.copy_selection(),
            KeyCode::Char('e') => return self.export(),
            KeyCode::Char('a') => {
                let target = match self.logs.target {
                    LogTarget::All => self.selected.map_or(LogTarget::All, LogTarget::One),
                    LogTarget::One(_) => LogTarget::All,
                };
                return self.retarget_logs(target);
            }
            KeyCode::Left | KeyCode::Right => {
                return self.cycle_log_target(key.code == KeyCode::Right);
            }
            KeyCode::Char('?') => self.overlay = Some(Overlay::Help),
            KeyCode::Esc if self.logs.anchor.is_some() => self.logs.anchor = None,
            // Esc undoes what narrows the view before it leaves: filter, then search.
            KeyCode::Esc if !self.logs.filter().is_empty() => {
                self.logs.set_filter("");
                self.say("filter cleared");
            }
            KeyCode::Esc if !self.logs.search.is_empty() => {
                self.logs.search.clear();
                self.say("search cleared");
            }
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Backspace => return self.back(),
            _ => {}
        }
        Vec::new()
    }

    fn retarget_logs(&mut self, target: LogTarget) -> Vec<Effect> {
        if let LogTarget::One(id) = target {
            self.selected = Some(id);
        }
        self.logs.retarget(target);
        vec![self.seed_logs()]
    }

    /// ←/→ walk through the processes in table order, with "all" before the first.
    fn cycle_log_target(&mut self, forward: bool) -> Vec<Effect> {
        let order = self.procs.order();
        if order.is_empty() {
            return Vec::new();
        }
        let pos = match self.logs.target {
            LogTarget::All => None,
            LogTarget::One(id) => self.procs.position(id),
        };
        let target = match (pos, forward) {
            (None, true) => LogTarget::One(order[0]),
            (None, false) => LogTarget::One(order[order.len() - 1]),
            (Some(p), true) if p + 1 < order.len() => LogTarget::One(order[p + 1]),
            (Some(p), false) if p > 0 => LogTarget::One(order[p - 1]),
            _ => LogTarget::All,
        };
        self.retarget_logs(target)
    }

    fn copy_selection(&mut self) -> Vec<Effect> {
        let lines = self.logs.selection();
        if lines.is_empty() {
            self.complain("nothing to copy");
            return Vec::new();
        }
        let text = lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let n = lines.len();
        self.logs.anchor = None;
        self.say(format!(
            "copied {n} line{} to the clipboard (OSC 52)",
            if n == 1 { "" } else { "s" }
        ));
        vec![Effect::Copy(text)]
    }

    fn export(&mut self) -> Vec<Effect> {
        if self.logs.is_empty() {
            self.complain("nothing to export");
            return Vec::new();
        }
        let label = self.log_label();
        let stamp = fmt::time(self.now, &self.tz, "%Y%m%d-%H%M%S");
        let file_name = format!("pmtui-{label}-{stamp}.log");
        vec![Effect::Export {
            file_name,
            content: export_text(&self.logs, &self.tz),
        }]
    }

    /// The target's name for titles and file names.
    pub fn log_label(&self) -> String {
        match self.logs.target {
            LogTarget::All => "all".to_string(),
            LogTarget::One(id) => {
                let name = self
                    .procs
                    .get(id)
                    .map_or_else(|| self.hosts.shown_id(id).to_string(), |p| p.name.clone());
                match self.hosts.label_of(id) {
                    Some(host) => format!("{name} on {host}"),
                    None => name,
                }
            }
        }
    }
}

/// What is shown, one line each, prefixed with the process and stream when several mix.
fn export_text(logs: &LogBuffer, tz: &jiff::tz::TimeZone) -> String {
    let mut out = String::new();
    for line in logs.shown_lines() {
        if logs.timestamps {
            out.push_str(&fmt::time(line.at, tz, "%Y-%m-%d %H:%M:%S%.3f "));
        }
        if logs.target == LogTarget::All {
            out.push_str(&format!("{}|{} ", line.id, line.name));
        }
        if logs.stream == crate::logbuf::StreamFilter::Combined
            && line.stream == pmtui_proto::LogStream::Err
        {
            out.push_str("[err] ");
        }
        out.push_str(&line.text);
        out.push('\n');
    }
    out
}
