use super::*;
use pmtui_proto::{HealthCheck, ProcessSpec, RestartMode};

fn spec() -> ProcessSpec {
    let mut spec = ProcessSpec {
        name: "web api".into(),
        script: "/srv/app/server.js".into(),
        interpreter: Some("/usr/bin/node".into()),
        args: vec!["--port".into(), "3000".into(), "it's $HOME 100%".into()],
        cwd: "/srv/app".into(),
        instances: 3,
        max_memory_restart: Some(512 * 1024 * 1024),
        ..Default::default()
    };
    spec.config_env
        .insert("NODE_ENV".into(), "production".into());
    spec.env = spec.config_env.clone().into();
    spec.health_check = Some(Box::new(HealthCheck {
        kind: pmtui_proto::health::ProbeKind::Http,
        url: Some("http://127.0.0.1:3000/health".into()),
        ..Default::default()
    }));
    spec
}

#[test]
fn systemd_translates_restart_memory_env_and_instances() {
    let files = export(&[spec()], Target::Systemd);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].name, "web-api@.service");
    let unit = &files[0].content;
    for line in [
        "Restart=always",
        "MemoryMax=536870912",
        "Environment=\"NODE_ENV=production\"",
        "Environment=NODE_APP_INSTANCE=%i",
        "WorkingDirectory=/srv/app",
        "ExecStart=/usr/bin/node /srv/app/server.js --port 3000 \"it's $$HOME 100%%\"",
        "# Not translated for web api: health_check",
    ] {
        assert!(unit.contains(line), "{line:?} missing from\n{unit}");
    }
}

#[test]
fn systemd_writes_a_socket_for_listen() {
    let mut one = spec();
    one.instances = 1;
    one.restart.mode = RestartMode::OnFailure;
    one.listen = vec![
        "tcp://127.0.0.1:3000"
            .parse::<pmtui_proto::listen::ListenSpec>()
            .expect("listen"),
    ];
    let files = export(&[one], Target::Systemd);
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["web-api.service", "web-api.socket"]);
    assert!(files[0].content.contains("Restart=on-failure"));
    assert!(files[0].content.contains("Requires=web-api.socket"));
    assert!(files[1].content.contains("ListenStream=127.0.0.1:3000"));
}

#[test]
fn compose_kubernetes_and_procfile_carry_the_essentials() {
    let files = export(&[spec()], Target::Compose);
    let text = &files[0].content;
    assert_eq!(files[0].name, "compose.yaml");
    for part in [
        "  web-api:",
        "replicas: 3",
        "memory: \"536870912b\"",
        "REPLACE-WITH-AN-IMAGE",
        "CMD-SHELL",
    ] {
        assert!(text.contains(part), "{part:?} missing from\n{text}");
    }
    let files = export(&[spec()], Target::Kubernetes);
    let text = &files[0].content;
    for part in [
        "kind: Deployment",
        "replicas: 3",
        "memory: \"536870912\"",
        "livenessProbe:",
        "path: \"/health\"",
        "port: 3000",
    ] {
        assert!(text.contains(part), "{part:?} missing from\n{text}");
    }
    let files = export(&[spec()], Target::Procfile);
    let text = &files[0].content;
    assert!(
        text.contains("web_api: cd /srv/app && exec env NODE_ENV=production /usr/bin/node /srv/app/server.js --port 3000 'it'\\''s $HOME 100%'"),
        "{text}"
    );
    assert!(
        text.contains("# Not translated for web api: instances: 3"),
        "{text}"
    );
}

#[test]
fn kubernetes_probe_port_survives_a_query_without_a_path() {
    let mut spec = spec();
    if let Some(check) = spec.health_check.as_mut() {
        check.url = Some("http://127.0.0.1:3001?ready".into());
    }
    let files = export(&[spec], Target::Kubernetes);
    let text = &files[0].content;
    for part in ["path: \"/?ready\"", "port: 3001"] {
        assert!(text.contains(part), "{part:?} missing from\n{text}");
    }
}
