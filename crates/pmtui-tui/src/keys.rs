//! Every view's keys as data: the help overlay lists them all, the footer the main ones.

#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static str,
    pub what: &'static str,
    /// The footer's label; empty keeps the binding out of the footer.
    pub short: &'static str,
}

const fn b(keys: &'static str, what: &'static str, short: &'static str) -> Binding {
    Binding { keys, what, short }
}

/// The most used keys first: the footer drops from the end when the terminal is narrow
/// (help and quit always stay).
pub const DASHBOARD: &[Binding] = &[
    b("↑↓ j k", "move the selection", ""),
    b("g G  Home End", "first / last process", ""),
    b("PgUp PgDn", "a page up / down", ""),
    b("enter", "detail of the process", "detail"),
    b("l", "logs of the process", "logs"),
    b("r", "restart (starts a stopped one)", "restart"),
    b("s", "stop (start when stopped)", "stop"),
    b("/", "filter by name, namespace, status", "filter"),
    b("m", "live monitor", "monitor"),
    b(
        "o",
        "output of the selected process below the list",
        "output",
    ),
    b(
        "w",
        "file watching on / off (◎ marks a watched process)",
        "watch",
    ),
    b("a", "add a process", "add"),
    b("d", "delete, after a confirmation", "delete"),
    b("L", "logs of all processes, merged", ""),
    b(
        "< >  1-9",
        "sort: 1 id 2 name 3 status 4 cpu 5 mem 6 up 7 ↺ 8 pid 9 ns",
        "",
    ),
    b(
        "mouse",
        "click selects, again opens; header sorts; wheel",
        "",
    ),
    b("?", "help", "help"),
    b("ctrl-z", "suspend to the shell (fg comes back)", ""),
    b(
        "q  ctrl-c",
        "quit (processes keep running; esc never quits)",
        "quit",
    ),
];

pub const DETAIL: &[Binding] = &[
    b("r", "restart", "restart"),
    b("s", "stop / start", "stop/start"),
    b("d", "delete, after a confirmation", "delete"),
    b("l", "logs of this process", "logs"),
    b("e", "show / hide the inherited environment", "env"),
    b("w", "file watching on / off", "watch"),
    b("↑↓ j k", "scroll environment and history", ""),
    b("← →", "previous / next process", ""),
    b("?", "help", "help"),
    b("esc q", "back to the dashboard", "back"),
];

pub const LOGS: &[Binding] = &[
    b("↑↓ j k", "move the cursor (pauses follow)", ""),
    b("PgUp PgDn g G", "page, first line, last line", ""),
    b("f", "follow on/off", "follow"),
    b("/", "search; n N next / previous match", "search"),
    b("&", "filter: hide lines without the text", "filter"),
    b("tab", "stdout / stderr / combined", "stream"),
    b("← →", "previous / next process, or all merged", ""),
    b("a", "all processes / the selected one", ""),
    b("w", "wrap long lines on/off", "wrap"),
    b("t", "show each line's time", ""),
    b("v", "start a selection at the cursor", ""),
    b("y", "copy the selection or the line (OSC 52)", "copy"),
    b("c", "clear the view", "clear"),
    b("e", "export what is shown to a file", "export"),
    b("?", "help", "help"),
    b("esc q", "back", "back"),
];

pub const MONITOR: &[Binding] = &[
    b("↑↓←→ h j k", "select a card", ""),
    b("enter", "detail of the process", "detail"),
    b("l", "logs of the process", "logs"),
    b("r", "restart", "restart"),
    b("s", "stop / start", "stop/start"),
    b("?", "help", "help"),
    b("esc q", "back", "back"),
];

/// The monitor opened by `pmtui monit`: nothing to go back to, `q` quits.
pub const MONITOR_ROOT: &[Binding] = &[
    b("↑↓←→ h j k", "select a card", ""),
    b("enter", "detail of the process", "detail"),
    b("l", "logs of the process", "logs"),
    b("r", "restart", "restart"),
    b("s", "stop / start", "stop/start"),
    b("?", "help", "help"),
    b("ctrl-z", "suspend to the shell (fg comes back)", ""),
    b(
        "q  ctrl-c",
        "quit (processes keep running; esc never quits)",
        "quit",
    ),
];

pub const ADD: &[Binding] = &[
    b("tab ↓ / shift-tab ↑", "next / previous field", "next field"),
    b("← →", "choose the restart mode", ""),
    b("enter", "start the process", "start"),
    b("esc", "cancel", "cancel"),
];

pub const CONFIRM: &[Binding] = &[
    b("y enter", "delete", "delete"),
    b("n esc", "keep it", "keep"),
];
