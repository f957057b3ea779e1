//! Log capture, rotation and `pmtui logs`, with real children writing real pipes into real
//! files in a private PMTUI_HOME. Every wait polls with a deadline.

mod common;

use common::{TestHome, wait_until};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn log(home: &TestHome, name: &str) -> PathBuf {
    home.home().join("logs").join(name)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

fn lines(path: &Path) -> Vec<String> {
    String::from_utf8_lossy(&read(path))
        .lines()
        .map(String::from)
        .collect()
}

/// Waits until the file at `path` satisfies `check`; returns its lines.
fn wait_lines(path: &Path, what: &str, check: impl Fn(&[String]) -> bool) -> Vec<String> {
    wait_until(what, || Some(lines(path)).filter(|l| check(l)))
        .unwrap_or_else(|| panic!("{what}: {} has {:?}", path.display(), tail(&lines(path))))
}

fn tail(lines: &[String]) -> &[String] {
    &lines[lines.len().saturating_sub(5)..]
}

/// The text of a gzipped file; empty if it is gone (renamed by a rotation since it was
/// seen: the caller polls again).
fn gunzip(path: &Path) -> String {
    let mut text = String::new();
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return text,
        Err(err) => panic!("cannot open {}: {err}", path.display()),
    };
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{} is not valid gzip: {e}", path.display()));
    text
}

/// Every line of a log and its rotated files, oldest first.
fn all_rotated(path: &Path, max: usize) -> Vec<String> {
    let mut text = String::new();
    for k in (1..=max).rev() {
        let plain = PathBuf::from(format!("{}.{k}", path.display()));
        let gz = PathBuf::from(format!("{}.{k}.gz", path.display()));
        if gz.exists() {
            text.push_str(&gunzip(&gz));
        } else if plain.exists() {
            text.push_str(&String::from_utf8_lossy(&read(&plain)));
        }
    }
    text.push_str(&String::from_utf8_lossy(&read(path)));
    text.lines().map(String::from).collect()
}

fn rotated_count(path: &Path) -> usize {
    let dir = path.parent().expect("a logs dir");
    let base = path
        .file_name()
        .expect("a name")
        .to_string_lossy()
        .into_owned();
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.starts_with(&format!("{base}.")) && !n.contains("rotating")
                })
                .count()
        })
        .unwrap_or(0)
}

/// A `pmtui logs …` child whose stdout lines arrive on a channel; killed on drop.
struct Follower {
    child: Child,
    rx: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Follower {
    fn start(home: &TestHome, args: &[&str]) -> Self {
        let mut child = home
            .cmd()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pmtui logs");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            rx,
            seen: Vec::new(),
        }
    }

    /// Reads until a line contains `needle`.
    fn expect(&mut self, needle: &str) {
        let deadline = Instant::now() + common::DEADLINE;
        while Instant::now() < deadline {
            if let Ok(line) = self.rx.recv_timeout(Duration::from_millis(50)) {
                self.seen.push(line);
                if self.seen.last().is_some_and(|l| l.contains(needle)) {
                    return;
                }
            }
        }
        panic!(
            "`pmtui logs` never printed {needle:?}; it printed {:?}",
            self.seen
        );
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_burst_of_200000_lines_lands_complete_in_order_once() {
    let home = TestHome::new();
    let script = home.script(
        "burst.py",
        "import sys\nw = sys.stdout.write\nfor i in range(200000):\n    w('burst %d\\n' % i)\nsys.stdout.flush()\n",
    );
    home.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "burst",
        "--no-autorestart",
    ]);
    let path = log(&home, "burst-out.log");
    let got = wait_lines(&path, "200000 lines", |l| l.len() >= 200_000);
    assert_eq!(got.len(), 200_000, "more lines than written");
    for (i, line) in got.iter().enumerate() {
        assert_eq!(line, &format!("burst {i}"), "line {i} out of place");
    }
    // `logs` shows the last 15 by default, prefixed with id and name.
    let shown = home.ok(&["logs", "burst"]);
    let shown: Vec<&str> = shown.lines().collect();
    assert_eq!(shown.len(), 15, "{shown:?}");
    assert_eq!(shown[14], "0|burst    | burst 199999");
    assert_eq!(shown[0], "0|burst    | burst 199985");
}

