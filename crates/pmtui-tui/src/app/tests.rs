//! `update` tested key by key, without a terminal or a daemon.

use super::*;
use crate::logbuf::{LogTarget, StreamFilter};
use crate::msg::{AddRequest, Tag};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use pmtui_proto::{Event, EventKind, LogLine, LogStream, ProcessStatus, Request, Response};

const NOW: u64 = 1_800_000_000_000;

fn row(id: u32, name: &str, status: ProcessStatus) -> ProcessInfo {
    let mut p = crate::bench::processes(1).remove(0);
    p.id = id;
    p.name = name.to_string();
    p.status = status;
    p.cpu = f64::from(id);
    p.memory = u64::from(100 - id) * 1024 * 1024;
    p.pid = status.is_running().then_some(1000 + id);
    p.command = format!("/srv/{name}");
    p
}

fn app() -> App {
    let mut app = App::new(Theme { color: false }, NOW, View::Dashboard);
    app.update(Msg::Connected {
        daemon_pid: 42,
        version: "0.1.0".into(),
    });
    app.set_processes(vec![
        row(0, "web", ProcessStatus::Online),
        row(1, "worker", ProcessStatus::Online),
        row(2, "cron", ProcessStatus::Stopped),
    ]);
    app.areas.table = Rect::new(0, 2, 80, 10);
    app
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::from(code)))
}

fn ch(app: &mut App, c: char) -> Vec<Effect> {
    key(app, KeyCode::Char(c))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        ch(app, c);
    }
}

fn sent(effects: &[Effect]) -> Vec<&Request> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(_, r) => Some(r),
            _ => None,
        })
        .collect()
}

fn log(id: u32, seq: u64, text: &str) -> Msg {
    Msg::Daemon(Event {
        seq: 0,
        kind: EventKind::Log {
            line: LogLine {
                id,
                name: format!("p{id}"),
                stream: if text.starts_with("err") {
                    LogStream::Err
                } else {
                    LogStream::Out
                },
                seq,
                at: NOW + seq,
                text: text.into(),
            },
        },
    })
}

#[test]
fn connecting_subscribes_and_follows_the_merged_tail() {
    let mut app = App::new(Theme { color: false }, NOW, View::Dashboard);
    let effects = app.update(Msg::Connected {
        daemon_pid: 1,
        version: "x".into(),
    });
    assert!(sent(&effects).contains(&&Request::Subscribe));
    let effects = app.update(Msg::Reply(
        Tag::Subscribe,
        Ok(Response::Subscribed {
            seq: 1,
            processes: vec![row(0, "web", ProcessStatus::Online)],
        }),
    ));
    assert!(
        matches!(
            sent(&effects)[..],
            [Request::Logs {
                follow: true,
                lines: 50,
                ..
            }]
        ),
        "then follows the merged tail: {effects:?}"
    );
    assert_eq!(app.procs.len(), 1);
}

#[test]
fn arrows_and_vim_keys_move_the_selection() {
    let mut app = app();
    assert_eq!(app.selected, Some(0));
    key(&mut app, KeyCode::Down);
    assert_eq!(app.selected, Some(1));
    ch(&mut app, 'j');
    assert_eq!(app.selected, Some(2));
    ch(&mut app, 'j');
    assert_eq!(app.selected, Some(2), "stops at the last row");
    ch(&mut app, 'k');
    assert_eq!(app.selected, Some(1));
    key(&mut app, KeyCode::Up);
    assert_eq!(app.selected, Some(0));
    ch(&mut app, 'G');
    assert_eq!(app.selected, Some(2));
    ch(&mut app, 'g');
    assert_eq!(app.selected, Some(0));
    key(&mut app, KeyCode::End);
    assert_eq!(app.selected, Some(2));
    key(&mut app, KeyCode::Home);
    assert_eq!(app.selected, Some(0));
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.selected, Some(2));
    key(&mut app, KeyCode::PageUp);
    assert_eq!(app.selected, Some(0));
}

