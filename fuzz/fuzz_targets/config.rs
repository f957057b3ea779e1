//! Shared by the three config targets: bytes read as an ecosystem file of one format, end
//! to end through pmtui-config (the reader, the schema check, the spec builder, script
//! resolution), with an empty shell environment and the app folder in a scratch directory.

use pmtui_config::{LoadOptions, load_text};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("pmtui-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join("app.py"), "print('hi')\n");
        let _ = std::fs::write(dir.join(".env"), "A=1\n");
        dir
    })
}

pub fn run(name: &str, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = scratch();
    let mut opts = LoadOptions::new(dir.to_path_buf());
    opts.shell_env = [("PATH".to_string(), "/usr/bin:/bin".to_string())].into();
    opts.env_name = Some("production".into());
    for resolve in [false, true] {
        opts.resolve = resolve;
        if let Ok(loaded) = load_text(Path::new(name), text, dir, &opts) {
            for spec in &loaded.apps {
                // What a file gives, the daemon accepts as far as names and environments go.
                assert!(
                    pmtui_proto::check_name(&spec.name).is_ok(),
                    "{:?}",
                    spec.name
                );
                assert!(pmtui_proto::check_env(&spec.env).is_ok());
                let _ = serde_json::to_vec(spec).expect("a spec serializes");
            }
        }
    }
}