/// A Python child that writes `lines` lines of `each <n>` to stdout, one `write(2)` each, and
/// every tenth `err <n>` to stderr; the first 2,000 a little apart, so that the daemon
/// surely sees reads of a line each, one right after the other, then as fast as it can.
/// Before, it may set its stdout pipe's size; at the end it prints that size to stderr
/// (`pipe <bytes>`). 1031 and 1032 are F_SETPIPE_SZ and F_GETPIPE_SZ.
fn unbuffered_writer(home: &TestHome, lines: usize, pipe: Option<usize>) -> PathBuf {
    let grow = pipe.map_or(String::new(), |size| {
        format!("fcntl.fcntl(1, 1031, {size})\n")
    });
    home.script(
        "each.py",
        &format!(
            "import fcntl, os, time\n{grow}for i in range({lines}):\n    os.write(1, b'each %d\\n' % i)\n    if i % 10 == 0:\n        os.write(2, b'err %d\\n' % i)\n    if i < 2000:\n        time.sleep(0.0001)\nos.write(2, b'pipe %d\\n' % fcntl.fcntl(1, 1032))\n"
        ),
    )
}

/// Starts `script` as `each` and waits for its `lines` lines (and its stderr); checks that
/// each landed once, in order; returns the pipe size the child printed last.
fn unbuffered_lines_land(home: &TestHome, script: &Path, lines: usize) -> String {
    home.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "each",
        "--no-autorestart",
    ]);
    let out = wait_lines(&log(home, "each-out.log"), "every line", |l| {
        l.len() >= lines
    });
    let err = wait_lines(&log(home, "each-err.log"), "every tenth line", |l| {
        l.len() > lines / 10
    });
    assert_eq!(out.len(), lines, "more lines than written");
    for (i, line) in out.iter().enumerate() {
        assert_eq!(line, &format!("each {i}"), "line {i} out of place");
    }
    assert_eq!(err.len(), lines / 10 + 1, "more lines than written");
    for (i, line) in err[..lines / 10].iter().enumerate() {
        assert_eq!(
            line,
            &format!("err {}", i * 10),
            "err line {i} out of place"
        );
    }
    err[lines / 10].clone()
}

/// A child that writes one line per `write(2)`, on both streams: every line lands, in order,
/// once, although the daemon takes such a pipe out of its event loop between reads to gather
/// lines; and it did (the pipe was grown for it, as the child sees at the end).
#[test]
fn unbuffered_lines_land_complete_in_order_once_while_gathered() {
    let home = TestHome::new();
    let script = unbuffered_writer(&home, 100_000, None);
    let size = unbuffered_lines_land(&home, &script, 100_000);
    assert_eq!(size, "pipe 262144", "the stdout pipe was not grown");
}

/// A pipe its child made larger than the daemon would is left as it is.
#[test]
fn a_pipe_the_child_grew_is_not_shrunk_by_gathering() {
    let home = TestHome::new();
    let script = unbuffered_writer(&home, 20_000, Some(1024 * 1024));
    let size = unbuffered_lines_land(&home, &script, 20_000);
    assert_eq!(size, "pipe 1048576", "the child's pipe size changed");
}