#[test]
fn selection_stays_on_the_same_process_when_the_list_changes() {
    let mut app = app();
    ch(&mut app, 'j');
    assert_eq!(app.selected, Some(1));
    // A new process sorts before it, and the list is re-sorted by CPU.
    app.update(Msg::Daemon(Event {
        seq: 1,
        kind: EventKind::Process {
            process: Box::new(row(5, "aaa", ProcessStatus::Online)),
        },
    }));
    ch(&mut app, '4');
    assert_eq!(app.selected, Some(1));
    assert_eq!(app.current().map(|p| p.name.as_str()), Some("worker"));
    // When it goes away, the selection lands on the row that took its place.
    app.update(Msg::Daemon(Event {
        seq: 2,
        kind: EventKind::Removed { id: 1 },
    }));
    assert!(app.selected.is_some_and(|id| id != 1));
}

#[test]
fn r_restarts_s_stops_or_starts() {
    let mut app = app();
    let e = ch(&mut app, 'r');
    assert_eq!(
        sent(&e),
        [&Request::Restart {
            targets: vec!["0".into()],
            env: None
        }]
    );
    let e = ch(&mut app, 's');
    assert_eq!(
        sent(&e),
        [&Request::Stop {
            targets: vec!["0".into()]
        }]
    );
    ch(&mut app, 'G');
    let e = ch(&mut app, 's');
    assert_eq!(
        sent(&e),
        [&Request::Restart {
            targets: vec!["2".into()],
            env: None
        }],
        "s starts a stopped process"
    );
}

#[test]
fn d_asks_before_deleting() {
    let mut app = app();
    assert!(sent(&ch(&mut app, 'd')).is_empty());
    assert!(matches!(app.overlay, Some(Overlay::Confirm { id: 0, .. })));
    assert!(sent(&ch(&mut app, 'n')).is_empty());
    assert!(app.overlay.is_none());
    ch(&mut app, 'd');
    let e = ch(&mut app, 'y');
    assert_eq!(
        sent(&e),
        [&Request::Delete {
            targets: vec!["0".into()]
        }]
    );
}

#[test]
fn action_replies_become_status_messages() {
    let mut app = app();
    app.update(Msg::Reply(
        Tag::Action {
            verb: "restarted",
            name: "web".into(),
        },
        Ok(Response::Done {
            message: String::new(),
        }),
    ));
    assert!(
        app.toast
            .as_ref()
            .is_some_and(|t| !t.error && t.text.contains("restarted web"))
    );
    app.update(Msg::Reply(
        Tag::Action {
            verb: "stopped",
            name: "web".into(),
        },
        Err("boom".into()),
    ));
    assert!(
        app.toast
            .as_ref()
            .is_some_and(|t| t.error && t.text.contains("boom"))
    );
    app.update(Msg::Tick(NOW + 60_000));
    assert!(app.toast.is_none(), "messages expire");
}

#[test]
fn enter_opens_the_detail_and_esc_returns() {
    let mut app = app();
    let e = key(&mut app, KeyCode::Enter);
    assert_eq!(app.view(), View::Detail(0));
    assert_eq!(
        sent(&e),
        [&Request::Describe {
            targets: vec!["0".into()],
            history: true,
        }]
    );
    key(&mut app, KeyCode::Right);
    assert_eq!(app.view(), View::Detail(1), "→ goes to the next process");
    ch(&mut app, 'j');
    assert_eq!(app.detail_scroll, 1);
    ch(&mut app, 'k');
    assert_eq!(app.detail_scroll, 0);
    let e = ch(&mut app, 'r');
    assert!(matches!(sent(&e)[..], [Request::Restart { .. }]));
    ch(&mut app, 'q');
    assert_eq!(app.view(), View::Dashboard);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view(), View::Dashboard);
}

#[test]
fn q_quits_from_the_dashboard_and_ctrl_c_anywhere() {
    let mut app = app();
    assert_eq!(ch(&mut app, 'q'), [Effect::Quit]);
    ch(&mut app, 'l');
    ch(&mut app, 'q');
    assert_eq!(app.view(), View::Dashboard, "q from a view goes back");
    ch(&mut app, 'l');
    let e = app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(e, [Effect::Quit]);
}

