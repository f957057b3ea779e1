//! Live monitor keys: the selection moves over the card grid.

use super::{App, Overlay};
use crate::logbuf::LogTarget;
use crate::msg::Effect;
use crossterm::event::{KeyCode, KeyEvent};

impl App {
    pub(super) fn monitor_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let columns = self.areas.card_columns.max(1) as isize;
        let selected = self.selected;
        match key.code {
            KeyCode::Left | KeyCode::Char('h') => self.select_by(-1),
            KeyCode::Right => self.select_by(1),
            KeyCode::Up | KeyCode::Char('k') => self.select_by(-columns),
            KeyCode::Down | KeyCode::Char('j') => self.select_by(columns),
            KeyCode::PageUp => self.select_by(-columns * 3),
            KeyCode::PageDown => self.select_by(columns * 3),
            KeyCode::Home | KeyCode::Char('g') => self.select_at(0),
            KeyCode::End | KeyCode::Char('G') => self.select_at(self.procs.len().saturating_sub(1)),
            KeyCode::Enter => return selected.map(|id| self.open_detail(id)).unwrap_or_default(),
            KeyCode::Char('l') => {
                return selected
                    .map(|id| self.open_logs(LogTarget::One(id)))
                    .unwrap_or_default();
            }
            KeyCode::Char('r') => return selected.map(|id| self.restart(id)).unwrap_or_default(),
            KeyCode::Char('s') => {
                return selected
                    .map(|id| self.stop_or_start(id))
                    .unwrap_or_default();
            }
            KeyCode::Char('?') => self.overlay = Some(Overlay::Help),
            KeyCode::Esc => return self.back(),
            KeyCode::Char('q') => return self.back_or_quit(),
            _ => {}
        }
        Vec::new()
    }
}
