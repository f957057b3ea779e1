//! pmtui's terminal UI. Elm-like: `App` is the model, `Msg` what happens, `App::update`
//! changes the model and returns `Effect`s, `ui::render` draws the model. The runtime
//! (`run`) wires the terminal and the daemon connection to that loop. The UI talks to the
//! daemon only through `pmtui-client`, and quitting it never stops a process.

pub mod app;
pub mod app_metrics;
pub mod bench;
mod error;
mod fleet;
pub mod fmt;
pub mod form;
pub mod history;
pub mod hosts;
pub mod input;
pub mod keys;
pub mod logbuf;
pub mod msg;
mod osc52;
pub mod procs;
mod runtime;
pub mod theme;
pub mod ui;

pub use app::App;
pub use error::TuiError;
pub use msg::{AddRequest, Effect, Msg, Resolver, Tag};
pub use runtime::{Options, StartView, run};
