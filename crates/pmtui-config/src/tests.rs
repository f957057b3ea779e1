//! The whole reader on real files: the same apps in every format give the same specs, each
//! kind of mistake gets its message with file, line, column and field, and `export` reads
//! back to the same specs.

use crate::export::{self, Format};
use crate::{ConfigError, LoadOptions, Loaded, load};
use pmtui_proto::{BackoffKind, RestartMode};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("pmtui-config")
            .tempdir()
            .expect("temp dir");
        let d = Self { dir };
        d.file("web.py", "print('hi')\n");
        d.file("worker.sh", "#!/bin/sh\nsleep 100\n");
        std::fs::set_permissions(d.path("worker.sh"), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        d
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    fn opts(&self) -> LoadOptions {
        let mut opts = LoadOptions::new(self.path("home"));
        opts.shell_env = [
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("HOME", "/home/someone".into()),
            ("SHELL_ONLY", "1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        opts
    }

    fn load(&self, name: &str, text: &str) -> Result<Loaded, ConfigError> {
        load(&self.file(name, text), &self.opts())
    }

    /// The problems of a file that must fail, one per line.
    fn errors(&self, name: &str, text: &str) -> Vec<String> {
        match self.load(name, text) {
            Ok(loaded) => panic!("{name} loaded: {:?}", loaded.apps),
            Err(err) => err.to_string().lines().map(String::from).collect(),
        }
    }
}

const YAML: &str = r#"# the same two apps in every format
apps:
  - name: web
    script: web.py
    args: ["--port", "8000"]
    instances: 2
    env:
      GREETING: hello
      N: 3
    env_production:
      GREETING: prod
    max_memory_restart: 500M
    restart_policy:
      mode: on-failure
      max_restarts: 5
      min_uptime: 2s
      backoff: { type: exponential, delay: 100ms, max_delay: 1m30s, factor: 2 }
    log:
      out_file: out/web.log
      max_size: 1M
      max_files: 3
  - name: worker
    script: worker.sh
    kill_timeout: 5s
    autorestart: false
    cron_restart: "0 * * * *"
"#;

const JSON: &str = r#"// pm2 spellings, comments and trailing commas
{
  "apps": [
    {
      name: 'web',
      "exec": "web.py",
      "args": "--port 8000",
      "instances": "2",
      "env": { "GREETING": "hello", "N": 3, },
      "env_production": { "GREETING": "prod" },
      "maxMemoryRestart": "500M",
      "restart_policy": {
        "mode": "on_failure", "max_restarts": 5, "min_uptime": 2000,
        "backoff": { "type": "exponential", "delay": 100, "max_delay": 90000, "factor": 2 },
      },
      "out_file": "out/web.log",
      "log": { "max_size": 1048576, "max_files": 3 },
    },
    { "name": "worker", "script": "worker.sh", "killTimeout": 5000, "autorestart": false, "cron": "0 * * * *" },
  ],
}
"#;

const TOML: &str = r#"[[apps]]
name = "web"
script = "web.py"
args = ["--port", "8000"]
instances = 2
max_memory_restart = "500M"

[apps.env]
GREETING = "hello"
N = 3

[apps.env_production]
GREETING = "prod"

[apps.restart_policy]
mode = "on-failure"
max_restarts = 5
min_uptime = "2s"
backoff = { type = "exponential", delay = "100ms", max_delay = "1m30s", factor = 2 }

[apps.log]
out_file = "out/web.log"
max_size = "1M"
max_files = 3

[[apps]]
name = "worker"
script = "worker.sh"
kill_timeout = "5s"
autorestart = false
cron_restart = "0 * * * *"
"#;

const JS: &str = r#"const shared = { autorestart: false };
module.exports = {
  apps: [{
    name: "web",
    script: "web.py",
    args: ["--port", "8000"],
    instances: 1 + 1,
    env: { GREETING: "hello", N: 3 },
    env_production: { GREETING: "prod" },
    max_memory_restart: "500M",
    restart_policy: {
      mode: "on-failure", max_restarts: 5, min_uptime: "2s",
      backoff: { type: "exponential", delay: "100ms", max_delay: "1m30s", factor: 2 },
    },
    log: { out_file: "out/web.log", max_size: "1M", max_files: 3 },
  }, {
    name: "worker",
    script: "worker.sh",
    kill_timeout: 5 * 1000,
    ...shared,
    cron_restart: "0 * * * *",
  }],
};
"#;

#[test]
fn every_format_gives_the_same_specs() {
    let d = Dir::new();
    let yaml = d.load("eco.yaml", YAML).expect("yaml").apps;
    assert_eq!(yaml.len(), 2);
    let web = &yaml[0];
    assert_eq!(web.name, "web");
    assert_eq!(
        web.script,
        d.path("web.py")
            .canonicalize()
            .expect("abs")
            .display()
            .to_string()
    );
    assert_eq!(web.interpreter.as_deref(), Some("python3"));
    assert_eq!(web.args, ["--port", "8000"]);
    assert_eq!(web.instances, 2);
    assert_eq!(web.cwd, d.dir.path().canonicalize().expect("abs"));
    assert_eq!(web.env.get("GREETING").map(String::as_str), Some("hello"));
    assert_eq!(web.env.get("N").map(String::as_str), Some("3"));
    assert_eq!(web.env.get("SHELL_ONLY").map(String::as_str), Some("1"));
    assert_eq!(
        web.config_env.len(),
        2,
        "only what the file sets: {:?}",
        web.config_env
    );
    assert_eq!(web.max_memory_restart, Some(500 * 1024 * 1024));
    assert_eq!(web.restart.mode, RestartMode::OnFailure);
    assert_eq!(web.restart.max_restarts, 5);
    assert_eq!(web.restart.min_uptime_ms, 2000);
    assert_eq!(web.restart.backoff.kind, BackoffKind::Exponential);
    assert_eq!(web.restart.backoff.delay_ms, 100);
    assert_eq!(web.restart.backoff.max_delay_ms, 90_000);
    assert_eq!(web.restart.backoff.factor, 2.0);
    assert_eq!(web.logs.out_file, Some(web.cwd.join("out/web.log")));
    assert_eq!(web.logs.max_size, Some(1 << 20));
    assert_eq!(web.logs.max_files, Some(3));
    let worker = &yaml[1];
    assert_eq!(worker.interpreter.as_deref(), Some("bash"));
    assert_eq!(worker.kill_timeout_ms, 5000);
    assert_eq!(worker.restart.mode, RestartMode::No);
    assert_eq!(worker.cron_restart.as_deref(), Some("0 * * * *"));

    for (name, text) in [
        ("eco.json", JSON),
        ("eco.toml", TOML),
        ("ecosystem.config.js", JS),
    ] {
        let apps = d
            .load(name, text)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .apps;
        assert_eq!(apps, yaml, "{name} differs from the YAML");
    }
}

#[test]
fn a_config_js_may_print_and_one_that_exits_early_is_named() {
    let d = Dir::new();
    let path = d.file(
        "ecosystem.config.js",
        "console.log('{\\\"apps\\\": []}');\nprocess.stdout.write('no newline');\nmodule.exports = { apps: [{ name: 'a', script: 'sleep', args: '5' }] };\n",
    );
    let loaded = load(&path, &d.opts()).expect("printing is allowed");
    assert_eq!(loaded.apps.len(), 1);
    assert_eq!(loaded.apps[0].name, "a");
    assert_eq!(loaded.printed, "{\"apps\": []}\nno newline");
    let path = d.file(
        "exits.config.js",
        "module.exports = { apps: [] };\nprocess.exit(0);\n",
    );
    let err = load(&path, &d.opts())
        .expect_err("no export was read")
        .to_string();
    assert!(err.contains("does it call process.exit()?"), "{err}");
}

#[test]
fn pm2_docs_ecosystem_config_js_loads() {
    let d = Dir::new();
    d.file("app.js", "setInterval(() => {}, 1000);\n");
    // From pm2's documentation (Ecosystem File / Environment).
    let text = r#"module.exports = {
  apps : [{
    name   : "app1",
    script : "./app.js",
    instances : "max",
    exec_mode : "cluster",
    watch : true,
    increment_var : 'PORT',
    env: {
      "PORT": 3000,
      "NODE_ENV": "development"
    },
    env_production: {
       NODE_ENV: "production"
    }
  }]
}
"#;
    let path = d.file("ecosystem.config.js", text);
    let mut opts = d.opts();
    opts.env_name = Some("production".into());
    let loaded = load(&path, &opts).expect("pm2's own example loads");
    let app = &loaded.apps[0];
    assert_eq!(app.name, "app1");
    assert_eq!(app.interpreter.as_deref(), Some("node"));
    assert!(app.instances >= 1);
    assert_eq!(
        app.env.get("NODE_ENV").map(String::as_str),
        Some("production")
    );
    assert_eq!(app.env.get("PORT").map(String::as_str), Some("3000"));
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    // `watch: true` watches the app's folder.
    let watch = app.watch.as_ref().expect("watch: true is read");
    assert!(watch.enabled && watch.paths.is_empty(), "{watch:?}");
    // Cluster mode and increment_var work: each instance gets its own PORT, nothing shared.
    assert_eq!(app.exec_mode, Some(pmtui_proto::ExecMode::Cluster));
    assert_eq!(app.increment_var.as_deref(), Some("PORT"));
    assert!(app.sockets().is_empty());
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn esm_default_exports_and_bare_lists_and_single_apps_load() {
    let d = Dir::new();
    let mjs = d.load(
        "eco.config.mjs",
        "export default { apps: [{ name: 'w', script: 'worker.sh' }] };\n",
    );
    assert_eq!(mjs.expect("mjs").apps[0].name, "w");
    let bare = d.load(
        "bare.json",
        r#"[{"script": "worker.sh"}, {"script": "web.py"}]"#,
    );
    let names: Vec<String> = bare
        .expect("bare")
        .apps
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["worker", "web"]);
    let single = d.load("one.yaml", "script: worker.sh\nname: solo\n");
    assert_eq!(single.expect("single").apps[0].name, "solo");
}

#[test]
fn unknown_fields_are_warned_about_with_their_place_and_the_field_meant() {
    let d = Dir::new();
    let cases = [
        (
            "u.yaml",
            "apps:\n  - name: a\n    script: worker.sh\n    instnaces: 2\n",
            "u.yaml:4:5: warning: apps[0].instnaces",
        ),
        (
            "u.json",
            "{\"apps\": [{\"name\": \"a\",\n  \"script\": \"worker.sh\", \"instnaces\": 2}]}",
            "u.json:2:26: warning: apps[0].instnaces",
        ),
        (
            "u.toml",
            "[[apps]]\nname = \"a\"\nscript = \"worker.sh\"\ninstnaces = 2\n",
            "u.toml:4:1: warning: apps[0].instnaces",
        ),
        (
            "u.config.js",
            "module.exports = {\n  apps: [{\n    name: 'a',\n    script: 'worker.sh',\n    instnaces: 2,\n  }],\n};\n",
            "u.config.js:5:5: warning: apps[0].instnaces",
        ),
    ];
    for (name, text, at) in cases {
        // As pm2, a key it does not know is ignored: the app loads, with a warning.
        let loaded = d.load(name, text).expect("loads");
        assert_eq!(loaded.apps.len(), 1);
        assert_eq!(loaded.apps[0].instances, 1, "the unknown key did nothing");
        let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0]
                .ends_with(": unknown field \"instnaces\" ignored; did you mean \"instances\"?"),
            "{warnings:?}"
        );
        assert!(
            warnings[0].contains(at),
            "{name}: {warnings:?} should contain {at}"
        );
    }
    // camelCase typos and nested blocks get suggestions too; x- keys are the user's own.
    let loaded = d
        .load(
            "n.yaml",
            "x-team: infra\napps:\n  - name: a\n    script: worker.sh\n    x-owner: me\n    maxMemoryRestrat: 1G\n    restart_policy:\n      backof: {}\n    my_own_key: 1\n",
        )
        .expect("loads");
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].contains("n.yaml:6:5: warning: apps[0].maxMemoryRestrat: unknown field \"maxMemoryRestrat\" ignored; did you mean"), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("n.yaml:8:7: warning: apps[0].restart_policy.backof: unknown field \"backof\" ignored; did you mean \"backoff\"?")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("n.yaml:9:5: warning: apps[0].my_own_key: unknown field \"my_own_key\" ignored (name your own keys")), "{warnings:?}");
    let lines: Vec<u32> = loaded.warnings.iter().map(|w| w.pos.line).collect();
    assert_eq!(lines, [6, 8, 9], "warnings come in the order of the file");
}

