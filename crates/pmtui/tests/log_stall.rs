//! One stalled log destination back-pressures only its own process. An app whose `out_file`
//! is a FIFO that a reader holds open and never reads fills the FIFO and stalls; the other
//! apps' logs, `ls`, `restart`, `logs`, `flush` and `reload-logs` carry on, also after a
//! `restart` of the stalled app. Every command runs under a bound, so a wedged daemon fails
//! the test instead of hanging it.

mod common;

use common::{TestHome, wait_until};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// Far above what any of these commands takes on a loaded machine, far below "for ever".
const BOUND: Duration = Duration::from_secs(15);

/// Runs `pmtui <args>`, killing it after `BOUND`; panics unless it succeeds in time.
/// Returns its stdout and how long it took.
fn timed(home: &TestHome, args: &[&str]) -> (String, Duration) {
    let start = Instant::now();
    let mut child = home
        .cmd()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pmtui");
    loop {
        match child.try_wait().expect("wait pmtui") {
            Some(_) => break,
            None if start.elapsed() > BOUND => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("`pmtui {}` did not answer in {BOUND:?}", args.join(" "));
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    let took = start.elapsed();
    let out: Output = child.wait_with_output().expect("output");
    assert!(
        out.status.success(),
        "`pmtui {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    (String::from_utf8_lossy(&out.stdout).into_owned(), took)
}

fn line_count(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

/// Waits until the file at `path` has more lines than `than`.
fn grows(path: &Path, than: usize, what: &str) {
    wait_until(what, || (line_count(path) > than).then_some(()))
        .unwrap_or_else(|| panic!("{what}: {} stayed at {than} lines", path.display()));
}

#[test]
fn a_stalled_fifo_sink_delays_no_other_process_nor_any_command() {
    use std::os::unix::fs::OpenOptionsExt;
    // Declared before the reader, so dropped after it: closing the reader first unblocks
    // the stalled writer (EPIPE), and the home's cleanup then finds a daemon that answers.
    let home = TestHome::new();
    let fifo = home.path("stalled.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    const O_NONBLOCK: i32 = 0o4000;
    // A reader that holds the FIFO open and never reads.
    let _reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(&fifo)
        .expect("open the fifo for reading");

    let ticker = home.script(
        "ticker.sh",
        "#!/bin/sh\ni=0\nwhile true; do echo tick $i; i=$((i+1)); sleep 0.02; done\n",
    );
    let progress = home.path("progress");
    let flood = home.script(
        "flood.py",
        &format!(
            "import sys\nline = b'x' * 1023 + b'\\n'\nblock = line * 64\ni = 0\nwhile True:\n    sys.stdout.buffer.write(block)\n    sys.stdout.buffer.flush()\n    i += 1\n    open({progress:?}, 'w').write(str(i))\n"
        ),
    );
    let fifo_arg = fifo.to_str().expect("utf-8 path");
    timed(
        &home,
        &["start", ticker.to_str().expect("utf-8"), "--name", "other"],
    );
    timed(
        &home,
        &[
            "start",
            flood.to_str().expect("utf-8"),
            "--name",
            "flood",
            "-o",
            fifo_arg,
            "--log-max-size",
            "0",
        ],
    );
    let blocks = || -> u64 {
        std::fs::read_to_string(&progress)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    };
    let mut last = u64::MAX;
    wait_until("the flood to stall", || {
        let now = blocks();
        let settled = now > 0 && now == last;
        last = now;
        std::thread::sleep(Duration::from_millis(300));
        settled.then_some(())
    })
    .expect("the flood app stalled on its FIFO");

    let other_log = home.home().join("logs/other-out.log");
    let mut ls_times = Vec::new();
    for round in ["stalled", "after restarting the stalled app"] {
        let (_, took) = timed(&home, &["ls"]);
        ls_times.push(took);
        grows(
            &other_log,
            line_count(&other_log),
            &format!("other's new lines ({round})"),
        );
        timed(&home, &["restart", "other"]);
        home.wait_status("other", "online");
        grows(
            &other_log,
            line_count(&other_log),
            &format!("other's lines after its restart ({round})"),
        );
        let (shown, _) = timed(&home, &["logs", "other", "--lines", "3", "--raw"]);
        assert!(shown.contains("tick"), "logs other ({round}): {shown:?}");
        timed(&home, &["logs", "--lines", "3"]);
        timed(&home, &["reload-logs"]);
        timed(&home, &["flush", "other"]);
        grows(
            &other_log,
            0,
            &format!("other's lines after flush ({round})"),
        );
        // The stalled app itself: its restart returns, its new run stalls again.
        let old_pid = home.process("flood").expect("flood row")["pid"].clone();
        timed(&home, &["restart", "flood"]);
        home.wait_for("flood", "a new run", |p| {
            p["status"] == "online" && p["pid"] != old_pid
        });
    }
    for took in &ls_times {
        eprintln!("ls with a stalled sink took {took:?}");
        assert!(*took < Duration::from_secs(5), "ls took {took:?}");
    }
}