#[test]
fn continuous_writing_across_50_restarts_and_20_rotations_loses_nothing() {
    let home = TestHome::new();
    let script = home.script(
        "steady.py",
        r#"import os, signal, sys, time
pid = os.getpid()
i = 0
stop = False
def done(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, done)
while not stop:
    sys.stdout.write('R%d %d %s\n' % (pid, i, 'x' * 40))
    i += 1
    if i % 100 == 0:
        time.sleep(0.005)
sys.stdout.write('R%d end %d\n' % (pid, i))
sys.stdout.flush()
"#,
    );
    home.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "steady",
        "--log-max-size",
        "32K",
        "--log-max-files",
        "1000",
    ]);
    let path = log(&home, "steady-out.log");
    // Each run writes (so its SIGTERM handler is in place) before it is replaced.
    let wait_run = || {
        let row = home.wait_for("steady", "a pid", |p| p["pid"].as_i64().is_some());
        let run = format!("R{} ", row["pid"]);
        wait_until("the new run writes", || {
            let last = home.ok(&["logs", "steady", "--raw", "--lines", "1"]);
            last.starts_with(&run).then_some(())
        })
        .unwrap_or_else(|| panic!("run {run} never wrote"));
    };
    for _ in 0..50 {
        wait_run();
        home.ok(&["restart", "steady"]);
    }
    wait_run();
    home.ok(&["stop", "steady"]);
    let check = || {
        let all = all_rotated(&path, 1000);
        let mut runs: HashMap<String, (Vec<u64>, Option<u64>)> = HashMap::new();
        for line in &all {
            let mut parts = line.split(' ');
            let (Some(run), Some(n)) = (parts.next(), parts.next()) else {
                panic!("a mangled line: {line:?}");
            };
            let entry = runs.entry(run.to_string()).or_default();
            if n == "end" {
                let last: u64 = parts
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("end count");
                assert!(entry.1.is_none(), "run {run} ended twice");
                entry.1 = Some(last);
            } else {
                entry.0.push(
                    n.parse()
                        .unwrap_or_else(|_| panic!("a mangled line: {line:?}")),
                );
            }
        }
        (runs.len() == 51 && runs.values().all(|r| r.1.is_some()))
            .then_some(runs.clone())
            .ok_or(runs)
    };
    let runs = wait_until("51 runs, each ended", || check().ok()).unwrap_or_else(|| {
        let runs = check().err().unwrap_or_default();
        let unfinished: Vec<_> = runs
            .iter()
            .filter(|r| r.1.1.is_none())
            .map(|r| (r.0, r.1.0.len()))
            .collect();
        panic!(
            "{} runs in {}, unfinished: {unfinished:?}; {} rotated files",
            runs.len(),
            path.display(),
            rotated_count(&path)
        )
    });
    for (run, (numbers, end)) in &runs {
        let end = end.expect("checked above");
        let expected: Vec<u64> = (0..end).collect();
        assert!(
            numbers == &expected,
            "run {run}: lines 0..{end} not all present exactly once in order"
        );
    }
    let rotations = rotated_count(&path);
    assert!(rotations >= 20, "only {rotations} rotations happened");
}

#[test]
fn a_10_mb_line_without_newline_is_kept_in_bounded_pieces() {
    let home = TestHome::new();
    let script = home.script(
        "long.py",
        "import sys, time\nsys.stdout.write('y' * (10 * 1024 * 1024))\nsys.stdout.flush()\ntime.sleep(600)\n",
    );
    home.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "long",
        "--log-max-size",
        "100M",
    ]);
    let path = log(&home, "long-out.log");
    let total = 10 * 1024 * 1024;
    let data = wait_until("10 MB of y", || {
        let data = read(&path);
        (data.iter().filter(|b| **b == b'y').count() == total).then_some(data)
    })
    .unwrap_or_else(|| panic!("{} holds {} bytes", path.display(), read(&path).len()));
    let pieces: Vec<&[u8]> = data
        .split(|b| *b == b'\n')
        .filter(|p| !p.is_empty())
        .collect();
    assert!(
        pieces.len() >= 160,
        "the line was not split: {} pieces",
        pieces.len()
    );
    assert!(
        pieces
            .iter()
            .all(|p| p.len() <= 64 * 1024 && p.iter().all(|b| *b == b'y'))
    );
    // The daemon is still answering.
    assert!(home.process("long").is_some());
}

#[test]
fn a_partial_line_reaches_the_file_and_followers_after_a_quiet_time() {
    let home = TestHome::new();
    let go = home.path("go");
    let script = home.script(
        "prompt.py",
        &format!(
            "import os, time\nos.write(1, b'a')\nos.write(1, b'b\\n')\nos.write(1, b'progress 10%')\nwhile not os.path.exists({go:?}):\n    time.sleep(0.01)\nos.write(1, b' done\\n')\ntime.sleep(600)\n"
        ),
    );
    home.ok(&["start", script.to_str().expect("utf-8 path"), "--name", "p"]);
    let path = log(&home, "p-out.log");
    // A line written in two pieces back to back stays one line; the prompt without a
    // newline is written on its own once nothing more comes.
    wait_lines(&path, "the partial line", |l| l == ["ab", "progress 10%"]);
    let mut follower = Follower::start(&home, &["logs", "p", "--lines", "10", "-f", "--raw"]);
    follower.expect("progress 10%");
    std::fs::write(&go, "").expect("write trigger");
    // The rest of the line, coming later, is a line of its own.
    wait_lines(&path, "the rest", |l| l == ["ab", "progress 10%", " done"]);
    follower.expect(" done");
    assert_eq!(follower.seen, ["ab", "progress 10%", " done"]);
    let shown = home.ok(&["logs", "p", "--raw"]);
    assert_eq!(shown, "ab\nprogress 10%\n done\n");
}