#[test]
fn warnings_of_different_checks_are_sorted_by_line() {
    // The unknown key is found while reading, the watch warning while resolving: without the
    // sort the later line would be printed first.
    let d = Dir::new();
    let loaded = d
        .load(
            "w.yaml",
            "apps:\n  - name: a\n    script: worker.sh\n    ignore_watch: dist\n    instnaces: 2\n",
        )
        .expect("loads");
    let lines: Vec<u32> = loaded.warnings.iter().map(|w| w.pos.line).collect();
    assert_eq!(lines, [4, 5], "{:?}", loaded.warnings);
}

#[test]
fn a_typo_that_explains_a_missing_script_is_an_error() {
    let d = Dir::new();
    let errors = d.errors(
        "s.yaml",
        "apps:\n  - name: a\n    scirpt: worker.sh\n    instnaces: 2\n",
    );
    assert!(
        errors.iter().any(|e| e.ends_with(
            "s.yaml:3:5: apps[0].scirpt: unknown field \"scirpt\"; did you mean \"script\"? (this app has no \"script\")"
        )),
        "{errors:?}"
    );
    assert!(
        !errors.iter().any(|e| e.contains("missing required field")),
        "the typo is the explanation: {errors:?}"
    );
    // The other warnings of a failing file are shown with its errors.
    assert!(
        errors
            .iter()
            .any(|e| e.contains("apps[0].instnaces: warning: unknown field")),
        "{errors:?}"
    );
    // A misspelt `apps` is not one app with an unknown key.
    let errors = d.errors("a.yaml", "aps:\n  - name: a\n    script: worker.sh\n");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("a.yaml:1:1: aps: unknown field \"aps\"; did you mean \"apps\"?"),
        "{errors:?}"
    );
}