#[test]
fn slash_filters_as_you_type_and_esc_clears() {
    let mut app = app();
    ch(&mut app, '/');
    assert_eq!(app.editing, Some(Editing::Filter));
    typed(&mut app, "work");
    assert_eq!(app.procs.order(), [1]);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.editing, None);
    assert_eq!(app.procs.len(), 1, "enter keeps the filter");
    assert_eq!(app.selected, Some(1));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.procs.len(), 3, "esc clears it");
}

#[test]
fn sort_keys_choose_and_reverse_columns() {
    let mut app = app();
    ch(&mut app, '4'); // CPU, biggest first
    assert_eq!(app.procs.order(), [2, 1, 0]);
    ch(&mut app, '4');
    assert_eq!(app.procs.order(), [0, 1, 2]);
    ch(&mut app, '>');
    assert_eq!(app.procs.sort, crate::procs::Column::Memory);
    ch(&mut app, '<');
    assert_eq!(app.procs.sort, crate::procs::Column::Cpu);
    ch(&mut app, '2');
    assert_eq!(app.procs.order(), [2, 0, 1], "by name: cron, web, worker");
}

#[test]
fn mouse_clicks_select_sort_and_open() {
    let mut app = app();
    app.areas.columns = vec![(1, 5, 20)];
    let click = |x, y| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.update(click(2, 4)); // second body row
    assert_eq!(app.selected, Some(1));
    app.update(click(2, 4));
    assert_eq!(
        app.view(),
        View::Detail(1),
        "clicking the selected row opens it"
    );
    ch(&mut app, 'q');
    app.update(click(6, 2)); // the NAME header
    assert_eq!(app.procs.sort, crate::procs::Column::Name);
    let wheel = Msg::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 2,
        row: 4,
        modifiers: KeyModifiers::NONE,
    });
    app.update(wheel);
    assert_eq!(app.selected, Some(1), "wheel moves 3 rows, clamped");
}

#[test]
fn help_opens_and_closes_on_every_view() {
    let mut app = app();
    for open in ['m', 'l'] {
        ch(&mut app, '?');
        assert!(matches!(app.overlay, Some(Overlay::Help)));
        ch(&mut app, 'x');
        assert!(
            matches!(app.overlay, Some(Overlay::Help)),
            "other keys leave help open"
        );
        ch(&mut app, 'j');
        assert_eq!(app.help_scroll, 1, "j scrolls help");
        ch(&mut app, 'k');
        assert_eq!(app.help_scroll, 0);
        ch(&mut app, '?');
        assert!(app.overlay.is_none());
        ch(&mut app, open);
    }
}

#[test]
fn m_opens_the_monitor_and_its_keys_act_on_the_selected_card() {
    let mut app = app();
    ch(&mut app, 'm');
    assert_eq!(app.view(), View::Monitor);
    app.areas.card_columns = 2;
    key(&mut app, KeyCode::Right);
    assert_eq!(app.selected, Some(1));
    key(&mut app, KeyCode::Down);
    assert_eq!(app.selected, Some(2), "down moves a row of cards, clamped");
    key(&mut app, KeyCode::Up);
    assert_eq!(app.selected, Some(0));
    let e = ch(&mut app, 'r');
    assert!(matches!(sent(&e)[..], [Request::Restart { .. }]));
    let e = ch(&mut app, 's');
    assert!(matches!(sent(&e)[..], [Request::Stop { .. }]));
    ch(&mut app, 'l');
    assert_eq!(app.view(), View::Logs);
    ch(&mut app, 'q');
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view(), View::Detail(0));
    ch(&mut app, 'q');
    ch(&mut app, 'q');
    assert_eq!(app.view(), View::Dashboard);
}

#[test]
fn monit_quits_from_its_root() {
    let mut app = App::new(Theme { color: false }, NOW, View::Monitor);
    assert!(key(&mut app, KeyCode::Esc).is_empty(), "esc never quits");
    assert_eq!(app.view(), View::Monitor);
    assert_eq!(ch(&mut app, 'q'), [Effect::Quit]);
}

