//! A real OpenSSH server on a loopback port, run by the test as the current user, with a
//! generated host key and client key, and an ssh config that reaches it: `hosta`, `hostb`…
//! each an alias for one server. Each alias sends `PMTUI_HOME` (ssh `SetEnv`, sshd
//! `AcceptEnv`), so every "host" has its own daemon on this machine.
//!
//! `Sshd::start` returns `None` (after printing why) when sshd is not installed: the tests
//! then skip. `.ci/run` installs openssh-server.

use super::{DEADLINE, TestHome};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

pub const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    pub port: u16,
    child: Child,
    /// Its folder (config, log), to start it again on the same port.
    dir: PathBuf,
}

impl Sshd {
    /// Starts sshd with the keys and config of `keys` on a free port.
    pub fn start(keys: &Keys) -> Option<Self> {
        // Another test may take the same free port first: this server then fails to bind
        // and exits, and is started again on another port.
        for _ in 0..10 {
            if let Some(sshd) = Self::start_on(keys, super::http::free_port()) {
                return Some(sshd);
            }
        }
        panic!("sshd did not start on any of ten free ports");
    }

    /// Starts sshd on `port`; `None` when it exits instead of listening (port taken).
    fn start_on(keys: &Keys, port: u16) -> Option<Self> {
        let dir = keys.dir.join(format!("sshd-{port}"));
        std::fs::create_dir_all(&dir).expect("sshd dir");
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {hostkey}\n\
                 AuthorizedKeysFile {auth}\nPidFile {pid}\nStrictModes no\nUsePAM no\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\nAcceptEnv PMTUI_*\nLogLevel ERROR\n",
                hostkey = keys.dir.join("hostkey").display(),
                auth = keys.dir.join("authorized_keys").display(),
                pid = dir.join("sshd.pid").display(),
            ),
        )
        .expect("sshd_config");
        let child = spawn(&dir);
        let mut sshd = Self { port, child, dir };
        sshd.wait_listening().then_some(sshd)
    }

    /// The host is back: the server starts again on its port, with its keys.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(&self.dir);
        assert!(
            self.wait_listening(),
            "sshd did not start again on {}: {}",
            self.port,
            self.log()
        );
    }

    /// Waits until this very server listens: a connection is accepted on the port and the
    /// pid file it writes once bound names it (a connection alone could reach another
    /// test's server on the same port). False when it exited instead.
    fn wait_listening(&mut self) -> bool {
        let start = Instant::now();
        let pid_file = self.dir.join("sshd.pid");
        let pid = self.child.id().to_string();
        let ours = || std::fs::read_to_string(&pid_file).is_ok_and(|text| text.trim() == pid);
        while !(ours() && TcpStream::connect(("127.0.0.1", self.port)).is_ok()) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "sshd did not listen on {}: {}",
                self.port,
                self.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        true
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }

    /// Kills the server; sessions already open go on (as with a real sshd restart).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The host dies: the server and every session under it (and what they run), so the
    /// open connections drop.
    pub fn kill_host(&mut self) {
        let mut tree = Vec::new();
        descendants(self.child.id(), &mut tree);
        let _ = self.child.kill();
        for pid in tree {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The keys, and the ssh config that names the servers.
pub struct Keys {
    pub dir: PathBuf,
}

impl Keys {
    /// Generates a host key and a client key in `home`'s temp dir; `None` (printing why)
    /// when sshd is not installed or cannot run here.
    pub fn new(home: &TestHome) -> Option<Self> {
        if !Path::new(SSHD).exists() {
            eprintln!("SKIPPED: {SSHD} is not installed (apt-get install openssh-server)");
            return None;
        }
        // sshd refuses to start without its privilege separation directory.
        if std::fs::create_dir_all("/run/sshd").is_err() && !Path::new("/run/sshd").exists() {
            eprintln!("SKIPPED: /run/sshd is missing and cannot be created");
            return None;
        }
        let dir = home.path("ssh");
        std::fs::create_dir_all(&dir).expect("ssh dir");
        for key in ["hostkey", "userkey"] {
            let status = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.join(key))
                .status()
                .expect("ssh-keygen");
            assert!(status.success(), "ssh-keygen failed");
        }
        std::fs::copy(dir.join("userkey.pub"), dir.join("authorized_keys")).expect("auth keys");
        Some(Self { dir })
    }

    /// Writes the ssh config: each `(alias, server, remote PMTUI_HOME)`.
    pub fn config(&self, hosts: &[(&str, &Sshd, &Path)]) -> PathBuf {
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let mut text = String::new();
        for (alias, sshd, home) in hosts {
            text.push_str(&format!(
                "Host {alias}\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  \
                 SetEnv PMTUI_HOME={home}\n\n",
                port = sshd.port,
                home = home.display(),
            ));
        }
        text.push_str(&format!(
            "Host *\n  IdentityFile {key}\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  \
             UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  ConnectTimeout 20\n",
            key = self.dir.join("userkey").display()
        ));
        let path = self.dir.join("ssh_config");
        std::fs::write(&path, text).expect("ssh_config");
        path
    }
}

/// sshd in the foreground with the config in `dir`, logging there.
fn spawn(dir: &Path) -> Child {
    let log = std::fs::File::create(dir.join("sshd.log")).expect("sshd log");
    Command::new(SSHD)
        .args(["-D", "-e", "-f"])
        .arg(dir.join("sshd_config"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start sshd")
}

/// A port nobody listens on now.
/// Every descendant of `pid` (children listed by the kernel in `/proc/<pid>/task/*/children`).
fn descendants(pid: u32, out: &mut Vec<u32>) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for task in tasks.flatten() {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
            out.push(child);
            descendants(child, out);
        }
    }
}