#[test]
fn deploy_env_is_the_lowest_layer_with_env_name() {
    let d = Dir::new();
    let text = "{\"apps\": [{\"name\": \"a\", \"script\": \"worker.sh\", \"env\": {\"B\": \"env\"}, \"env_production\": {\"C\": \"env_production\"}}],\n \"deploy\": {\"production\": {\"user\": \"me\", \"env\": {\"A\": \"deploy\", \"B\": \"deploy\", \"C\": \"deploy\"}}}}";
    let path = d.file("deploy.json", text);
    let mut opts = d.opts();
    opts.env_name = Some("production".into());
    let loaded = load(&path, &opts).expect("loads");
    let env = &loaded.apps[0].env;
    assert_eq!(env.get("A").map(String::as_str), Some("deploy"));
    assert_eq!(
        env.get("B").map(String::as_str),
        Some("env"),
        "env over deploy"
    );
    assert_eq!(
        env.get("C").map(String::as_str),
        Some("env_production"),
        "env_<name> over both"
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let plain = load(&path, &d.opts()).expect("loads");
    assert!(!plain.apps[0].env.contains_key("A"), "only with --env");
}

#[test]
fn wrong_types_and_bad_values_say_what_was_expected() {
    let d = Dir::new();
    let errors = d.errors(
        "t.yaml",
        "apps:\n  - name: a\n    script: worker.sh\n    cron: 61 * * * *\n    instances: lots\n    kill_timeout: soon\n    max_memory_restart: 5X\n    autorestart: maybe\n    env: [1]\n    restart_policy:\n      mode: sometimes\n",
    );
    let expect = [
        "t.yaml:4:11: apps[0].cron: expected a cron pattern (Component error: Number out of bounds.), found the string \"61 * * * *\"",
        "t.yaml:5:16: apps[0].instances: expected a number of instances or \"max\", found the string \"lots\"",
        "t.yaml:6:19: apps[0].kill_timeout: expected a duration: milliseconds or a string like \"10s\", \"1m30s\", \"500ms\", found the string \"soon\"",
        "t.yaml:7:25: apps[0].max_memory_restart: expected a size: bytes or a string like \"500M\", \"1G\", \"64K\", found the string \"5X\"",
        "t.yaml:8:18: apps[0].autorestart: expected true or false, found the string \"maybe\"",
        "t.yaml:11:13: apps[0].restart_policy.mode: expected \"always\", \"on-failure\" or \"no\", found the string \"sometimes\"",
        "t.yaml:9:10: apps[0].env: expected a table of variables, found a list",
    ];
    for e in expect {
        assert!(
            errors.iter().any(|l| l.ends_with(e)),
            "missing {e:?} in {errors:#?}"
        );
    }
}

#[test]
fn syntax_errors_name_the_line_in_every_format() {
    let d = Dir::new();
    let cases = [
        (
            "s.json",
            "{\n  \"apps\": [\n    {\"name\": \"a\" \"script\": \"x\"}\n  ]\n}\n",
            "s.json:3:18: syntax error: expected , or }",
        ),
        (
            "s.yaml",
            "apps:\n  - name: [\n",
            "s.yaml:2:11: syntax error:",
        ),
        ("s.toml", "[[apps]]\nname = a\n", "s.toml:2:"),
        (
            "s.config.js",
            "module.exports = {\n  apps: [{ name: 'a', }\n};\n",
            "s.config.js:3:",
        ),
    ];
    for (name, text, at) in cases {
        let errors = d.errors(name, text);
        assert!(errors[0].contains(at), "{errors:?} should contain {at}");
    }
}

#[test]
fn missing_scripts_duplicates_and_only_are_reported() {
    let d = Dir::new();
    let errors = d.errors(
        "m.yaml",
        "apps:\n  - name: a\n  - name: b\n    script: nope.py\n  - name: c\n    script: worker.sh\n  - name: c\n    script: worker.sh\n",
    );
    assert!(
        errors
            .iter()
            .any(|e| e.ends_with("m.yaml:2:5: apps[0]: missing required field \"script\"")),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("m.yaml:4:13: apps[1].script: script not found")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.contains(
            "m.yaml:7:11: apps[3].name: two apps are named \"c\" (the other is at line 5)"
        )),
        "{errors:#?}"
    );

    let errors = d.errors(
        "d.json",
        "{\"script\": \"worker.sh\",\n \"exec\": \"web.py\"}",
    );
    assert!(
        errors[0].contains(
            "d.json:2:2: exec: \"script\" is given twice (also as \"script\" at line 1); keep one"
        ),
        "{errors:?}"
    );

    let path = d.file(
        "o.yaml",
        "apps:\n  - name: api\n    script: worker.sh\n  - name: web\n    script: web.py\n",
    );
    let mut opts = d.opts();
    opts.only = vec!["web".into()];
    let loaded = load(&path, &opts).expect("only web");
    assert_eq!(loaded.apps.len(), 1);
    assert_eq!(loaded.apps[0].name, "web");
    opts.only = vec!["wbe".into()];
    let err = load(&path, &opts).expect_err("no such app").to_string();
    assert!(
        err.contains(
            "--only wbe: no app of that name (the file has api, web); did you mean \"web\"?"
        ),
        "{err}"
    );
}

