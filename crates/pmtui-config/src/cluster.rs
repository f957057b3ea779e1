//! Advice about instances and ports, shared by `pmtui start` and ecosystem files: several
//! instances that would all bind one port without a socket the daemon holds, or a cluster
//! mode that has nothing to share.

use pmtui_proto::{ExecMode, ProcessSpec};

/// What is likely wrong with how `spec`'s instances share (or fail to share) a port.
pub fn warnings(spec: &ProcessSpec) -> Vec<String> {
    let mut out = Vec::new();
    let holds_sockets = !spec.sockets().is_empty();
    let own_ports = spec.increment_var.as_deref() == Some("PORT");
    let port = spec.env.get("PORT").filter(|p| !p.trim().is_empty());
    if spec.instances > 1
        && !holds_sockets
        && !own_ports
        && let Some(port) = port
    {
        out.push(format!(
            "{name}: its {n} instances all get PORT={port} but hold no shared socket, so only \
             one can bind it and the others fail with \"address in use\". Let the daemon hold \
             the port: `listen: tcp://0.0.0.0:{port}` (or `--listen tcp://0.0.0.0:{port}`) and \
             accept on the socket at fd 3 (LISTEN_FDS, as systemd passes it); or give each \
             instance its own port with `increment_var: PORT`",
            name = spec.name,
            n = spec.instances,
        ));
    }
    if spec.node_cluster() && !holds_sockets && !own_ports {
        out.push(format!(
            "{}: Node cluster mode shares the port the app listens on, but no PORT is set and \
             there is no `listen`; set PORT (`--env PORT=3000` or `port: 3000`) to the port the \
             app passes to listen(), or `listen: tcp://0.0.0.0:3000`",
            spec.name
        ));
    }
    if spec.exec_mode == Some(ExecMode::Cluster) && !spec.is_node() && !holds_sockets {
        out.push(format!(
            "{}: exec_mode cluster shares the sockets in `listen`, and it has none; its \
             instances run as independent copies",
            spec.name
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(interpreter: &str, instances: u32, port: Option<&str>) -> ProcessSpec {
        ProcessSpec {
            name: "web".into(),
            script: "/srv/app".into(),
            interpreter: Some(interpreter.into()),
            instances,
            env: port
                .map(|p| [("PORT".to_string(), p.to_string())].into())
                .unwrap_or_default(),
            ..Default::default()
        }
    }

    #[test]
    fn several_instances_on_one_port_without_a_socket_are_warned_about() {
        let w = warnings(&spec("python3", 3, Some("3300")));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("PORT=3300") && w[0].contains("listen"),
            "{w:?}"
        );
        let mut with_listen = spec("python3", 3, Some("3300"));
        with_listen.listen = vec!["tcp://0.0.0.0:3300".parse().expect("parses")];
        assert!(warnings(&with_listen).is_empty());
        let mut own = spec("python3", 3, Some("3300"));
        own.increment_var = Some("PORT".into());
        assert!(warnings(&own).is_empty());
        assert!(warnings(&spec("python3", 1, Some("3300"))).is_empty());
        assert!(warnings(&spec("python3", 3, None)).is_empty());
    }

    #[test]
    fn node_cluster_shares_its_port_and_says_so_without_one() {
        let node = spec("node", 3, Some("3300"));
        assert!(node.node_cluster() && !node.sockets().is_empty());
        assert!(warnings(&node).is_empty());
        let w = warnings(&spec("node", 2, None));
        assert!(w.len() == 1 && w[0].contains("no PORT"), "{w:?}");
    }
}