#[test]
fn esc_never_quits_and_says_what_does() {
    let mut app = app();
    ch(&mut app, 'l');
    // A burst of escs from the logs: back to the dashboard, and there it stays.
    for _ in 0..4 {
        assert!(key(&mut app, KeyCode::Esc).is_empty());
    }
    assert_eq!(app.view(), View::Dashboard);
    assert!(
        app.toast
            .as_ref()
            .is_some_and(|t| t.text.contains("q quits")),
        "{:?}",
        app.toast
    );
    ch(&mut app, '/');
    typed(&mut app, "work");
    key(&mut app, KeyCode::Enter);
    app.toast = None;
    assert!(key(&mut app, KeyCode::Esc).is_empty());
    assert_eq!(app.procs.len(), 3, "esc clears the filter first");
    assert!(app.toast.is_none(), "{:?}", app.toast);
}

fn logs_app() -> App {
    let mut app = app();
    let e = ch(&mut app, 'l');
    let Some(Effect::Send(Tag::LogSeed { generation }, Request::Logs { targets, .. })) = e.first()
    else {
        panic!("l asks for recent lines: {e:?}");
    };
    assert_eq!(targets, &["0"]);
    let seed = (1..=5)
        .map(|i| LogLine {
            id: 0,
            name: "web".into(),
            stream: LogStream::Out,
            seq: i,
            at: NOW + i,
            text: format!("line {i}"),
        })
        .collect();
    app.update(Msg::Reply(
        Tag::LogSeed {
            generation: *generation,
        },
        Ok(Response::LogLines { lines: seed }),
    ));
    app
}

#[test]
fn logs_follow_pause_on_scroll_up_and_resume_with_f() {
    let mut app = logs_app();
    assert_eq!(app.logs.len(), 5);
    assert!(app.logs.follow);
    app.update(log(0, 6, "line 6"));
    app.update(log(1, 1, "another process"));
    assert_eq!(app.logs.len(), 6, "only the target's lines");
    ch(&mut app, 'k');
    assert!(!app.logs.follow);
    assert_eq!(app.logs.selection()[0].text, "line 5");
    app.update(log(0, 7, "line 7"));
    assert_eq!(
        app.logs.selection()[0].text,
        "line 5",
        "paused: the cursor stays"
    );
    ch(&mut app, 'f');
    assert!(app.logs.follow);
    assert_eq!(app.logs.selection()[0].text, "line 7");
    ch(&mut app, 'g');
    assert_eq!(app.logs.selection()[0].text, "line 1");
    ch(&mut app, 'G');
    assert!(app.logs.follow);
    key(&mut app, KeyCode::PageUp);
    assert!(!app.logs.follow);
    key(&mut app, KeyCode::PageDown);
    ch(&mut app, 'j');
    assert_eq!(app.logs.selection()[0].text, "line 7");
}

#[test]
fn logs_search_n_and_shift_n() {
    let mut app = logs_app();
    ch(&mut app, '/');
    typed(&mut app, "LINE 2");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.logs.selection()[0].text, "line 2");
    ch(&mut app, 'n');
    assert_eq!(app.logs.selection()[0].text, "line 2", "the only match");
    ch(&mut app, '/');
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.logs.search, "LINE ");
    ch(&mut app, 'n');
    assert_eq!(app.logs.selection()[0].text, "line 4");
    ch(&mut app, 'N');
    assert_eq!(app.logs.selection()[0].text, "line 3");
}

