//! The verbs on existing processes: stop, restart, delete, reset, signal, describe.

use super::{Supervisor, join, with_uptime};
use crate::job::JobCmd;
use crate::record::DesiredState;
use crate::{SupervisorError, tree};
use pmtui_proto::{EventKind, ProcessDetail, ProcessId, ProcessInfo};
use std::collections::BTreeMap;

impl Supervisor {
    pub async fn stop(&self, targets: &[String]) -> Result<Vec<ProcessInfo>, SupervisorError> {
        let ids = self.resolve(targets)?;
        self.stop_ids(&ids).await
    }

    /// Stops the processes `ids` (those that exist), apps that depend on others first.
    pub async fn stop_ids(&self, ids: &[ProcessId]) -> Result<Vec<ProcessInfo>, SupervisorError> {
        self.set_desired(ids, DesiredState::Stopped);
        let lost = self.stop_in_order(ids).await?;
        self.answered(lost)?;
        Ok(self.infos(ids))
    }

    pub async fn restart(
        &self,
        targets: &[String],
        env: Option<BTreeMap<String, String>>,
    ) -> Result<Vec<ProcessInfo>, SupervisorError> {
        if let Some(env) = &env {
            pmtui_proto::check_env(env)
                .map_err(|err| SupervisorError::BadRequest(format!("--update-env: {err}")))?;
        }
        let ids = self.resolve(targets)?;
        self.set_desired(&ids, DesiredState::Running);
        let env = env.map(pmtui_proto::EnvMap::from);
        let replies = self.send_each(&ids, |reply| JobCmd::Restart {
            reason: "manual",
            env: env.clone(),
            reply,
        })?;
        self.answered(join(replies).await)?;
        self.check_fds(&ids)?;
        self.check_watch(&ids)?;
        Ok(self.infos(&ids))
    }

    /// Turns file watching of the targets on (their configured paths, else their `cwd`)
    /// or off, without restarting them; a stopped process starts watching when started.
    pub async fn watch(
        &self,
        targets: &[String],
        enabled: bool,
    ) -> Result<Vec<ProcessInfo>, SupervisorError> {
        let ids = self.resolve(targets)?;
        let mut replies = Vec::new();
        {
            let mut table = self.shared.lock();
            for id in &ids {
                let Some(entry) = table.entries.get_mut(id) else {
                    continue;
                };
                let watch = match (entry.spec.watch.clone(), enabled) {
                    (Some(mut w), on) => {
                        w.enabled = on;
                        Some(w)
                    }
                    (None, true) => Some(Box::default()),
                    (None, false) => None,
                };
                std::sync::Arc::make_mut(&mut entry.spec).watch = watch.clone();
                let (tx, rx) = tokio::sync::oneshot::channel();
                let _ = entry.job.send(JobCmd::SetWatch { watch, reply: tx });
                replies.push((*id, rx));
            }
        }
        self.answered(join(replies).await)?;
        self.check_watch(&ids)?;
        Ok(self.infos(&ids))
    }

    /// Restarts one process for a reason of the engine's own (`memory limit`, `watch`,
    /// `cron`), recorded in its history. Only a running process is restarted: one that is
    /// stopped, errored or waiting for a backoff restart is left as it is (a sample that
    /// races a `pmtui stop` must not start it again). Unlike a manual restart, it keeps the
    /// crash-loop count and backoff.
    pub async fn restart_for(
        &self,
        id: ProcessId,
        reason: &'static str,
    ) -> Result<(), SupervisorError> {
        let replies = self.send_each(&[id], |reply| JobCmd::Restart {
            env: None,
            reason,
            reply,
        })?;
        self.answered(join(replies).await)?;
        Ok(())
    }

    pub async fn delete(&self, targets: &[String]) -> Result<Vec<ProcessInfo>, SupervisorError> {
        let ids = self.resolve(targets)?;
        self.delete_ids(&ids).await
    }

