//! Event hooks and the events stream with real processes: a crash hook gets the event JSON
//! on stdin and the `PMTUI_*` variables, a hook that hangs neither delays the restart nor
//! outlives its timeout, a webhook reaches a Python HTTP server, a global hook from
//! config.toml runs, hook failures show in `describe` and daemon.log, and `pmtui events
//! --json` sees what happens in order.

mod common;

use common::events::Follower;
use common::{TestHome, alive, pids_with, unique, wait_until};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Writes an ecosystem file with these apps and starts it.
fn start_file(t: &TestHome, apps: Value) {
    let file = t.path("apps.json");
    std::fs::write(&file, json!({ "apps": apps }).to_string()).expect("write file");
    t.ok(&["start", file.to_str().expect("utf-8 path")]);
}

fn detail(t: &TestHome, name: &str) -> Value {
    let out = t.ok(&["describe", name, "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    if v.is_array() { v[0].clone() } else { v }
}

fn read_when<T>(what: &str, probe: impl FnMut() -> Option<T>) -> T {
    wait_until(what, probe).unwrap_or_else(|| panic!("timed out waiting for {what}"))
}

/// A file's text once it exists and is not empty.
fn file_text(path: &std::path::Path) -> String {
    read_when(&format!("{}", path.display()), || {
        std::fs::read_to_string(path).ok().filter(|s| !s.is_empty())
    })
}

/// A script that fails on its first run (after `marker` is written) and then stays up.
fn crash_once(t: &TestHome, name: &str, tag: &str) -> String {
    let marker = t.path(&format!("{name}.ran"));
    let sleep = t.tagged_sleep(tag);
    t.script(
        &format!("{name}.sh"),
        &format!(
            "#!/bin/sh\nif [ -e {m} ]; then exec {sleep} 600; fi\ntouch {m}\necho 'going down' >&2\nexit 3\n",
            m = marker.display()
        ),
    )
    .display()
    .to_string()
}

#[test]
fn a_crash_hook_gets_the_event_json_on_stdin_and_the_pmtui_variables() {
    let t = TestHome::new();
    let tag = unique("crashhook");
    let script = crash_once(&t, "api", &tag);
    let out = t.path("event.json");
    let env = t.path("event.env");
    let hook = format!(
        "cat > {o}.tmp; env | grep '^PMTUI_' | sort > {e}.tmp; mv {e}.tmp {e}; mv {o}.tmp {o}",
        o = out.display(),
        e = env.display()
    );
    start_file(
        &t,
        json!([{ "name": "api", "script": script, "hooks": { "crash": hook } }]),
    );
    let text = file_text(&out);
    assert_eq!(text.lines().count(), 1, "one JSON line: {text}");
    let e: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"));
    let row = t.wait_status("api", "online");
    assert_eq!(e["event"], "crash", "{e}");
    assert_eq!(e["name"], "api", "{e}");
    assert_eq!(e["id"], row["id"], "{e}");
    assert_eq!(e["exit_code"], 3, "{e}");
    assert_eq!(e["signal"], Value::Null, "{e}");
    assert_eq!(e["reason"], "exit code", "{e}");
    assert!(e["pid"].as_u64().is_some_and(|p| p > 0), "{e}");
    assert!(
        e["at"].as_u64().is_some_and(|at| at > 1_600_000_000_000),
        "{e}"
    );
    let vars = std::fs::read_to_string(&env).expect("env file");
    for want in [
        "PMTUI_EVENT=crash".to_string(),
        "PMTUI_NAME=api".to_string(),
        format!("PMTUI_ID={}", row["id"]),
        "PMTUI_EXIT_CODE=3".to_string(),
        "PMTUI_SIGNAL=".to_string(),
        "PMTUI_REASON=exit code".to_string(),
    ] {
        assert!(
            vars.lines().any(|l| l == want),
            "{want} missing in:\n{vars}"
        );
    }
}

#[test]
fn a_hook_that_hangs_does_not_delay_the_restart_and_is_killed_at_its_timeout() {
    let t = TestHome::new();
    let tag = unique("slowapp");
    let hook_tag = unique("slowhook");
    let script = crash_once(&t, "slow", &tag);
    let hang = t.tagged_sleep(&hook_tag);
    start_file(
        &t,
        json!([{ "name": "slow", "script": script,
                 "hooks": { "crash": { "command": format!("{hang} 60"), "timeout": "3s" } } }]),
    );
    let row = t.wait_for("slow", "restarted and online", |p| {
        p["status"] == "online" && p["restarts"] == 1
    });
    let d = detail(&t, "slow");
    let crash_at = d["history"]
        .as_array()
        .and_then(|h| h.iter().find(|r| r["exit_code"] == 3))
        .and_then(|r| r["at"].as_u64())
        .unwrap_or_else(|| panic!("no crash in the history: {d:#}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let started_at = now.saturating_sub(row["uptime_ms"].as_u64().unwrap_or(0));
    let delay = started_at.saturating_sub(crash_at);
    eprintln!("crash → restart with a hanging hook: {delay} ms");
    assert!(
        delay < 10_000,
        "the restart waited for the hook: {delay} ms"
    );
    // The hook was (or is) running, and is gone after its timeout.
    read_when("the hook's sleep running", || {
        (!pids_with(&hook_tag).is_empty()).then_some(())
    });
    read_when("the hook's sleep killed", || {
        let hook_failed = detail(&t, "slow")["hook_failures"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        (hook_failed && pids_with(&hook_tag).is_empty()).then_some(())
    });
    let failures = detail(&t, "slow")["hook_failures"].clone();
    let text = failures.to_string();
    assert!(text.contains("timed out after 3000 ms"), "{failures}");
    let log = std::fs::read_to_string(t.path("daemon.log")).unwrap_or_default();
    assert!(log.contains("timed out after 3000 ms"), "daemon.log: {log}");
    // The app itself kept running all along.
    assert_eq!(t.wait_status("slow", "online")["pid"], row["pid"]);
}

/// A Python server that writes each POST's body to `<dir>/posted-<n>.json` and answers
/// 200 (never answers when `MODE=hang`, answers 500 when `MODE=fail`); prints its port. With `CERT` and `KEY` it
/// speaks https.
const PY_HOOK_SERVER: &str = r#"
import http.server, os, sys, itertools, time
out = sys.argv[1]
count = itertools.count()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if os.environ.get("MODE") == "hang":
            time.sleep(3600)
        if os.environ.get("MODE") == "fail":
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        n = next(count)
        path = os.path.join(out, f"posted-{n}.json")
        with open(path + ".tmp", "wb") as f:
            f.write(self.path.encode() + b"\n" + self.headers.get("Content-Type", "").encode() + b"\n" + body)
        os.rename(path + ".tmp", path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
if os.environ.get("CERT"):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.environ["CERT"], os.environ["KEY"])
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

struct PyServer {
    child: Child,
    port: u16,
}

impl PyServer {
    fn start(t: &TestHome, mode: &str) -> Self {
        Self::start_with(t, mode, &[])
    }

    fn start_with(t: &TestHome, mode: &str, env: &[(&str, &std::path::Path)]) -> Self {
        let script = t.script("hookserver.py", PY_HOOK_SERVER);
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(t.home())
            .env("MODE", mode)
            .envs(env.iter().map(|(k, v)| (k, v.as_os_str())))
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port line");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{e}: {line}"));
        Self { child, port }
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_webhook_posts_the_event_json_to_a_local_http_server() {
    let t = TestHome::new();
    let server = PyServer::start(&t, "ok");
    let tag = unique("webhook");
    let script = crash_once(&t, "web", &tag);
    start_file(
        &t,
        json!([{ "name": "web", "script": script,
                 "hooks": { "crash": { "webhook": format!("http://127.0.0.1:{}/hook?x=1", server.port),
                                       "timeout": "5s" } } }]),
    );
    let text = file_text(&t.path("posted-0.json"));
    let mut parts = text.splitn(3, '\n');
    assert_eq!(parts.next(), Some("/hook?x=1"), "{text}");
    assert_eq!(parts.next(), Some("application/json"), "{text}");
    let body = parts.next().unwrap_or_default();
    let e: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(e["event"], "crash", "{e}");
    assert_eq!(e["name"], "web", "{e}");
    assert_eq!(e["exit_code"], 3, "{e}");
    t.wait_status("web", "online");
    assert_eq!(detail(&t, "web")["hook_failures"], json!([]));
}

/// `openssl` in `dir`: a CA (`ca.pem`) and a certificate for 127.0.0.1 it signed
/// (`server.pem`, `server.key`), as a private CA or an internal service would have.
fn make_certs(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the openssl command");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let rsa = ["-newkey", "rsa:2048", "-nodes"];
    run(&[
        &["req", "-x509"][..],
        &rsa,
        &["-keyout", "ca.key", "-out", "ca.pem"],
        &["-days", "2", "-subj", "/CN=pmtui test CA"],
    ]
    .concat());
    run(&[
        &["req"][..],
        &rsa,
        &["-keyout", "server.key", "-out", "server.csr"],
        &["-subj", "/CN=127.0.0.1"],
    ]
    .concat());
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .expect("ext.cnf");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.pem",
    ]);
}

#[test]
fn an_https_webhook_posts_the_event_json_trusting_its_ca_file() {
    let t = TestHome::new();
    let certs = t.path("certs");
    std::fs::create_dir_all(&certs).expect("certs dir");
    make_certs(&certs);
    let server = PyServer::start_with(
        &t,
        "ok",
        &[
            ("CERT", &certs.join("server.pem")),
            ("KEY", &certs.join("server.key")),
        ],
    );
    let url = format!("https://127.0.0.1:{}/tls", server.port);
    // Without the CA the server is not trusted: the failure says so and nothing is posted.
    let tag = unique("tlsdeny");
    let script = crash_once(&t, "untrusted", &tag);
    start_file(
        &t,
        json!([{ "name": "untrusted", "script": script,
                 "hooks": { "crash": { "webhook": url, "timeout": "20s" } } }]),
    );
    let failures = read_when("the untrusted server's failure", || {
        let f = detail(&t, "untrusted")["hook_failures"].clone();
        f.as_array().is_some_and(|a| !a.is_empty()).then_some(f)
    });
    assert!(
        failures
            .to_string()
            .contains("TLS with 127.0.0.1: invalid peer certificate: UnknownIssuer"),
        "{failures}"
    );
    assert!(!t.path("posted-0.json").exists());
    // With `ca_file` (relative to the app's cwd) the event JSON arrives over TLS.
    let tag = unique("tlsok");
    let script = crash_once(&t, "trusted", &tag);
    start_file(
        &t,
        json!([{ "name": "trusted", "script": script, "cwd": certs,
                 "hooks": { "crash": { "webhook": url, "ca_file": "ca.pem",
                                       "timeout": "20s" } } }]),
    );
    let text = file_text(&t.path("posted-0.json"));
    let mut parts = text.splitn(3, '\n');
    assert_eq!(parts.next(), Some("/tls"), "{text}");
    assert_eq!(parts.next(), Some("application/json"), "{text}");
    let body = parts.next().unwrap_or_default();
    let e: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(e["event"], "crash", "{e}");
    assert_eq!(e["name"], "trusted", "{e}");
    assert_eq!(e["exit_code"], 3, "{e}");
    assert_eq!(detail(&t, "trusted")["hook_failures"], json!([]));
    // A ca_file on a plain http webhook would do nothing: refused.
    let file = t.path("plain.json");
    let plain = json!({ "apps": [{ "name": "plain", "script": "sleep", "args": "60",
        "hooks": { "crash": { "webhook": "http://127.0.0.1:9/", "ca_file": "ca.pem" } } }] });
    std::fs::write(&file, plain.to_string()).expect("write file");
    let out = t.run(&["start", file.to_str().expect("utf-8 path")]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("ca_file only applies to an https:// webhook"),
        "{said}"
    );
}

#[test]
fn a_webhook_answered_with_an_error_status_shows_in_describe_once_named() {
    let t = TestHome::new();
    let server = PyServer::start(&t, "fail");
    let tag = unique("failweb");
    let script = crash_once(&t, "refused", &tag);
    let url = format!("http://127.0.0.1:{}/hook", server.port);
    start_file(
        &t,
        json!([{ "name": "refused", "script": script,
                 "hooks": { "crash": { "webhook": url, "timeout": "20s" } } }]),
    );
    let failures = read_when("the webhook failure", || {
        let f = detail(&t, "refused")["hook_failures"].clone();
        f.as_array().is_some_and(|a| !a.is_empty()).then_some(f)
    });
    let first = failures[0].as_str().unwrap_or_default();
    assert!(
        first.ends_with(&format!(
            " UTC: hook crash for POST {url}: answered HTTP 500"
        )),
        "{failures}"
    );
    let human = t.ok(&["describe", "refused"]);
    let line = human
        .lines()
        .find(|l| l.contains("answered HTTP 500"))
        .unwrap_or_else(|| panic!("{human}"));
    assert_eq!(line.matches("POST").count(), 1, "{line}");
}

#[test]
fn a_webhook_server_that_never_answers_is_abandoned_at_the_timeout() {
    let t = TestHome::new();
    let server = PyServer::start(&t, "hang");
    let tag = unique("deafhook");
    let script = crash_once(&t, "deaf", &tag);
    start_file(
        &t,
        json!([{ "name": "deaf", "script": script,
                 "hooks": { "crash": { "webhook": format!("http://127.0.0.1:{}/", server.port),
                                       "timeout": "2s" } } }]),
    );
    t.wait_for("deaf", "restarted", |p| {
        p["status"] == "online" && p["restarts"] == 1
    });
    let failures = read_when("the webhook failure", || {
        let f = detail(&t, "deaf")["hook_failures"].clone();
        f.as_array().is_some_and(|a| !a.is_empty()).then_some(f)
    });
    assert!(
        failures.to_string().contains("no answer within 2000 ms"),
        "{failures}"
    );
}

#[test]
fn a_global_hook_from_config_toml_runs_for_every_app_in_pmtui_home() {
    let t = TestHome::new();
    std::fs::write(
        t.path("config.toml"),
        "[hooks]\ncrash = \"cat > global.tmp && mv global.tmp global.json\"\n\
         [hooks.start]\ncommand = \"echo $PMTUI_NAME >> started.txt\"\ntimeout = \"5s\"\n",
    )
    .expect("config.toml");
    let tag = unique("globalhook");
    let script = crash_once(&t, "g", &tag);
    start_file(&t, json!([{ "name": "g", "script": script }]));
    let text = file_text(&t.path("global.json"));
    let e: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(e["event"], "crash", "{e}");
    assert_eq!(e["name"], "g", "{e}");
    read_when("two start events", || {
        let s = std::fs::read_to_string(t.path("started.txt")).unwrap_or_default();
        (s.lines().filter(|l| *l == "g").count() >= 2).then_some(())
    });
}

#[test]
fn a_failing_hook_shows_in_describe_and_daemon_log() {
    let t = TestHome::new();
    let tag = unique("failhook");
    let script = crash_once(&t, "f", &tag);
    start_file(
        &t,
        json!([{ "name": "f", "script": script,
                 "hooks": { "crash": "echo 'no route to slack' >&2; exit 7" } }]),
    );
    let failures = read_when("a hook failure", || {
        let f = detail(&t, "f")["hook_failures"].clone();
        f.as_array().is_some_and(|a| !a.is_empty()).then_some(f)
    });
    assert!(
        failures.to_string().contains("exit 7: no route to slack"),
        "{failures}"
    );
    let human = t.ok(&["describe", "f"]);
    assert!(human.contains("no route to slack"), "{human}");
    assert!(human.contains("crash"), "{human}");
    let log = read_when("daemon.log names the failure", || {
        std::fs::read_to_string(t.path("daemon.log"))
            .ok()
            .filter(|l| l.contains("no route to slack"))
    });
    assert!(log.contains("exit 7"), "{log}");
}

#[test]
fn events_json_sees_a_crash_then_the_restart_and_a_tasks_done_and_failed() {
    let t = TestHome::new();
    let ping_tag = unique("ping");
    let sleep = t.tagged_sleep(&ping_tag);
    t.ok(&["start", &sleep, "--name", "ping", "--", "600"]);
    let mut events = Follower::start(&t, &[]);
    events.ready(&t, "ping");

    let tag = unique("evapp");
    let script = crash_once(&t, "ev", &tag);
    let ok = t.script("ok.sh", "#!/bin/sh\nexit 0\n");
    let bad = t.script("bad.sh", "#!/bin/sh\necho broken >&2\nexit 4\n");
    start_file(
        &t,
        json!([
            { "name": "ev", "script": script },
            { "name": "okjob", "script": ok, "schedule": "0 0 1 1 *" },
            { "name": "badjob", "script": bad, "schedule": "0 0 1 1 *" },
        ]),
    );
    let crash = events.wait("crash of ev", |e| {
        e["event"] == "crash" && e["name"] == "ev"
    });
    let restart = events.wait("restart of ev", |e| {
        e["event"] == "restart" && e["name"] == "ev"
    });
    let pos = |seen: &[Value], e: &Value| seen.iter().position(|s| s == e);
    assert!(
        pos(&events.seen, &crash) < pos(&events.seen, &restart),
        "crash before restart: {:#?}",
        events.seen
    );
    assert_eq!(crash["exit_code"], 3, "{crash}");
    // An exit says the status it leads to, not the dead run's `online`.
    assert_eq!(crash["status"], "launching", "restarted at once: {crash}");
    let exit = events.wait("exit of ev", |e| {
        e["event"] == "exit" && e["name"] == "ev" && e["exit_code"] == 3
    });
    assert_eq!(exit["status"], "launching", "{exit}");
    assert_eq!(restart["restarts"], 1, "{restart}");
    assert_eq!(
        restart["reason"], "exit code",
        "the restart says why: {restart}"
    );
    let start_after = events.wait("start of ev after the restart", |e| {
        e["event"] == "start" && e["name"] == "ev" && e["restarts"] == 1
    });
    assert!(
        pos(&events.seen, &restart) < pos(&events.seen, &start_after),
        "{:#?}",
        events.seen
    );

    t.ok(&["run", "okjob"]);
    let done = events.wait("task_done", |e| e["event"] == "task_done");
    assert_eq!(done["name"], "okjob", "{done}");
    assert_eq!(done["exit_code"], 0, "{done}");
    assert_eq!(done["trigger"], "manual", "{done}");
    assert!(done["duration_ms"].is_u64(), "{done}");
    t.ok(&["run", "badjob"]);
    let failed = events.wait("task_failed", |e| e["event"] == "task_failed");
    assert_eq!(failed["name"], "badjob", "{failed}");
    assert_eq!(failed["exit_code"], 4, "{failed}");
    assert_eq!(
        failed["status"], "scheduled",
        "back to its schedule: {failed}"
    );
    assert_eq!(done["status"], "scheduled", "{done}");
    t.ok(&["stop", "ping"]);
    let stopped = events.wait("exit of the stopped ping", |e| {
        e["event"] == "exit"
            && e["name"] == "ping"
            && e["reason"] == "manual"
            && e["status"] != "launching"
    });
    assert_eq!(stopped["status"], "stopped", "{stopped}");
    t.ok(&["start", "ping"]);

    // Targets filter the stream.
    let mut only = Follower::start(&t, &["okjob"]);
    let deadline = Instant::now() + common::DEADLINE;
    loop {
        t.ok(&["run", "okjob"]);
        if let Ok(v) = only.lines.recv_timeout(Duration::from_secs(2)) {
            only.seen.push(v);
            break;
        }
        assert!(Instant::now() < deadline, "no event for okjob");
    }
    t.ok(&["restart", "ping"]);
    t.ok(&["run", "okjob"]);
    only.wait("a second okjob event", |e| {
        e["event"] == "task_done" && e["name"] == "okjob"
    });
    assert!(
        only.seen.iter().all(|e| e["name"] == "okjob"),
        "{:#?}",
        only.seen
    );
    assert!(alive(i64::from(t.daemon_pid().unwrap_or(0))));
}

/// A reader that falls over 1,024 events behind (stopped with SIGSTOP while an app crashes
/// hundreds of times) is told how many it missed: a line on stderr and, with `--json`, a
/// `missed` object in the stream, after which events flow again.
#[test]
fn events_says_how_many_events_a_reader_that_fell_behind_missed() {
    let t = TestHome::new();
    let ping_tag = unique("lagping");
    let sleep = t.tagged_sleep(&ping_tag);
    t.ok(&["start", &sleep, "--name", "ping", "--", "600"]);
    let err_path = t.path("events.err");
    let err = std::fs::File::create(&err_path).expect("stderr file");
    let mut events = Follower::start_with(&t, &[], Stdio::from(err));
    events.ready(&t, "ping");
    let pid = events.child.id().to_string();
    let signal = |sig: &str| {
        let ok = Command::new("kill")
            .args([sig, &pid])
            .status()
            .expect("kill");
        assert!(ok.success(), "kill {sig} {pid}");
    };
    signal("-STOP");
    // Each crash is four events (exit, crash, restart, start): 800 are far more than the
    // daemon's 1,024 queue and the socket's buffer together.
    start_file(
        &t,
        json!([{ "name": "burst", "script": "/bin/false", "max_restarts": 100_000,
                 "min_uptime": "1ms", "restart_delay": 0 }]),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let restarts = t
            .process("burst")
            .map_or(0, |p| p["restarts"].as_u64().unwrap_or(0));
        if restarts >= 800 {
            break;
        }
        assert!(Instant::now() < deadline, "only {restarts} restarts");
        std::thread::sleep(Duration::from_millis(200));
    }
    t.ok(&["stop", "burst"]);
    signal("-CONT");
    let note = events.wait("the missed note", |e| e["event"] == "missed");
    let missed = note["missed"].as_u64().unwrap_or(0);
    assert!(missed > 0, "{note}");
    assert!(note["at"].is_u64(), "{note}");
    assert_eq!(
        note["detail"],
        format!("{missed} events were missed (the client read too slowly)"),
        "{note}"
    );
    let said = read_when("the note on stderr", || {
        std::fs::read_to_string(&err_path)
            .ok()
            .filter(|s| s.contains("events were missed"))
    });
    assert!(
        said.contains(&format!("pmtui events: {missed} events were missed")),
        "{said}"
    );
    // The stream goes on after the gap.
    let at = events.seen.iter().position(|e| e == &note).unwrap_or(0);
    t.ok(&["restart", "ping"]);
    let deadline = Instant::now() + common::DEADLINE;
    while !events.seen[at..]
        .iter()
        .any(|e| e["name"] == "ping" && e["event"] == "start")
    {
        assert!(Instant::now() < deadline, "nothing after the note");
        if let Ok(v) = events.lines.recv_timeout(Duration::from_millis(500)) {
            events.seen.push(v);
        }
    }
}

fn example(path: &str) -> String {
    format!("{}/../../examples/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_python_example_client_prints_a_crash() {
    let t = TestHome::new();
    let ping_tag = unique("pyping");
    let sleep = t.tagged_sleep(&ping_tag);
    // The daemon runs before the client connects (the client does not start it).
    t.ok(&["start", &sleep, "--name", "ping", "--", "600"]);
    let mut client = Command::new("python3")
        .arg(example("events.py"))
        .env("PMTUI_HOME", t.home())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 examples/events.py");
    let (tx, lines) = mpsc::channel();
    let stdout = client.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = lines
        .recv_timeout(common::DEADLINE)
        .expect("the client's first line");
    assert!(first.starts_with("following every process"), "{first}");
    let tag = unique("pycrash");
    let script = crash_once(&t, "pyc", &tag);
    t.ok(&["start", &script, "--name", "pyc"]);
    let line = lines
        .recv_timeout(common::DEADLINE)
        .expect("a crash line from events.py");
    let _ = client.kill();
    let _ = client.wait();
    assert!(
        line.starts_with("crash") && line.contains("pyc") && line.contains("exited with code 3"),
        "{line}"
    );
}

#[test]
fn the_example_hooks_log_to_a_file_and_post_a_slack_style_message() {
    let t = TestHome::new();
    let server = PyServer::start(&t, "ok");
    std::fs::write(
        t.path("config.toml"),
        format!("[hooks]\ncrash = \"{}\"\n", example("hooks/log-to-file.sh")),
    )
    .expect("config.toml");
    let tag = unique("exhooks");
    let script = crash_once(&t, "ex", &tag);
    start_file(
        &t,
        json!([{ "name": "ex", "script": script,
                 "hooks": { "crash": format!("SLACK_WEBHOOK_URL=http://127.0.0.1:{}/services/T0 {}",
                                             server.port, example("hooks/slack.sh")) } }]),
    );
    let logged = file_text(&t.path("events.jsonl"));
    let e: Value = serde_json::from_str(logged.trim()).unwrap_or_else(|e| panic!("{e}: {logged}"));
    assert_eq!(e["event"], "crash", "{e}");
    if common::servers::which("curl").is_none() {
        eprintln!("no curl: the Slack example is not tried");
        return;
    }
    let posted = file_text(&t.path("posted-0.json"));
    let mut parts = posted.splitn(3, '\n');
    assert_eq!(parts.next(), Some("/services/T0"), "{posted}");
    assert_eq!(parts.next(), Some("application/json"), "{posted}");
    let body: Value = serde_json::from_str(parts.next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {posted}"));
    let text = body["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("*crash* ex") && text.contains("exit code 3"),
        "{body}"
    );
}

#[test]
fn what_a_hook_leaves_running_is_killed_and_its_stdout_flood_costs_nothing() {
    let t = TestHome::new();
    let escapee = unique("escapee");
    let sleep = t.tagged_sleep(&escapee);
    let tag = unique("leaver");
    let script = crash_once(&t, "leaver", &tag);
    // A daemonised child (its own session, stdio closed), then 50 MB on stdout.
    let hook = format!(
        "setsid sh -c '{sleep} 300 </dev/null >/dev/null 2>&1 &'; yes | head -c 50000000; touch {}",
        t.path("hook.done").display()
    );
    start_file(
        &t,
        json!([{ "name": "leaver", "script": script, "hooks": { "crash": hook } }]),
    );
    file_text_or_empty(&t.path("hook.done"));
    read_when("the daemonised child killed", || {
        pids_with(&escapee).is_empty().then_some(())
    });
    t.wait_status("leaver", "online");
    assert_eq!(detail(&t, "leaver")["hook_failures"], json!([]));
}

/// Waits until the file exists.
fn file_text_or_empty(path: &std::path::Path) {
    read_when(&format!("{}", path.display()), || {
        path.exists().then_some(())
    });
}

#[test]
fn a_burst_of_crashes_runs_at_most_four_hooks_and_drops_the_excess_with_a_count() {
    let t = TestHome::new();
    let tag = unique("bursthook");
    let sleep = t.tagged_sleep(&tag);
    start_file(
        &t,
        json!([{ "name": "burst", "script": "/bin/false", "max_restarts": 100_000,
                 "min_uptime": "1ms", "restart_delay": 0,
                 "hooks": { "crash": format!("exec {sleep} 5") } }]),
    );
    let mut most = 0;
    let failures = read_when("a dropped event noted, 100 restarts", || {
        most = most.max(pids_with(&tag).len());
        let d = detail(&t, "burst");
        let dropped = d["hook_failures"]
            .as_array()
            .and_then(|f| f.last())
            .and_then(Value::as_str)
            .is_some_and(|f| f.contains("events already wait for hooks"));
        (dropped && d["restarts"].as_u64().is_some_and(|r| r >= 100)).then_some(d)
    });
    t.ok(&["stop", "burst"]);
    eprintln!(
        "restarts {} with 5 s hooks; at most {most} hooks at once; last note: {}",
        failures["restarts"],
        failures["hook_failures"]
            .as_array()
            .and_then(|f| f.last())
            .unwrap_or(&Value::Null)
    );
    assert!(most <= 4, "{most} hooks ran at once");
    assert!(most >= 1, "no hook ran");
    let log = std::fs::read_to_string(t.path("daemon.log")).unwrap_or_default();
    assert!(log.contains("dropped since the daemon started"), "{log}");
}

#[test]
fn hooks_still_running_end_with_the_daemon() {
    let t = TestHome::new();
    let tag = unique("orphanhook");
    let sleep = t.tagged_sleep(&tag);
    let file = t.path("apps.json");
    let apps = json!({ "apps": [{ "name": "o", "script": "/bin/false", "autorestart": false,
                                  "hooks": { "crash": format!("{sleep} 300") } }] });
    std::fs::write(&file, apps.to_string()).expect("write file");
    // It exits 1 at once, so `start` says it did not become ready.
    t.run(&["start", file.to_str().expect("utf-8 path")]);
    read_when("the hook running", || {
        (!pids_with(&tag).is_empty()).then_some(())
    });
    t.ok(&["kill"]);
    read_when("the hook gone with the daemon", || {
        pids_with(&tag).is_empty().then_some(())
    });
}
