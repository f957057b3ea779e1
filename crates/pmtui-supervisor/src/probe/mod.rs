//! Readiness and health: the one definition of *ready*, and the channels an app uses to
//! talk to the daemon.
//!
//! **Ready** (DESIGN, "Readiness, one definition"): a run is ready at its first passing
//! health probe; else, with `wait_ready`, when the app sends sd_notify `READY=1` or (Node)
//! `process.send('ready')`; else as soon as it is started. The job task of each process
//! keeps the phase of its current run ([`Phase`]) in the table: `pending` until then,
//! `ready`, or `timeout` when `wait_ready` waited `listen_timeout` (default 3 s, pm2's)
//! in vain. `depends_on`, `pmtui start <file>`, rolling reloads and the UI all read it.
//!
//! # The API other features call (on [`crate::Supervisor`])
//!
//! - `current_run(id) -> Option<u64>`: the number of the process's latest run (0 before its
//!   first launch; +1 at every launch). `None` when the id is unknown.
//! - `wait_ready(id, after_run, timeout) -> ReadyOutcome`: waits until a run of `id` has
//!   settled and says how:
//!   * [`ReadyOutcome::Ready`]: the run is ready.
//!   * [`ReadyOutcome::TimedOut`]: `wait_ready` ran out of `listen_timeout`, or the
//!     caller's own `timeout` (if given) passed first.
//!   * [`ReadyOutcome::Failed`]`(why)`: the run ended before it was ready (it exited,
//!     crashed, was stopped, could not be spawned, or the process was deleted), or its
//!     health probe failed `retries` times in a row before ever passing. `why` is a
//!     sentence for people ("exited with code 1", "health check failed: GET /health →
//!     503").
//!
//!   Which run: with `after_run: None`, the latest one (or the first, if it has not been
//!   launched yet). To wait for the run a restart is about to start, read
//!   `current_run(id)` *before* sending the restart and pass it as `after_run: Some(n)`:
//!   only a run numbered above `n` counts. The wait holds no lock and never blocks the
//!   daemon; dropping the future cancels it.
//! - `app_messages() -> broadcast::Receiver<AppMessage>`: every message apps send over
//!   Node's IPC channel (one JSON value per line) and every line of their sd_notify
//!   datagrams, tagged with the process id, pid and run. Lossy for a receiver that lags
//!   (it gets `RecvError::Lagged`); unknown messages are simply passed on. Nothing here
//!   acts on them except readiness (`"ready"`, `READY=1`) and the sd_notify keys the job
//!   handles.
//!
//! # Channels to the app
//!
//! Every process gets `NOTIFY_SOCKET`, a datagram socket of its own bound afresh for each
//! run ([`notify`]: why one per process, the keys acted on, the limits). Node apps (run by
//! `node`) also get an IPC channel: one end of a `socketpair` at `NODE_CHANNEL_FD` (fd 3+N,
//! after the N listening sockets; see `spawn`), read by [`ipc`], lines capped at
//! [`ipc::MAX_LINE`]. Each reader handles at most [`ipc::BURST`] messages per 100 ms (a
//! child that floods its channel is slowed down by its own full socket, never the daemon).
//! What the readers find is posted into the run's [`RunSignals`], which coalesces it for the
//! job (so a flood becomes one wake-up); the job acts on it (`job/ready.rs`: readiness,
//! `STATUS=`, `RELOADING=1`, `STOPPING=1`, `MAINPID=`, the watchdog).

pub(crate) mod check;
pub(crate) mod ipc;
mod messages;
pub(crate) mod notify;
mod ready;
pub(crate) mod runner;
mod signals;

pub use messages::{AppMessage, AppPayload, MessageSource};
pub use ready::{Phase, ReadyOutcome, RunReady};
pub(crate) use signals::{Posted, RunSignals};
