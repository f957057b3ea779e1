//! Dashboard keys, and the in-place editing of filter and search lines.

use super::{App, Editing, Overlay, View};
use crate::logbuf::LogTarget;
use crate::msg::Effect;
use crate::procs::Column;
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use tui_input::backend::crossterm::EventHandler;

impl App {
    pub(super) fn dashboard_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let selected = self.selected;
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.select_by(-1),
            KeyCode::Down | KeyCode::Char('j') => self.select_by(1),
            KeyCode::PageUp => self.select_by(-self.page()),
            KeyCode::PageDown => self.select_by(self.page()),
            KeyCode::Home | KeyCode::Char('g') => self.select_at(0),
            KeyCode::End | KeyCode::Char('G') => self.select_at(self.procs.len().saturating_sub(1)),
            KeyCode::Enter => {
                if let Some(id) = selected {
                    return self.open_detail(id);
                }
            }
            KeyCode::Char('a') => self.open_add(),
            KeyCode::Char('r') => return selected.map(|id| self.restart(id)).unwrap_or_default(),
            KeyCode::Char('s') => {
                return selected
                    .map(|id| self.stop_or_start(id))
                    .unwrap_or_default();
            }
            KeyCode::Char('d') | KeyCode::Delete => {
                return selected
                    .map(|id| self.confirm_delete(id))
                    .unwrap_or_default();
            }
            KeyCode::Char('l') => {
                if let Some(id) = selected {
                    return self.open_logs(LogTarget::One(id));
                }
            }
            KeyCode::Char('L') => return self.open_logs(LogTarget::All),
            KeyCode::Char('m') => self.push(View::Monitor),
            KeyCode::Char('o') => self.log_pane = !self.log_pane,
            KeyCode::Char('w') => {
                return selected.map(|id| self.toggle_watch(id)).unwrap_or_default();
            }
            KeyCode::Char('/') => self.start_editing(Editing::Filter),
            KeyCode::Char('?') => self.overlay = Some(Overlay::Help),
            KeyCode::Char('<') => {
                let i = self.procs.sort.index() + Column::ALL.len() - 1;
                self.procs.sort_by(Column::nth(i));
            }
            KeyCode::Char('>') => self.procs.sort_by(Column::nth(self.procs.sort.index() + 1)),
            KeyCode::Char(c @ '1'..='9') => {
                self.procs.sort_by(Column::nth(c as usize - '1' as usize));
            }
            KeyCode::Esc if !self.procs.filter().is_empty() => self.procs.set_filter(""),
            KeyCode::Esc => return self.back(),
            KeyCode::Char('q') => return self.back_or_quit(),
            _ => {}
        }
        Vec::new()
    }

    pub(super) fn open_add(&mut self) {
        if self.resolver.is_some() {
            self.overlay = Some(Overlay::Add(Box::default()));
        } else {
            self.complain("adding a process is not available here; use `pmtui start`");
        }
    }

    pub(super) fn start_editing(&mut self, editing: Editing) {
        let value = match editing {
            Editing::Filter => self.procs.filter().to_string(),
            Editing::LogSearch => self.logs.search.clone(),
            Editing::LogFilter => self.logs.filter().to_string(),
        };
        self.input = tui_input::Input::new(value);
        self.editing = Some(editing);
    }

    /// Keys while a filter or search line is open: the text applies as it is typed, enter
    /// keeps it, esc drops it.
    pub(super) fn edit_key(&mut self, editing: Editing, key: KeyEvent) -> Vec<Effect> {
        match key.code {
            KeyCode::Enter => {
                self.editing = None;
                if editing == Editing::LogSearch
                    && !self.logs.find(true)
                    && !self.logs.search.is_empty()
                {
                    self.complain(format!("no line contains {:?}", self.logs.search));
                }
                return Vec::new();
            }
            KeyCode::Esc => {
                self.editing = None;
                self.input.reset();
            }
            _ => {
                self.input.handle_event(&TermEvent::Key(key));
            }
        }
        let value = self.input.value().to_string();
        match editing {
            Editing::Filter => self.procs.set_filter(&value),
            Editing::LogSearch => self.logs.search = value,
            Editing::LogFilter => self.logs.set_filter(&value),
        }
        Vec::new()
    }
}
