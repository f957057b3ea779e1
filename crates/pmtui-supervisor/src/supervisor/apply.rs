//! Definitions in: `start` (pm2's smart start) and `apply` (an ecosystem file), and the
//! replacement of processes whose definition changed.

use super::validate::validate;
use super::{Entry, Supervisor, join};
use crate::SupervisorError;
use crate::job::JobCmd;
use crate::record::DesiredState;
use pmtui_proto::{ProcessId, ProcessInfo, ProcessSpec, ProcessStatus};
use std::collections::VecDeque;

/// What `start` did.
#[derive(Debug, Default)]
pub struct StartOutcome {
    pub started: Vec<ProcessInfo>,
    pub restarted: Vec<ProcessInfo>,
}

/// What `apply` did.
#[derive(Debug, Default)]
pub struct ApplyOutcome {
    pub started: Vec<ProcessInfo>,
    pub restarted: Vec<ProcessInfo>,
    pub unchanged: Vec<ProcessInfo>,
}

/// One row of an app being applied, compared with its new definition.
pub(super) struct Instance {
    pub id: ProcessId,
    /// Its definition is the new one.
    pub same: bool,
    /// Running, or about to restart.
    pub running: bool,
    /// Its definition differs from the new one at most in the instance count.
    pub same_but_count: bool,
}

/// The rows are the new definition, as many as it asks for: nothing to replace.
pub(super) fn same_set(existing: &[Instance], spec: &ProcessSpec) -> bool {
    existing.len() == spec.instances.max(1) as usize && existing.iter().all(|i| i.same)
}

impl Supervisor {
    /// Starts `spec` as new processes, or restarts the processes of that name (pm2's smart
    /// start): with a changed definition they are replaced by it as `apply` does (the stored
    /// environment kept unless `update_env`); another script under the name is refused.
    pub async fn start(
        &self,
        mut spec: ProcessSpec,
        force: bool,
        update_env: bool,
    ) -> Result<StartOutcome, SupervisorError> {
        validate(&spec)?;
        let (existing, stored): (Vec<ProcessId>, Option<ProcessSpec>) = {
            let table = self.shared.lock();
            let mut found: Vec<&Entry> = table.named(&spec.name).collect();
            found.sort_by_key(|e| e.info.instance);
            (
                found.iter().map(|e| e.info.id).collect(),
                found.first().map(|e| (*e.spec).clone()),
            )
        };
        if let Some(stored) = stored.filter(|_| !force) {
            if stored.script != spec.script {
                return Err(SupervisorError::NameTaken(spec.name));
            }
            if spec.same_but_count(&stored) && spec.instances as usize != existing.len() {
                // Only the count changed: pm2's scale, the others keep running.
                let (ids, _) = self.of_name(&spec.name);
                let outcome = self
                    .scale_to(&ids, stored, DesiredState::Running, spec.instances.max(1))
                    .await?;
                return Ok(StartOutcome {
                    started: outcome.started,
                    restarted: Vec::new(),
                });
            }
            if !spec.same_definition(&stored) || spec.instances as usize != existing.len() {
                if !update_env {
                    let user_set = std::mem::take(&mut spec.env);
                    spec.env = stored.env.clone();
                    spec.env.extend(
                        user_set
                            .into_iter()
                            .filter(|(k, _)| spec.config_env.contains_key(k)),
                    );
                }
                let ids = self.replace(&existing, spec).await?;
                self.check_fds(&ids)?;
                self.check_watch(&ids)?;
                return Ok(StartOutcome {
                    started: Vec::new(),
                    restarted: self.infos(&ids),
                });
            }
            let env = update_env.then(|| spec.env.clone());
            let replies = self.send_each(&existing, |reply| JobCmd::Restart {
                reason: "manual",
                env: env.clone(),
                reply,
            })?;
            self.answered(join(replies).await)?;
            self.check_fds(&existing)?;
            self.check_watch(&existing)?;
            return Ok(StartOutcome {
                started: Vec::new(),
                restarted: self.infos(&existing),
            });
        }
        self.bind_sockets(&spec)?;
        let count = spec.instances.max(1);
        let mut ready = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..count {
            let (id, rx) = self.add(spec.clone(), None, DesiredState::Running, 0, None);
            ids.push(id);
            ready.extend(rx);
        }
        self.answered(join(ready).await)?;
        if let Some(why) = self.fd_shortage(&ids) {
            // Not "started" and errored: the start did not happen, so nothing of it is kept.
            let _ = self.delete_ids(&ids).await;
            return Err(SupervisorError::FdLimit(why));
        }
        self.check_watch(&ids)?;
        Ok(StartOutcome {
            started: self.infos(&ids),
            restarted: Vec::new(),
        })
    }

