//! Several daemons in one UI: which host a row comes from, and how each host's connection
//! stands. The data layer (`fleet`) gives the process with id `n` on host `h` the UI id
//! `h * STRIDE + n`, so the model keys rows by one number as it does with one host, and the
//! host of any row (for routing and the HOST column) is arithmetic, with no table to keep in
//! step. With one host nothing is renumbered and `Hosts` is empty: the UI is today's.

use crate::app::Conn;
use pmtui_proto::ProcessId;

/// A host's place in the list given on the command line.
pub type HostIx = usize;

/// Ids a daemon may use before its rows no longer fit beside another host's. Daemons number
/// processes from 0 upwards; one that has added 16 million has its newer rows left out (and
/// logged) rather than mixed with another host's.
pub const STRIDE: u32 = 1 << 24;

/// Hosts one UI can show (`STRIDE` times this stays within a `u32`).
pub const MAX_HOSTS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostState {
    /// `local`, or `ssh://…`.
    pub label: String,
    pub conn: Conn,
}

#[derive(Debug, Default, Clone)]
pub struct Hosts {
    /// Empty with one host.
    pub list: Vec<HostState>,
}

impl Hosts {
    /// The hosts of a several-host UI, all connecting.
    pub fn many(labels: impl IntoIterator<Item = String>) -> Self {
        Self {
            list: labels
                .into_iter()
                .map(|label| HostState {
                    label,
                    conn: Conn::Connecting,
                })
                .collect(),
        }
    }

    /// Whether rows carry a host (several hosts in one UI).
    pub fn is_multi(&self) -> bool {
        self.list.len() > 1
    }

    /// The UI id of process `id` of `host`; `None` when it does not fit (see `STRIDE`).
    pub fn ui_id(host: HostIx, id: ProcessId) -> Option<ProcessId> {
        let host = u32::try_from(host).ok()?;
        (id < STRIDE)
            .then(|| host.checked_mul(STRIDE)?.checked_add(id))
            .flatten()
    }

    /// The host and the daemon's own id of a UI id.
    pub fn split(id: ProcessId) -> (HostIx, ProcessId) {
        ((id / STRIDE) as HostIx, id % STRIDE)
    }

    /// The host of a row, with several hosts.
    pub fn host_of(&self, id: ProcessId) -> Option<HostIx> {
        self.is_multi().then(|| Self::split(id).0)
    }

    /// The id the row's daemon knows it by (what `pmtui --host … restart N` takes).
    pub fn shown_id(&self, id: ProcessId) -> ProcessId {
        if self.is_multi() {
            Self::split(id).1
        } else {
            id
        }
    }

    pub fn state_of(&self, id: ProcessId) -> Option<&HostState> {
        self.list.get(self.host_of(id)?)
    }

    /// The host's label of a row, with several hosts.
    pub fn label_of(&self, id: ProcessId) -> Option<&str> {
        self.state_of(id).map(|h| h.label.as_str())
    }

    /// The host's name alone (`web1` for `ssh://deploy@web1:2222`), where room is short:
    /// the merged log lines.
    pub fn short_of(&self, id: ProcessId) -> Option<&str> {
        let label = self.label_of(id)?;
        let rest = label.strip_prefix("ssh://").unwrap_or(label);
        let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        Some(match rest.strip_prefix('[') {
            Some(v6) => v6.split_once(']').map_or(v6, |(host, _)| host),
            None => rest.split_once(':').map_or(rest, |(host, _)| host),
        })
    }

    /// Whether the row's host is not connected now (its row shows the last state known).
    pub fn is_down(&self, id: ProcessId) -> bool {
        self.state_of(id)
            .is_some_and(|h| !matches!(h.conn, Conn::Up { .. }))
    }

    pub fn set(&mut self, host: HostIx, conn: Conn) {
        if let Some(h) = self.list.get_mut(host) {
            h.conn = conn;
        }
    }

    pub fn up(&self) -> usize {
        self.list
            .iter()
            .filter(|h| matches!(h.conn, Conn::Up { .. }))
            .count()
    }

    /// Hosts that were reached and then lost, or never reached, with why.
    pub fn down(&self) -> impl Iterator<Item = (&str, &str)> {
        self.list.iter().filter_map(|h| match &h.conn {
            Conn::Down(why) => Some((h.label.as_str(), why.as_str())),
            _ => None,
        })
    }

    /// The longest label, for the HOST column.
    pub fn widest(&self) -> usize {
        self.list
            .iter()
            .map(|h| h.label.chars().count())
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_refuse_what_does_not_fit() {
        assert_eq!(Hosts::ui_id(0, 7), Some(7));
        assert_eq!(Hosts::ui_id(2, 7), Some(2 * STRIDE + 7));
        assert_eq!(Hosts::split(2 * STRIDE + 7), (2, 7));
        assert_eq!(Hosts::ui_id(1, STRIDE), None);
        assert_eq!(Hosts::ui_id(MAX_HOSTS - 1, STRIDE - 1), Some(u32::MAX));
        assert_eq!(Hosts::ui_id(MAX_HOSTS, 0), None);
    }

    #[test]
    fn one_host_keeps_ids_and_has_no_column() {
        let one = Hosts::default();
        assert!(!one.is_multi());
        assert_eq!(one.shown_id(STRIDE + 3), STRIDE + 3);
        assert_eq!(one.label_of(3), None);
        let two = Hosts::many(["local".to_string(), "ssh://b".to_string()]);
        assert_eq!(two.shown_id(STRIDE + 3), 3);
        assert_eq!(two.label_of(STRIDE + 3), Some("ssh://b"));
        assert!(two.is_down(3));
        let three = Hosts::many(
            ["local", "ssh://deploy@web1:2222", "ssh://[::1]:22"]
                .into_iter()
                .map(String::from),
        );
        assert_eq!(three.short_of(0), Some("local"));
        assert_eq!(three.short_of(STRIDE), Some("web1"));
        assert_eq!(three.short_of(2 * STRIDE), Some("::1"));
    }
}
