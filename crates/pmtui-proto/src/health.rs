//! The vocabulary of readiness and health: whether a run is ready (DESIGN's "one
//! definition": its first passing health probe; else, with `wait_ready`, the app's own
//! signal, sd_notify `READY=1` or Node's `process.send('ready')`; else started), and what
//! the health probes found.

use serde::{Deserialize, Serialize};

/// Where the current run is on its way to ready; `None` in a row means nothing runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Readiness {
    /// Launched, not ready yet: waiting for its first passing probe or its ready signal.
    Pending,
    /// Ready: from now on `depends_on`, `pmtui start <file>` and rolling reloads count on it.
    Ready,
    /// `wait_ready` waited `listen_timeout` without a signal. The process runs (status
    /// `online`, as pm2 has it) but is not ready; a later signal still makes it ready.
    Timeout,
}

impl Readiness {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "ready",
            Self::Timeout => "timeout",
        }
    }
}

/// The health a process's probe reports; a process without a probe has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// No probe has passed yet and fewer than `retries` have failed in a row.
    Starting,
    /// The last probe passed (or fewer than `retries` have failed since).
    Healthy,
    /// `retries` probes failed in a row.
    Unhealthy,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        }
    }

    /// The value of the `pmtui_process_health` Prometheus gauge: 1 healthy, 0 unhealthy,
    /// 0.5 starting.
    pub fn gauge(self) -> f64 {
        match self {
            Self::Healthy => 1.0,
            Self::Starting => 0.5,
            Self::Unhealthy => 0.0,
        }
    }
}

/// The last probe's result, kept in the row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    /// When the probe finished (ms since the Unix epoch).
    pub at: u64,
    pub ok: bool,
    /// What it found, in a few words: `GET /health → 200`, `connected to 127.0.0.1:8000`,
    /// `exit 0: <first output line>`, `timed out after 2s`, `connection refused`.
    pub message: String,
    /// How long it took, ms.
    pub duration_ms: u64,
    /// Failures in a row, this one included (0 after a pass).
    pub failures: u32,
}

/// A health check of a process, run by the daemon (`health_check:` in files,
/// `--health-*` on the command line). Durations in ms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthCheck {
    /// How to probe.
    #[serde(rename = "type")]
    pub kind: ProbeKind,
    /// `http`: the URL to GET (`http://` only).
    pub url: Option<String>,
    /// `tcp`: the host to connect to (default 127.0.0.1).
    pub host: Option<String>,
    /// `tcp`: the port to connect to.
    pub port: Option<u16>,
    /// `exec`: a command line run by `sh -c` in the app's working directory and environment.
    pub command: Option<String>,
    /// Time between the starts of two probes.
    pub interval_ms: u64,
    /// A probe that takes longer fails (an exec probe's process tree is killed).
    pub timeout_ms: u64,
    /// Failures in a row that make the process unhealthy.
    pub retries: u32,
    /// Wait this long after the start before the first probe.
    pub initial_delay_ms: u64,
    /// What an unhealthy process gets.
    pub on_failure: OnFailure,
    /// `http`: the statuses that pass, as inclusive ranges; empty means 200–399.
    pub expected_status: Vec<(u16, u16)>,
}

pub const DEFAULT_PROBE_INTERVAL_MS: u64 = 5000;
pub const DEFAULT_PROBE_TIMEOUT_MS: u64 = 2000;
pub const DEFAULT_PROBE_RETRIES: u32 = 3;

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            kind: ProbeKind::Http,
            url: None,
            host: None,
            port: None,
            command: None,
            interval_ms: DEFAULT_PROBE_INTERVAL_MS,
            timeout_ms: DEFAULT_PROBE_TIMEOUT_MS,
            retries: DEFAULT_PROBE_RETRIES,
            initial_delay_ms: 0,
            on_failure: OnFailure::Restart,
            expected_status: Vec::new(),
        }
    }
}

impl HealthCheck {
    /// Whether an HTTP status passes.
    pub fn status_passes(&self, status: u16) -> bool {
        if self.expected_status.is_empty() {
            return (200..400).contains(&status);
        }
        self.expected_status
            .iter()
            .any(|(from, to)| (*from..=*to).contains(&status))
    }

