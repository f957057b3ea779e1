//! The verbs that write files for the user's tools: `schema` (editors), `completion`
//! (shells; names come from a real daemon), `man`, and `init` (a template ecosystem file).

mod common;

use common::TestHome;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn schema_prints_the_committed_schema_without_a_daemon() {
    let t = TestHome::new();
    let out = t.ok(&["schema"]);
    assert_eq!(out, repo("docs/ecosystem.schema.json"));
    let schema: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(schema["definitions"]["app"]["properties"]["maxMemoryRestart"].is_object());

    let settings: serde_json::Value =
        serde_json::from_str(&t.ok(&["schema", "--settings"])).expect("JSON");
    assert_eq!(settings["$ref"], "#/definitions/settings");
    assert!(settings["definitions"]["settings"]["properties"]["log_max_size"].is_object());
    assert!(
        !t.home().join("pmtui.sock").exists() && t.daemon_pid().is_none(),
        "schema started a daemon"
    );
}

fn has(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn completion_scripts_are_valid_for_every_shell() {
    let t = TestHome::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = t.ok(&["completion", shell]);
        assert!(script.contains("pmtui"), "{shell}: {script}");
        assert!(script.contains("restart"), "{shell} script lacks the verbs");
        assert!(!script.contains("__complete-names ") || shell == "bash" || shell == "zsh");
        let checker = match shell {
            "bash" => Some("bash"),
            "zsh" if has("zsh") => Some("zsh"),
            "fish" if has("fish") => Some("fish"),
            _ => None,
        };
        if let Some(checker) = checker {
            let file = t.path(&format!("pmtui.{shell}"));
            std::fs::write(&file, &script).expect("write");
            let out = Command::new(checker)
                .arg("-n")
                .arg(&file)
                .output()
                .expect("run the shell");
            assert!(
                out.status.success(),
                "{checker} -n rejects the {shell} script: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    assert!(!t.run(&["completion", "tcsh"]).status.success());
}

/// Completes `line` (the words typed; the last is being completed) in a bash that sourced
/// `pmtui completion bash`, through the function `complete -p pmtui` names.
fn bash_complete(t: &TestHome, words: &[&str]) -> Vec<String> {
    let bin: PathBuf = Path::new(env!("CARGO_BIN_EXE_pmtui"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        r#"source <(pmtui completion bash) || exit 3
spec=$(complete -p pmtui) || exit 4
fn=${{spec##*-F }}; fn=${{fn%% *}}
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}
"$fn" pmtui "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        words = quoted.join(" ")
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-c", &program])
        // In the test's home: where bash falls back to file names (a flag's value), the
        // crate folder's own files (`build.rs`) would be offered.
        .current_dir(t.home())
        .env("PMTUI_HOME", t.home())
        .env("PATH", path)
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "bash completion failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_process_names_from_the_daemon() {
    let t = TestHome::new();
    // No daemon: the names helper prints nothing, and starts none.
    let out = t.run(&["__complete-names"]);
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    let offered = bash_complete(&t, &["pmtui", "stop", ""]);
    assert!(!offered.contains(&"all".to_string()), "{offered:?}");
    assert!(t.daemon_pid().is_none(), "completion started a daemon");

    t.ok(&["start", "sleep 300", "--name", "alpha-web"]);
    t.ok(&[
        "start",
        "sleep 300",
        "--name",
        "alpha-worker",
        "--namespace",
        "jobs",
    ]);
    t.ok(&["start", "sleep 300", "--name", "beta"]);

    let names = t.ok(&["__complete-names"]);
    assert_eq!(names, "alpha-web\nalpha-worker\nbeta\njobs\nall\n");

    let mut got = bash_complete(&t, &["pmtui", "stop", "alp"]);
    got.sort();
    assert_eq!(got, ["alpha-web", "alpha-worker"]);
    assert_eq!(
        bash_complete(&t, &["pmtui", "restart", "alpha-web", "b"]),
        ["beta"]
    );
    assert_eq!(bash_complete(&t, &["pmtui", "logs", "j"]), ["jobs"]);
    assert_eq!(
        bash_complete(&t, &["pmtui", "del", "be"]),
        ["beta"],
        "aliases too"
    );
    assert_eq!(
        bash_complete(&t, &["pmtui", "signal", "SIGUSR1", "be"]),
        ["beta"]
    );
    // Not where a name cannot go: the signal itself, a flag's value, a verb without targets.
    assert!(bash_complete(&t, &["pmtui", "signal", "be"]).is_empty());
    assert!(bash_complete(&t, &["pmtui", "logs", "--lines", "b"]).is_empty());
    assert!(bash_complete(&t, &["pmtui", "ls", "b"]).is_empty());
    // clap's own completion still works: verbs and flags.
    let verbs = bash_complete(&t, &["pmtui", "resu"]);
    assert_eq!(verbs, ["resurrect"]);
    let flags = bash_complete(&t, &["pmtui", "logs", "--li"]);
    assert_eq!(flags, ["--lines"]);
}

#[test]
fn zsh_name_completer_lists_the_daemon_names() {
    if !has("zsh") {
        eprintln!("zsh is not installed: skipped (CI installs it)");
        return;
    }
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "gamma"]);
    let bin = Path::new(env!("CARGO_BIN_EXE_pmtui"))
        .parent()
        .expect("bin dir");
    // compinit for compdef; compadd (a builtin only inside completion) replaced by a printer.
    let program = r#"autoload -U compinit && compinit -u -d "$PMTUI_HOME/zcompdump"
source <(pmtui completion zsh) || exit 3
compadd() { shift; print -l -- ${(P)1} }
words=(pmtui stop '')
_pmtui_names"#;
    let out = Command::new("zsh")
        .args(["-f", "-c", program])
        .env("PMTUI_HOME", t.home())
        .env("HOME", t.home())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .expect("run zsh");
    assert!(
        out.status.success(),
        "zsh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "gamma\nall\n");
}

#[test]
fn man_pages_come_from_the_cli_definition() {
    let t = TestHome::new();
    let page = t.ok(&["man"]);
    assert!(page.contains(".TH pmtui 1"), "{page}");
    assert!(page.contains("resurrect"), "the verbs are listed");

    let dir = t.path("man1");
    let out = t.ok(&["man", dir.to_str().expect("utf-8")]);
    assert!(out.contains("man pages"), "{out}");
    let start = std::fs::read_to_string(dir.join("pmtui-start.1")).expect("pmtui-start.1");
    assert!(start.contains("max\\-memory\\-restart"), "{start}");
    assert!(dir.join("pmtui.1").is_file() && dir.join("pmtui-logs.1").is_file());
    if has("groff") {
        let text = Command::new("groff")
            .args(["-man", "-Tascii"])
            .arg(dir.join("pmtui-start.1"))
            .output()
            .expect("groff");
        // Plain text: drop grotty's overstrike (`X\x08X` bold, `_\x08X` underline).
        let mut plain = String::new();
        for c in String::from_utf8_lossy(&text.stdout).chars() {
            if c == '\u{8}' {
                plain.pop();
            } else {
                plain.push(c);
            }
        }
        let text = plain;
        assert!(
            text.contains("pmtui-start - Start a script")
                || text.contains("pmtui-start  - Start a script"),
            "{text}"
        );
        assert!(text.contains("--max-memory-restart"), "{text}");
    }
    assert!(t.daemon_pid().is_none(), "man started a daemon");
}

#[test]
fn init_writes_a_template_that_starts_and_never_overwrites() {
    let t = TestHome::new();
    let out = t.ok(&["init"]);
    assert!(out.contains("ecosystem.yaml"), "{out}");
    let file = t.path("ecosystem.yaml");
    let template = std::fs::read_to_string(&file).expect("ecosystem.yaml written");
    assert!(
        template.starts_with("# pmtui ecosystem file."),
        "{template}"
    );
    assert!(
        template.contains("    # max_memory_restart: 500M"),
        "{template}"
    );

    // An existing file is left alone without --force, whatever it holds.
    std::fs::write(&file, "apps: []  # mine\n").expect("edit");
    let again = t.run(&["init"]);
    assert_eq!(again.status.code(), Some(1));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("exists") && err.contains("--force"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        "apps: []  # mine\n"
    );
    t.ok(&["init", "--force"]);
    assert_eq!(std::fs::read_to_string(&file).expect("read"), template);

    // pm2's name for the verb, and the format from the extension.
    t.ok(&["ecosystem", "eco.toml"]);
    assert!(
        std::fs::read_to_string(t.path("eco.toml"))
            .expect("toml")
            .contains("[[apps]]")
    );
    t.ok(&["init", "eco.config.js"]);
    assert!(
        std::fs::read_to_string(t.path("eco.config.js"))
            .expect("js")
            .contains("module.exports")
    );
    let bad = t.run(&["init", "simple"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains(".yaml"));
    assert!(!t.path("simple").exists());
    assert!(t.daemon_pid().is_none(), "init started a daemon");

    // The template as written starts its app (a node script here).
    if has("node") {
        std::fs::write(t.path("app.js"), "setInterval(() => {}, 1000);\n").expect("app.js");
        t.ok(&["start", "ecosystem.yaml"]);
        let app = t.wait_status("app", "online");
        assert_eq!(app["namespace"], "default");
        let env = t.ok(&["env", "app"]);
        assert!(env.contains("NODE_ENV=development"), "{env}");
    }
}
