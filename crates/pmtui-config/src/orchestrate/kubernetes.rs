//! Kubernetes: a Deployment per app, `replicas` from its instances, its environment, probes
//! from `health_check` (liveness and readiness), and a memory limit from
//! `max_memory_restart` (Kubernetes restarts a container killed at its limit).

use super::{File, common_notes, header, image, tcp_ports, yaml_str};
use pmtui_proto::health::ProbeKind;
use pmtui_proto::{HttpTarget, ProcessSpec, RestartMode};

pub fn file(specs: &[ProcessSpec]) -> File {
    let mut notes = Vec::new();
    let mut docs = Vec::new();
    for spec in specs {
        let mut app_notes = common_notes(spec);
        let (image, image_note) = image(spec, "          ");
        app_notes.push(image_note);
        if spec.restart.mode != RestartMode::Always {
            app_notes.push(format!(
                "restart mode {:?}: a Deployment always restarts (use a Job for run-once apps)",
                spec.restart.mode
            ));
        }
        if spec.uid.is_some() || spec.gid.is_some() {
            app_notes.push("uid/gid by name: set securityContext.runAsUser to a number".into());
        }
        let name = dns_name(&spec.name);
        let mut doc = String::new();
        doc.push_str("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n");
        doc.push_str(&format!("  name: {}\n", yaml_str(&name)));
        doc.push_str(&format!("  labels:\n    app: {}\n", yaml_str(&name)));
        doc.push_str("spec:\n");
        doc.push_str(&format!("  replicas: {}\n", spec.instances.max(1)));
        doc.push_str(&format!(
            "  selector:\n    matchLabels:\n      app: {}\n",
            yaml_str(&name)
        ));
        doc.push_str("  template:\n    metadata:\n      labels:\n");
        doc.push_str(&format!("        app: {}\n", yaml_str(&name)));
        doc.push_str("    spec:\n");
        doc.push_str(&format!(
            "      terminationGracePeriodSeconds: {}\n",
            spec.kill_timeout_ms.div_ceil(1000).max(1)
        ));
        doc.push_str("      containers:\n");
        doc.push_str(&format!("        - name: {}\n", yaml_str(&name)));
        doc.push_str(&image);
        let (program, args) = spec.argv();
        doc.push_str(&format!("          command: [{}]\n", yaml_str(&program)));
        if !args.is_empty() {
            let args: Vec<String> = args.iter().map(|a| yaml_str(a)).collect();
            doc.push_str(&format!("          args: [{}]\n", args.join(", ")));
        }
        doc.push_str(&format!(
            "          workingDir: {}\n",
            yaml_str(&spec.cwd.display().to_string())
        ));
        if !spec.config_env.is_empty() {
            doc.push_str("          env:\n");
            for (key, value) in &spec.config_env {
                doc.push_str(&format!(
                    "            - name: {}\n              value: {}\n",
                    yaml_str(key),
                    yaml_str(value)
                ));
            }
        }
        let ports = tcp_ports(spec);
        if !ports.is_empty() {
            app_notes.push("listen: container ports are declared; add a Service to expose them, and the app binds them itself".into());
            doc.push_str("          ports:\n");
            for port in ports {
                doc.push_str(&format!("            - containerPort: {port}\n"));
            }
        }
        if let Some(bytes) = spec.max_memory_restart {
            doc.push_str(&format!(
                "          resources:\n            limits:\n              memory: {}\n",
                yaml_str(&bytes.to_string())
            ));
        }
        if let Some(check) = &spec.health_check {
            let probe = probe(check);
            for kind in ["livenessProbe", "readinessProbe"] {
                doc.push_str(&format!("          {kind}:\n{probe}"));
            }
        }
        docs.push(doc);
        notes.push((spec.name.clone(), app_notes));
    }
    File {
        name: "kubernetes.yaml".into(),
        content: format!("{}{}", header("kubernetes", &notes), docs.join("---\n")),
    }
}

/// The probe's body, indented under `livenessProbe:`.
fn probe(check: &pmtui_proto::HealthCheck) -> String {
    let pad = "            ";
    let mut out = String::new();
    match check.kind {
        ProbeKind::Http => {
            let url = check.url.as_deref().unwrap_or("http://127.0.0.1/");
            // Validated when the app was read; the fallback only keeps export total.
            let (port, path) = HttpTarget::parse(url)
                .map(|t| (t.port, t.path))
                .unwrap_or((80, "/".into()));
            out.push_str(&format!(
                "{pad}httpGet:\n{pad}  path: {}\n{pad}  port: {port}\n",
                yaml_str(&path)
            ));
        }
        ProbeKind::Tcp => out.push_str(&format!(
            "{pad}tcpSocket:\n{pad}  port: {}\n",
            check.port.unwrap_or(0)
        )),
        ProbeKind::Exec => out.push_str(&format!(
            "{pad}exec:\n{pad}  command: [\"sh\", \"-c\", {}]\n",
            yaml_str(check.command.as_deref().unwrap_or("true"))
        )),
    }
    out.push_str(&format!(
        "{pad}periodSeconds: {}\n{pad}timeoutSeconds: {}\n{pad}failureThreshold: {}\n{pad}initialDelaySeconds: {}\n",
        check.interval_ms.div_ceil(1000).max(1),
        check.timeout_ms.div_ceil(1000).max(1),
        check.retries.max(1),
        check.initial_delay_ms / 1000
    ));
    out
}

/// A DNS-1123 name: lowercase letters, digits and `-`, at most 63.
fn dns_name(name: &str) -> String {
    let mut out: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out.truncate(63);
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "app".into() } else { out }
}