#[test]
fn follow_sees_a_line_written_after_it_started_without_duplicates() {
    let home = TestHome::new();
    let trigger = home.path("go");
    let script = home.script(
        "later.py",
        &format!(
            "import os, time\nprint('before', flush=True)\nwhile not os.path.exists({trigger:?}):\n    time.sleep(0.01)\nprint('after', flush=True)\ntime.sleep(600)\n"
        ),
    );
    home.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "later",
    ]);
    wait_lines(&log(&home, "later-out.log"), "before", |l| {
        l.iter().any(|x| x == "before")
    });
    let mut follower = Follower::start(&home, &["logs", "later", "--lines", "5", "-f", "--raw"]);
    follower.expect("before");
    std::fs::write(&trigger, "").expect("write trigger");
    follower.expect("after");
    assert_eq!(follower.seen, ["before", "after"]);
}

#[test]
fn invalid_utf8_is_kept_raw_in_the_file_and_shown_lossy() {
    let home = TestHome::new();
    let script = home.script(
        "bytes.sh",
        "#!/bin/sh\nprintf 'bad \\377\\376 bytes\\n'\nsleep 600\n",
    );
    home.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "bytes",
    ]);
    let path = log(&home, "bytes-out.log");
    wait_until("the raw line", || {
        (read(&path) == b"bad \xff\xfe bytes\n").then_some(())
    })
    .unwrap_or_else(|| panic!("file holds {:?}", read(&path)));
    let shown = home.ok(&["logs", "bytes", "--raw"]);
    assert_eq!(shown, "bad \u{fffd}\u{fffd} bytes\n");
}

#[test]
fn json_log_type_writes_one_object_per_line() {
    let home = TestHome::new();
    let script = home.script(
        "j.sh",
        "#!/bin/sh\necho 'hello \"json\"'\necho 'to err' >&2\nsleep 600\n",
    );
    home.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "j",
        "--log-type",
        "json",
    ]);
    let out = wait_lines(&log(&home, "j-out.log"), "a json line", |l| !l.is_empty());
    let value: serde_json::Value = serde_json::from_str(&out[0]).expect("a JSON object");
    // pm2's fields: {message, timestamp, type, process_id, app_name}.
    assert_eq!(value["message"], "hello \"json\"");
    assert_eq!(value["type"], "out");
    assert_eq!(value["app_name"], "j");
    assert_eq!(value["process_id"], 0);
    assert!(
        value["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 24),
        "{value}"
    );
    let err = wait_lines(&log(&home, "j-err.log"), "a json line", |l| !l.is_empty());
    let value: serde_json::Value = serde_json::from_str(&err[0]).expect("a JSON object");
    assert_eq!(value["type"], "err");
    assert_eq!(value["message"], "to err");
    // `logs --json` prints the same fields (and `at`).
    let shown = home.ok(&["logs", "j", "--json", "--out"]);
    let value: serde_json::Value = serde_json::from_str(shown.trim()).expect("one object");
    assert_eq!(value["message"], "hello \"json\"");
    assert_eq!(value["app_name"], "j");
    assert_eq!(value["type"], "out");
}

#[test]
fn time_and_date_formats_prefix_each_line() {
    let home = TestHome::new();
    let script = home.script("t.sh", "#!/bin/sh\necho stamped\nsleep 600\n");
    let script = script.to_str().expect("utf-8 path");
    home.ok(&["start", script, "--name", "t", "--time"]);
    home.ok(&[
        "start",
        script,
        "--name",
        "d",
        "--log-date-format",
        "YYYY/MM/DD HH:mm",
    ]);
    let stamp = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d: stamped$").expect("regex");
    let t = wait_lines(&log(&home, "t-out.log"), "a stamped line", |l| {
        !l.is_empty()
    });
    assert!(stamp.is_match(&t[0]), "{t:?}");
    let dayjs = regex::Regex::new(r"^\d{4}/\d\d/\d\d \d\d:\d\d: stamped$").expect("regex");
    let d = wait_lines(&log(&home, "d-out.log"), "a stamped line", |l| {
        !l.is_empty()
    });
    assert!(dayjs.is_match(&d[0]), "{d:?}");
    // The prefix is the file's; `logs` shows the message (with --timestamp, its own time).
    assert_eq!(home.ok(&["logs", "t", "--raw"]), "stamped\n");
    let shown = home.ok(&["logs", "t", "--raw", "--timestamp"]);
    let own = regex::Regex::new(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d stamped\n$").expect("regex");
    assert!(own.is_match(&shown), "{shown:?}");
    let bad = home.run(&[
        "start",
        script,
        "--name",
        "bad",
        "--log-date-format",
        "%Y %",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("log_date_format"));
}

#[test]
fn dev_null_disables_a_stream_but_not_the_live_view() {
    let home = TestHome::new();
    let script = home.script("n.sh", "#!/bin/sh\necho quiet\necho loud >&2\nsleep 600\n");
    home.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "n",
        "-o",
        "/dev/null",
    ]);
    wait_lines(&log(&home, "n-err.log"), "the err line", |l| l == ["loud"]);
    assert!(
        !log(&home, "n-out.log").exists(),
        "a disabled stream got a file"
    );
    let shown = home.ok(&["logs", "n", "--raw", "--out"]);
    assert_eq!(shown, "quiet\n");
}