#[test]
fn env_blocks_env_files_and_port_merge_in_pm2_order() {
    let d = Dir::new();
    d.file(
        "base.env",
        "# defaults\nDB=sqlite\nLEVEL=info\nexport TOKEN='a b'\n",
    );
    let path = d.file(
        "e.yaml",
        "apps:\n  - name: a\n    script: worker.sh\n    env_file: base.env\n    port: 8080\n    env:\n      LEVEL: debug\n      SHELL_ONLY: null\n    env_production:\n      LEVEL: error\n      DB: postgres\n    append_env_to_name: true\n",
    );
    let loaded = load(&path, &d.opts()).expect("default env");
    let a = &loaded.apps[0];
    assert_eq!(a.name, "a");
    assert_eq!(a.env.get("DB").map(String::as_str), Some("sqlite"));
    assert_eq!(a.env.get("LEVEL").map(String::as_str), Some("debug"));
    assert_eq!(a.env.get("TOKEN").map(String::as_str), Some("a b"));
    assert_eq!(a.env.get("PORT").map(String::as_str), Some("8080"));
    assert!(
        !a.env.contains_key("SHELL_ONLY"),
        "null removes an inherited variable"
    );
    let mut opts = d.opts();
    opts.env_name = Some("production".into());
    opts.cli_env.insert("EXTRA".into(), "1".into());
    let loaded = load(&path, &opts).expect("production env");
    let a = &loaded.apps[0];
    assert_eq!(a.name, "a-production");
    assert_eq!(a.env.get("DB").map(String::as_str), Some("postgres"));
    assert_eq!(a.env.get("LEVEL").map(String::as_str), Some("error"));
    assert_eq!(a.env.get("EXTRA").map(String::as_str), Some("1"));
    assert_eq!(a.config_env.get("EXTRA").map(String::as_str), Some("1"));

    // A bad dotenv line points into the env file; a missing one at the key.
    d.file("bad.env", "A=1\nthis is not a line\n");
    let errors = d.errors("b.yaml", "script: worker.sh\nenv_file: bad.env\n");
    assert!(
        errors[0].contains("bad.env:2:1: syntax error: expected KEY=VALUE"),
        "{errors:?}"
    );
    let errors = d.errors("c.yaml", "script: worker.sh\nenv_file: missing.env\n");
    assert!(
        errors[0].contains("c.yaml:2:11: env_file: cannot read env file"),
        "{errors:?}"
    );
}

