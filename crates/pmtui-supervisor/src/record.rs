//! What is persisted about a process so that a new daemon can take over: its definition,
//! whether it should run, and which pid (with its start time) was last seen running it.

use pmtui_proto::{ProcessId, ProcessSpec};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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
    /// Shared with the table row it was taken from: the records of a thousand instances
    /// are written on a blocking thread, whose malloc arena kept the room of a copy of
    /// each definition (about 2 KiB a process) as free space after the write.
    #[serde(with = "shared_spec")]
    pub spec: Arc<ProcessSpec>,
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

/// `Arc<ProcessSpec>` written and read as the definition itself (serde's `rc` feature
/// would do the same for every `Arc` of the workspace).
mod shared_spec {
    use super::{Arc, ProcessSpec};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(spec: &Arc<ProcessSpec>, out: S) -> Result<S::Ok, S::Error> {
        spec.as_ref().serialize(out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<Arc<ProcessSpec>, D::Error> {
        ProcessSpec::deserialize(input).map(Arc::new)
    }
}