#[test]
fn pm2_null_log_paths_write_no_file() {
    let home = TestHome::new();
    let script = home.script("n.sh", "#!/bin/sh\necho quiet\necho loud >&2\nsleep 600\n");
    let script = script.to_str().expect("utf-8 path");
    // `-o NULL` on the command line, as pm2's logs/log-null.sh does.
    home.ok(&["start", script, "--name", "n", "-o", "NULL", "-l", "NULL"]);
    wait_lines(&log(&home, "n-err.log"), "the err line", |l| l == ["loud"]);
    // `out_file: "NULL"` in an ecosystem file.
    let file = home.path("eco.json");
    std::fs::write(
        &file,
        format!(r#"{{"apps": [{{"name": "m", "script": "{script}", "error_file": "NULL"}}]}}"#),
    )
    .expect("write ecosystem file");
    home.ok(&["start", file.to_str().expect("utf-8 path")]);
    wait_lines(&log(&home, "m-out.log"), "the out line", |l| l == ["quiet"]);
    let shown = home.ok(&["logs", "n", "--raw", "--out"]);
    assert_eq!(shown, "quiet\n", "the stream still reaches the ring");
    let shown = home.ok(&["logs", "m", "--raw", "--err"]);
    assert_eq!(shown, "loud\n");
    for dir in [home.home().to_path_buf(), home.home().join("logs")] {
        let names: Vec<String> = std::fs::read_dir(&dir)
            .expect("read dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !names
                .iter()
                .any(|n| n.eq_ignore_ascii_case("null") || n.ends_with("NULL")),
            "a file named NULL in {}: {names:?}",
            dir.display()
        );
        assert!(!names.contains(&"n-out.log".to_string()), "{names:?}");
        assert!(!names.contains(&"m-err.log".to_string()), "{names:?}");
    }
}

#[test]
fn flush_empties_the_files_and_new_lines_still_land() {
    let home = TestHome::new();
    let trigger = home.path("more");
    let script = home.script(
        "f.py",
        &format!(
            "import os, time\nprint('old', flush=True)\nwhile not os.path.exists({trigger:?}):\n    time.sleep(0.01)\nprint('new', flush=True)\ntime.sleep(600)\n"
        ),
    );
    home.ok(&["start", script.to_str().expect("utf-8 path"), "--name", "f"]);
    let path = log(&home, "f-out.log");
    wait_lines(&path, "old", |l| l == ["old"]);
    home.ok(&["flush", "f"]);
    assert!(read(&path).is_empty(), "flush left {:?}", read(&path));
    assert_eq!(home.ok(&["logs", "f", "--raw"]), "");
    std::fs::write(&trigger, "").expect("write trigger");
    wait_lines(&path, "new", |l| l == ["new"]);
}

#[test]
fn reload_logs_and_sigusr2_reopen_after_an_external_rename() {
    let home = TestHome::new();
    let step = home.path("step");
    let script = home.script(
        "r.py",
        &format!(
            "import os, time\nseen = 0\nprint('line 0', flush=True)\nwhile True:\n    n = len(open({step:?}).read()) if os.path.exists({step:?}) else 0\n    while seen < n:\n        seen += 1\n        print('line %d' % seen, flush=True)\n    time.sleep(0.01)\n"
        ),
    );
    home.ok(&["start", script.to_str().expect("utf-8 path"), "--name", "r"]);
    let path = log(&home, "r-out.log");
    wait_lines(&path, "line 0", |l| l == ["line 0"]);
    // logrotate-style: rename, then tell pmtui to reopen.
    let moved = log(&home, "r-out.log.old");
    std::fs::rename(&path, &moved).expect("rename");
    home.ok(&["reload-logs"]);
    std::fs::write(&step, "x").expect("step");
    wait_lines(&path, "line 1 in a new file", |l| l == ["line 1"]);
    assert_eq!(lines(&moved), ["line 0"]);
    // The same with SIGUSR2 to the daemon.
    let moved2 = log(&home, "r-out.log.old2");
    std::fs::rename(&path, &moved2).expect("rename");
    let pid = home.daemon_pid().expect("daemon pid");
    let sent = std::process::Command::new("kill")
        .args(["-USR2", &pid.to_string()])
        .status()
        .expect("kill -USR2");
    assert!(sent.success());
    // The daemon reopens asynchronously: keep stepping until a line lands in a new file.
    let mut steps = String::from("x");
    let got = wait_until("a line in the file reopened by SIGUSR2", || {
        steps.push('x');
        std::fs::write(&step, &steps).ok()?;
        std::thread::sleep(Duration::from_millis(20));
        Some(lines(&path)).filter(|l| !l.is_empty())
    })
    .expect("SIGUSR2 reopened the file");
    assert!(got.iter().all(|l| l.starts_with("line ")));
    // Nothing lost or doubled across the three files.
    let mut all = lines(&moved);
    all.extend(lines(&moved2));
    all.extend(lines(&path));
    let numbers: Vec<usize> = all
        .iter()
        .map(|l| l.trim_start_matches("line ").parse().expect("a number"))
        .collect();
    let expected: Vec<usize> = (0..numbers.len()).collect();
    assert_eq!(numbers, expected);
}

#[test]
fn gzip_rotation_keeps_every_line_in_order() {
    let home = TestHome::new();
    let script = home.script(
        "g.py",
        "import sys, time\nfor i in range(20000):\n    sys.stdout.write('gz line %d\\n' % i)\nsys.stdout.flush()\ntime.sleep(600)\n",
    );
    home.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "g",
        "--log-max-size",
        "16K",
        "--log-max-files",
        "100",
        "--log-compress",
    ]);
    let path = log(&home, "g-out.log");
    let all = wait_until("every line, rotated files gzipped", || {
        let all = all_rotated(&path, 100);
        let pending = std::fs::read_dir(path.parent()?)
            .ok()?
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains("rotating"));
        (all.len() == 20_000 && !pending).then_some(all)
    })
    .unwrap_or_else(|| panic!("got {} lines", all_rotated(&path, 100).len()));
    for (i, line) in all.iter().enumerate() {
        assert_eq!(line, &format!("gz line {i}"));
    }
    assert!(PathBuf::from(format!("{}.1.gz", path.display())).exists());
    assert!(!PathBuf::from(format!("{}.1", path.display())).exists());
    // After a daemon restart memory is empty: --lines reads back across the gzipped files.
    home.ok(&["stop", "g"]);
    let pid = home.daemon_pid().expect("daemon pid");
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    wait_until("the daemon exits", || {
        (!common::alive(i64::from(pid))).then_some(())
    })
    .expect("daemon ended");
    let shown = home.ok(&["logs", "g", "--raw", "--lines", "3000"]);
    let shown: Vec<&str> = shown.lines().collect();
    assert_eq!(shown.len(), 3000);
    assert_eq!(shown[0], "gz line 17000");
    assert_eq!(shown[2999], "gz line 19999");
}

