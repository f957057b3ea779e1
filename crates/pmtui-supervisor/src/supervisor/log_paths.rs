//! Where a process's output goes: the spec's own files or `logs/<name>[-<id>]-{out,err}.log`,
//! `<name>` being the name's file stem (`pmtui_proto::file_stem`, unique per name).

use crate::SupervisorConfig;
use crate::logs::LogPaths;
use pmtui_proto::{ProcessId, ProcessSpec, file_stem};

/// Log file paths: the spec's own, or `logs/<name>[-<id>]-{out,err}.log`.
pub(super) fn log_paths(
    config: &SupervisorConfig,
    spec: &ProcessSpec,
    id: ProcessId,
    per_instance: bool,
) -> LogPaths {
    let name = file_stem(&spec.name);
    let suffix = if per_instance {
        format!("-{id}")
    } else {
        String::new()
    };
    let default = |kind: &str| config.logs_dir().join(format!("{name}{suffix}-{kind}.log"));
    let custom = |p: &std::path::PathBuf| {
        if per_instance && p != std::path::Path::new("/dev/null") {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ext = p
                .extension()
                .map(|e| format!(".{}", e.to_string_lossy()))
                .unwrap_or_default();
            p.with_file_name(format!("{stem}{suffix}{ext}"))
        } else {
            p.clone()
        }
    };
    LogPaths {
        out: Some(
            spec.logs
                .out_file
                .as_ref()
                .map_or_else(|| default("out"), custom),
        ),
        err: Some(
            spec.logs
                .error_file
                .as_ref()
                .map_or_else(|| default("err"), custom),
        ),
        combined: spec.logs.log_file.as_ref().map(custom),
    }
}