    /// What is wrong with the check, if anything: what its type needs, sane durations.
    pub fn problem(&self) -> Option<String> {
        match self.kind {
            ProbeKind::Http => match self.url.as_deref() {
                None => return Some("an http check needs a url".into()),
                Some(url) if url.trim().starts_with("https://") => {
                    let url = url.trim();
                    return Some(format!(
                        "{url}: the built-in probe speaks plain http; probe the app's http port, \
                         or use an exec check (`curl -fsS {url}`)"
                    ));
                }
                Some(url) => {
                    if let Err(why) = HttpTarget::parse(url) {
                        return Some(why);
                    }
                }
            },
            ProbeKind::Tcp => {
                if self.port.is_none_or(|p| p == 0) {
                    return Some("a tcp check needs a port (1-65535)".into());
                }
            }
            ProbeKind::Exec => {
                if self.command.as_deref().is_none_or(|c| c.trim().is_empty()) {
                    return Some("an exec check needs a command".into());
                }
            }
        }
        if self.interval_ms == 0 {
            return Some("the interval must be more than 0".into());
        }
        if self.timeout_ms == 0 {
            return Some("the timeout must be more than 0".into());
        }
        if self.retries == 0 {
            return Some("retries must be at least 1".into());
        }
        None
    }

    /// How the probe is named in messages: `GET /health`, `tcp 127.0.0.1:8000`,
    /// `exec ./check.sh`.
    pub fn describe(&self) -> String {
        match self.kind {
            ProbeKind::Http => match self.url.as_deref().map(HttpTarget::parse) {
                Some(Ok(target)) => format!("GET {}", target.path),
                _ => "GET".into(),
            },
            ProbeKind::Tcp => format!("tcp {}:{}", self.tcp_host(), self.port.unwrap_or(0)),
            ProbeKind::Exec => format!("exec {}", self.command.as_deref().unwrap_or_default()),
        }
    }

    /// The host of a tcp check.
    pub fn tcp_host(&self) -> &str {
        self.host.as_deref().unwrap_or("127.0.0.1")
    }
}

/// The kinds of probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    /// Healthy on an expected status (2xx/3xx by default).
    #[default]
    Http,
    /// Healthy when a connection opens.
    Tcp,
    /// Healthy when the command exits 0.
    #[serde(alias = "command", alias = "cmd")]
    Exec,
}

impl ProbeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Tcp => "tcp",
            Self::Exec => "exec",
        }
    }
}

/// What an unhealthy process gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Restarted (recorded as `health check`), through the restart policy like a crash.
    #[default]
    Restart,
    /// Left running, shown `unhealthy`.
    None,
}

/// The parts of an `http://host:port/path` URL (or `https://`, for webhooks) a request
/// needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTarget {
    /// As written (an IPv6 address without its brackets).
    pub host: String,
    pub port: u16,
    /// The path and query, `/` when none.
    pub path: String,
    /// `https://`: the request goes over TLS.
    pub tls: bool,
}

impl HttpTarget {
    /// Parses `http://host[:port][/path][?query]`; other schemes are refused with a hint.
    /// Probes and metric scrapes use this: they speak plain http only.
    pub fn parse(url: &str) -> Result<Self, String> {
        let trimmed = url.trim();
        if trimmed.starts_with("https://") {
            return Err(format!(
                "{trimmed}: plain http only here (TLS is built in for webhooks alone)"
            ));
        }
        Self::parse_any(url)
    }

