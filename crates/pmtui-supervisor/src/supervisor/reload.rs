//! Rolling reload (`pmtui reload`): the instances are replaced one at a time (or
//! `parallel` at a time); each new run starts beside the old one, which is stopped only
//! once the new one is ready (see `job/reload.rs` for what ready means there). The first
//! instance that fails stops the reload: its old run and every instance not reached yet
//! keep serving, and the error names it and why. The instance count never drops below the
//! count before the reload. Each row shows where it is (`ProcessInfo::reload`).
//!
//! Other features call [`Supervisor::reload_ids`] (watch restarts of a cluster, say) with
//! their own reason for the history.

use super::Supervisor;
use crate::SupervisorError;
use crate::job::JobCmd;
use crate::record::DesiredState;
use pmtui_proto::{ProcessId, ProcessInfo, ReloadState, now_ms};
use std::collections::BTreeMap;
use tokio::sync::oneshot;

/// Where a job says how its instance's reload went.
type ReloadAnswer = oneshot::Receiver<Result<(), String>>;

/// How a reload goes.
#[derive(Debug, Clone)]
pub struct ReloadOptions {
    /// Instances replaced at once (at least 1).
    pub parallel: usize,
    /// A new environment (`--update-env`); `None` keeps the stored one.
    pub env: Option<BTreeMap<String, String>>,
    /// Recorded in the history of each replaced run: `reload`, `watch`, …
    pub reason: &'static str,
}

impl Default for ReloadOptions {
    fn default() -> Self {
        Self {
            parallel: 1,
            env: None,
            reason: "reload",
        }
    }
}

impl Supervisor {
    /// `pmtui reload <targets>`: a rolling reload of what the targets name (a target that
    /// is not running is started).
    pub async fn reload(
        &self,
        targets: &[String],
        options: ReloadOptions,
    ) -> Result<Vec<ProcessInfo>, SupervisorError> {
        if let Some(env) = &options.env {
            pmtui_proto::check_env(env)
                .map_err(|err| SupervisorError::BadRequest(format!("--update-env: {err}")))?;
        }
        let ids = self.resolve(targets)?;
        self.set_desired(&ids, DesiredState::Running);
        self.reload_ids(&ids, options).await?;
        self.check_fds(&ids)?;
        Ok(self.infos(&ids))
    }

    /// Replaces the runs of `ids` in this order, `options.parallel` at a time, each old run
    /// stopped only once its new run is ready. Stops at the first instance that fails
    /// (`SupervisorError::ReloadFailed` names it and says why); the ones before it are
    /// replaced, it and the ones after it keep their old runs. Ids that do not exist are
    /// skipped.
    pub async fn reload_ids(
        &self,
        ids: &[ProcessId],
        options: ReloadOptions,
    ) -> Result<(), SupervisorError> {
        let of = ids.len() as u32;
        for (step, id) in ids.iter().enumerate() {
            self.shared.update(*id, |e| {
                e.info.reload = Some(ReloadState {
                    phase: "queued".into(),
                    step: step as u32 + 1,
                    of,
                    new_pid: None,
                    old_pid: e.info.pid,
                    since: now_ms(),
                });
            });
        }
        let result = self.reload_in_turn(ids, &options).await;
        for id in ids {
            self.shared.update(*id, |e| e.info.reload = None);
        }
        result
    }

    async fn reload_in_turn(
        &self,
        ids: &[ProcessId],
        options: &ReloadOptions,
    ) -> Result<(), SupervisorError> {
        let of = ids.len();
        for (batch, chunk) in ids.chunks(options.parallel.max(1)).enumerate() {
            let replies: Vec<(usize, ProcessId, ReloadAnswer)> = {
                let table = self.shared.lock();
                chunk
                    .iter()
                    .enumerate()
                    .filter_map(|(i, id)| table.entries.get(id).map(|e| (i, *id, e)))
                    .map(|(i, id, entry)| {
                        let (tx, rx) = oneshot::channel();
                        let _ = entry.job.send(JobCmd::Reload {
                            env: options.env.clone().map(Box::new),
                            reason: options.reason,
                            reply: tx,
                        });
                        (batch * options.parallel.max(1) + i + 1, id, rx)
                    })
                    .collect()
            };
            let mut failures = Vec::new();
            let mut lost = Vec::new();
            for (step, id, rx) in replies {
                match rx.await {
                    Ok(Ok(())) => {}
                    Ok(Err(why)) => failures.push(format!(
                        "{} (instance {step} of {of}): {why}",
                        self.describe_id(id)
                    )),
                    Err(_) => lost.push(id),
                }
                self.shared.update(id, |e| e.info.reload = None);
            }
            self.answered(lost)?;
            if !failures.is_empty() {
                return Err(SupervisorError::ReloadFailed(failures.join("; ")));
            }
        }
        Ok(())
    }

    /// `name (id N)`, or `id N` for a process that is gone.
    fn describe_id(&self, id: ProcessId) -> String {
        match self.name_of(id) {
            Some(name) => format!("{name} (id {id})"),
            None => format!("id {id}"),
        }
    }
}
