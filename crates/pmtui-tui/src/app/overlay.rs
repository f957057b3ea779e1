//! Keys of the overlays: help, the delete confirmation, the add form.

use super::{App, Overlay};
use crate::form::Field;
use crate::msg::{Effect, Tag};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use pmtui_proto::Request;
use tui_input::backend::crossterm::EventHandler;

impl App {
    pub(super) fn overlay_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        match self.overlay.take() {
            Some(Overlay::Help) => {
                // Arrows scroll a help taller than the terminal; esc, ?, q and enter close
                // it; other keys are ignored so help stays readable.
                match key.code {
                    KeyCode::Esc | KeyCode::Char('?' | 'q') | KeyCode::Enter => {
                        self.help_scroll = 0;
                        return Vec::new();
                    }
                    KeyCode::Down | KeyCode::Char('j') => self.help_scroll += 1,
                    KeyCode::Up | KeyCode::Char('k') => {
                        self.help_scroll = self.help_scroll.saturating_sub(1);
                    }
                    _ => {}
                }
                self.overlay = Some(Overlay::Help);
                Vec::new()
            }
            Some(Overlay::Confirm { id, name }) => match key.code {
                KeyCode::Char('y' | 'Y') | KeyCode::Enter => {
                    if let Some(super::View::Detail(_)) = self.stack.last() {
                        self.stack.pop();
                    }
                    self.delete(id, &name)
                }
                KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => Vec::new(),
                _ => {
                    self.overlay = Some(Overlay::Confirm { id, name });
                    Vec::new()
                }
            },
            Some(Overlay::Add(form)) => {
                self.overlay = Some(Overlay::Add(form));
                self.add_key(key)
            }
            None => Vec::new(),
        }
    }

    fn add_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(Overlay::Add(form)) = &mut self.overlay else {
            return Vec::new();
        };
        match key.code {
            KeyCode::Esc => self.overlay = None,
            KeyCode::Tab | KeyCode::Down => form.next(),
            KeyCode::BackTab | KeyCode::Up => form.prev(),
            KeyCode::Left | KeyCode::Char(' ') | KeyCode::Right
                if form.field() == Field::Restart =>
            {
                form.cycle_restart(key.code != KeyCode::Left);
            }
            KeyCode::Enter => {
                if form.submitting {
                    return Vec::new();
                }
                let Some(request) = form.validate() else {
                    return Vec::new();
                };
                let Some(resolver) = &self.resolver else {
                    return Vec::new();
                };
                match resolver(&request) {
                    Ok(spec) => {
                        form.submitting = true;
                        let request = Request::Start {
                            spec: Box::new(spec),
                            force: false,
                            update_env: false,
                        };
                        return vec![Effect::Send(Tag::Add, request)];
                    }
                    Err(message) => form.place_error(&message),
                }
            }
            _ if form.field() != Field::Restart => {
                let i = form.focus;
                form.inputs[i].handle_event(&TermEvent::Key(key));
                form.errors[i] = None;
            }
            _ => {}
        }
        Vec::new()
    }
}
