//! pm2's process statuses, spelled as pm2 spells them on the wire and in `ls`.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProcessStatus {
    #[serde(rename = "launching")]
    Launching,
    #[serde(rename = "online")]
    Online,
    /// Running but stopped by a signal (SIGSTOP, SIGTSTP…: state `T` in `/proc`); SIGCONT
    /// makes it `online` again.
    #[serde(rename = "suspended")]
    Suspended,
    #[serde(rename = "stopping")]
    Stopping,
    #[serde(rename = "stopped")]
    Stopped,
    #[serde(rename = "waiting restart")]
    WaitingRestart,
    #[serde(rename = "errored")]
    Errored,
    /// A task (an app with a `schedule`) waiting for its next firing: nothing runs.
    #[serde(rename = "scheduled")]
    Scheduled,
}

impl ProcessStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Launching => "launching",
            Self::Online => "online",
            Self::Suspended => "suspended",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::WaitingRestart => "waiting restart",
            Self::Errored => "errored",
            Self::Scheduled => "scheduled",
        }
    }

    /// True while a child process exists (or is about to, for `launching`).
    pub fn is_running(self) -> bool {
        matches!(
            self,
            Self::Launching | Self::Online | Self::Suspended | Self::Stopping
        )
    }
}

impl fmt::Display for ProcessStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