#[test]
fn logs_filter_stream_wrap_clear() {
    let mut app = logs_app();
    app.update(log(0, 6, "err: bad"));
    ch(&mut app, '&');
    typed(&mut app, "line");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.logs.len(), 5, "the filter hides the stderr line");
    ch(&mut app, '&');
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.logs.len(), 6);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.logs.stream, StreamFilter::Out);
    assert_eq!(app.logs.len(), 5);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.logs.stream, StreamFilter::Err);
    assert_eq!(app.logs.len(), 1);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.logs.stream, StreamFilter::Combined);
    ch(&mut app, 'w');
    assert!(!app.logs.wrap, "w toggles wrapping (on by default)");
    ch(&mut app, 't');
    assert!(app.logs.timestamps);
    ch(&mut app, 'c');
    assert!(app.logs.is_empty());
    app.update(log(0, 6, "err: bad"));
    assert!(app.logs.is_empty(), "cleared lines do not come back");
}

#[test]
fn logs_copy_the_line_or_the_selection() {
    let mut app = logs_app();
    let e = ch(&mut app, 'y');
    assert_eq!(e, [Effect::Copy("line 5".into())]);
    ch(&mut app, 'v');
    ch(&mut app, 'k');
    ch(&mut app, 'k');
    let e = ch(&mut app, 'y');
    assert_eq!(e, [Effect::Copy("line 3\nline 4\nline 5".into())]);
    assert!(app.logs.anchor.is_none());
}

#[test]
fn logs_export_writes_what_is_shown() {
    let mut app = logs_app();
    ch(&mut app, '&');
    typed(&mut app, "4");
    key(&mut app, KeyCode::Enter);
    let e = ch(&mut app, 'e');
    let [Effect::Export { file_name, content }] = &e[..] else {
        panic!("{e:?}")
    };
    assert_eq!(file_name, "pmtui-web-20270115-080000.log");
    assert_eq!(content, "line 4\n");
    ch(&mut app, 't');
    let e = ch(&mut app, 'e');
    let [Effect::Export { content, .. }] = &e[..] else {
        panic!("{e:?}")
    };
    assert_eq!(
        content, "2027-01-15 08:00:00.004 line 4\n",
        "with times when shown"
    );
}

#[test]
fn logs_targets_cycle_and_all_merges() {
    let mut app = logs_app();
    let e = ch(&mut app, 'a');
    assert_eq!(app.logs.target, LogTarget::All);
    assert!(matches!(sent(&e)[..], [Request::Logs { targets, .. }] if targets.is_empty()));
    key(&mut app, KeyCode::Right);
    assert_eq!(app.logs.target, LogTarget::One(0));
    key(&mut app, KeyCode::Right);
    assert_eq!(app.logs.target, LogTarget::One(1));
    key(&mut app, KeyCode::Left);
    key(&mut app, KeyCode::Left);
    assert_eq!(app.logs.target, LogTarget::All);
    // A seed for an older target is ignored.
    app.update(Msg::Reply(
        Tag::LogSeed { generation: 0 },
        Ok(Response::LogLines { lines: Vec::new() }),
    ));
    ch(&mut app, 'q');
    assert_eq!(app.view(), View::Dashboard);
    ch(&mut app, 'L');
    assert_eq!((app.view(), app.logs.target), (View::Logs, LogTarget::All));
}

