//! The real binary in a tmux pseudo-terminal: a tmux server of the test's own (`-L`), read
//! with `capture-pane`, waited on with deadlines, and killed when dropped.

use super::{TestHome, unique, wait_until};
use std::process::Command;

/// A tmux server of our own running `pmtui <args>` in a 120×40 window.
pub struct Tmux {
    socket: String,
    /// The socket file, removed at the end (tmux leaves it behind).
    path: Option<std::path::PathBuf>,
}

impl Tmux {
    pub fn start(home: &TestHome, args: &str) -> Self {
        Self::start_with(home, args, "")
    }

    /// Like `start`, with extra `KEY=VALUE` environment.
    pub fn start_with(home: &TestHome, args: &str, env: &str) -> Self {
        let command = format!(
            "cd {home} && env PMTUI_HOME={home} TERM=xterm-256color {env} {bin} {args}",
            home = home.home().display(),
            bin = env!("CARGO_BIN_EXE_pmtui"),
        );
        Self::run_command(&command)
    }

    /// A tmux server running a shell `command` line in a 120×40 window.
    pub fn run_command(command: &str) -> Self {
        let socket = unique("pmtui-tui");
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "120",
                "-y",
                "40",
                command,
            ])
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux new-session failed");
        let path = Command::new("tmux")
            .args(["-L", &socket, "display-message", "-p", "#{socket_path}"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|p| !p.is_empty())
            .map(Into::into);
        Self { socket, path }
    }

    pub fn screen(&self) -> String {
        self.capture(false)
    }

    /// The screen; with `escapes`, including its colour and style sequences.
    pub fn capture(&self, escapes: bool) -> String {
        let flags = if escapes { "-pe" } else { "-p" };
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", flags])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Polls the screen until `check` holds; panics with the last screen otherwise.
    pub fn wait(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        wait_until(what, || {
            last = self.screen();
            check(&last).then(|| last.clone())
        })
        .unwrap_or_else(|| panic!("timed out waiting for {what}; screen:\n{last}"))
    }

    /// A tmux format of the pane, such as `#{alternate_on}`.
    pub fn format(&self, format: &str) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "display-message", "-p", format])
            .output()
            .expect("tmux display-message");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn running(&self) -> bool {
        Command::new("tmux")
            .args(["-L", &self.socket, "has-session"])
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}