#[test]
fn node_missing_is_a_clear_error() {
    let d = Dir::new();
    let path = d.file("n.config.js", "module.exports = { apps: [] };\n");
    let mut opts = d.opts();
    opts.shell_env
        .insert("PATH".into(), d.path("empty").display().to_string());
    let err = load(&path, &opts).expect_err("no node").to_string();
    assert!(err.contains("n.config.js:1:1: this is a JavaScript ecosystem file, read by running `node`, which is not installed"), "{err}");
}

#[test]
fn export_reads_back_to_the_same_specs_in_every_format() {
    let d = Dir::new();
    let original = d.load("eco.yaml", YAML).expect("yaml").apps;
    let mut more = original.clone();
    let mut cmd = d
        .load("cmd.yaml", "name: srv\nscript: python3 -m http.server 0\nnamespace: web\nstop_signal: INT\nautostart: false\ncron: \"0 * * * *\"\ncron_revive: true\nuser: www-data\ngid: 33\ntreekill: false\nwait_ready: true\nlisten_timeout: 5s\nwatchdog: 10s\nhealth_check:\n  url: http://127.0.0.1:8000/health\n  interval: 1s\n  retries: 2\n  on_failure: none\n  expected_status: [200, \"500-503\"]\n")
        .expect("command string")
        .apps;
    // Names of the exported file: `depends_on` must name apps of the file it is read from.
    cmd[0].depends_on = vec![
        pmtui_proto::Dependency {
            name: "web".into(),
            condition: pmtui_proto::Condition::Completed,
        },
        pmtui_proto::Dependency {
            name: "worker".into(),
            condition: pmtui_proto::Condition::Started,
        },
    ];
    more.append(&mut cmd);
    let mut cluster = d
        .load(
            "cluster.yaml",
            "name: cl\nscript: python3 -m http.server 0\ninstances: 2\nexec_mode: cluster\nlisten: [\"web=tcp://127.0.0.1:0\", \"unix:run/a.sock\"]\nincrement_var: PORT\ninstance_var: APP_ID\nlisten_timeout: 5s\n",
        )
        .expect("cluster keys")
        .apps;
    assert_eq!(cluster[0].listen.len(), 2);
    assert!(
        cluster[0].listen[1].to_string().starts_with("unix:/"),
        "a relative unix path is anchored at cwd: {}",
        cluster[0].listen[1]
    );
    more.append(&mut cluster);
    for format in [Format::Json, Format::Yaml, Format::Toml] {
        let text = export::write(&more, format).expect("export");
        let ext = match format {
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Toml => "toml",
        };
        let back = d
            .load(&format!("exported.{ext}"), &text)
            .unwrap_or_else(|e| panic!("{ext} does not read back: {e}\n{text}"))
            .apps;
        assert_eq!(back.len(), more.len());
        for (a, b) in more.iter().zip(&back) {
            assert!(
                a.same_definition(b),
                "{ext}: {:#?}\n!=\n{:#?}\n{text}",
                a,
                b
            );
        }
    }
}

