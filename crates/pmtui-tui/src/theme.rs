//! Colours, in one place so `NO_COLOR` turns them all off: without colour every style keeps
//! only its modifiers (bold, reversed), and statuses still read by their symbol.

use pmtui_proto::ProcessStatus;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to a non-empty value (no-color.org).
    pub fn from_env() -> Self {
        Self {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub fn status(self, status: ProcessStatus) -> Style {
        self.fg(match status {
            ProcessStatus::Online => Color::Green,
            ProcessStatus::Launching
            | ProcessStatus::Suspended
            | ProcessStatus::Stopping
            | ProcessStatus::WaitingRestart => Color::Yellow,
            ProcessStatus::Stopped => Color::DarkGray,
            ProcessStatus::Scheduled => Color::Cyan,
            ProcessStatus::Errored => Color::Red,
        })
    }

    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn border(self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn focus_border(self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn label(self) -> Style {
        self.fg(Color::Gray)
    }

    pub fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn header(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn selected(self) -> Style {
        if self.color {
            Style::new()
                .bg(Color::Indexed(236))
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// Lines inside a log selection.
    pub fn selection(self) -> Style {
        if self.color {
            Style::new().bg(Color::Indexed(238))
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED)
        }
    }

    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn ok(self) -> Style {
        self.fg(Color::Green)
    }

    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn stderr(self) -> Style {
        self.fg(Color::LightRed)
    }

    pub fn matched(self) -> Style {
        if self.color {
            Style::new().bg(Color::Yellow).fg(Color::Black)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::UNDERLINED)
        }
    }

    pub fn cpu(self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn memory(self) -> Style {
        self.fg(Color::Magenta)
    }

    /// A palette for telling processes apart in a merged log.
    pub fn name(self, id: u32) -> Style {
        const PALETTE: [Color; 6] = [
            Color::Cyan,
            Color::Magenta,
            Color::Blue,
            Color::Green,
            Color::Yellow,
            Color::LightCyan,
        ];
        self.fg(PALETTE[id as usize % PALETTE.len()])
    }
}