#[test]
fn add_form_validates_in_place_and_starts() {
    let mut app = app();
    ch(&mut app, 'a');
    assert!(app.overlay.is_none(), "no resolver, no form");
    let resolver: Resolver = std::sync::Arc::new(|r: &AddRequest| {
        if r.command == "nope" {
            Err("script not found: nope".into())
        } else {
            Ok(pmtui_proto::ProcessSpec {
                name: r.name.clone().unwrap_or_default(),
                script: r.command.clone(),
                ..Default::default()
            })
        }
    });
    app.resolver = Some(resolver);
    ch(&mut app, 'a');
    let form = |app: &App| match &app.overlay {
        Some(Overlay::Add(f)) => f.errors.clone(),
        _ => panic!("the form is open"),
    };
    key(&mut app, KeyCode::Enter);
    assert!(form(&app)[0].is_some(), "the command is required");
    typed(&mut app, "nope");
    assert!(form(&app)[0].is_none(), "typing clears the message");
    key(&mut app, KeyCode::Enter);
    assert!(
        form(&app)[0]
            .as_deref()
            .is_some_and(|e| e.contains("not found"))
    );
    for _ in 0..4 {
        key(&mut app, KeyCode::Backspace);
    }
    typed(&mut app, "sleep 9");
    key(&mut app, KeyCode::Tab);
    typed(&mut app, "nap");
    key(&mut app, KeyCode::BackTab);
    key(&mut app, KeyCode::Up); // wraps to Restart
    key(&mut app, KeyCode::Right);
    let Some(Overlay::Add(f)) = &app.overlay else {
        panic!()
    };
    assert_eq!(f.restart, pmtui_proto::RestartMode::OnFailure);
    let e = key(&mut app, KeyCode::Enter);
    let [Request::Start { spec, .. }] = &sent(&e)[..] else {
        panic!("{e:?}")
    };
    assert_eq!(
        (spec.name.as_str(), spec.script.as_str()),
        ("nap", "sleep 9")
    );
    app.update(Msg::Reply(
        Tag::Add,
        Err("a process named nap already exists".into()),
    ));
    assert!(
        form(&app)[1].is_some(),
        "a taken name is shown under the name"
    );
    app.update(Msg::Reply(
        Tag::Add,
        Ok(Response::Started {
            started: vec![row(9, "nap", ProcessStatus::Online)],
            restarted: Vec::new(),
        }),
    ));
    assert!(app.overlay.is_none());
    assert_eq!(app.selected, Some(9));
    ch(&mut app, 'a');
    key(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none(), "esc cancels");
}

#[test]
fn losing_the_daemon_is_shown_and_reconnecting_resubscribes() {
    let mut app = app();
    app.update(Msg::Disconnected("the connection was lost".into()));
    assert!(matches!(app.conn, Conn::Down(_)));
    assert!(
        app.update(Msg::Tick(NOW + 1000)).is_empty(),
        "no requests while down"
    );
    let e = app.update(Msg::Connected {
        daemon_pid: 7,
        version: "0.1.0".into(),
    });
    assert!(sent(&e).contains(&&Request::Subscribe));
    assert_eq!(
        app.conn,
        Conn::Up {
            pid: 7,
            version: "0.1.0".into()
        }
    );
}

#[test]
fn ticks_refresh_the_table_and_deleted_details_close() {
    let mut app = app();
    assert!(matches!(
        sent(&app.update(Msg::Tick(NOW + 1000)))[..],
        [Request::Metrics { history: false, .. }]
    ));
    let sample = pmtui_proto::ProcessSample {
        id: 1,
        at: NOW,
        cpu: 55.5,
        memory: 7,
        memory_percent: 0.0,
        threads: 1,
        fds: None,
        processes: 1,
        app: Vec::new(),
    };
    app.update(Msg::Reply(
        Tag::Refresh,
        Ok(Response::Metrics {
            interval_ms: 1000,
            host: None,
            processes: vec![pmtui_proto::ProcessMetrics {
                id: 1,
                name: "worker".into(),
                namespace: "default".into(),
                status: ProcessStatus::Online,
                restarts: 0,
                current: Some(sample),
                history: None,
                health: None,
                readiness: None,
            }],
        }),
    ));
    assert_eq!(app.procs.get(1).map(|p| (p.cpu, p.memory)), Some((55.5, 7)));
    key(&mut app, KeyCode::Enter);
    app.update(Msg::Daemon(Event {
        seq: 3,
        kind: EventKind::Removed { id: 0 },
    }));
    assert_eq!(app.view(), View::Dashboard);
}

