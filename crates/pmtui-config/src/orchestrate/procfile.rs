//! Procfile (foreman, honcho, Heroku): one `name: command` line per app.

use super::{File, common_notes, header, shell_line, shell_quote};
use pmtui_proto::ProcessSpec;

pub fn file(specs: &[ProcessSpec]) -> File {
    let mut notes = Vec::new();
    let mut lines = String::new();
    for spec in specs {
        let mut app_notes = common_notes(spec);
        app_notes.push(
            "restart policy, memory limit, stop signal and probes: a Procfile has none".into(),
        );
        if spec.instances > 1 {
            app_notes.push(format!(
                "instances: {}: give the count to the runner (foreman -m {}={})",
                spec.instances,
                process_type(&spec.name),
                spec.instances
            ));
        }
        let env: Vec<String> = spec
            .config_env
            .iter()
            .map(|(k, v)| shell_quote(&format!("{k}={v}")))
            .collect();
        let env = if env.is_empty() {
            String::new()
        } else {
            format!("env {} ", env.join(" "))
        };
        lines.push_str(&format!(
            "{}: cd {} && exec {env}{}\n",
            process_type(&spec.name),
            shell_quote(&spec.cwd.display().to_string()),
            shell_line(spec)
        ));
        notes.push((spec.name.clone(), app_notes));
    }
    File {
        name: "Procfile".into(),
        content: format!("{}{lines}", header("procfile", &notes)),
    }
}

/// A process type: letters, digits and `_`.
fn process_type(name: &str) -> String {
    let out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.is_empty() { "app".into() } else { out }
}
