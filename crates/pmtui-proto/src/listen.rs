//! Listening sockets the daemon holds for an app (`listen` in files, `--listen` on `start`):
//! the address forms users write, parsed once here so that the CLI, the config reader and
//! the daemon agree. On the wire an entry is its text form (`web=tcp://127.0.0.1:3000`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// One socket to bind: an optional name (systemd's `LISTEN_FDNAMES`) and an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ListenSpec {
    /// The name the app sees in `LISTEN_FDNAMES`; `None` means the app's own name.
    pub name: Option<String>,
    pub address: ListenAddress,
}

/// Where a socket listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListenAddress {
    /// A TCP stream socket; port 0 lets the kernel pick a free port when it is bound.
    Tcp(SocketAddr),
    /// A Unix stream socket at an absolute path.
    Unix(PathBuf),
}

impl ListenAddress {
    /// The TCP port, for a TCP address.
    pub fn port(&self) -> Option<u16> {
        match self {
            Self::Tcp(addr) => Some(addr.port()),
            Self::Unix(_) => None,
        }
    }
}

impl fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(addr) => write!(f, "tcp://{addr}"),
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

impl fmt::Display for ListenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            write!(f, "{name}=")?;
        }
        write!(f, "{}", self.address)
    }
}

impl From<ListenSpec> for String {
    fn from(spec: ListenSpec) -> Self {
        spec.to_string()
    }
}

impl TryFrom<String> for ListenSpec {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl FromStr for ListenSpec {
    type Err = String;

    /// `tcp://127.0.0.1:3000`, `tcp://[::]:8080`, `tcp://localhost:3000`, `3000` (every
    /// address, IPv6 and IPv4), `unix:/run/app.sock`, each optionally `name=` first.
    /// A relative unix path is kept relative here; `ListenSpec::resolve` anchors it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (name, address) = match text.split_once('=') {
            Some((name, rest)) if !name.contains(':') && !name.contains('/') => {
                check_name(name)?;
                (Some(name.to_string()), rest)
            }
            _ => (None, text),
        };
        Ok(Self {
            name,
            address: parse_address(address)?,
        })
    }
}

impl ListenSpec {
    /// A relative unix path made absolute against `dir` (the app's working directory).
    pub fn resolve(mut self, dir: &Path) -> Self {
        if let ListenAddress::Unix(path) = &self.address
            && path.is_relative()
        {
            self.address = ListenAddress::Unix(dir.join(path));
        }
        self
    }
}

/// What a socket name may hold: systemd refuses `:` (the separator) and control characters;
/// a short plain word keeps it readable in every language's helper.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "socket name {name:?} may only use letters, digits, `_`, `-` and `.`"
        ))
    }
}

fn parse_address(text: &str) -> Result<ListenAddress, String> {
    let expected = "expected tcp://HOST:PORT (HOST an IP address, [::] for IPv6, or \
                    localhost), a bare PORT, or unix:/PATH";
    if let Some(path) = text.strip_prefix("unix:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(format!("{text:?} has no path; {expected}"));
        }
        if path.starts_with('@') {
            return Err(format!(
                "{text:?}: abstract unix sockets are not supported; give a file path"
            ));
        }
        return Ok(ListenAddress::Unix(PathBuf::from(path)));
    }
    if let Ok(port) = text.parse::<u16>() {
        return Ok(ListenAddress::Tcp(SocketAddr::new(
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            port,
        )));
    }
    let Some(rest) = text.strip_prefix("tcp://") else {
        return Err(format!("{text:?} is not a listen address; {expected}"));
    };
    let rest = rest.trim_end_matches('/');
    if let Ok(addr) = rest.parse::<SocketAddr>() {
        return Ok(ListenAddress::Tcp(addr));
    }
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("{text:?} has no port; {expected}"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{text:?}: {port:?} is not a port number (0-65535)"))?;
    let ip = match host {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        "" | "*" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        other => other.parse().map_err(|_| {
            format!("{text:?}: {other:?} is not an IP address (host names are not resolved)")
        })?,
    };
    Ok(ListenAddress::Tcp(SocketAddr::new(ip, port)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ListenSpec, String> {
        text.parse()
    }

    #[test]
    fn the_address_forms_parse_and_print_back() {
        for (given, shown) in [
            ("tcp://127.0.0.1:3000", "tcp://127.0.0.1:3000"),
            ("tcp://[::]:8080", "tcp://[::]:8080"),
            ("tcp://localhost:3000", "tcp://127.0.0.1:3000"),
            ("tcp://:3000", "tcp://[::]:3000"),
            ("3000", "tcp://[::]:3000"),
            ("unix:/run/app.sock", "unix:/run/app.sock"),
            ("unix:///run/app.sock", "unix:/run/app.sock"),
            ("web=tcp://0.0.0.0:80", "web=tcp://0.0.0.0:80"),
            ("admin=unix:/tmp/a.sock", "admin=unix:/tmp/a.sock"),
        ] {
            let spec = parse(given).unwrap_or_else(|e| panic!("{given}: {e}"));
            assert_eq!(spec.to_string(), shown, "{given}");
            assert_eq!(parse(shown), Ok(spec), "{shown} round-trips");
        }
    }

    #[test]
    fn bad_addresses_say_what_is_expected() {
        for bad in [
            "http://127.0.0.1:80",
            "tcp://example.com:80",
            "tcp://127.0.0.1",
            "tcp://127.0.0.1:99999",
            "unix:",
            "unix:@abstract",
            "bad name=tcp://127.0.0.1:1",
            "",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(parse("tcp://127.0.0.1").is_err_and(|e| e.contains("no port")));
    }

    #[test]
    fn relative_unix_paths_resolve_against_the_app_dir() {
        let spec = parse("unix:run/app.sock")
            .expect("parses")
            .resolve(Path::new("/srv/app"));
        assert_eq!(spec.to_string(), "unix:/srv/app/run/app.sock");
    }

    #[test]
    fn on_the_wire_an_entry_is_its_text() {
        let spec = parse("web=tcp://127.0.0.1:3000").expect("parses");
        let json = serde_json::to_string(&spec).expect("serializes");
        assert_eq!(json, "\"web=tcp://127.0.0.1:3000\"");
        let back: ListenSpec = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, spec);
        assert!(serde_json::from_str::<ListenSpec>("\"nonsense\"").is_err());
    }
}