#[test]
fn history_comes_from_the_files_after_a_daemon_restart() {
    let home = TestHome::new();
    let script = home.script(
        "h.py",
        "import sys\nfor i in range(300):\n    print('h %d' % i)\nprint('boom', file=sys.stderr)\nsys.exit(3)\n",
    );
    home.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "h",
        "--no-autorestart",
    ]);
    // A line written just before a crash is in the file.
    wait_lines(&log(&home, "h-err.log"), "the last words", |l| {
        l == ["boom"]
    });
    wait_lines(&log(&home, "h-out.log"), "300 lines", |l| l.len() == 300);
    // The daemon has recorded the exit before it is killed: else it saves `h` as running
    // and the next one starts it again (a second "boom"; seen under load).
    home.wait_status("h", "stopped");
    let pid = home.daemon_pid().expect("daemon pid");
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    wait_until("the daemon exits", || {
        (!common::alive(i64::from(pid))).then_some(())
    })
    .expect("daemon ended");
    let shown = home.ok(&["logs", "h", "--lines", "100"]);
    let shown: Vec<&str> = shown.lines().collect();
    assert_eq!(shown.len(), 100, "{shown:?}");
    assert!(shown.contains(&"0|h    | h 299"));
    let out = home.ok(&["logs", "h", "--lines", "100", "--out"]);
    let out: Vec<&str> = out.lines().collect();
    assert_eq!(out.len(), 100);
    assert_eq!(out[0], "0|h    | h 200");
    let errs = home.ok(&["logs", "h", "--err", "--raw"]);
    assert_eq!(errs, "boom\n");
    let grep = home.ok(&[
        "logs",
        "h",
        "--raw",
        "--out",
        "--grep",
        "^h 1[0-9]$",
        "--lines",
        "4",
    ]);
    assert_eq!(grep, "h 16\nh 17\nh 18\nh 19\n");
}

