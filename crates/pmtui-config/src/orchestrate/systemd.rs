//! systemd: one `<name>.service` per app (a template `<name>@.service` when it has several
//! instances), and a `<name>.socket` for its `listen` addresses, which systemd then holds and
//! passes as pmtui does (LISTEN_FDS).

use super::{File, common_notes, header};
use pmtui_proto::listen::ListenAddress;
use pmtui_proto::{BackoffKind, ProcessSpec, RestartMode};

pub fn units(spec: &ProcessSpec) -> Vec<File> {
    let name = unit_name(&spec.name);
    let mut notes = common_notes(spec);
    let template = spec.instances > 1;
    if spec.health_check.is_some() {
        notes.push("health_check: systemd has no probes (use WATCHDOG=1 or a timer)".into());
    }
    if spec.restart.backoff.kind == BackoffKind::Exponential {
        notes.push(
            "exponential backoff: RestartSec= is its first delay (systemd ≥ 254 adds \
             RestartSteps= and RestartMaxDelaySec=)"
                .into(),
        );
    }
    if template {
        notes.push(format!(
            "instances: {n}: a template unit; enable {name}@0 … {name}@{last}",
            n = spec.instances,
            last = spec.instances - 1
        ));
    }
    let socket = !spec.listen.is_empty() && !template;
    if !spec.listen.is_empty() && template {
        notes.push(
            "listen with several instances: a socket unit per instance is not written".into(),
        );
    }
    let mut unit = String::new();
    unit.push_str(&header("systemd", &[(spec.name.clone(), notes)]));
    unit.push_str("[Unit]\n");
    unit.push_str(&format!(
        "Description={} (exported from pmtui)\n",
        escape_value(&spec.name)
    ));
    unit.push_str("After=network.target\n");
    if socket {
        unit.push_str(&format!("Requires={name}.socket\nAfter={name}.socket\n"));
    }
    if spec.restart.max_restarts > 0 {
        // pm2 gives up after max_restarts unstable restarts; systemd after a burst within
        // an interval.
        let window = spec.restart.time_window_ms.unwrap_or(600_000);
        unit.push_str(&format!(
            "StartLimitBurst={}\nStartLimitIntervalSec={}\n",
            spec.restart.max_restarts + 1,
            seconds(window)
        ));
    }
    unit.push_str("\n[Service]\n");
    unit.push_str(if spec.wait_ready {
        "Type=notify\nNotifyAccess=all\n"
    } else {
        "Type=simple\n"
    });
    let (program, args) = spec.argv();
    let mut exec = vec![exec_word(&program)];
    exec.extend(args.iter().map(|a| exec_word(a)));
    unit.push_str(&format!("ExecStart={}\n", exec.join(" ")));
    unit.push_str(&format!(
        "WorkingDirectory={}\n",
        escape_value(&spec.cwd.display().to_string())
    ));
    if let Some(uid) = &spec.uid {
        unit.push_str(&format!("User={}\n", escape_value(uid)));
    }
    if let Some(gid) = &spec.gid {
        unit.push_str(&format!("Group={}\n", escape_value(gid)));
    }
    for (key, value) in &spec.config_env {
        unit.push_str(&format!("Environment={}\n", env_word(key, value)));
    }
    if template {
        let var = spec
            .instance_var
            .as_deref()
            .unwrap_or(pmtui_proto::spec::DEFAULT_INSTANCE_VAR);
        unit.push_str(&format!("Environment={var}=%i\n"));
    }
    let restart = match spec.restart.mode {
        RestartMode::Always => "always",
        RestartMode::OnFailure => "on-failure",
        RestartMode::No => "no",
    };
    unit.push_str(&format!("Restart={restart}\n"));
    unit.push_str(&format!(
        "RestartSec={}\n",
        seconds(spec.restart.backoff.delay_ms.max(100))
    ));
    if !spec.restart.stop_exit_codes.is_empty() {
        let codes: Vec<String> = spec
            .restart
            .stop_exit_codes
            .iter()
            .filter(|c| (0..=255).contains(*c))
            .map(ToString::to_string)
            .collect();
        unit.push_str(&format!("RestartPreventExitStatus={}\n", codes.join(" ")));
    }
    if let Some(bytes) = spec.max_memory_restart {
        unit.push_str(&format!("MemoryMax={bytes}\n"));
    }
    if let Some(ms) = spec.watchdog_ms {
        unit.push_str(&format!("WatchdogSec={}\n", seconds(ms)));
    }
    unit.push_str(&format!("KillSignal={}\n", spec.stop_signal));
    unit.push_str(&format!(
        "TimeoutStopSec={}\n",
        seconds(spec.kill_timeout_ms)
    ));
    if !spec.treekill {
        unit.push_str("KillMode=process\n");
    }
    unit.push_str("\n[Install]\nWantedBy=multi-user.target\n");
    let mut files = vec![File {
        name: if template {
            format!("{name}@.service")
        } else {
            format!("{name}.service")
        },
        content: unit,
    }];
    if socket {
        let mut text = header("systemd", &[]);
        text.push_str(&format!(
            "[Unit]\nDescription=Sockets of {} (exported from pmtui)\n\n[Socket]\n",
            escape_value(&spec.name)
        ));
        for listen in &spec.listen {
            match &listen.address {
                ListenAddress::Tcp(addr) => text.push_str(&format!("ListenStream={addr}\n")),
                ListenAddress::Unix(path) => {
                    text.push_str(&format!("ListenStream={}\n", path.display()))
                }
            }
        }
        let names: Vec<&str> = spec
            .listen
            .iter()
            .filter_map(|l| l.name.as_deref())
            .collect();
        if names.len() == spec.listen.len() {
            text.push_str(&format!("FileDescriptorName={}\n", names.join(":")));
        }
        text.push_str("\n[Install]\nWantedBy=sockets.target\n");
        files.push(File {
            name: format!("{name}.socket"),
            content: text,
        });
    }
    files
}

/// A unit name from an app name: characters systemd refuses become `-`.
pub(super) fn unit_name(name: &str) -> String {
    let out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-:".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if out.is_empty() { "app".into() } else { out }
}

/// Milliseconds as a systemd time span.
fn seconds(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// `%` is a specifier in every value.
fn escape_value(text: &str) -> String {
    text.replace('%', "%%").replace('\n', " ")
}

/// One word of ExecStart=: quoted when needed, `%` and `$` escaped (systemd expands both).
fn exec_word(word: &str) -> String {
    let escaped = escape_value(word).replace('$', "$$");
    if !escaped.is_empty()
        && !escaped
            .chars()
            .any(|c| c.is_whitespace() || "\"'\\;".contains(c))
    {
        escaped
    } else {
        format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// `"KEY=value"` for Environment= (C-style escapes inside the quotes).
fn env_word(key: &str, value: &str) -> String {
    let text = escape_value(&format!("{key}={value}"));
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
