//! The event loop: one `select!` over the terminal's input, the daemon's events, replies to
//! requests, signals and a one-second tick. It draws only when the model is dirty, at most
//! ~30 times a second. The daemons are behind the `fleet` (one task per host, reconnecting
//! on its own), so nothing here awaits a daemon. The terminal
//! is given back as it was found on quit, on SIGTERM, SIGHUP and SIGINT, on a panic, and
//! while suspended by ctrl-z (redrawn whole after `fg`).

use crate::app::{App, View};
use crate::fleet::Fleet;
use crate::input::{Decoder, ESC_TIMEOUT, Input};
use crate::msg::{Effect, Msg, Resolver};
use crate::{TuiError, osc52, ui};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use pmtui_client::{Client, Endpoint};
use pmtui_proto::now_ms;
use std::io::{IsTerminal, Read, Write};
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
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
    /// Where the daemons are (this host's socket, or ssh): one, or several shown together
    /// with a HOST column.
    pub endpoints: Vec<Endpoint>,
    /// The context or host shown in the title when the daemon is not this host's.
    pub label: Option<String>,
    pub view: StartView,
    /// Turns the add form into a spec; without one the form is not offered.
    pub resolver: Option<Resolver>,
}

/// Runs the terminal UI until the user quits. Processes keep running. `client`: a
/// connection to the only endpoint, made before the terminal was taken (so its errors show
/// on the command line); with several hosts each connects in its own task.
pub async fn run(client: Option<Client>, options: Options) -> Result<(), TuiError> {
    if options.endpoints.is_empty() || options.endpoints.len() > crate::hosts::MAX_HOSTS {
        return Err(TuiError::Hosts(options.endpoints.len()));
    }
    let input = spawn_reader()?;
    // ratatui's hook (set by try_init) restores raw mode and the main screen on a panic;
    // this one also stops mouse reporting, so the shell is usable after the message.
    let mut terminal = ratatui::try_init()?;
    crossterm::execute!(std::io::stdout(), EnableMouseCapture)?;
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
        hook(info);
    }));
    let result = event_loop(&mut terminal, client, options, input).await;
    leave_terminal();
    result
}

/// Gives the terminal back: no mouse reports, cooked mode, the main screen.
fn leave_terminal() {
    let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
}

/// Takes the terminal again after a suspension.
fn enter_terminal(terminal: &mut ratatui::DefaultTerminal) -> std::io::Result<()> {
    crossterm::terminal::enable_raw_mode()?;
    crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::EnterAlternateScreen,
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All),
        EnableMouseCapture
    )?;
    // A fresh terminal remembers nothing of the last frame, so the next one is drawn whole
    // (`Terminal::clear` would ask the terminal for the cursor, and the input thread owns
    // the answers).
    *terminal = ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(std::io::stdout()))?;
    Ok(())
}

/// ctrl-z: hands the terminal back and stops the process group as the shell's own ctrl-z
/// would; returns after `fg` (SIGCONT). Where no shell does job control (an orphaned group)
/// the kernel ignores the stop and the UI simply comes back.
fn suspend(terminal: &mut ratatui::DefaultTerminal) -> std::io::Result<()> {
    leave_terminal();
    let stopped = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(0),
        nix::sys::signal::Signal::SIGTSTP,
    );
    if let Err(err) = stopped {
        tracing::debug!(%err, "cannot suspend");
    }
    enter_terminal(terminal)
}

/// Reads the terminal's bytes on a thread of its own (a blocking read); the event loop
/// decodes them, so it can tell two quick Escs apart. The channel closes when the terminal
/// does.
fn spawn_reader() -> std::io::Result<mpsc::UnboundedReceiver<Vec<u8>>> {
    let mut tty: Box<dyn Read + Send> = if std::io::stdin().is_terminal() {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open("/dev/tty")?)
    };
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("pmtui-input".into())
        .spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match tty.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                    Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(err) => {
                        tracing::debug!(%err, "terminal input ended");
                        break;
                    }
                }
            }
        })?;
    Ok(rx)
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    client: Option<Client>,
    options: Options,
    mut input: mpsc::UnboundedReceiver<Vec<u8>>,
) -> Result<(), TuiError> {
    let root = match options.view {
        StartView::Dashboard => View::Dashboard,
        StartView::Monitor => View::Monitor,
    };
    let mut app = App::new(crate::theme::Theme::from_env(), now_ms(), root);
    app.resolver = options.resolver.clone();
    app.host_label = options.label.clone();
    if options.endpoints.len() > 1 {
        app.hosts = crate::hosts::Hosts::many(options.endpoints.iter().map(Endpoint::label));
        app.procs.host_ids = true;
    }
    app.tz = jiff::tz::TimeZone::system();
    let size = terminal.size()?;
    app.size = (size.width, size.height);
    let (tx, mut replies) = mpsc::unbounded_channel::<Msg>();
    let fleet = Fleet::new(options.endpoints.clone(), client, &tx);
    let mut decoder = Decoder::default();
    let mut queued: std::collections::VecDeque<Msg> = Default::default();
    let mut winch = signal(SignalKind::window_change())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_draw = Instant::now() - FRAME;
    loop {
        if app.dirty && last_draw.elapsed() >= FRAME {
            terminal.draw(|frame| ui::render(&mut app, frame))?;
            app.dirty = false;
            last_draw = Instant::now();
        }
        let msg = if let Some(msg) = queued.pop_front() {
            msg
        } else {
            tokio::select! {
            bytes = input.recv() => match bytes {
                Some(bytes) => {
                    queued.extend(decoder.feed(&bytes).into_iter().map(to_msg));
                    continue;
                }
                None => return Ok(()),
            },
            _ = tokio::time::sleep(ESC_TIMEOUT), if decoder.pending() => {
                queued.extend(decoder.flush().into_iter().map(to_msg));
                continue;
            }
            _ = winch.recv() => {
                let (w, h) = crossterm::terminal::size()?;
                Msg::Resize(w, h)
            }
            _ = term.recv() => return Ok(()),
            _ = hup.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            Some(msg) = replies.recv() => msg,
            _ = tick.tick() => Msg::Tick(now_ms()),
            _ = tokio::time::sleep_until(last_draw + FRAME), if app.dirty => continue,
            }
        };
        if matches!(msg, Msg::Key(_)) && pmtui_proto::faults::fire("ui-panic-on-key", "") {
            panic!("injected fault ui-panic-on-key");
        }
        for effect in app.update(msg) {
            match effect {
                Effect::Quit => return Ok(()),
                Effect::Suspend => {
                    suspend(terminal)?;
                    let size = terminal.size()?;
                    app.update(Msg::Resize(size.width, size.height));
                    app.dirty = true;
                }
                effect => perform(effect, &fleet, &tx),
            }
        }
    }
}

fn to_msg(input: Input) -> Msg {
    match input {
        Input::Key(key) => Msg::Key(key),
        Input::Mouse(mouse) => Msg::Mouse(mouse),
    }
}

/// Runs one effect that talks to the daemon or the outside.
fn perform(effect: Effect, fleet: &Fleet, tx: &mpsc::UnboundedSender<Msg>) {
    match effect {
        Effect::Quit | Effect::Suspend => {}
        Effect::Send(tag, request) => fleet.send(tag, request),
        Effect::SendTo(host, tag, request) => fleet.send_to(host, tag, request),
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
}