#[test]
fn several_processes_are_interleaved_by_time() {
    let home = TestHome::new();
    let go = home.path("go");
    let a = home.script(
        "a.py",
        &format!(
            "import os, time\nprint('first', flush=True)\nwhile not os.path.exists({go:?}):\n    time.sleep(0.01)\nprint('third', flush=True)\ntime.sleep(600)\n"
        ),
    );
    let b = home.script("b.sh", "#!/bin/sh\necho second\nsleep 600\n");
    home.ok(&["start", a.to_str().expect("utf-8 path"), "--name", "a"]);
    wait_lines(&log(&home, "a-out.log"), "first", |l| l == ["first"]);
    home.ok(&["start", b.to_str().expect("utf-8 path"), "--name", "bee"]);
    wait_lines(&log(&home, "bee-out.log"), "second", |l| l == ["second"]);
    std::fs::write(&go, "").expect("write trigger");
    wait_lines(&log(&home, "a-out.log"), "third", |l| l.len() == 2);
    let shown = home.ok(&["logs"]);
    assert_eq!(
        shown,
        "0|a      | first\n1|bee    | second\n0|a      | third\n"
    );
    let json = home.ok(&["logs", "all", "--json", "--lines", "1"]);
    let processes: Vec<String> = json
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["app_name"].to_string()
        })
        .collect();
    assert_eq!(processes, ["\"bee\"", "\"a\""]);
}

#[test]
fn instances_get_their_own_files_unless_merged() {
    let home = TestHome::new();
    let script = home.script(
        "i.sh",
        "#!/bin/sh\necho \"instance $PMTUI_INSTANCE\"\nsleep 600\n",
    );
    let script = script.to_str().expect("utf-8 path");
    home.ok(&["start", script, "--name", "sep", "-i", "2"]);
    wait_lines(&log(&home, "sep-0-out.log"), "instance 0", |l| {
        l == ["instance 0"]
    });
    wait_lines(&log(&home, "sep-1-out.log"), "instance 1", |l| {
        l == ["instance 1"]
    });
    home.ok(&["start", script, "--name", "mer", "-i", "2", "--merge-logs"]);
    let mut merged = wait_lines(&log(&home, "mer-out.log"), "both instances", |l| {
        l.len() == 2
    });
    merged.sort();
    assert_eq!(merged, ["instance 0", "instance 1"]);
    // Read back from the shared file (after a daemon restart), each line is shown once.
    home.ok(&["stop", "mer"]);
    let pid = home.daemon_pid().expect("daemon pid");
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    wait_until("the daemon exits", || {
        (!common::alive(i64::from(pid))).then_some(())
    })
    .expect("daemon ended");
    let shown = home.ok(&["logs", "mer", "--raw", "--out"]);
    let mut shown: Vec<&str> = shown.lines().collect();
    shown.sort_unstable();
    assert_eq!(shown, ["instance 0", "instance 1"]);
}

