//! Docker Compose: one `compose.yaml`, a service per app. A process is not an image: each
//! service gets an image placeholder to replace with one that holds the program.

use super::{File, common_notes, header, image, tcp_ports, yaml_str};
use pmtui_proto::health::ProbeKind;
use pmtui_proto::{ProcessSpec, RestartMode};

pub fn file(specs: &[ProcessSpec]) -> File {
    let mut notes = Vec::new();
    let mut body = String::from("services:\n");
    for spec in specs {
        let mut app_notes = common_notes(spec);
        let (image, image_note) = image(spec, "    ");
        app_notes.push(image_note);
        let name = service_name(&spec.name);
        body.push_str(&format!("  {name}:\n"));
        body.push_str(&image);
        let (program, args) = spec.argv();
        let argv: Vec<String> = std::iter::once(program)
            .chain(args)
            .map(|w| yaml_str(&w))
            .collect();
        body.push_str(&format!("    command: [{}]\n", argv.join(", ")));
        body.push_str(&format!(
            "    working_dir: {}\n",
            yaml_str(&spec.cwd.display().to_string())
        ));
        if !spec.config_env.is_empty() {
            body.push_str("    environment:\n");
            for (key, value) in &spec.config_env {
                body.push_str(&format!("      {}: {}\n", yaml_str(key), yaml_str(value)));
            }
        }
        let restart = match spec.restart.mode {
            RestartMode::Always => "always",
            RestartMode::OnFailure => "on-failure",
            RestartMode::No => "no",
        };
        body.push_str(&format!("    restart: {}\n", yaml_str(restart)));
        if let Some(uid) = &spec.uid {
            let user = match &spec.gid {
                Some(gid) => format!("{uid}:{gid}"),
                None => uid.clone(),
            };
            body.push_str(&format!("    user: {}\n", yaml_str(&user)));
        }
        body.push_str(&format!(
            "    stop_signal: {}\n",
            yaml_str(&spec.stop_signal)
        ));
        body.push_str(&format!(
            "    stop_grace_period: {}\n",
            yaml_str(&format!("{}ms", spec.kill_timeout_ms))
        ));
        let ports = tcp_ports(spec);
        if ports.len() < spec.listen.len() {
            app_notes.push("listen on a unix socket: not published".into());
        }
        if !ports.is_empty() {
            app_notes.push(
                "listen: the ports are published; the app must bind them itself (no LISTEN_FDS)"
                    .into(),
            );
            body.push_str("    ports:\n");
            for port in ports {
                body.push_str(&format!(
                    "      - {}\n",
                    yaml_str(&format!("{port}:{port}"))
                ));
            }
        }
        if let Some(check) = &spec.health_check {
            let test = match check.kind {
                ProbeKind::Http => format!(
                    "curl -fsS {} >/dev/null || exit 1",
                    super::shell_quote(check.url.as_deref().unwrap_or("http://127.0.0.1/"))
                ),
                ProbeKind::Tcp => format!(
                    "nc -z {} {} || exit 1",
                    check.host.as_deref().unwrap_or("127.0.0.1"),
                    check.port.unwrap_or(0)
                ),
                ProbeKind::Exec => check.command.clone().unwrap_or_else(|| "true".into()),
            };
            body.push_str("    healthcheck:\n");
            body.push_str(&format!(
                "      test: [\"CMD-SHELL\", {}]\n",
                yaml_str(&test)
            ));
            body.push_str(&format!("      interval: \"{}ms\"\n", check.interval_ms));
            body.push_str(&format!("      timeout: \"{}ms\"\n", check.timeout_ms));
            body.push_str(&format!("      retries: {}\n", check.retries));
            body.push_str(&format!(
                "      start_period: \"{}ms\"\n",
                check.initial_delay_ms
            ));
            app_notes.push(
                "health_check: compose marks the container unhealthy but does not restart it"
                    .into(),
            );
        }
        if spec.instances > 1 || spec.max_memory_restart.is_some() {
            body.push_str("    deploy:\n");
            if spec.instances > 1 {
                body.push_str(&format!("      replicas: {}\n", spec.instances));
            }
            if let Some(bytes) = spec.max_memory_restart {
                body.push_str(&format!(
                    "      resources:\n        limits:\n          memory: {}\n",
                    yaml_str(&format!("{bytes}b"))
                ));
            }
        }
        notes.push((spec.name.clone(), app_notes));
    }
    if specs.is_empty() {
        body = "services: {}\n".into();
    }
    File {
        name: "compose.yaml".into(),
        content: format!("{}{body}", header("compose", &notes)),
    }
}

/// A compose service name: lowercase letters, digits, `-` `_` `.`.
fn service_name(name: &str) -> String {
    let out: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let out = out.trim_start_matches(['-', '_', '.']).to_string();
    if out.is_empty() { "app".into() } else { out }
}
