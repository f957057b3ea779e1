//! Listening sockets the daemon holds for cluster mode. Each address an app asks for
//! (`listen`, or a Node cluster app's `PORT`) is bound once, on the first start, and kept
//! under the app's name across restarts and reloads: connections wait in the kernel's
//! backlog while no instance accepts, and every instance gets the same sockets (the kernel
//! spreads `accept` over them). An app's sockets are closed when its last process is
//! deleted or when its definition stops asking for them; a unix socket's file goes with it.

mod bind;

use pmtui_proto::{ListenAddress, ListenSpec, ProcessSpec};
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};

/// One bound, listening socket.
pub(crate) struct BoundSocket {
    /// The address as bound: a port 0 asked for shows the port the kernel chose.
    pub address: ListenAddress,
    fd: OwnedFd,
}

impl BoundSocket {
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Drop for BoundSocket {
    fn drop(&mut self) {
        if let ListenAddress::Unix(path) = &self.address {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The sockets one run of a process gets, in fd order (3, 4, …), with their names.
pub(crate) struct SocketSet {
    pub sockets: Vec<(String, Arc<BoundSocket>)>,
}

impl SocketSet {
    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    /// The daemon-side fds, in the order the child gets them.
    pub fn fds(&self) -> Vec<RawFd> {
        self.sockets.iter().map(|(_, s)| s.raw_fd()).collect()
    }

    /// The socket-activation variables (all but `LISTEN_PID`, which the child sets), and
    /// `PMTUI_LISTEN`: the bound addresses as a JSON list in fd order, for the Node preload
    /// and for programs that want to know which socket is which.
    pub fn env(&self) -> Vec<(String, String)> {
        let names: Vec<&str> = self.sockets.iter().map(|(n, _)| n.as_str()).collect();
        let addresses: Vec<String> = self
            .sockets
            .iter()
            .map(|(_, s)| s.address.to_string())
            .collect();
        vec![
            ("LISTEN_FDS".into(), self.sockets.len().to_string()),
            ("LISTEN_FDNAMES".into(), names.join(":")),
            (
                "PMTUI_LISTEN".into(),
                serde_json::to_string(&addresses).unwrap_or_default(),
            ),
        ]
    }

    /// As `ls` and `describe` show them: `name=address` when named, else the address.
    pub fn shown(&self, app: &str) -> Vec<String> {
        self.sockets
            .iter()
            .map(|(name, s)| {
                if name == &default_name(app) {
                    s.address.to_string()
                } else {
                    format!("{name}={}", s.address)
                }
            })
            .collect()
    }
}

/// The name of an unnamed socket: the app's name, which `LISTEN_FDNAMES` can carry (no `:`).
fn default_name(app: &str) -> String {
    app.replace(':', "_")
}

/// An app's sockets, each with the address as asked (a port 0 stays 0 here).
type Held = HashMap<String, Vec<(ListenAddress, Arc<BoundSocket>)>>;

/// Every app's sockets, by app name.
#[derive(Default)]
pub(crate) struct SocketTable {
    held: Mutex<Held>,
}

impl SocketTable {
    fn lock(&self) -> MutexGuard<'_, Held> {
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The sockets `spec` asks for (see `ProcessSpec::sockets`), bound now where its name does
    /// not hold them yet. The error names the address and says why it could not be bound.
    pub fn acquire(&self, spec: &ProcessSpec) -> Result<SocketSet, String> {
        let wanted = spec.sockets();
        if wanted.is_empty() {
            return Ok(SocketSet {
                sockets: Vec::new(),
            });
        }
        let mut held = self.lock();
        let mine = held.entry(spec.name.clone()).or_default();
        let mut sockets = Vec::with_capacity(wanted.len());
        for ListenSpec { name, address } in wanted {
            let socket = match mine.iter().find(|(asked, _)| *asked == address) {
                Some((_, socket)) => Arc::clone(socket),
                None => {
                    let socket = bind_one(&address)
                        .map_err(|why| format!("cannot listen on {address}: {why}"))?;
                    mine.push((address, Arc::clone(&socket)));
                    socket
                }
            };
            let name = name.unwrap_or_else(|| default_name(&spec.name));
            sockets.push((name, socket));
        }
        Ok(SocketSet { sockets })
    }

    /// Closes the sockets of `name` that none of `specs` (its processes' definitions) asks
    /// for; all of them when `specs` is empty.
    pub fn retain(&self, name: &str, specs: &[&ProcessSpec]) {
        let wanted: Vec<ListenAddress> = specs
            .iter()
            .flat_map(|s| s.sockets())
            .map(|s| s.address)
            .collect();
        let mut held = self.lock();
        if let Some(mine) = held.get_mut(name) {
            mine.retain(|(asked, _)| wanted.contains(asked));
            if mine.is_empty() {
                held.remove(name);
            }
        }
    }

    /// Closes every socket (the daemon is shutting down; unix socket files are removed).
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The sockets held for `spec` as `ls` shows them, without binding anything.
    pub fn shown(&self, spec: &ProcessSpec) -> Vec<String> {
        let wanted = spec.sockets();
        if wanted.is_empty() {
            return Vec::new();
        }
        let held = self.lock();
        let mine = held.get(&spec.name);
        let sockets = wanted
            .into_iter()
            .filter_map(|w| {
                let (_, socket) = mine?.iter().find(|(asked, _)| *asked == w.address)?;
                Some((
                    w.name.unwrap_or_else(|| default_name(&spec.name)),
                    Arc::clone(socket),
                ))
            })
            .collect();
        SocketSet { sockets }.shown(&spec.name)
    }
}

/// Binds `address`; an IPv6 wildcard falls back to IPv4's on a host without IPv6, as Node's
/// `listen(PORT)` does.
fn bind_one(address: &ListenAddress) -> Result<Arc<BoundSocket>, String> {
    let bound = match bind::bind_listener(address) {
        Err(err) if is_v6_any(address) => {
            let v4 = ListenAddress::Tcp(std::net::SocketAddr::new(
                std::net::Ipv4Addr::UNSPECIFIED.into(),
                address.port().unwrap_or(0),
            ));
            bind::bind_listener(&v4).map_err(|_| err)?
        }
        other => other?,
    };
    let (fd, address) = bound;
    Ok(Arc::new(BoundSocket { address, fd }))
}

fn is_v6_any(address: &ListenAddress) -> bool {
    matches!(address, ListenAddress::Tcp(a) if a.ip() == std::net::Ipv6Addr::UNSPECIFIED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    fn spec(name: &str, listen: &[&str]) -> ProcessSpec {
        ProcessSpec {
            name: name.into(),
            listen: listen
                .iter()
                .map(|l| l.parse().expect("a listen address"))
                .collect(),
            ..Default::default()
        }
    }

    fn port_of(set: &SocketSet, i: usize) -> u16 {
        set.sockets[i].1.address.port().expect("tcp")
    }

    #[test]
    fn sockets_are_bound_once_and_shared_by_every_run() {
        let table = SocketTable::default();
        let app = spec("web", &["tcp://127.0.0.1:0", "admin=tcp://127.0.0.1:0"]);
        let first = table.acquire(&app).expect("binds");
        let again = table.acquire(&app).expect("reuses");
        assert_eq!(first.fds(), again.fds(), "the same sockets, not new ones");
        let port = port_of(&first, 0);
        assert_ne!(port, 0, "the kernel's port is shown");
        TcpStream::connect(("127.0.0.1", port)).expect("the socket listens");
        let env: HashMap<_, _> = first.env().into_iter().collect();
        assert_eq!(env["LISTEN_FDS"], "2");
        assert_eq!(env["LISTEN_FDNAMES"], "web:admin");
        assert!(env["PMTUI_LISTEN"].contains(&format!("127.0.0.1:{port}")));
        let shown = table.shown(&app);
        assert_eq!(shown[0], format!("tcp://127.0.0.1:{port}"));
        assert!(shown[1].starts_with("admin=tcp://127.0.0.1:"));
    }

    #[test]
    fn a_taken_port_is_a_clear_error_and_release_closes() {
        let table = SocketTable::default();
        let first = table
            .acquire(&spec("a", &["tcp://127.0.0.1:0"]))
            .expect("binds");
        let port = port_of(&first, 0);
        drop(first);
        let taken = format!("tcp://127.0.0.1:{port}");
        let err = table
            .acquire(&spec("b", &[&taken]))
            .err()
            .expect("the port is held by app a");
        assert!(err.contains("already in use"), "{err}");
        table.retain("a", &[]);
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "released sockets are closed"
        );
        table
            .acquire(&spec("b", &[&taken]))
            .expect("free again, and SO_REUSEADDR binds it at once");
    }

    #[test]
    fn unix_sockets_replace_stale_files_and_remove_theirs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("run/app.sock");
        let listen = format!("unix:{}", path.display());
        let table = SocketTable::default();
        let app = spec("u", &[&listen]);
        let set = table.acquire(&app).expect("binds, creating the folder");
        std::os::unix::net::UnixStream::connect(&path).expect("listens");
        let other = SocketTable::default();
        let err = other
            .acquire(&spec("v", &[&listen]))
            .err()
            .expect("a live socket is not taken over");
        assert!(err.contains("in use"), "{err}");
        drop(set);
        table.retain("u", &[]);
        assert!(!path.exists(), "the file goes with the socket");
        // What a killed daemon leaves: a socket file nobody listens on.
        drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
        assert!(path.exists());
        table
            .acquire(&app)
            .expect("a stale socket file is replaced");
        table.retain("u", &[]);
        std::fs::write(&path, "not a socket").expect("write");
        let err = table.acquire(&app).err().expect("a file is not replaced");
        assert!(err.contains("not a socket"), "{err}");
    }
}
