//! Metrics of process trees: CPU of a busy and an idle child, memory of a child that
//! allocates, a tree summed over its members, the bounded history in `describe --json`,
//! the Prometheus text of `pmtui metrics --prometheus` and of the HTTP endpoint, and the
//! restart of a process over its `--max-memory-restart`.

mod common;
use common::{TestHome, wait_until};
use serde_json::Value;
use std::io::{Read, Write};

const MB: u64 = 1024 * 1024;

/// Starts the daemon of `t` with these environment settings (they are read at its start).
fn daemon_with(t: &TestHome, env: &[(&str, &str)]) {
    let mut cmd = t.cmd();
    cmd.arg("ping");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run pmtui ping");
    assert!(out.status.success(), "{out:?}");
}

fn python(t: &TestHome, file: &str, body: &str) -> String {
    let path = t.path(file);
    std::fs::write(&path, body).expect("write python script");
    path.display().to_string()
}

/// Polls `describe --json` until `check` holds for the current sample of `name`.
fn wait_sample(t: &TestHome, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let found = wait_until(what, || {
        last = t.describe(name)["metrics"]["current"].clone();
        (!last.is_null() && check(&last)).then(|| last.clone())
    });
    found.unwrap_or_else(|| panic!("{name}: timed out waiting for {what}; last sample {last}"))
}