    /// Stops (apps that depend on others first) and forgets the processes `ids` (those
    /// that exist).
    pub async fn delete_ids(&self, ids: &[ProcessId]) -> Result<Vec<ProcessInfo>, SupervisorError> {
        self.set_desired(ids, DesiredState::Stopped);
        let lost = self.stop_in_order(ids).await?;
        let removed = self.infos(ids);
        let mut table = self.shared.lock();
        for id in ids {
            if let Some(entry) = table.remove(id) {
                let _ = entry.job.send(JobCmd::Exit);
                self.shared
                    .publish(&mut table, EventKind::Removed { id: *id });
            }
        }
        if table.entries.is_empty() {
            table.next_id = 0;
        }
        drop(table);
        let mut names: Vec<&str> = removed.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            self.release_unused_sockets(name);
        }
        if !lost.is_empty() {
            let names: Vec<String> = removed
                .iter()
                .filter(|p| lost.contains(&p.id))
                .map(|p| format!("{} (id {})", p.name, p.id))
                .collect();
            return Err(SupervisorError::JobFailed(names.join(", ")));
        }
        Ok(removed)
    }

    /// Runs the tasks among `targets` now (trigger `manual`; while a run is going, as
    /// their `overlap` says). Targets that are not tasks are refused.
    pub async fn run(&self, targets: &[String]) -> Result<Vec<ProcessInfo>, SupervisorError> {
        let ids = self.resolve(targets)?;
        let not_tasks: Vec<String> = {
            let table = self.shared.lock();
            ids.iter()
                .filter_map(|id| table.entries.get(id))
                .filter(|e| !e.spec.is_task())
                .map(|e| e.info.name.clone())
                .collect()
        };
        if !not_tasks.is_empty() {
            return Err(SupervisorError::BadRequest(format!(
                "{} {} not a task (no schedule): `pmtui run` runs tasks; `pmtui restart` \
                 restarts other apps",
                not_tasks.join(", "),
                if not_tasks.len() == 1 { "is" } else { "are" }
            )));
        }
        self.answered(join(self.send_each(&ids, |reply| JobCmd::Run { reply })?).await)?;
        self.check_fds(&ids)?;
        Ok(self.infos(&ids))
    }

    pub async fn reset(&self, targets: &[String]) -> Result<Vec<ProcessInfo>, SupervisorError> {
        let ids = self.resolve(targets)?;
        self.answered(join(self.send_each(&ids, |reply| JobCmd::Reset { reply })?).await)?;
        Ok(self.infos(&ids))
    }

    pub async fn signal(
        &self,
        signal: &str,
        targets: &[String],
    ) -> Result<Vec<ProcessInfo>, SupervisorError> {
        let sig = tree::parse_signal(signal)
            .ok_or_else(|| SupervisorError::BadRequest(format!("unknown signal {signal}")))?;
        let ids = self.resolve(targets)?;
        let infos = self.infos(&ids);
        let running: Vec<_> = infos.iter().filter_map(|i| i.pid).collect();
        if running.is_empty() {
            return Err(SupervisorError::BadRequest(format!(
                "{} is not running; nothing to signal",
                targets.join(" ")
            )));
        }
        for pid in running {
            tree::signal_pid(pid, sig);
        }
        Ok(infos)
    }

    /// Everything known about the targets; without `history` the metrics series keep only
    /// their ends (see `Request::Describe`).
    pub fn describe(
        &self,
        targets: &[String],
        history: bool,
    ) -> Result<Vec<ProcessDetail>, SupervisorError> {
        let ids = self.resolve(targets)?;
        let table = self.shared.lock();
        Ok(ids
            .iter()
            .filter_map(|id| table.entries.get(id))
            .map(|e| ProcessDetail {
                info: with_uptime(&e.info),
                spec: (*e.spec).clone(),
                env: e.env.to_map(),
                out_log: e.paths.out.as_ref().map(|p| p.display().to_string()),
                err_log: e.paths.err.as_ref().map(|p| p.display().to_string()),
                history: e.history.iter().cloned().collect(),
                metrics: {
                    let metrics =
                        super::sampling::metrics_history(e, self.shared.metrics.interval_ms);
                    if history {
                        metrics
                    } else {
                        metrics.ends_only()
                    }
                },
                containment: self.shared.containment.mode().to_string(),
                cgroup: self
                    .shared
                    .containment
                    .cgroup_of(e.info.id)
                    .map(|p| p.display().to_string()),
                hook_failures: e.hook_failures.iter().cloned().collect(),
            })
            .collect())
    }
}