#[test]
fn detail_keys_act_on_the_shown_process() {
    let mut app = app();
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view(), View::Detail(1));
    let e = ch(&mut app, 's');
    assert_eq!(
        sent(&e),
        [&Request::Stop {
            targets: vec!["1".into()]
        }]
    );
    ch(&mut app, 'd');
    assert!(matches!(app.overlay, Some(Overlay::Confirm { id: 1, .. })));
    key(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none(), "esc keeps the process");
    assert_eq!(app.view(), View::Detail(1));
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.detail_scroll, 10);
    key(&mut app, KeyCode::PageUp);
    assert_eq!(app.detail_scroll, 0);
    key(&mut app, KeyCode::PageDown);
    ch(&mut app, 'g');
    assert_eq!(app.detail_scroll, 0);
    ch(&mut app, '?');
    assert!(matches!(app.overlay, Some(Overlay::Help)));
    key(&mut app, KeyCode::Esc);
    ch(&mut app, 'h');
    assert_eq!(
        app.view(),
        View::Detail(0),
        "h goes to the previous process"
    );
    key(&mut app, KeyCode::Left);
    assert_eq!(app.view(), View::Detail(0), "stays on the first");
    let e = ch(&mut app, 'l');
    assert_eq!(app.view(), View::Logs);
    assert!(matches!(sent(&e)[..], [Request::Logs { targets, .. }] if targets == &["0"]));
    ch(&mut app, 'q');
    assert_eq!(app.view(), View::Detail(0), "back from logs to the detail");
    ch(&mut app, 'd');
    let e = key(&mut app, KeyCode::Enter);
    assert_eq!(
        sent(&e),
        [&Request::Delete {
            targets: vec!["0".into()]
        }]
    );
    assert_eq!(
        app.view(),
        View::Dashboard,
        "a deleted process's detail closes"
    );
}

#[test]
fn monitor_vim_keys_and_paging() {
    let mut app = app();
    ch(&mut app, 'm');
    app.areas.card_columns = 1;
    ch(&mut app, 'j');
    assert_eq!(app.selected, Some(1));
    ch(&mut app, 'k');
    assert_eq!(app.selected, Some(0));
    ch(&mut app, 'G');
    assert_eq!(app.selected, Some(2));
    ch(&mut app, 'g');
    assert_eq!(app.selected, Some(0));
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.selected, Some(2));
    key(&mut app, KeyCode::PageUp);
    assert_eq!(app.selected, Some(0));
    ch(&mut app, 'h');
    assert_eq!(app.selected, Some(0));
    ch(&mut app, '?');
    assert!(matches!(app.overlay, Some(Overlay::Help)));
    ch(&mut app, 'q');
    assert!(app.overlay.is_none(), "q closes help first");
    assert_eq!(app.view(), View::Monitor);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view(), View::Dashboard);
}