    /// Parses an `http://` or `https://` URL (port 443 by default for https): what a
    /// webhook may be.
    pub fn parse_any(url: &str) -> Result<Self, String> {
        let url = url.trim();
        let (rest, tls) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
            (Some(rest), _) => (rest, false),
            (None, Some(rest)) => (rest, true),
            (None, None) => return Err(format!("{url}: not an http:// or https:// URL")),
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        if authority.contains('@') {
            return Err(format!("{url}: credentials in the URL are not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{url}: unclosed [ in the host"))?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(format!("{url}: no host"));
        }
        let port = match port {
            None if tls => 443,
            None => 80,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("{url}: {p:?} is not a port"))?,
        };
        if path.chars().any(|c| c.is_control() || c == ' ') {
            return Err(format!(
                "{url}: the path holds spaces or control characters"
            ));
        }
        Ok(Self {
            host: host.to_string(),
            port,
            path,
            tls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls_parse_into_host_port_and_path() {
        let t = HttpTarget::parse("http://127.0.0.1:8000/health?full=1").expect("url");
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("127.0.0.1", 8000, "/health?full=1")
        );
        let t = HttpTarget::parse("http://localhost").expect("url");
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("localhost", 80, "/")
        );
        let t = HttpTarget::parse("http://[::1]:9/x").expect("url");
        assert_eq!((t.host.as_str(), t.port), ("::1", 9));
        let t = HttpTarget::parse("http://h:1?q").expect("url");
        assert_eq!(t.path, "/?q");
        for bad in [
            "https://a/",
            "ftp://a",
            "http://:80/",
            "http://a:0/",
            "http://a:x/",
            "http://u@a/",
            "http://a/b c",
        ] {
            assert!(HttpTarget::parse(bad).is_err(), "{bad}");
        }
        // The parser serves webhooks and metrics_url too: only the probe's check says how
        // to probe an https app.
        let https = HttpTarget::parse("https://a/").expect_err("https");
        assert!(
            https.contains("plain http") && !https.contains("probe"),
            "{https}"
        );
        let t = HttpTarget::parse_any("https://hooks.example/x").expect("https");
        assert_eq!((t.port, t.path.as_str(), t.tls), (443, "/x", true));
        assert!(!HttpTarget::parse_any("http://a/").expect("http").tls);
        assert!(HttpTarget::parse_any("ftp://a").is_err());
        let check = HealthCheck {
            kind: ProbeKind::Http,
            url: Some("https://a/".into()),
            ..Default::default()
        };
        let problem = check.problem().unwrap_or_default();
        assert!(problem.contains("exec check"), "{problem}");
    }

    #[test]
    fn statuses_pass_by_default_or_as_configured() {
        let mut check = HealthCheck::default();
        assert!(check.status_passes(200) && check.status_passes(302));
        assert!(!check.status_passes(404) && !check.status_passes(503));
        check.expected_status = vec![(503, 503), (200, 204)];
        assert!(check.status_passes(503) && check.status_passes(204));
        assert!(!check.status_passes(302));
    }

    #[test]
    fn a_check_says_what_it_lacks() {
        let http = HealthCheck::default();
        assert!(http.problem().is_some_and(|p| p.contains("url")));
        let tcp = HealthCheck {
            kind: ProbeKind::Tcp,
            port: Some(8000),
            ..HealthCheck::default()
        };
        assert_eq!(tcp.problem(), None);
        assert_eq!(tcp.describe(), "tcp 127.0.0.1:8000");
        let exec = HealthCheck {
            kind: ProbeKind::Exec,
            command: Some("true".into()),
            retries: 0,
            ..HealthCheck::default()
        };
        assert!(exec.problem().is_some_and(|p| p.contains("retries")));
    }
}

/// An expected HTTP status as users write it: `503`, `"2xx"`, `"200-299"`.
pub fn parse_status_range(text: &str) -> Result<(u16, u16), String> {
    let text = text.trim();
    let code = |s: &str| {
        s.trim()
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=999).contains(c))
    };
    let bad = || format!("{text:?} is not a status: write 503, \"2xx\" or \"200-299\"");
    if let Some(first) = text.strip_suffix("xx").or_else(|| text.strip_suffix("XX")) {
        let d = first
            .parse::<u16>()
            .ok()
            .filter(|d| (1..=9).contains(d))
            .ok_or_else(bad)?;
        return Ok((d * 100, d * 100 + 99));
    }
    match text.split_once('-') {
        Some((from, to)) => match (code(from), code(to)) {
            (Some(from), Some(to)) if from <= to => Ok((from, to)),
            _ => Err(bad()),
        },
        None => code(text).map(|c| (c, c)).ok_or_else(bad),
    }
}

#[cfg(test)]
mod status_range_tests {
    use super::parse_status_range;

    #[test]
    fn ranges_parse() {
        assert_eq!(parse_status_range("503"), Ok((503, 503)));
        assert_eq!(parse_status_range("2xx"), Ok((200, 299)));
        assert_eq!(parse_status_range(" 200-204 "), Ok((200, 204)));
        for bad in ["", "20", "1000", "0xx", "300-200", "abc", "2x"] {
            assert!(parse_status_range(bad).is_err(), "{bad}");
        }
    }
}
