//! Mouse: clicks select (a second click opens), the table header sorts, the wheel scrolls.

use super::{App, View};
use crate::msg::Effect;
use crate::procs::Column;
use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

const WHEEL: isize = 3;

impl App {
    pub(super) fn mouse(&mut self, event: MouseEvent) -> Vec<Effect> {
        if self.overlay.is_some() || self.editing.is_some() {
            return Vec::new();
        }
        let at = Position::new(event.column, event.row);
        match (self.view(), event.kind) {
            (View::Logs, MouseEventKind::ScrollUp) => self.logs.move_by(-WHEEL),
            (View::Logs, MouseEventKind::ScrollDown) => self.logs.move_by(WHEEL),
            (View::Detail(_), MouseEventKind::ScrollUp) => {
                self.detail_scroll = self.detail_scroll.saturating_sub(WHEEL as usize);
            }
            (View::Detail(_), MouseEventKind::ScrollDown) => self.detail_scroll += WHEEL as usize,
            (View::Dashboard, MouseEventKind::ScrollUp) => self.select_by(-WHEEL),
            (View::Dashboard, MouseEventKind::ScrollDown) => self.select_by(WHEEL),
            (View::Monitor, MouseEventKind::ScrollUp) => {
                self.select_by(-(self.areas.card_columns.max(1) as isize))
            }
            (View::Monitor, MouseEventKind::ScrollDown) => {
                self.select_by(self.areas.card_columns.max(1) as isize)
            }
            (View::Dashboard, MouseEventKind::Down(MouseButton::Left)) => {
                return self.click_table(at);
            }
            (View::Monitor, MouseEventKind::Down(MouseButton::Left)) => return self.click_card(at),
            (View::Logs, MouseEventKind::Down(MouseButton::Left)) => self.click_log(at),
            _ => {}
        }
        Vec::new()
    }

    fn click_table(&mut self, at: Position) -> Vec<Effect> {
        let table = self.areas.table;
        if !table.contains(at) {
            return Vec::new();
        }
        if at.y == table.y {
            if let Some((i, _, _)) = self
                .areas
                .columns
                .iter()
                .find(|(_, from, to)| (*from..*to).contains(&at.x))
            {
                self.procs.sort_by(Column::nth(*i));
            }
            return Vec::new();
        }
        let pos = self.table_top + (at.y - table.y - 1) as usize;
        self.open_on_second_click(pos)
    }

    fn click_card(&mut self, at: Position) -> Vec<Effect> {
        let cards: Rect = self.areas.cards;
        if !cards.contains(at) || self.areas.card_width == 0 {
            return Vec::new();
        }
        let column = ((at.x - cards.x) / self.areas.card_width) as usize;
        let row = ((at.y - cards.y) / crate::ui::CARD_HEIGHT) as usize;
        let columns = self.areas.card_columns.max(1);
        if column >= columns {
            return Vec::new();
        }
        self.open_on_second_click((self.card_top + row) * columns + column)
    }

    /// A click selects; a click on the selected row opens its detail.
    fn open_on_second_click(&mut self, pos: usize) -> Vec<Effect> {
        let Some(id) = self.procs.order().get(pos).copied() else {
            return Vec::new();
        };
        if self.selected == Some(id) {
            return self.open_detail(id);
        }
        self.select_at(pos);
        Vec::new()
    }

    fn click_log(&mut self, at: Position) {
        let body = self.areas.log_body;
        if !body.contains(at) {
            return;
        }
        let Some(target) = self.areas.log_rows.get((at.y - body.y) as usize).copied() else {
            return;
        };
        let delta = target as isize - self.logs.cursor_pos() as isize;
        self.logs.move_by(delta);
        self.logs.follow = false;
    }
}