#[test]
fn config_file_names_are_told_from_scripts() {
    for yes in [
        "eco.json",
        "a.yaml",
        "b.yml",
        "c.toml",
        "ecosystem.config.js",
        "pm2.config.cjs",
        "x.config.mjs",
    ] {
        assert!(crate::is_config_file(yes), "{yes}");
    }
    for no in ["app.js", "server.py", "run.sh", "python3 -m http.server"] {
        assert!(!crate::is_config_file(no), "{no}");
    }
    let _ = Path::new("");
}

#[test]
fn the_example_file_loads() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ecosystem.yaml");
    let mut opts = LoadOptions::new(PathBuf::from("/tmp/pmtui-example-home"));
    opts.resolve = crate::which("node", &opts.shell_env).is_some();
    let loaded = load(&file, &opts).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = loaded.apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["web", "api", "worker", "crasher"]);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(
        loaded.apps[3].restart.backoff.kind,
        BackoffKind::Exponential
    );
}

#[test]
fn uid_and_gid_take_names_or_numbers_and_refuse_the_rest() {
    let d = Dir::new();
    let apps = d
        .load(
            "ids.yaml",
            "apps:\n  - script: worker.sh\n    uid: nobody\n    gid: 65534\n  - name: b\n    script: worker.sh\n    user: 1000\n",
        )
        .expect("loads")
        .apps;
    assert_eq!(apps[0].uid.as_deref(), Some("nobody"));
    assert_eq!(apps[0].gid.as_deref(), Some("65534"));
    assert_eq!(apps[1].uid.as_deref(), Some("1000"));
    assert_eq!(apps[1].gid, None);
    let errors = d.errors("bad.yaml", "script: worker.sh\nuid: -1\ngid: [1]\n");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].contains("uid: expected a name or a number"),
        "{errors:?}"
    );
}

