//! What is persisted about a process so that a new daemon can take over: its definition,
//! whether it should run, and which pid (with its start time) was last seen running it.

use pmtui_proto::{ProcessId, ProcessSpec};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DesiredState {
    Running,
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessRecord {
    pub id: ProcessId,
    pub instance: u32,
    pub spec: ProcessSpec,
    pub desired: DesiredState,
    pub restarts: u32,
    pub created_at: u64,
    /// The main pid and its start time (clock ticks since boot) when it last ran, so a new
    /// daemon can end it without mistaking a recycled pid for it.
    #[serde(default)]
    pub pid: Option<u32>,
    #[serde(default)]
    pub pid_start_time: Option<u64>,
}
