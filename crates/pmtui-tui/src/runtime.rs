//! The event loop: one `select!` over the terminal's events, the daemon's events, replies to
//! requests and a one-second tick. It draws only when the model is dirty, at most ~30 times
//! a second, and reconnects (showing why) when the daemon goes away.

use crate::app::{App, View};
use crate::msg::{Effect, Msg, Resolver};
use crate::{TuiError, osc52, ui};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event as TermEvent, EventStream};
use futures_util::StreamExt;
use pmtui_client::Client;
use pmtui_proto::{Event, now_ms};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

const FRAME: Duration = Duration::from_millis(33);
const TICK: Duration = Duration::from_secs(1);

/// Which view `run` opens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartView {
    #[default]
    Dashboard,
    /// `pmtui monit`: the monitor, and `q` quits from it.
    Monitor,
}

pub struct Options {
    /// The daemon's socket, to reconnect after it went away.
    pub socket: PathBuf,
    pub view: StartView,
    /// Turns the add form into a spec; without one the form is not offered.
    pub resolver: Option<Resolver>,
}

/// Runs the terminal UI on `client` until the user quits. Processes keep running.
pub async fn run(client: Client, options: Options) -> Result<(), TuiError> {
    let mut terminal = ratatui::try_init()?;
    crossterm::execute!(std::io::stdout(), EnableMouseCapture)?;
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
        hook(info);
    }));
    let result = event_loop(&mut terminal, client, options).await;
    let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}

struct Connection {
    client: Arc<Client>,
    events: mpsc::UnboundedReceiver<Event>,
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    client: Client,
    options: Options,
) -> Result<(), TuiError> {
    let root = match options.view {
        StartView::Dashboard => View::Dashboard,
        StartView::Monitor => View::Monitor,
    };
    let mut app = App::new(crate::theme::Theme::from_env(), now_ms(), root);
    app.resolver = options.resolver;
    app.tz = jiff::tz::TimeZone::system();
    let size = terminal.size()?;
    app.size = (size.width, size.height);
    let (tx, mut replies) = mpsc::unbounded_channel::<Msg>();
    let mut conn = Some(connection(client, &tx));
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_draw = Instant::now() - FRAME;
    loop {
        if app.dirty && last_draw.elapsed() >= FRAME {
            terminal.draw(|frame| ui::render(&mut app, frame))?;
            app.dirty = false;
            last_draw = Instant::now();
        }
        let msg = tokio::select! {
            event = keys.next() => match event {
                Some(Ok(TermEvent::Key(key))) => Msg::Key(key),
                Some(Ok(TermEvent::Mouse(mouse))) => Msg::Mouse(mouse),
                Some(Ok(TermEvent::Resize(w, h))) => Msg::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Err(err.into()),
                None => return Ok(()),
            },
            event = next_event(&mut conn) => match event {
                Some(event) => Msg::Daemon(event),
                None => {
                    conn = None;
                    Msg::Disconnected("the connection was lost".into())
                }
            },
            Some(msg) = replies.recv() => msg,
            _ = tick.tick() => {
                if conn.is_none() {
                    match Client::connect(&options.socket).await {
                        Ok(client) => {
                            conn = Some(connection(client, &tx));
                            continue;
                        }
                        Err(err) => { app.update(Msg::Disconnected(err.to_string())); }
                    }
                }
                Msg::Tick(now_ms())
            }
            _ = tokio::time::sleep_until(last_draw + FRAME), if app.dirty => continue,
        };
        for effect in app.update(msg) {
            if perform(effect, conn.as_ref(), &tx) {
                return Ok(());
            }
        }
    }
}

/// Takes a fresh client's events and tells the app it is connected.
fn connection(mut client: Client, tx: &mpsc::UnboundedSender<Msg>) -> Connection {
    let events = client.take_events();
    let hello = client.daemon();
    let _ = tx.send(Msg::Connected {
        daemon_pid: hello.pid,
        version: hello.version.clone(),
    });
    Connection {
        client: Arc::new(client),
        events,
    }
}

async fn next_event(conn: &mut Option<Connection>) -> Option<Event> {
    match conn {
        Some(c) => c.events.recv().await,
        None => std::future::pending().await,
    }
}

/// Runs one effect; true means quit.
fn perform(effect: Effect, conn: Option<&Connection>, tx: &mpsc::UnboundedSender<Msg>) -> bool {
    match effect {
        Effect::Quit => return true,
        Effect::Send(tag, request) => {
            let Some(conn) = conn else {
                let _ = tx.send(Msg::Reply(tag, Err("the daemon is not reachable".into())));
                return false;
            };
            let client = Arc::clone(&conn.client);
            let tx = tx.clone();
            tokio::spawn(async move {
                let result = client.request(request).await.map_err(|e| e.to_string());
                let _ = tx.send(Msg::Reply(tag, result));
            });
        }
        Effect::Copy(text) => {
            let mut out = std::io::stdout();
            if let Err(err) = out
                .write_all(osc52::sequence(&text).as_bytes())
                .and_then(|()| out.flush())
            {
                let _ = tx.send(Msg::Done(Err(format!("copy failed: {err}"))));
            }
        }
        Effect::Export { file_name, content } => {
            let path = std::env::current_dir().unwrap_or_default().join(file_name);
            let lines = content.lines().count();
            let result = std::fs::write(&path, content)
                .map(|()| format!("exported {lines} lines to {}", path.display()))
                .map_err(|err| format!("cannot write {}: {err}", path.display()));
            let _ = tx.send(Msg::Done(result));
        }
    }
    false
}