#[test]
fn a_slow_file_pushes_back_on_the_child_and_loses_nothing() {
    use std::os::unix::fs::OpenOptionsExt;
    let home = TestHome::new();
    // The "disk" is a FIFO that this test drains only when it chooses to.
    let fifo = home.path("slow.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    const O_NONBLOCK: i32 = 0o4000;
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(&fifo)
        .expect("open the fifo for reading");
    let progress = home.path("progress");
    let script = home.script(
        "flood.py",
        &format!(
            "import sys, time\nline = b'x' * 1023 + b'\\n'\nblock = line * 64\nfor i in range(1024):\n    sys.stdout.buffer.write(block)\n    sys.stdout.buffer.flush()\n    open({progress:?}, 'w').write(str(i + 1))\ntime.sleep(600)\n"
        ),
    );
    let fifo_arg = fifo.to_str().expect("utf-8 path");
    home.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "flood",
        "-o",
        fifo_arg,
        "--log-max-size",
        "0",
    ]);
    let blocks = || -> u64 {
        std::fs::read_to_string(&progress)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    };
    // The child gets stuck once the pipe, the daemon's bounded queue and the FIFO are full.
    let mut last = u64::MAX;
    let stuck = wait_until("the child to stall", || {
        let now = blocks();
        let settled = now > 0 && now == last;
        last = now;
        std::thread::sleep(Duration::from_millis(200));
        settled.then_some(now)
    })
    .expect("the child stalled");
    // Blocks of 64 KiB: the child got at most 16 MiB ahead of the reader.
    assert!(
        stuck < 256,
        "the daemon buffered {} MiB instead of pushing back",
        stuck / 16
    );
    // The daemon still answers while its writer waits on the slow file.
    assert!(home.process("flood").is_some());
    // Drain the FIFO: every byte arrives, in order.
    let mut got: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let total = 64 * 1024 * 1024;
    let start = Instant::now();
    while got.len() < total && start.elapsed() < common::DEADLINE * 2 {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => std::thread::sleep(Duration::from_millis(5)),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(
        got.len(),
        total,
        "bytes lost or stuck (child wrote {} MiB)",
        blocks()
    );
    assert!(
        got.chunks(1024)
            .all(|l| l[..1023].iter().all(|b| *b == b'x') && l[1023] == b'\n')
    );
}

#[test]
fn a_follower_gets_a_fast_burst_complete_in_order_once() {
    let home = TestHome::new();
    let go = home.path("go");
    let script = home.script(
        "fast.py",
        &format!(
            "import os, sys, time\nprint('ready', flush=True)\nwhile not os.path.exists({go:?}):\n    time.sleep(0.01)\nsys.stdout.write(''.join('f %d\\n' % i for i in range(3000)))\nsys.stdout.flush()\ntime.sleep(600)\n"
        ),
    );
    home.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "fast",
    ]);
    wait_lines(&log(&home, "fast-out.log"), "ready", |l| l == ["ready"]);
    let mut follower = Follower::start(&home, &["logs", "fast", "--lines", "1", "-f", "--raw"]);
    follower.expect("ready");
    std::fs::write(&go, "").expect("write trigger");
    follower.expect("f 2999");
    let expected: Vec<String> = std::iter::once("ready".to_string())
        .chain((0..3000).map(|i| format!("f {i}")))
        .collect();
    assert_eq!(follower.seen, expected);
}

/// A log file that cannot be written (here `/dev/full`, a full disk's ENOSPC on every
/// write) is said by `ping` (text and `--json` warnings) while it fails; the daemon goes on,
/// the lines stay readable from memory, and the warning goes once the file is gone.
#[test]
fn a_log_file_that_cannot_be_written_is_said_by_ping() {
    let home = TestHome::new();
    home.ok(&[
        "start",
        "sh",
        "--name",
        "full",
        "-o",
        "/dev/full",
        "--",
        "-c",
        "while :; do echo kept-in-memory; sleep 0.05; done",
    ]);
    let warned = |v: &serde_json::Value| {
        v["warnings"].as_array().is_some_and(|w| {
            w.iter().any(|w| {
                w.as_str().is_some_and(|w| {
                    w.contains("/dev/full") && w.contains("No space left on device")
                })
            })
        })
    };
    let pong = wait_until("ping warns of /dev/full", || {
        let pong: serde_json::Value = serde_json::from_str(&home.ok(&["ping", "--json"])).ok()?;
        warned(&pong).then_some(pong)
    })
    .expect("ping --json names the log file that cannot be written");
    assert_eq!(pong["processes"], 1, "{pong}");
    let text = home.run(&["ping"]);
    assert!(text.status.success());
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert!(
        stderr.contains("warning: log file /dev/full") && stderr.contains("only in memory"),
        "ping says it on stderr: {stderr}"
    );
    wait_until("the lines readable from memory", || {
        home.ok(&["logs", "full", "--lines", "5", "--nostream", "--out"])
            .contains("kept-in-memory")
            .then_some(())
    })
    .expect("`pmtui logs` shows the lines the file could not take");
    assert_eq!(home.process("full").expect("listed")["status"], "online");
    home.ok(&["delete", "full"]);
    let pong: serde_json::Value =
        serde_json::from_str(&home.ok(&["ping", "--json"])).expect("pong");
    assert!(!warned(&pong), "the warning goes with the file: {pong}");
}
