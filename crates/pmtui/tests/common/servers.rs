//! Real servers for the cluster tests (a Python server on LISTEN_FDS, a Node server with a
//! plain `listen(PORT)`) and the checks on them: which socket a row shows, which pids are
//! online, and that every one of them answers on the shared port.

use super::TestHome;
use super::http::{free_port, get};
use super::wait_until;
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::SocketAddr;

/// A threaded HTTP server on the socket at fd 3 that answers with its pid; it exits 3 when
/// the socket-activation variables are not what systemd's protocol promises.
pub const PY_SERVER: &str = r#"
import os, signal, socket, sys, threading, http.server, socketserver
if os.environ.get("LISTEN_PID") != str(os.getpid()) or os.environ.get("LISTEN_FDS") != "1":
    print("bad activation", os.environ.get("LISTEN_PID"), os.getpid(), os.environ.get("LISTEN_FDS"), flush=True)
    sys.exit(3)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{os.getpid()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = False
server = Server(("", 0), Handler, bind_and_activate=False)
server.socket = socket.socket(fileno=3)
# A graceful stop, as production servers do: stop accepting, finish what was accepted.
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
print("serving", os.getpid(), os.environ.get("LISTEN_FDNAMES"), flush=True)
server.serve_forever()
server.server_close()
"#;

pub const NODE_SERVER: &str = r#"
const http = require('http');
const server = http.createServer((req, res) => res.end(process.pid + '\n'))
  .listen(process.env.PORT, () => console.log('listening', process.pid));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
"#;

/// Writes `PY_SERVER` to `server.py` in the test's home and starts it as `name`, `args`
/// following (instances, `--listen`, timeouts); returns what `start` printed.
pub fn start_py(t: &TestHome, name: &str, args: &[&str]) -> String {
    let server = t.script("server.py", PY_SERVER);
    let mut start = vec![
        "start",
        server.to_str().expect("utf-8 path"),
        "--name",
        name,
    ];
    start.extend_from_slice(args);
    t.ok(&start)
}

/// Writes `NODE_SERVER` to `server.js` and starts `instances` of it as `name` on a free
/// port, which they share through the preload; returns the port.
pub fn start_node(t: &TestHome, name: &str, instances: &str) -> u16 {
    let server = t.script("server.js", NODE_SERVER);
    let port = free_port();
    t.ok(&[
        "start",
        server.to_str().expect("utf-8 path"),
        "--name",
        name,
        "-i",
        instances,
        "--env",
        &format!("PORT={port}"),
    ]);
    port
}

/// The address of the first socket the row shows (`tcp://127.0.0.1:41234`).
pub fn socket_of(row: &Value) -> SocketAddr {
    let shown = row["sockets"][0].as_str().expect("a socket is shown");
    let addr = shown.rsplit("tcp://").next().expect("tcp");
    addr.parse().unwrap_or_else(|e| panic!("{shown}: {e}"))
}

/// The pids of every `online` process named `name`, once `n` of them are online.
pub fn online_pids(t: &TestHome, name: &str, n: usize) -> BTreeSet<String> {
    wait_until(&format!("{n} online {name}"), || {
        let rows: Vec<Value> = t
            .list()
            .into_iter()
            .filter(|p| p["name"] == name && p["status"] == "online")
            .collect();
        (rows.len() == n).then(|| rows.iter().map(|p| p["pid"].to_string()).collect())
    })
    .unwrap_or_else(|| panic!("{n} instances of {name} never came online: {:?}", t.list()))
}

/// Requests until every pid of `pids` has answered on `addr`.
pub fn every_pid_answers(addr: SocketAddr, pids: &BTreeSet<String>) {
    let mut seen = BTreeSet::new();
    let all = wait_until("every instance answers on the shared port", || {
        if let Ok(body) = get(addr) {
            seen.insert(body);
        }
        pids.is_subset(&seen).then_some(())
    });
    assert!(all.is_some(), "answered: {seen:?}, instances: {pids:?}");
}

/// The program's path on `PATH`, if it is installed.
pub fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| std::path::Path::new(d).join(program))
        .find(|p| p.is_file())
}