#[test]
fn pm2_null_log_paths_mean_dev_null() {
    let d = Dir::new();
    let loaded = d
        .load(
            "null.json",
            r#"{"apps": [{"name": "web", "script": "web.py", "out_file": "NULL",
                "error_file": "/dev/null", "log_file": "NULL"},
               {"name": "lower", "script": "web.py", "out_file": "null.log"}]}"#,
        )
        .expect("loads");
    let web = &loaded.apps[0];
    let null = Some(PathBuf::from("/dev/null"));
    assert_eq!(web.logs.out_file, null);
    assert_eq!(web.logs.error_file, null);
    assert_eq!(web.logs.log_file, null);
    // Only pm2's exact spelling: an ordinary name stays a file in the app's folder.
    let lower = &loaded.apps[1];
    assert_eq!(lower.logs.out_file, Some(lower.cwd.join("null.log")));
    // In YAML a bare NULL is null: it means the same.
    let loaded = d
        .load(
            "null.yaml",
            "apps:\n  - name: y\n    script: web.py\n    out_file: NULL\n    log:\n      error_file: ~\n",
        )
        .expect("loads");
    assert_eq!(loaded.apps[0].logs.out_file, null);
    assert_eq!(loaded.apps[0].logs.error_file, null);
}

#[test]
fn a_bad_listen_address_points_at_its_line() {
    let d = Dir::new();
    let err = d
        .load(
            "l.yaml",
            "name: a\nscript: worker.sh\nlisten:\n  - tcp://127.0.0.1:1\n  - http://x\n",
        )
        .expect_err("a bad address")
        .to_string();
    assert!(
        err.contains("l.yaml:5:5") && err.contains("listen[1]"),
        "{err}"
    );
    assert!(err.contains("not a listen address"), "{err}");
}

#[test]
fn watch_in_every_form() {
    let d = Dir::new();
    d.file("app.py", "print(1)\n");
    std::fs::create_dir_all(d.path("src")).expect("mkdir");
    let load_app = |text: &str| {
        let path = d.file("eco.yaml", text);
        let loaded = load(&path, &d.opts()).expect("loads");
        let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        (loaded.apps[0].watch.clone(), warnings)
    };
    let cwd = d.path(".").canonicalize().expect("canonical");
    let (w, warnings) = load_app(
        "name: a\nscript: app.py\nwatch: [src, app.py]\nignore_watch: ['*.tmp', dist]\nwatch_delay: 2s\n",
    );
    let w = w.expect("watch");
    assert!(w.enabled);
    assert_eq!(w.paths, vec![cwd.join("src"), cwd.join("app.py")]);
    assert_eq!(w.ignore, vec!["*.tmp".to_string(), "dist".to_string()]);
    assert_eq!(w.delay_ms, 2000);
    assert!(warnings.is_empty(), "{warnings:?}");

    let (w, _) = load_app("name: a\nscript: app.py\nwatch: src\n");
    assert_eq!(w.expect("watch").paths, vec![cwd.join("src")]);

    let (w, warnings) = load_app(
        "name: a\nscript: app.py\nwatch:\n  enabled: true\n  paths: [src, gone]\n  ignore: [build]\n  debounce: 300ms\n",
    );
    let w = w.expect("watch");
    assert_eq!(w.paths, vec![cwd.join("src"), cwd.join("gone")]);
    assert_eq!(
        (w.ignore.clone(), w.delay_ms),
        (vec!["build".to_string()], 300)
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("gone does not exist (yet)")),
        "{warnings:?}"
    );

    let (w, _) = load_app("name: a\nscript: app.py\nwatch: false\n");
    assert!(!w.expect("watch: false is kept, off").enabled);

    let (w, warnings) = load_app(
        "name: a\nscript: app.py\nignore_watch: dist\nwatch_options: {usePolling: true}\n",
    );
    assert!(w.is_none());
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("ignore_watch: has no effect without `watch`")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("watch_options: has no effect")),
        "{warnings:?}"
    );
}