/// utime + stime of `pid` in clock ticks (USER_HZ, 100 on Linux).
fn cpu_ticks(pid: u64) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let rest = &stat[stat.rfind(')').expect(")") + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[test]
fn a_busy_child_reads_about_one_core_and_an_idle_one_about_zero() {
    let t = TestHome::new();
    let busy = python(&t, "busy.py", "while True:\n    pass\n");
    t.ok(&["start", &busy, "--name", "busy"]);
    t.ok(&["start", "sleep 300", "--name", "idle"]);
    wait_sample(&t, "busy", "a first sample", |_| true);
    let pid = t.process("busy").expect("row")["pid"]
        .as_u64()
        .expect("pid");
    // What the kernel says the loop got over a window of samples: on a loaded 2-core machine
    // that can be well under a core, so the reading is checked against it.
    let (t0, ticks0) = (now_ms(), cpu_ticks(pid));
    let window = wait_until("four samples after t0", || {
        let m = t.describe("busy")["metrics"].clone();
        let after = m["at"]
            .as_array()?
            .iter()
            .filter(|a| a.as_u64() > Some(t0))
            .count();
        (after >= 4).then_some(m)
    })
    .expect("samples keep coming");
    let (t1, ticks1) = (now_ms(), cpu_ticks(pid));
    let actual = (ticks1 - ticks0) as f64 / ((t1 - t0) as f64 / 1000.0);
    let samples: Vec<f64> = window["at"]
        .as_array()
        .expect("at")
        .iter()
        .zip(window["cpu"].as_array().expect("cpu"))
        .filter(|(at, _)| at.as_u64().is_some_and(|at| at > t0 + 1000))
        .filter_map(|(_, cpu)| cpu.as_f64())
        .collect();
    let ours = samples.iter().sum::<f64>() / samples.len().max(1) as f64;
    assert!(
        (ours - actual).abs() < 20.0 + actual * 0.25,
        "sampled {ours:.1}% ({samples:?}) but the kernel counted {actual:.1}%"
    );
    assert!(
        samples.iter().all(|c| *c <= 150.0),
        "one thread: {samples:?}"
    );
    // Some CPU, not a fixed share: with a load of 12 on two cores the loop gets ~18 % of one
    // (the kernel agrees, checked above).
    assert!(ours > 1.0, "a busy loop got some CPU: {samples:?}");
    let idle = wait_sample(&t, "idle", "an idle sample", |s| {
        s["cpu"].as_f64().is_some_and(|c| c < 5.0)
    });
    assert!(idle["threads"].as_u64().is_some_and(|n| n >= 1), "{idle}");
    let rows = t.list();
    let busy_row = rows.iter().find(|p| p["name"] == "busy").expect("busy row");
    assert!(
        busy_row["cpu"].as_f64().is_some_and(|c| c > 0.0),
        "ls shows cpu: {busy_row}"
    );
    assert!(
        busy_row["memory"].as_u64().is_some_and(|m| m > 0),
        "ls shows memory: {busy_row}"
    );
    let history = &t.describe("idle")["metrics"];
    let max = history["cpu_span"]["max"].as_f64().expect("cpu span");
    assert!(max < 50.0, "an idle child never looked busy: {history}");
}

#[test]
fn a_child_that_allocates_shows_its_memory() {
    let t = TestHome::new();
    let alloc = python(
        &t,
        "alloc.py",
        "import time\ndata = b'x' * (96 * 1024 * 1024)\nprint('allocated', flush=True)\ntime.sleep(300)\n",
    );
    t.ok(&["start", &alloc, "--name", "alloc"]);
    // Python itself and the shell around it add a few MB, never another 64.
    let sample = wait_sample(&t, "alloc", "96 MB resident", |s| {
        s["memory"].as_u64().is_some_and(|m| m >= 96 * MB)
    });
    let memory = sample["memory"].as_u64().expect("memory");
    assert!(
        memory < 160 * MB,
        "{memory} bytes is far more than allocated"
    );
    assert!(
        sample["memory_percent"].as_f64().is_some_and(|p| p > 0.0),
        "{sample}"
    );
    let text = t.ok(&["describe", "alloc"]);
    assert!(text.contains("of host") && text.contains("max"), "{text}");
    // Stopped, it uses nothing at once (not a tick later), and its history stays.
    t.ok(&["stop", "alloc"]);
    let row = t.process("alloc").expect("row");
    assert_eq!(
        (row["memory"].as_u64(), row["cpu"].as_f64()),
        (Some(0), Some(0.0)),
        "{row}"
    );
    let metrics = &t.describe("alloc")["metrics"];
    assert!(metrics["current"].is_null(), "{metrics}");
    assert!(
        metrics["memory_span"]["max"]
            .as_u64()
            .is_some_and(|m| m >= 96 * MB),
        "{metrics}"
    );
}

#[test]
fn a_tree_sums_its_members() {
    let t = TestHome::new();
    let child = |mb: u64| {
        python(
            &t,
            &format!("child{mb}.py"),
            &format!("import time\ndata = b'x' * ({mb} * 1024 * 1024)\ntime.sleep(300)\n"),
        )
    };
    let (a, b) = (child(40), child(30));
    let script = t.script(
        "tree.sh",
        &format!("#!/bin/sh\npython3 {a} &\npython3 {b} &\nwait\n"),
    );
    t.ok(&["start", script.to_str().expect("utf8"), "--name", "tree"]);
    // The members are found on the sampler's next full pass over /proc.
    let sample = wait_sample(&t, "tree", "both children counted", |s| {
        s["processes"].as_u64().is_some_and(|n| n >= 3)
            && s["memory"].as_u64().is_some_and(|m| m >= 70 * MB)
    });
    assert!(
        sample["memory"].as_u64().is_some_and(|m| m < 200 * MB),
        "{sample}"
    );
    assert!(
        sample["threads"].as_u64().is_some_and(|n| n >= 3),
        "{sample}"
    );
    let row = t.process("tree").expect("row");
    assert!(
        row["memory"].as_u64().is_some_and(|m| m >= 70 * MB),
        "ls: {row}"
    );
}

#[test]
fn history_is_bounded_and_ordered() {
    let t = TestHome::new();
    daemon_with(
        &t,
        &[
            ("PMTUI_METRICS_INTERVAL_MS", "100"),
            ("PMTUI_METRICS_HISTORY_MS", "1000"),
        ],
    );
    t.ok(&["start", "sleep 300", "--name", "s"]);
    let full = wait_until("a full ring", || {
        let m = t.describe("s")["metrics"].clone();
        (m["at"].as_array().is_some_and(|a| a.len() == 10)).then_some(m)
    })
    .expect("the ring fills to its capacity");
    assert_eq!(full["interval_ms"], 100);
    assert_eq!(full["capacity"], 10);
    let last = full["at"][9].as_u64().expect("at");
    // Later samples push the oldest out: still 10, newer, in order.
    let later = wait_until("newer samples", || {
        let m = t.describe("s")["metrics"].clone();
        (m["at"][0].as_u64().is_some_and(|first| first > last)).then_some(m)
    })
    .expect("the ring moves on");
    let at: Vec<u64> = later["at"]
        .as_array()
        .expect("at")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(at.len(), 10, "{later}");
    assert!(at.windows(2).all(|w| w[0] < w[1]), "ordered: {at:?}");
    assert_eq!(later["cpu"].as_array().map(Vec::len), Some(10));
    assert_eq!(later["memory"].as_array().map(Vec::len), Some(10));
    let span = &later["memory_span"];
    let (min, avg, max) = (
        span["min"].as_u64().expect("min"),
        span["avg"].as_u64().expect("avg"),
        span["max"].as_u64().expect("max"),
    );
    assert!(min > 0 && min <= avg && avg <= max, "{span}");
    // The JSON of `metrics --history` carries the same ring.
    let out = t.ok(&["metrics", "s", "--json", "--history"]);
    let v: Value = serde_json::from_str(&out).expect("metrics --json");
    assert!(
        v["host"]["memory_total"].as_u64().is_some_and(|m| m > 0),
        "{v}"
    );
    let ring = v["processes"][0]["history"]["at"].as_array().map(Vec::len);
    assert!(ring.is_some_and(|n| n <= 10 && n > 0), "{v}");
}

#[test]
fn the_history_length_follows_metrics_history_in_the_settings_file() {
    let t = TestHome::new();
    std::fs::write(
        t.home().join("config.toml"),
        "metrics_interval = \"100ms\"\nmetrics_history = \"700ms\"\n",
    )
    .expect("write config.toml");
    let ping = t.ok(&["ping", "--json"]);
    let ping: Value = serde_json::from_str(&ping).expect("ping --json");
    assert_eq!(
        ping["warnings"].as_array().map(Vec::len).unwrap_or(0),
        0,
        "the settings file is accepted: {ping}"
    );
    t.ok(&["start", "sleep 300", "--name", "s"]);
    let full = wait_until("a full ring", || {
        let m = t.describe("s")["metrics"].clone();
        (m["at"].as_array().is_some_and(|a| a.len() == 7)).then_some(m)
    })
    .expect("the ring fills to its capacity");
    assert_eq!(full["capacity"], 7, "700ms of history at 100ms: {full}");
    assert_eq!(full["interval_ms"], 100);
}

/// Checks Prometheus text: every sample line is `name{labels} value` with a declared
/// `# TYPE`; returns the samples as (name, labels, value).
fn parse_prometheus(text: &str) -> Vec<(String, String, f64)> {
    let line_re = regex::Regex::new(
        r#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (\S+)$"#,
    )
    .expect("regex");
    let mut typed = std::collections::HashSet::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().expect("name");
            let kind = parts.next().expect("kind");
            assert!(
                ["gauge", "counter"].contains(&kind),
                "type of {name}: {kind}"
            );
            typed.insert(name.to_string());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let caps = line_re
            .captures(line)
            .unwrap_or_else(|| panic!("not a Prometheus sample line: {line:?}"));
        let name = caps[1].to_string();
        assert!(typed.contains(&name), "{name} has no # TYPE before it");
        let value: f64 = caps[4]
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let labels = caps.get(3).map_or("", |m| m.as_str()).to_string();
        samples.push((name, labels, value));
    }
    samples
}