    /// Applies a set of definitions (an ecosystem file): missing names are added (started
    /// unless `autostart` is off), names whose definition changed are restarted with the new
    /// one (same ids, scaled to the new instance count), unchanged ones are left alone
    /// (started again if they are not running), or restarted when `restart_all`. Every spec
    /// is validated before anything is done. Apps with `depends_on` start in dependency
    /// order (`order`).
    pub async fn apply(
        &self,
        specs: Vec<ProcessSpec>,
        restart_all: bool,
    ) -> Result<ApplyOutcome, SupervisorError> {
        for spec in &specs {
            validate(spec)?;
        }
        self.check_dependencies(&specs)?;
        for spec in &specs {
            self.bind_sockets(spec)?;
        }
        let mut outcome = ApplyOutcome::default();
        let mut short: Vec<String> = Vec::new();
        // Apps with dependencies are held (added or stopped now, started in order later,
        // see `order`); the reply does not wait for them.
        let (now, plan) = self.plan_apply(specs, restart_all, &mut outcome).await?;
        let mut done = Ok(());
        for spec in now {
            done = self
                .apply_one(spec, restart_all, &mut outcome, &mut short)
                .await;
            if done.is_err() {
                break;
            }
        }
        // Held apps go on even so: what they depend on says whether they start.
        self.run_plan(plan);
        done?;
        if !short.is_empty() {
            // What did start stays; the command fails for what did not.
            return Err(SupervisorError::FdLimit(short.join("\n")));
        }
        Ok(outcome)
    }

    /// Applies one definition of a set (see `apply`), adding to `outcome`; a process that
    /// could not start for want of file descriptors is added to `short`.
    pub(super) async fn apply_one(
        &self,
        spec: ProcessSpec,
        restart_all: bool,
        outcome: &mut ApplyOutcome,
        short: &mut Vec<String>,
    ) -> Result<(), SupervisorError> {
        let existing = self.instances_of(&spec);
        let desired = if spec.autostart {
            DesiredState::Running
        } else {
            DesiredState::Stopped
        };
        if existing.is_empty() {
            let mut ids = Vec::new();
            let mut ready = Vec::new();
            for _ in 0..spec.instances.max(1) {
                let (id, rx) = self.add(spec.clone(), None, desired, 0, None);
                ids.push(id);
                ready.extend(rx);
            }
            self.answered(join(ready).await)?;
            if let Some(why) = self.fd_shortage(&ids) {
                let _ = self.delete_ids(&ids).await;
                short.push(format!("{}: {why}", spec.name));
                return Ok(());
            }
            outcome.started.extend(self.infos(&ids));
            return Ok(());
        }
        let ids: Vec<ProcessId> = existing.iter().map(|i| i.id).collect();
        let same = same_set(&existing, &spec);
        let only_count = existing.iter().all(|i| i.same_but_count);
        if !same && only_count {
            // Only the count changed: scaled, the others left as they are.
            let (ids, first) = self.of_name(&spec.name);
            let template = first.map_or_else(|| spec.clone(), |(s, _)| s);
            let scaled = self
                .scale_to(&ids, template, desired, spec.instances.max(1))
                .await?;
            let kept: Vec<ProcessId> = scaled.kept.iter().map(|p| p.id).collect();
            let new: Vec<ProcessId> = scaled.started.iter().map(|p| p.id).collect();
            self.note_shortage(&new, &spec.name, short);
            outcome.started.extend(scaled.started);
            if restart_all {
                outcome.restarted.extend(self.restart_ids(&kept).await?);
            } else {
                outcome.unchanged.extend(scaled.kept);
            }
        } else if !same {
            let ids = self.replace(&ids, spec.clone()).await?;
            self.note_shortage(&ids, &spec.name, short);
            outcome.restarted.extend(self.infos(&ids));
        } else if restart_all {
            outcome.restarted.extend(self.restart_ids(&ids).await?);
            self.note_shortage(&ids, &spec.name, short);
        } else {
            let idle: Vec<ProcessId> = existing
                .iter()
                .filter(|i| !i.running && spec.autostart)
                .map(|i| i.id)
                .collect();
            if !idle.is_empty() {
                self.set_desired(&idle, DesiredState::Running);
                let replies = self.send_each(&idle, |reply| JobCmd::Start { reply })?;
                self.answered(join(replies).await)?;
                self.note_shortage(&idle, &spec.name, short);
                outcome.started.extend(self.infos(&idle));
            }
            let rest: Vec<ProcessId> = ids.into_iter().filter(|id| !idle.contains(id)).collect();
            outcome.unchanged.extend(self.infos(&rest));
        }
        Ok(())
    }

    /// Adds `name: why` to `short` when one of `ids` could not start for want of file
    /// descriptors.
    fn note_shortage(&self, ids: &[ProcessId], name: &str, short: &mut Vec<String>) {
        short.extend(self.fd_shortage(ids).map(|why| format!("{name}: {why}")));
    }

