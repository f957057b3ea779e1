//! Binding one listening socket the way systemd's socket units do: `SO_REUSEADDR` (a port
//! left in TIME_WAIT by an earlier run binds again), the kernel's largest backlog (so that
//! connections wait there while no instance accepts), close-on-exec in the daemon (children
//! get their own copies at fd 3…). A stale unix socket file is replaced, a live one is not.

use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrIn, SockaddrIn6, SockaddrStorage, UnixAddr,
    bind, connect, getsockname, listen, setsockopt, socket, sockopt,
};
use pmtui_proto::ListenAddress;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// Binds and listens on `address`; returns the socket and the address it got (the port the
/// kernel chose for port 0).
pub(super) fn bind_listener(address: &ListenAddress) -> Result<(OwnedFd, ListenAddress), String> {
    match address {
        ListenAddress::Tcp(addr) => bind_tcp(*addr),
        ListenAddress::Unix(path) => bind_unix(path).map(|fd| (fd, address.clone())),
    }
}

fn bind_tcp(addr: SocketAddr) -> Result<(OwnedFd, ListenAddress), String> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    let fd = socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| format!("cannot create a socket: {}", e.desc()))?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)
        .map_err(|e| format!("cannot set SO_REUSEADDR: {}", e.desc()))?;
    let result = match addr {
        SocketAddr::V4(v4) => bind(fd.as_raw_fd(), &SockaddrIn::from(v4)),
        SocketAddr::V6(v6) => bind(fd.as_raw_fd(), &SockaddrIn6::from(v6)),
    };
    result.map_err(|e| bind_error(e, &addr.to_string(), Some(addr.port())))?;
    listen(&fd, Backlog::MAXCONN).map_err(|e| format!("cannot listen: {}", e.desc()))?;
    let bound = getsockname::<SockaddrStorage>(fd.as_raw_fd())
        .ok()
        .and_then(|s| {
            s.as_sockaddr_in6()
                .map(|a| SocketAddr::V6((*a).into()))
                .or_else(|| s.as_sockaddr_in().map(|a| SocketAddr::V4((*a).into())))
        })
        .unwrap_or(addr);
    Ok((fd, ListenAddress::Tcp(bound)))
}

fn bind_unix(path: &Path) -> Result<OwnedFd, String> {
    let addr = UnixAddr::new(path).map_err(|e| format!("bad socket path: {}", e.desc()))?;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if is_live(&addr) {
                return Err(format!(
                    "{} is in use: another program listens on it",
                    path.display()
                ));
            }
            // What a process (or a daemon killed before it could clean up) left behind.
            std::fs::remove_file(path)
                .map_err(|e| format!("cannot remove the stale socket file: {e}"))?;
        }
        Ok(_) => {
            return Err(format!(
                "{} exists and is not a socket; remove it or choose another path",
                path.display()
            ));
        }
        Err(_) => {}
    }
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| format!("cannot create a socket: {}", e.desc()))?;
    bind(fd.as_raw_fd(), &addr).map_err(|e| bind_error(e, &path.display().to_string(), None))?;
    listen(&fd, Backlog::MAXCONN).map_err(|e| format!("cannot listen: {}", e.desc()))?;
    Ok(fd)
}

/// Whether a program accepts connections on the unix socket `addr`.
fn is_live(addr: &UnixAddr) -> bool {
    let Ok(fd) = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    ) else {
        return false;
    };
    connect(fd.as_raw_fd(), addr).is_ok()
}

fn bind_error(err: nix::Error, what: &str, port: Option<u16>) -> String {
    match err {
        nix::Error::EADDRINUSE => match port {
            Some(port) => format!(
                "{what} is already in use by another program (`ss -ltnp 'sport = {port}'` \
                 shows which); stop it or choose another port"
            ),
            None => format!("{what} is already in use"),
        },
        nix::Error::EACCES => match port {
            Some(port) if port < 1024 => "permission denied: ports below 1024 need root or \
                                           CAP_NET_BIND_SERVICE; choose a port of 1024 or more"
                .to_string(),
            _ => format!("permission denied binding {what}"),
        },
        nix::Error::EADDRNOTAVAIL => {
            format!("{what} is not an address of this machine")
        }
        other => format!("cannot bind {what}: {}", other.desc()),
    }
}