#[test]
fn logs_home_end_and_mouse() {
    let mut app = logs_app();
    app.areas.log_body = Rect::new(0, 2, 80, 10);
    key(&mut app, KeyCode::Home);
    assert_eq!(app.logs.selection()[0].text, "line 1");
    key(&mut app, KeyCode::End);
    assert!(app.logs.follow);
    let wheel = |kind| {
        Msg::Mouse(MouseEvent {
            kind,
            column: 3,
            row: 3,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.update(wheel(MouseEventKind::ScrollUp));
    assert!(!app.logs.follow, "the wheel pauses follow");
    assert_eq!(app.logs.selection()[0].text, "line 2");
    app.update(wheel(MouseEventKind::ScrollDown));
    assert_eq!(app.logs.selection()[0].text, "line 5");
    app.areas.log_rows = vec![0, 1, 1, 2];
    app.update(wheel(MouseEventKind::Down(MouseButton::Left)));
    assert_eq!(
        app.logs.selection()[0].text,
        "line 2",
        "a click puts the cursor on its line"
    );
}

#[test]
fn add_form_left_and_space_choose_the_restart_mode() {
    let mut app = app();
    app.resolver = Some(std::sync::Arc::new(|_: &AddRequest| Err("x".to_string())));
    ch(&mut app, 'a');
    key(&mut app, KeyCode::BackTab);
    let mode = |app: &App| match &app.overlay {
        Some(Overlay::Add(f)) => f.restart,
        _ => panic!("the form is open"),
    };
    key(&mut app, KeyCode::Left);
    assert_eq!(mode(&app), pmtui_proto::RestartMode::No);
    ch(&mut app, ' ');
    assert_eq!(mode(&app), pmtui_proto::RestartMode::Always);
    ch(&mut app, 'q');
    assert!(app.overlay.is_some(), "letters do not close the form");
}

#[test]
fn detail_wheel_scrolls_and_log_lines_redraw_only_log_views() {
    let mut app = app();
    key(&mut app, KeyCode::Enter);
    let wheel = |kind| {
        Msg::Mouse(MouseEvent {
            kind,
            column: 3,
            row: 3,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.update(wheel(MouseEventKind::ScrollDown));
    assert_eq!(app.detail_scroll, 3);
    app.update(wheel(MouseEventKind::ScrollUp));
    assert_eq!(app.detail_scroll, 0);
    app.dirty = false;
    app.update(log(0, 1, "unseen here"));
    assert!(!app.dirty, "the detail does not show logs");
    ch(&mut app, 'l');
    app.dirty = false;
    app.update(log(0, 2, "seen here"));
    assert!(app.dirty);
}

/// Two hosts, `local` and `ssh://b`, each with a `web` of id 0.
fn two_hosts() -> App {
    use crate::hosts::Hosts;
    let mut app = App::new(Theme { color: false }, NOW, View::Dashboard);
    app.hosts = Hosts::many(["local".to_string(), "ssh://b".to_string()]);
    app.procs.host_ids = true;
    for host in 0..2 {
        let effects = app.update(Msg::HostUp {
            host,
            daemon_pid: 42,
            version: "0.1.0".into(),
        });
        assert!(
            effects.contains(&Effect::SendTo(host, Tag::Subscribe, Request::Subscribe)),
            "{effects:?}"
        );
        let mut web = row(0, "web", ProcessStatus::Online);
        web.id = Hosts::ui_id(host, 0).expect("small id");
        let effects = app.update(Msg::HostReply(
            host,
            Tag::Subscribe,
            Ok(Response::Subscribed {
                seq: 1,
                processes: vec![web],
            }),
        ));
        // Its live lines come from its own subscription.
        assert!(
            matches!(
                effects.as_slice(),
                [Effect::SendTo(h, Tag::Tail, Request::Logs { follow: true, .. })] if *h == host
            ),
            "{effects:?}"
        );
    }
    app.areas.table = Rect::new(0, 2, 80, 10);
    app
}

#[test]
fn an_action_names_the_row_of_its_host() {
    let mut app = two_hosts();
    assert_eq!(app.procs.len(), 2);
    key(&mut app, KeyCode::Down);
    let effects = ch(&mut app, 'r');
    // The UI id carries the host; the data layer turns it back into id 0 on ssh://b.
    let restart = Request::Restart {
        targets: vec![crate::hosts::STRIDE.to_string()],
        env: None,
    };
    assert_eq!(sent(&effects), [&restart]);
    app.update(Msg::Reply(
        Tag::Action {
            verb: "restarted",
            name: "web (id 0 on ssh://b)".into(),
        },
        Ok(Response::Processes {
            processes: Vec::new(),
        }),
    ));
    assert_eq!(
        app.toast.as_ref().map(|t| t.text.as_str()),
        Some("✔ restarted web (id 0 on ssh://b)")
    );
    let Some(Effect::Send(Tag::Action { name, .. }, _)) = effects.first() else {
        panic!("{effects:?}");
    };
    assert_eq!(name, "web (id 0 on ssh://b)");
}

#[test]
fn a_lost_host_keeps_its_rows_marked_and_the_refresh_goes_on() {
    let mut app = two_hosts();
    app.update(Msg::HostDown {
        host: 1,
        why: "the connection was lost".into(),
    });
    assert_eq!(app.procs.len(), 2, "the lost host's rows stay");
    assert!(app.hosts.is_down(crate::hosts::STRIDE));
    assert!(!app.hosts.is_down(0));
    // The other host is still refreshed.
    let effects = app.update(Msg::Tick(NOW + 1000));
    assert!(
        sent(&effects)
            .iter()
            .any(|r| matches!(r, Request::Metrics { .. })),
        "{effects:?}"
    );
}