    /// The rows of `spec`'s name, in instance order, compared with `spec`.
    pub(super) fn instances_of(&self, spec: &ProcessSpec) -> Vec<Instance> {
        let table = self.shared.lock();
        let mut found: Vec<(u32, Instance)> = table
            .named(&spec.name)
            .map(|e| {
                let instance = Instance {
                    id: e.info.id,
                    same: e.spec.same_definition(spec),
                    running: e.info.status.is_running()
                        || e.info.status == ProcessStatus::WaitingRestart,
                    same_but_count: spec.same_but_count(&e.spec),
                };
                (e.info.instance, instance)
            })
            .collect();
        found.sort_unstable_by_key(|(instance, i)| (*instance, i.id));
        found.into_iter().map(|(_, i)| i).collect()
    }

    /// Replaces the processes `ids` (all of one name) by `spec` and runs them: what
    /// `restart <targets> <flags>` does. The name may change (a rename), but not to one that
    /// other processes have.
    pub async fn update(
        &self,
        ids: &[ProcessId],
        mut spec: ProcessSpec,
    ) -> Result<Vec<ProcessInfo>, SupervisorError> {
        validate(&spec)?;
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        {
            let table = self.shared.lock();
            let mut names = ids.iter().map(|id| {
                table
                    .entries
                    .get(id)
                    .map(|e| e.info.name.clone())
                    .ok_or_else(|| SupervisorError::UnknownProcess(id.to_string()))
            });
            let first = names.next().transpose()?;
            for name in names {
                if Some(name?) != first {
                    return Err(SupervisorError::BadRequest(
                        "an update replaces the processes of one name".into(),
                    ));
                }
            }
            let taken = table.named(&spec.name).any(|e| !ids.contains(&e.info.id));
            if taken {
                return Err(SupervisorError::NameTaken(spec.name));
            }
        }
        if ids.is_empty() {
            return Err(SupervisorError::BadRequest("no process to update".into()));
        }
        spec.autostart = true;
        let ids = self.replace(&ids, spec).await?;
        self.check_watch(&ids)?;
        Ok(self.infos(&ids))
    }

    pub(super) async fn restart_ids(
        &self,
        ids: &[ProcessId],
    ) -> Result<Vec<ProcessInfo>, SupervisorError> {
        self.set_desired(ids, DesiredState::Running);
        let replies = self.send_each(ids, |reply| JobCmd::Restart {
            reason: "restart",
            env: None,
            reply,
        })?;
        self.answered(join(replies).await)?;
        Ok(self.infos(ids))
    }

    /// Replaces the processes `ids` (in instance order) by `spec`: each is stopped, its job
    /// ended, and a fresh one started under the same id (restart count and history kept);
    /// extra instances are deleted, missing ones added. Returns the ids now of that name.
    pub(super) async fn replace(
        &self,
        ids: &[ProcessId],
        spec: ProcessSpec,
    ) -> Result<Vec<ProcessId>, SupervisorError> {
        let count = spec.instances.max(1) as usize;
        // pm2's order: the oldest (lowest ids) go first.
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        let (extra, keep) = ids.split_at(ids.len().saturating_sub(count));
        if !extra.is_empty() {
            let targets: Vec<String> = extra.iter().map(ToString::to_string).collect();
            let _ = self.delete(&targets).await;
        }
        // As pm2 counts: only a process that was running is restarted; starting a stopped
        // or errored one is not a restart.
        let ran: Vec<ProcessId> = {
            let table = self.shared.lock();
            keep.iter()
                .copied()
                .filter(|id| {
                    table
                        .entries
                        .get(id)
                        .is_some_and(|e| e.info.status.is_running())
                })
                .collect()
        };
        let mut lost = match self.send_each(keep, |reply| JobCmd::Stop { reply }) {
            Ok(replies) => join(replies).await,
            Err(_) => Vec::new(),
        };
        let desired = if spec.autostart {
            DesiredState::Running
        } else {
            DesiredState::Stopped
        };
        let mut now = Vec::new();
        let mut ready = Vec::new();
        for id in keep {
            // End the old job before its id is reused, so nothing it does lands on the new entry.
            let job = self.shared.lock().entries.get(id).map(|e| e.job.clone());
            if let Some(job) = job {
                let _ = job.send(JobCmd::Exit);
                job.closed().await;
            }
            let old = self.shared.lock().remove(id);
            let (restarts, created, history, run) =
                old.map_or((0, None, VecDeque::new(), 0), |e| {
                    let run = e.ready.borrow().run;
                    let counted = u32::from(ran.contains(id));
                    (
                        e.info.restarts + counted,
                        Some(e.info.created_at),
                        e.history,
                        run,
                    )
                });
            let (id, rx) = self.add(spec.clone(), Some(*id), desired, restarts, created);
            if let Some(entry) = self.shared.lock().entries.get_mut(&id) {
                entry.history = history;
                // Run numbers go on across the replacement (`wait_ready`'s `after_run`).
                entry.ready.send_modify(|r| r.run += run);
            }
            now.push(id);
            ready.extend(rx);
        }
        for _ in keep.len()..count {
            let (id, rx) = self.add(spec.clone(), None, desired, 0, None);
            now.push(id);
            ready.extend(rx);
        }
        lost.extend(join(ready).await);
        self.release_unused_sockets(&spec.name);
        self.answered(lost)?;
        Ok(now)
    }
}
