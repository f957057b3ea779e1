//! pmtui's shared vocabulary: what a process should be (`ProcessSpec`), what it is
//! (`ProcessInfo`, `ProcessStatus`), what clients ask (`Request`) and hear (`Response`,
//! `Event`), and the length-prefixed JSON frames that carry them. No I/O beyond the codec.

pub mod app_metrics;
pub mod codec;
pub mod depends;
pub mod env;
pub mod env_map;
pub mod error;
pub mod event;
pub mod faults;
pub mod frames;
pub mod health;
pub mod info;
pub mod info_json;
pub mod listen;
pub mod metrics;
pub mod names;
pub mod prometheus;
pub mod request;
pub mod response;
pub mod spec;
pub mod status;
pub mod task;
pub mod units;
pub mod watch;

pub use app_metrics::{
    AppDrop, AppMetricKind, AppMetricSource, AppSeries, AppValue, MAX_APP_NAME, MAX_APP_SERIES,
    valid_metric_name,
};
pub use codec::{
    ClientFrame, Hello, HelloReply, MAX_REPLY_LEN, MAX_REQUEST_LEN, PROTOCOL_VERSION, ServerFrame,
};
pub use depends::{Condition, Dependency};
pub use env::{EnvError, MAX_ENV_BYTES, MAX_ENV_VAR_BYTES, check_env};
pub use env_map::EnvMap;
pub use error::ProtoError;
pub use event::{Event, EventKind, LogLine, LogStream};
pub use health::{
    Health, HealthCheck, HttpTarget, OnFailure, ProbeKind, ProbeResult, Readiness,
    parse_status_range,
};
pub use info::{ExitRecord, ProcessDetail, ProcessInfo, ReloadState};
pub use listen::{ListenAddress, ListenSpec};
pub use metrics::{HostSample, MetricsHistory, ProcessMetrics, ProcessSample, Span};
pub use names::{NameError, check_name, check_namespace, file_stem, printable};
pub use request::{Request, ScaleTo};
pub use response::{ErrorKind, Response, StateProblem, StateProblemKind};
pub use spec::{
    Backoff, BackoffKind, ExecMode, LogFormat, LogOptions, ProcessSpec, RestartMode, RestartPolicy,
};
pub use status::ProcessStatus;
pub use task::{AppEvent, DEFAULT_HOOK_TIMEOUT_MS, HOOK_EVENTS, Hook, Overlap};
pub use units::{
    ByteUnits, UnitError, format_bytes, format_metric, parse_duration_ms, parse_size_bytes, plural,
    two_decimals,
};
pub use watch::{DEFAULT_WATCH_DELAY_MS, DEFAULT_WATCH_IGNORE, WatchSpec, WatchTrigger};

/// A process's id: unique within one daemon, pm2's `pm_id`.
pub type ProcessId = u32;

/// The version of pmtui that built this crate, shown by `ping` and the hello.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Milliseconds since the Unix epoch, the unit of every timestamp on the wire.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