#[test]
fn prometheus_text_parses_and_names_every_process() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "web"]);
    t.ok(&["start", "sleep 301", "--name", "off"]);
    t.ok(&["stop", "off"]);
    wait_sample(&t, "web", "a sample", |_| true);
    let text = t.ok(&["metrics", "--prometheus"]);
    let samples = parse_prometheus(&text);
    let find = |name: &str, who: &str| {
        samples
            .iter()
            .find(|(n, l, _)| n == name && l.contains(&format!("name=\"{who}\"")))
            .map(|(_, _, v)| *v)
    };
    assert_eq!(find("pmtui_process_up", "web"), Some(1.0), "{text}");
    assert_eq!(find("pmtui_process_up", "off"), Some(0.0), "{text}");
    assert!(
        find("pmtui_process_memory_bytes", "web").is_some_and(|m| m > 0.0),
        "{text}"
    );
    assert!(find("pmtui_process_cpu_percent", "web").is_some(), "{text}");
    assert!(
        find("pmtui_process_memory_bytes", "off").is_none(),
        "a stopped process has no memory series"
    );
    assert!(
        samples
            .iter()
            .any(|(n, _, v)| n == "pmtui_host_memory_total_bytes" && *v > 0.0)
    );
    // The plain table names both.
    let table = t.ok(&["metrics"]);
    assert!(
        table.contains("web") && table.contains("off") && table.contains("host"),
        "{table}"
    );
}