#[test]
fn depends_on_reads_both_forms_and_reports_unknown_names_and_cycles_at_their_line() {
    use pmtui_proto::Condition;
    let d = Dir::new();
    let loaded = d
        .load(
            "chain.yaml",
            "apps:\n  - name: api\n    script: worker.sh\n    depends_on:\n      migrate: { condition: completed }\n      db: started\n  - name: migrate\n    script: worker.sh\n    autorestart: false\n    depends_on: [db]\n  - name: db\n    script: worker.sh\n",
        )
        .expect("a chain loads");
    let api = &loaded.apps[0];
    assert_eq!(api.depends_on.len(), 2);
    assert_eq!(api.depends_on[0].name, "migrate");
    assert_eq!(api.depends_on[0].condition, Condition::Completed);
    assert_eq!(api.depends_on[1].condition, Condition::Started);
    assert_eq!(loaded.apps[1].depends_on[0].condition, Condition::Ready);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    // The same in JSON and TOML.
    let json = d
        .load(
            "chain.json",
            r#"{"apps": [{"name": "a", "script": "worker.sh", "dependsOn": {"b": {"condition": "ready"}}}, {"name": "b", "script": "worker.sh"}]}"#,
        )
        .expect("json");
    assert_eq!(json.apps[0].depends_on[0].name, "b");
    let toml = d
        .load(
            "chain.toml",
            "[[apps]]\nname = \"a\"\nscript = \"worker.sh\"\ndepends_on = [\"b\"]\n\n[[apps]]\nname = \"b\"\nscript = \"worker.sh\"\n",
        )
        .expect("toml");
    assert_eq!(toml.apps[0].depends_on[0].name, "b");

    let errors = d.errors(
        "cycle.yaml",
        "apps:\n  - name: a\n    script: worker.sh\n    depends_on: [b]\n  - name: b\n    script: worker.sh\n    depends_on:\n      - c\n  - name: c\n    script: worker.sh\n    depends_on: [a]\n",
    );
    assert!(
        errors.iter().any(|e| e.contains("cycle.yaml:4:18")
            && e.contains("apps[0].depends_on")
            && e.contains("dependency cycle: a → b → c → a")),
        "{errors:?}"
    );
    let errors = d.errors(
        "unknown.yaml",
        "apps:\n  - name: api\n    script: worker.sh\n    depends_on: [dbb]\n  - name: db\n    script: worker.sh\n",
    );
    assert!(
        errors.iter().any(|e| e.contains("unknown.yaml:4:18")
            && e.contains(
                "depends on \"dbb\", which is not an app of this file; did you mean \"db\"?"
            )),
        "{errors:?}"
    );
    let errors = d.errors(
        "bad.yaml",
        "name: a\nscript: worker.sh\ndepends_on: { a: soon }\n",
    );
    assert!(
        errors.iter().any(|e| e.contains("bad.yaml:3:18")
            && e.contains("`started`, `ready` or `completed`")),
        "{errors:?}"
    );
    // A migration that would run for ever is warned about.
    let loaded = d
        .load(
            "loop.yaml",
            "apps:\n  - name: api\n    script: worker.sh\n    depends_on: { migrate: completed }\n  - name: migrate\n    script: worker.sh\n",
        )
        .expect("loads with a warning");
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.message.contains("autorestart: false")),
        "{:?}",
        loaded.warnings
    );
}
