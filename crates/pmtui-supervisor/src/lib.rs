//! pmtui's engine, without sockets: it spawns processes, runs one job task per process
//! (owning its child), restarts them by policy, captures their output and cleans up every
//! descendant on stop.
//!
//! Theory of operation: the `Supervisor` handle holds the process table behind a mutex that is
//! never held across an await, and the event broadcast. Each process has a job task
//! (`job.rs`) that owns its `Child`, its state and its restart history; commands reach it on a
//! channel and it publishes every change back into the table, where it gets a sequence
//! number and goes out as an `Event`. A slow stop therefore never blocks `ls`.

pub mod config;
pub mod contain;
pub mod cron;
pub mod error;
pub mod fanout;
pub mod fds;
pub mod hooks;
mod http_client;
mod job;
mod kernel_file;
mod lazy_queue;
pub mod logs;
pub mod metrics;
mod oom;
pub mod policy;
pub mod probe;
mod purge;
pub mod reaper;
pub mod record;
mod small_watch;
mod sockets;
mod spawn;
mod supervisor;
mod target;
pub mod tree;
mod watch;

pub use config::SupervisorConfig;
pub use error::SupervisorError;
pub use metrics::MetricsTick;
pub use probe::{AppMessage, AppPayload, MessageSource, ReadyOutcome};
pub use record::{DesiredState, ProcessRecord};
pub use spawn::close_inherited_fds;
pub use supervisor::{
    ApplyOutcome, Changed, JsonCursor, LogSnapshot, MetricsSnapshot, MetricsSubscription,
    ReloadOptions, ScaleOutcome, StartOutcome, Supervisor,
};
pub use target::{TargetEntry, resolve_targets};
