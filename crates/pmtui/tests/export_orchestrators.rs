//! `pmtui export --format systemd|compose|kubernetes|procfile` (issue 19): the files of an
//! ecosystem file, and of the running set; systemd units pass `systemd-analyze verify`
//! where it is installed, compose and kubernetes output parse as YAML with the fields
//! expected.

mod common;

use common::TestHome;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn ecosystem(home: &TestHome) -> PathBuf {
    home.script("run.sh", "#!/bin/sh\nexec sleep 100\n");
    let file = home.path("eco.yaml");
    std::fs::write(
        &file,
        "apps:\n\
         \x20 - name: web\n\
         \x20   script: /bin/sleep\n\
         \x20   args: [\"300\"]\n\
         \x20   max_memory_restart: 200M\n\
         \x20   listen: [\"tcp://127.0.0.1:3999\"]\n\
         \x20   env:\n\
         \x20     GREETING: \"hello world\"\n\
         \x20 - name: worker\n\
         \x20   script: ./run.sh\n\
         \x20   instances: 2\n\
         \x20   restart_policy: { mode: on-failure }\n\
         \x20   health_check: { type: http, url: \"http://127.0.0.1:3999/health\" }\n",
    )
    .expect("write eco");
    file
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str::<Value>(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"))
}

#[test]
fn systemd_units_verify() {
    let home = TestHome::new();
    let file = ecosystem(&home);
    let out = home.path("units");
    let file = file.display().to_string();
    let out_s = out.display().to_string();
    home.ok(&["export", "--format", "systemd", "--out", &out_s, &file]);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .expect("out dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["web.service", "web.socket", "worker@.service"]);
    let web = std::fs::read_to_string(out.join("web.service")).expect("web");
    for line in [
        "MemoryMax=209715200",
        "Restart=always",
        "Environment=\"GREETING=hello world\"",
        "Requires=web.socket",
    ] {
        assert!(web.contains(line), "{line} missing:\n{web}");
    }
    let worker = std::fs::read_to_string(out.join("worker@.service")).expect("worker");
    assert!(worker.contains("Restart=on-failure"), "{worker}");
    assert!(
        worker.contains("# Not translated for worker: health_check"),
        "{worker}"
    );
    let socket = std::fs::read_to_string(out.join("web.socket")).expect("socket");
    assert!(socket.contains("ListenStream=127.0.0.1:3999"), "{socket}");
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED verify: systemd-analyze is not installed");
        return;
    }
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .args(names.iter().map(|n| out.join(n)))
        .output()
        .expect("systemd-analyze");
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success(),
        "systemd-analyze verify failed:\n{said}"
    );
    assert!(!said.contains("Unknown key"), "{said}");
}

#[test]
fn compose_and_kubernetes_parse_with_the_expected_fields() {
    let home = TestHome::new();
    let file = ecosystem(&home).display().to_string();
    let compose = yaml(&home.ok(&["export", "--format", "compose", &file]));
    let web = &compose["services"]["web"];
    assert!(
        web["command"][0]
            .as_str()
            .is_some_and(|c| c.ends_with("/sleep"))
    );
    assert_eq!(web["command"][1], "300");
    assert_eq!(web["environment"]["GREETING"], "hello world");
    assert_eq!(web["deploy"]["resources"]["limits"]["memory"], "209715200b");
    assert_eq!(web["ports"][0], "3999:3999");
    assert!(web["image"].as_str().is_some());
    let worker = &compose["services"]["worker"];
    assert_eq!(worker["deploy"]["replicas"], 2);
    assert_eq!(worker["restart"], "on-failure");
    assert_eq!(worker["healthcheck"]["test"][0], "CMD-SHELL");

    let text = home.ok(&["export", "--format", "kubernetes", &file]);
    let docs: Vec<Value> = text.split("\n---\n").map(yaml).collect();
    assert_eq!(docs.len(), 2, "{text}");
    assert!(docs.iter().all(|d| d["kind"] == "Deployment"));
    let worker = docs
        .iter()
        .find(|d| d["metadata"]["name"] == "worker")
        .expect("worker");
    assert_eq!(worker["spec"]["replicas"], 2);
    let container = &worker["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/health");
    assert_eq!(container["livenessProbe"]["httpGet"]["port"], 3999);
    let web = docs
        .iter()
        .find(|d| d["metadata"]["name"] == "web")
        .expect("web");
    let container = &web["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["resources"]["limits"]["memory"], "209715200");
    assert_eq!(container["env"][0]["name"], "GREETING");

    let procfile = home.ok(&["export", "--format", "procfile", &file]);
    let lines: Vec<&str> = procfile.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines.len(), 2, "{procfile}");
    assert!(lines[0].starts_with("web: cd "), "{procfile}");
}

#[test]
fn the_running_set_exports_too() {
    let home = TestHome::new();
    let sleep = home.tagged_sleep(&common::unique("exp"));
    home.ok(&[
        "start",
        &sleep,
        "--name",
        "napper",
        "--max-memory-restart",
        "64M",
        "--",
        "300",
    ]);
    home.wait_status("napper", "online");
    let unit = home.ok(&["export", "--format", "systemd", "napper"]);
    assert!(unit.contains("MemoryMax=67108864"), "{unit}");
    assert!(unit.contains("Description=napper"), "{unit}");
}