fn http_get(addr: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the endpoint");
    stream
        .set_read_timeout(Some(common::DEADLINE))
        .expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn the_http_endpoint_serves_metrics_on_loopback() {
    let t = TestHome::new();
    daemon_with(&t, &[("PMTUI_METRICS_ADDR", "0")]);
    t.ok(&["start", "sleep 300", "--name", "scraped"]);
    let log = t.home().join("daemon.log");
    let addr = wait_until("the endpoint's address in daemon.log", || {
        let text = std::fs::read_to_string(&log).ok()?;
        let url = text.split("metrics endpoint on http://").nth(1)?;
        Some(url.split('/').next()?.to_string())
    })
    .expect("the daemon logs where it serves metrics");
    assert!(
        addr.starts_with("127.0.0.1:"),
        "a bare port binds loopback: {addr}"
    );
    wait_sample(&t, "scraped", "a sample", |_| true);
    let response = http_get(&addr, "/metrics");
    let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    let samples = parse_prometheus(body);
    assert!(
        samples.iter().any(|(n, l, v)| n == "pmtui_process_up"
            && l.contains("name=\"scraped\"")
            && *v == 1.0),
        "{body}"
    );
    assert!(http_get(&addr, "/nope").starts_with("HTTP/1.1 404"));
}

#[test]
fn a_tree_over_max_memory_restart_is_restarted_for_it() {
    let t = TestHome::new();
    let hog = python(
        &t,
        "hog.py",
        "import time\ndata = b'x' * (80 * 1024 * 1024)\ntime.sleep(300)\n",
    );
    t.ok(&[
        "start",
        &hog,
        "--name",
        "hog",
        "--max-memory-restart",
        "40M",
    ]);
    let restarted = wait_until("a memory-limit restart", || {
        let d = t.describe("hog");
        let history = d["history"].as_array()?;
        history
            .iter()
            .any(|r| r["reason"] == "memory limit")
            .then_some(d)
    })
    .expect("restarted with reason \"memory limit\"");
    assert!(
        restarted["restarts"].as_u64().is_some_and(|n| n >= 1),
        "{restarted}"
    );
    let record = restarted["history"]
        .as_array()
        .and_then(|h| h.iter().find(|r| r["reason"] == "memory limit"))
        .expect("record");
    assert_eq!(record["outcome"], "restart", "{record}");
    // Once per breach: a restart in flight is not asked for again, so restarts stay few.
    let rows = t.process("hog").expect("row");
    assert!(rows["restarts"].as_u64().is_some_and(|n| n <= 10), "{rows}");
}

#[test]
fn a_process_that_idled_then_outgrows_max_memory_restart_is_restarted_for_it() {
    // The sampler reads idle processes rarely (or, in cgroup mode, not at all while nothing
    // ran): a process under a limit must still be seen the moment it grows.
    let t = TestHome::new();
    daemon_with(&t, &[("PMTUI_METRICS_INTERVAL_MS", "200")]);
    let hog = python(
        &t,
        "late_hog.py",
        "import signal, time\n\
         signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])\n\
         signal.sigwait([signal.SIGUSR1])\n\
         data = bytearray(80 * 1024 * 1024)\n\
         for i in range(0, len(data), 4096): data[i] = 1\n\
         time.sleep(300)\n",
    );
    t.ok(&[
        "start",
        &hog,
        "--name",
        "late",
        "--max-memory-restart",
        "40M",
    ]);
    let pid = t.process("late").expect("row")["pid"]
        .as_i64()
        .expect("pid");
    // Idle for many samples (a python start settles in well under a second of them).
    wait_until("25 samples of the idle process", || {
        let m = t.describe("late")["metrics"].clone();
        (m["at"].as_array()?.len() >= 25).then_some(())
    })
    .expect("samples keep coming");
    assert!(
        t.history("late")
            .iter()
            .all(|r| r["reason"] != "memory limit"),
        "under the limit while idle"
    );
    let sent = std::process::Command::new("kill")
        .args(["-USR1", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "signal the idle process");
    let history = t.wait_history("late", "a memory-limit restart", |h| {
        h.iter().any(|r| r["reason"] == "memory limit")
    });
    let record = history
        .iter()
        .find(|r| r["reason"] == "memory limit")
        .expect("the record");
    assert_eq!(record["outcome"], "restart", "{record}");
    assert_eq!(record["pid"], pid, "the run that grew: {record}");
}

/// One frame of the wire protocol (4-byte big-endian length, JSON).
fn read_frame(s: &mut std::os::unix::net::UnixStream) -> Value {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("frame length");
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).expect("frame body");
    serde_json::from_slice(&body).expect("frame JSON")
}

fn write_frame(s: &mut std::os::unix::net::UnixStream, body: &str) {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body.as_bytes());
    s.write_all(&out).expect("write frame");
}

