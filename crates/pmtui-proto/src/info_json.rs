//! `ls --json`'s rows written by hand, byte for byte as `serde_json::to_string_pretty`
//! prints a `Vec<ProcessInfo>`: how the daemon answers `Request::ListJson`, so that the CLI
//! prints the reply as it comes. serde's generic path escapes every key byte by byte and
//! keeps formatter state per token; here each key with its indentation is one constant, and
//! only the values are formatted. Values whose layout is not plain (nested objects, strings
//! with anything to escape, floats other than 0) still go through serde_json, so their text
//! is its own.

use crate::ProcessInfo;
use serde::Serialize;

/// Appends `rows` (each with the uptime to show, which the table computes at read time) as
/// `serde_json::to_string_pretty` prints them as one array.
pub fn write_rows<'a>(rows: impl IntoIterator<Item = (&'a ProcessInfo, u64)>, out: &mut Vec<u8>) {
    let mut array = RowArray::default();
    for (info, uptime_ms) in rows {
        array.row(info, uptime_ms, out);
    }
    array.end(out);
}

/// `write_rows` a few rows at a time, for a reply sent in parts as it is written: the
/// same text, whatever rows go into which call.
#[derive(Debug, Default)]
pub struct RowArray {
    /// A row was written (the next one follows a comma; the end is not `[]`).
    started: bool,
}

impl RowArray {
    /// Appends one row, with what goes before it.
    pub fn row(&mut self, info: &ProcessInfo, uptime_ms: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.started { b",\n  " } else { b"[\n  " });
        self.started = true;
        write_row(info, uptime_ms, out);
    }

    /// Closes the array.
    pub fn end(self, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.started { b"\n]" } else { b"[]" });
    }
}

/// Each key as it follows the value before it: the comma, newline and indentation of a
/// field of an object at depth 1, the quoted key and `": "`.
macro_rules! key {
    ($name:literal) => {
        concat!(",\n    \"", $name, "\": ").as_bytes()
    };
}

