//! Adding one process: its table row, its log sink and its job task.

use super::log_paths::log_paths;
use super::{Entry, Reply, Supervisor};
use crate::job::JobCmd;
use crate::logs::{LineFormat, LogPaths, LogSink, Rotation, SinkFiles};
use crate::metrics::History;
use crate::record::DesiredState;
use crate::{job, spawn};
use pmtui_proto::{EventKind, ProcessId, ProcessInfo, ProcessSpec, ProcessStatus};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::oneshot;

impl Supervisor {
    /// Adds one process to the table and starts its job. With `desired == Running` the job
    /// launches it and the returned receiver fires once the first launch was attempted.
    pub(super) fn add(
        &self,
        mut spec: ProcessSpec,
        fixed_id: Option<ProcessId>,
        desired: DesiredState,
        restarts: u32,
        created_at: Option<u64>,
    ) -> (ProcessId, Option<Reply>) {
        // Processes started from one shell (instances of one app) share one environment.
        self.shared.envs.intern(&mut spec.env);
        let mut table = self.shared.lock();
        // Instances of one app share one definition (about 1 KiB each); a job or a verb
        // that changes its own copies it first (`Arc::make_mut`).
        let spec = table
            .named(&spec.name)
            .find(|e| *e.spec == spec)
            .map_or_else(|| Arc::new(spec), |e| Arc::clone(&e.spec));
        let id = fixed_id.unwrap_or(table.next_id);
        table.next_id = table.next_id.max(id + 1);
        let instance = (0..)
            .find(|i| !table.named(&spec.name).any(|e| e.info.instance == *i))
            .unwrap_or(0);
        let several = spec.instances > 1 || table.named(&spec.name).next().is_some();
        let paths = log_paths(
            &self.shared.config,
            &spec,
            id,
            several && !spec.logs.merge_logs,
        );
        let sink = self.sink_for(&spec, id, &paths);
        let env = Arc::new(spawn::child_env(&spec, id, instance, &self.shared.config));
        let info = ProcessInfo {
            id,
            name: spec.name.clone(),
            namespace: spec.namespace.clone(),
            instance,
            status: ProcessStatus::Stopped,
            pid: None,
            restarts,
            unstable_restarts: 0,
            uptime_ms: 0,
            cpu: 0.0,
            memory: 0,
            exit_code: None,
            exit_signal: None,
            created_at: created_at.unwrap_or_else(pmtui_proto::now_ms),
            started_at: None,
            next_restart_at: None,
            status_reason: None,
            command: spec.command_line(),
            mode: spec.mode(),
            sockets: self.shared.sockets.shown(&spec),
            reload: None,
            readiness: None,
            ready_at: None,
            health: None,
            last_probe: None,
            status_text: None,
            main_pid: None,
            watch: None,
            watch_trigger: None,
            watch_error: None,
            next_run_at: None,
            last_result: None,
        };
        let (job, rx) = job::spawn_job(
            Arc::clone(&self.shared),
            id,
            Arc::clone(&spec),
            Arc::clone(&env),
            Arc::clone(&sink),
        );
        let ready = if desired == DesiredState::Running {
            let (tx, ready_rx) = oneshot::channel();
            let _ = job.send(JobCmd::Start { reply: tx });
            Some((id, ready_rx))
        } else {
            None
        };
        let entry = Entry {
            info: info.clone(),
            spec,
            env,
            desired,
            history: VecDeque::new(),
            pid_start_time: None,
            sink,
            paths,
            metrics: History::new(self.shared.metrics.capacity),
            app: std::sync::Arc::new(std::sync::Mutex::new(crate::metrics::app::AppStore::new(
                self.shared.metrics.capacity,
            ))),
            ready: crate::small_watch::Sender::new(crate::probe::RunReady::default()),
            fd_shortage: false,
            hook_failures: VecDeque::new(),
            job,
        };
        table.insert(id, Box::new(entry));
        self.shared.publish(
            &mut table,
            EventKind::Process {
                process: Box::new(info),
            },
        );
        drop(table);
        tokio::spawn(rx);
        (id, ready)
    }

    /// The sink of a new process: its files (shared with processes writing the same paths),
    /// its line format and its rotation (the spec's, else the daemon's defaults).
    pub(super) fn sink_for(
        &self,
        spec: &ProcessSpec,
        id: ProcessId,
        paths: &LogPaths,
    ) -> Arc<LogSink> {
        let config = &self.shared.config;
        let rotation = Rotation {
            max_size: spec.logs.max_size.unwrap_or(config.log_max_size),
            max_files: spec.logs.max_files.unwrap_or(config.log_max_files),
            compress: spec.logs.compress.unwrap_or(config.log_compress),
        };
        let open = |p: &Option<std::path::PathBuf>| {
            p.as_deref()
                .and_then(|p| self.shared.files.get(p, rotation))
        };
        let files = SinkFiles {
            out: open(&paths.out),
            err: open(&paths.err),
            combined: open(&paths.combined),
        };
        let format = LineFormat::new(
            spec.logs.format,
            spec.logs.date_format.as_deref(),
            &spec.name,
            id,
        );
        let sink = LogSink::new(
            id,
            spec.name.clone(),
            files,
            format,
            config.log_ring_bytes,
            self.shared.logs.clone(),
        );
        self.shared.register_sink(&sink);
        sink
    }
}