#[test]
fn a_metrics_subscription_gets_the_history_then_a_tick_at_a_time() {
    let t = TestHome::new();
    daemon_with(&t, &[("PMTUI_METRICS_INTERVAL_MS", "100")]);
    t.ok(&["start", "sleep 300", "--name", "a"]);
    t.ok(&["start", "sleep 301", "--name", "b"]);
    wait_sample(&t, "a", "a sample", |_| true);
    let mut s =
        std::os::unix::net::UnixStream::connect(t.home().join("pmtui.sock")).expect("connect");
    s.set_read_timeout(Some(common::DEADLINE)).expect("timeout");
    write_frame(
        &mut s,
        r#"{"hello":{"protocol":2,"client":"metrics-test"}}"#,
    );
    read_frame(&mut s);
    write_frame(
        &mut s,
        r#"{"request":{"id":7,"request":{"cmd":"subscribe_metrics","targets":["a"]}}}"#,
    );
    let reply = read_frame(&mut s);
    let response = &reply["reply"]["response"];
    assert_eq!(reply["reply"]["id"], 7, "{reply}");
    assert_eq!(response["type"], "metrics", "{reply}");
    assert_eq!(response["interval_ms"], 100);
    let processes = response["processes"].as_array().expect("processes");
    assert_eq!(processes.len(), 1, "only the target: {response}");
    assert_eq!(processes[0]["name"], "a");
    assert!(
        processes[0]["history"]["at"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "the snapshot carries the history: {response}"
    );
    let a_id = processes[0]["id"].clone();
    let mut last_at = 0;
    for _ in 0..3 {
        let frame = read_frame(&mut s);
        let event = &frame["event"];
        assert_eq!(event["event"], "metrics", "{frame}");
        assert_eq!(event["seq"], 0, "{frame}");
        assert!(
            event["host"]["memory_total"]
                .as_u64()
                .is_some_and(|m| m > 0),
            "{frame}"
        );
        let samples = event["samples"].as_array().expect("samples");
        assert_eq!(samples.len(), 1, "only a: {frame}");
        assert_eq!(samples[0]["id"], a_id);
        let at = samples[0]["at"].as_u64().expect("at");
        assert!(at > last_at, "ticks move forward: {frame}");
        last_at = at;
    }
}