/// One row, at depth 1 (inside the array). The destructuring names every field, so adding
/// one to `ProcessInfo` does not compile until it is written here too.
fn write_row(info: &ProcessInfo, uptime_ms: u64, out: &mut Vec<u8>) {
    let ProcessInfo {
        id,
        name,
        namespace,
        instance,
        status,
        pid,
        restarts,
        unstable_restarts,
        uptime_ms: _,
        cpu,
        memory,
        exit_code,
        exit_signal,
        created_at,
        started_at,
        next_restart_at,
        status_reason,
        command,
        mode,
        sockets,
        reload,
        readiness,
        ready_at,
        health,
        last_probe,
        status_text,
        main_pid,
        watch,
        watch_trigger,
        watch_error,
        next_run_at,
        last_result,
    } = info;
    out.extend_from_slice(b"{\n    \"id\": ");
    int(out, u64::from(*id));
    out.extend_from_slice(key!("name"));
    string(out, name);
    out.extend_from_slice(key!("namespace"));
    string(out, namespace);
    out.extend_from_slice(key!("instance"));
    int(out, u64::from(*instance));
    out.extend_from_slice(key!("status"));
    string(out, status.as_str());
    out.extend_from_slice(key!("pid"));
    opt_int(out, pid.map(u64::from));
    out.extend_from_slice(key!("restarts"));
    int(out, u64::from(*restarts));
    out.extend_from_slice(key!("unstable_restarts"));
    int(out, u64::from(*unstable_restarts));
    out.extend_from_slice(key!("uptime_ms"));
    int(out, uptime_ms);
    out.extend_from_slice(key!("cpu"));
    float(out, crate::units::round_two(*cpu));
    out.extend_from_slice(key!("memory"));
    int(out, *memory);
    out.extend_from_slice(key!("exit_code"));
    match exit_code {
        Some(code) if *code < 0 => {
            out.push(b'-');
            int(out, u64::from(code.unsigned_abs()));
        }
        Some(code) => int(out, u64::from(code.unsigned_abs())),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(key!("exit_signal"));
    opt_string(out, exit_signal.as_deref());
    out.extend_from_slice(key!("created_at"));
    int(out, *created_at);
    out.extend_from_slice(key!("started_at"));
    opt_int(out, *started_at);
    out.extend_from_slice(key!("next_restart_at"));
    opt_int(out, *next_restart_at);
    out.extend_from_slice(key!("status_reason"));
    opt_string(out, status_reason.as_deref());
    out.extend_from_slice(key!("command"));
    string(out, command);
    out.extend_from_slice(key!("mode"));
    string(out, mode.as_str());
    out.extend_from_slice(key!("sockets"));
    strings(out, sockets);
    out.extend_from_slice(key!("reload"));
    opt_value(out, reload.as_ref());
    out.extend_from_slice(key!("readiness"));
    opt_value(out, readiness.as_ref());
    out.extend_from_slice(key!("ready_at"));
    opt_int(out, *ready_at);
    out.extend_from_slice(key!("health"));
    opt_value(out, health.as_ref());
    out.extend_from_slice(key!("last_probe"));
    opt_value(out, last_probe.as_ref());
    out.extend_from_slice(key!("status_text"));
    opt_string(out, status_text.as_deref());
    out.extend_from_slice(key!("main_pid"));
    opt_int(out, main_pid.map(u64::from));
    out.extend_from_slice(key!("watch"));
    match watch {
        Some(paths) => strings(out, paths),
        None => out.extend_from_slice(b"false"),
    }
    out.extend_from_slice(key!("watch_trigger"));
    opt_value(out, watch_trigger.as_ref());
    out.extend_from_slice(key!("watch_error"));
    opt_string(out, watch_error.as_deref());
    out.extend_from_slice(key!("next_run_at"));
    opt_int(out, *next_run_at);
    out.extend_from_slice(key!("last_result"));
    opt_string(out, last_result.as_deref());
    out.extend_from_slice(b"\n  }");
}

/// Asks the CPU to fetch `info`'s own cache lines, without waiting for them. The daemon's
/// rows sit apart in memory, and writing them one by one waited for each line in turn:
/// most of its time answering `ls --json` at 1,000 processes. Called for a few rows before
/// they are written, so that their lines come in together.
pub fn prefetch_row(info: &ProcessInfo) {
    let base = std::ptr::from_ref(info).cast::<u8>();
    for at in (0..size_of::<ProcessInfo>()).step_by(64) {
        prefetch(base.wrapping_add(at));
    }
}

/// [`prefetch_row`] for the text of the row's strings that every row has; call it after
/// `prefetch_row`, as it reads where they are from the row.
pub fn prefetch_strings(info: &ProcessInfo) {
    for s in [&info.name, &info.namespace, &info.command] {
        prefetch(s.as_ptr());
    }
}

/// Starts loading the cache line holding `at` (a hint; nothing where there is no such
/// instruction).
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 never faults, whatever the address, and changes nothing the
    // program can see but timing; the SSE it needs is part of x86_64's baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

fn int(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

fn opt_int(out: &mut Vec<u8>, n: Option<u64>) {
    match n {
        Some(n) => int(out, n),
        None => out.extend_from_slice(b"null"),
    }
}

fn float(out: &mut Vec<u8>, v: f64) {
    if v == 0.0 && v.is_sign_positive() {
        // serde_json's text for the most common value, without its formatter.
        out.extend_from_slice(b"0.0");
    } else {
        value(out, &v);
    }
}

/// A string, quoted; one with anything to escape goes through serde_json's escaper.
fn string(out: &mut Vec<u8>, s: &str) {
    if plain(s) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        value(out, s);
    }
}

/// Whether `s` goes between quotes as it is: no control character, quote or backslash.
/// Without an early exit, so that the compiler checks many bytes at a time (the byte-wise
/// `all` was a fifth of the daemon's time answering `ls --json` at 1,000 processes).
fn plain(s: &str) -> bool {
    !s.bytes().fold(false, |escape, b| {
        escape | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

fn opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A list of strings as the value of a field at depth 1.
fn strings(out: &mut Vec<u8>, list: &[String]) {
    let Some((first, rest)) = list.split_first() else {
        out.extend_from_slice(b"[]");
        return;
    };
    out.extend_from_slice(b"[\n      ");
    string(out, first);
    for s in rest {
        out.extend_from_slice(b",\n      ");
        string(out, s);
    }
    out.extend_from_slice(b"\n    ]");
}

fn opt_value<T: Serialize>(out: &mut Vec<u8>, v: Option<&T>) {
    match v {
        Some(v) => value(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// Any value of a field at depth 1, as serde_json prints it pretty: its own layout starts
/// at depth 0, so each of its line breaks takes the field's four spaces (a JSON string never
/// holds a raw line break, so every `\n` in the text is layout).
fn value<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    let start = out.len();
    if serde_json::to_writer_pretty(&mut *out, v).is_err() {
        // Serializing these types cannot fail (no maps with non-string keys); should it,
        // `null` keeps the document valid.
        out.truncate(start);
        out.extend_from_slice(b"null");
        return;
    }
    if out[start..].contains(&b'\n') {
        let text = out.split_off(start);
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                out.extend_from_slice(b"\n    ");
            }
            out.extend_from_slice(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ExecMode, Health, ProbeResult, ProcessStatus, Readiness, WatchTrigger, info::ReloadState,
    };

    fn plain(id: u32) -> ProcessInfo {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": format!("app-{id}"), "namespace": "default", "instance": 0,
            "status": "online", "pid": 4242, "restarts": 0, "unstable_restarts": 0,
            "uptime_ms": 0, "cpu": 0.0, "memory": 1_228_800, "exit_code": null,
            "exit_signal": null, "created_at": 1_764_000_000_000_u64,
            "started_at": 1_764_000_000_123_u64, "next_restart_at": null,
            "status_reason": null, "command": "/usr/bin/sleep 3600",
        }))
        .expect("a row")
    }

    /// The writer's text and serde's for these rows, each row's uptime as the writer is
    /// told.
    fn same_as_serde(rows: &[ProcessInfo]) {
        let mut ours = Vec::new();
        write_rows(rows.iter().map(|r| (r, r.uptime_ms)), &mut ours);
        let serde = serde_json::to_string_pretty(rows).expect("encodes");
        assert_eq!(String::from_utf8(ours).expect("utf8"), serde);
    }

    #[test]
    fn prints_what_serde_pretty_prints() {
        same_as_serde(&[]);
        same_as_serde(&[plain(0)]);
        same_as_serde(&(0..5).map(plain).collect::<Vec<_>>());
    }

    #[test]
    fn rows_written_a_few_at_a_time_are_the_same_text() {
        let rows: Vec<ProcessInfo> = (0..5).map(plain).collect();
        let mut whole = Vec::new();
        write_rows(rows.iter().map(|r| (r, r.uptime_ms)), &mut whole);
        for split in 0..=rows.len() {
            let mut array = RowArray::default();
            let (mut first, mut second) = (Vec::new(), Vec::new());
            for r in &rows[..split] {
                array.row(r, r.uptime_ms, &mut first);
            }
            for r in &rows[split..] {
                array.row(r, r.uptime_ms, &mut second);
            }
            array.end(&mut second);
            first.extend_from_slice(&second);
            assert_eq!(first, whole, "split at {split}");
        }
    }

    #[test]
    fn prints_every_field_set_and_every_odd_value_as_serde_does() {
        let mut full = plain(u32::MAX);
        full.name = "we\"ird\\ name\n\u{1}\u{7f} é 🦀".into();
        full.namespace = String::new();
        full.instance = 7;
        full.status = ProcessStatus::WaitingRestart;
        full.pid = None;
        full.restarts = u32::MAX;
        full.unstable_restarts = 3;
        full.uptime_ms = u64::MAX;
        full.cpu = 12.345_678;
        full.memory = u64::MAX;
        full.exit_code = Some(i32::MIN);
        full.exit_signal = Some("SIGKILL".into());
        full.created_at = 0;
        full.started_at = None;
        full.next_restart_at = Some(5);
        full.status_reason = Some("crash loop: \"x\"".into());
        full.command = "sh -c 'echo \\t'\t".into();
        full.mode = ExecMode::Cluster;
        full.sockets = vec!["tcp:127.0.0.1:8080".into(), "unix:/tmp/a b".into()];
        full.reload = Some(ReloadState {
            phase: "waiting for ready".into(),
            step: 1,
            of: 2,
            new_pid: Some(9),
            old_pid: None,
            since: 10,
        });
        full.readiness = Some(Readiness::Pending);
        full.ready_at = Some(11);
        full.health = Some(Health::Unhealthy);
        full.last_probe = Some(ProbeResult {
            at: 1,
            ok: false,
            message: "GET /health → 500\n\"body\"".into(),
            duration_ms: 3,
            failures: 2,
        });
        full.status_text = Some("serving".into());
        full.main_pid = Some(12);
        full.watch = Some(vec!["src".into(), "lib\\x".into()]);
        full.watch_trigger = Some(WatchTrigger {
            at: 1,
            path: "src/a.rs".into(),
        });
        full.watch_error = Some("inotify limit".into());
        full.next_run_at = Some(13);
        full.last_result = Some("exit 3".into());
        let mut other = plain(1);
        other.exit_code = Some(3);
        other.cpu = -0.0;
        other.watch = Some(vec![]);
        other.status = ProcessStatus::Stopped;
        let mut more = plain(2);
        more.cpu = f64::NAN;
        more.exit_code = Some(0);
        same_as_serde(&[full, other, more]);
        for cpu in [0.004, 0.005, 1.0, 99.999, 150.25, 1e-9, 3.0e10] {
            let mut row = plain(3);
            row.cpu = cpu;
            same_as_serde(&[row]);
        }
    }

    #[test]
    fn statuses_and_modes_are_spelled_as_serde_spells_them() {
        use ProcessStatus::*;
        for status in [
            Launching,
            Online,
            Suspended,
            Stopping,
            Stopped,
            WaitingRestart,
            Errored,
            Scheduled,
        ] {
            let mut row = plain(0);
            row.status = status;
            same_as_serde(&[row]);
        }
        for mode in [ExecMode::Fork, ExecMode::Cluster] {
            let mut row = plain(0);
            row.mode = mode;
            same_as_serde(&[row]);
        }
    }

    #[test]
    fn shows_the_uptime_it_is_given() {
        let row = plain(0);
        let mut ours = Vec::new();
        write_rows([(&row, 777)], &mut ours);
        let text = String::from_utf8(ours).expect("utf8");
        assert!(text.contains("\"uptime_ms\": 777,"), "{text}");
    }
}
