//! Detail view keys.

use super::{App, Overlay};
use crate::logbuf::LogTarget;
use crate::msg::Effect;
use crossterm::event::{KeyCode, KeyEvent};
use pmtui_proto::ProcessId;

impl App {
    pub(super) fn detail_key(&mut self, id: ProcessId, key: KeyEvent) -> Vec<Effect> {
        match key.code {
            KeyCode::Char('r') => return self.restart(id),
            KeyCode::Char('s') => return self.stop_or_start(id),
            KeyCode::Char('d') | KeyCode::Delete => return self.confirm_delete(id),
            KeyCode::Char('l') => return self.open_logs(LogTarget::One(id)),
            KeyCode::Char('e') => self.env_expanded = !self.env_expanded,
            KeyCode::Char('w') => return self.toggle_watch(id),
            KeyCode::Down | KeyCode::Char('j') => self.detail_scroll += 1,
            KeyCode::Up | KeyCode::Char('k') => {
                self.detail_scroll = self.detail_scroll.saturating_sub(1)
            }
            KeyCode::PageDown => self.detail_scroll += 10,
            KeyCode::PageUp => self.detail_scroll = self.detail_scroll.saturating_sub(10),
            KeyCode::Home | KeyCode::Char('g') => self.detail_scroll = 0,
            KeyCode::Left | KeyCode::Right | KeyCode::Char('h') => {
                let delta = if matches!(key.code, KeyCode::Right) {
                    1
                } else {
                    -1
                };
                self.select_by(delta);
                if let Some(next) = self.selected.filter(|next| *next != id) {
                    return self.open_detail(next);
                }
            }
            KeyCode::Char('?') => self.overlay = Some(Overlay::Help),
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Backspace => return self.back(),
            _ => {}
        }
        Vec::new()
    }
}
