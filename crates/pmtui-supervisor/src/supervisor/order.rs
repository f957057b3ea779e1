//! Start order (`depends_on`), owned here so that applying a file, `resurrect` and the
//! recovery of a restarted daemon share it.
//!
//! An app of a set with dependencies is *held*: its rows exist at once (new ones added
//! stopped, existing ones that must restart stopped first, dependents before what they
//! depend on), with `desired: running` and the reason `waiting for db (ready)`, so the
//! caller gets their ids and a daemon that dies meanwhile starts them again (in order).
//! A task per held app then waits for each dependency's condition, by the one definition
//! of ready (`probe`): `started` (launched), `ready`, or `completed` (a run exited with
//! code 0); a dependency that ends and will restart is waited for again. Then the app is
//! started (or replaced by its new definition). When a dependency fails, the app is not
//! started: it stays stopped with `not started: <why>`, and waiters on it are told so.
//! Independent apps are never held back by each other.
//!
//! Stop, delete, `kill` and the daemon's shutdown go in reverse order (`stop_waves`): the
//! apps that depend on others first.

use super::{ApplyOutcome, Supervisor, join};
use crate::SupervisorError;
use crate::job::JobCmd;
use crate::probe::Phase;
use crate::record::{DesiredState, ProcessRecord};
use pmtui_proto::{
    Condition, Dependency, EventKind, ProcessId, ProcessInfo, ProcessSpec, ProcessStatus, depends,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

/// The latest plan of each held app: a newer apply of the same name supersedes an older
/// one still waiting, which then does nothing.
#[derive(Default)]
pub(crate) struct Held {
    generation: AtomicU64,
    plans: Mutex<HashMap<String, u64>>,
}

impl Held {
    fn take(&self, name: &str) -> u64 {
        let token = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        self.lock().insert(name.to_string(), token);
        token
    }

    fn current(&self, name: &str, token: u64) -> bool {
        self.lock().get(name) == Some(&token)
    }

    fn done(&self, name: &str, token: u64) {
        let mut plans = self.lock();
        if plans.get(name) == Some(&token) {
            plans.remove(name);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.plans.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How far a held app has got, for the apps that wait on it.
#[derive(Debug, Clone, PartialEq)]
enum Gate {
    Waiting,
    Started,
    Failed(String),
}

/// What a held app does once its dependencies are met.
enum Action {
    /// Start these (stopped) processes.
    Start(Vec<ProcessId>),
    /// Apply a changed definition (its old processes are stopped already).
    Apply(Box<ProcessSpec>),
}

struct Step {
    name: String,
    deps: Vec<Dependency>,
    action: Action,
    /// The rows that wait (their reason says for what; a failure is written on them).
    held: Vec<ProcessId>,
    token: u64,
    gate: watch::Sender<Gate>,
}

/// The held apps of one apply, restore or resurrect, run by `Supervisor::run_plan`.
#[derive(Default)]
pub(super) struct Plan {
    steps: Vec<Step>,
    /// Recovery and `resurrect`: a `completed` dependency that is not going to run (it is
    /// stopped and never ran under this daemon) completed before.
    restoring: bool,
}

impl Supervisor {
    /// Refuses a set whose dependencies name an app that is neither in the set nor known
    /// to the daemon, or that form a cycle (the config reader says so with file:line
    /// before; this guards the protocol).
    pub(super) fn check_dependencies(&self, specs: &[ProcessSpec]) -> Result<(), SupervisorError> {
        let known: Vec<String> = self.list().into_iter().map(|p| p.name).collect();
        for spec in specs {
            for dep in &spec.depends_on {
                if !specs.iter().any(|s| s.name == dep.name) && !known.contains(&dep.name) {
                    return Err(SupervisorError::BadRequest(format!(
                        "{} depends on {}, which is neither among the apps given nor known to \
                         the daemon; start it too (a file's `--only` must include it)",
                        spec.name, dep.name
                    )));
                }
            }
        }
        let graph: BTreeMap<&str, Vec<&str>> = specs
            .iter()
            .map(|s| {
                let deps = s.depends_on.iter().map(|d| d.name.as_str()).collect();
                (s.name.as_str(), deps)
            })
            .collect();
        if let Some(cycle) = depends::find_cycle(&graph) {
            return Err(SupervisorError::BadRequest(format!(
                "dependency cycle: {}",
                cycle.join(" → ")
            )));
        }
        Ok(())
    }

    /// Splits the specs of an apply into those applied now and those held (see the
    /// module): held ones are added or stopped here and listed in `outcome`.
    pub(super) async fn plan_apply(
        &self,
        specs: Vec<ProcessSpec>,
        restart_all: bool,
        outcome: &mut ApplyOutcome,
    ) -> Result<(Vec<ProcessSpec>, Plan), SupervisorError> {
        let mut now = Vec::new();
        let mut plan = Plan::default();
        let mut to_stop: Vec<ProcessId> = Vec::new();
        for spec in specs {
            if spec.depends_on.is_empty() || !spec.autostart {
                now.push(spec);
                continue;
            }
            let existing = self.instances_of(&spec);
            let same = super::apply::same_set(&existing, &spec);
            let running = existing.iter().all(|i| i.running);
            let ids: Vec<ProcessId> = existing.iter().map(|i| i.id).collect();
            let action = if existing.is_empty() {
                let mut ids = Vec::new();
                for _ in 0..spec.instances.max(1) {
                    // Added stopped (nothing launched), then marked as meant to run.
                    let (id, _) = self.add(spec.clone(), None, DesiredState::Stopped, 0, None);
                    ids.push(id);
                }
                self.set_desired(&ids, DesiredState::Running);
                Action::Start(ids)
            } else if same && running && !restart_all {
                now.push(spec);
                continue;
            } else {
                to_stop.extend(&ids);
                if same {
                    Action::Start(ids.clone())
                } else {
                    Action::Apply(Box::new(spec.clone()))
                }
            };
            let held = match &action {
                Action::Start(ids) => ids.clone(),
                Action::Apply(_) => ids,
            };
            let token = self.shared.held.take(&spec.name);
            plan.steps.push(Step {
                name: spec.name.clone(),
                deps: spec.depends_on.clone(),
                action,
                held,
                token,
                gate: watch::Sender::new(Gate::Waiting),
            });
        }
        if !to_stop.is_empty() {
            let lost = self.stop_in_order(&to_stop).await?;
            self.answered(lost)?;
        }
        for step in &plan.steps {
            // Meant to run (a daemon that dies now starts them again, in order).
            self.set_desired(&step.held, DesiredState::Running);
            self.hold(&step.held, &step.deps);
            let infos = self.infos(&step.held);
            let restarted = match &step.action {
                Action::Apply(_) => true,
                Action::Start(ids) => {
                    restart_all && ids.first().is_some_and(|id| to_stop.contains(id))
                }
            };
            if restarted {
                outcome.restarted.extend(infos);
            } else {
                outcome.started.extend(infos);
            }
        }
        Ok((now, plan))
    }

    /// Adds the records of a restore (a restarted daemon, `resurrect`): those that should
    /// run and depend on apps of the set (or of the table) are held until their
    /// dependencies are met; the rest start at once. Returns the ids and the plan.
    pub(super) fn plan_restore(
        &self,
        records: Vec<ProcessRecord>,
        keep_ids: bool,
    ) -> (Vec<ProcessId>, Vec<super::Reply>, Plan) {
        let specs: Vec<ProcessSpec> = {
            let mut seen: Vec<ProcessSpec> = Vec::new();
            for r in &records {
                if !seen.iter().any(|s| s.name == r.spec.name) {
                    seen.push((*r.spec).clone());
                }
            }
            seen
        };
        // A set that would never start (a cycle, a name nowhere) starts as it used to.
        let ordered = self.check_dependencies(&specs).is_ok();
        let mut ids = Vec::new();
        let mut ready = Vec::new();
        let mut held: BTreeMap<String, (Vec<Dependency>, Vec<ProcessId>)> = BTreeMap::new();
        for record in records {
            let id = keep_ids.then_some(record.id);
            let hold = ordered
                && record.desired == DesiredState::Running
                && !record.spec.depends_on.is_empty();
            let desired = if hold {
                DesiredState::Stopped
            } else {
                record.desired
            };
            let name = record.spec.name.clone();
            let deps = record.spec.depends_on.clone();
            let (id, rx) = self.add(
                std::sync::Arc::unwrap_or_clone(record.spec),
                id,
                desired,
                record.restarts,
                Some(record.created_at),
            );
            ids.push(id);
            ready.extend(rx);
            if hold {
                self.set_desired(&[id], DesiredState::Running);
                held.entry(name)
                    .or_insert_with(|| (deps, Vec::new()))
                    .1
                    .push(id);
            }
        }
        let mut plan = Plan {
            restoring: true,
            ..Plan::default()
        };
        for (name, (deps, held)) in held {
            self.hold(&held, &deps);
            let token = self.shared.held.take(&name);
            plan.steps.push(Step {
                name,
                deps,
                action: Action::Start(held.clone()),
                held,
                token,
                gate: watch::Sender::new(Gate::Waiting),
            });
        }
        (ids, ready, plan)
    }

    /// Marks rows as waiting for their dependencies: stopped, not launched yet (waiters on
    /// them wait), with the reason.
    fn hold(&self, ids: &[ProcessId], deps: &[Dependency]) {
        let why = format!("waiting for {}", depends::describe(deps));
        for id in ids {
            self.shared.update(*id, |e| {
                e.set_phase(Phase::Idle);
                e.info.status_reason = Some(why.clone());
            });
        }
    }

    /// Starts a task per held app of `plan` (see the module); returns at once.
    pub(super) fn run_plan(&self, plan: Plan) {
        let gates: Arc<HashMap<String, watch::Receiver<Gate>>> = Arc::new(
            plan.steps
                .iter()
                .map(|s| (s.name.clone(), s.gate.subscribe()))
                .collect(),
        );
        for step in plan.steps {
            let me = self.clone();
            let gates = Arc::clone(&gates);
            let restoring = plan.restoring;
            tokio::spawn(async move { me.run_step(step, &gates, restoring).await });
        }
    }

    async fn run_step(
        &self,
        step: Step,
        gates: &HashMap<String, watch::Receiver<Gate>>,
        restoring: bool,
    ) {
        let mut met = Ok(());
        for dep in &step.deps {
            let what = format!("{} ({})", dep.name, dep.condition);
            if let Some(gate) = gates.get(&dep.name) {
                let mut gate = gate.clone();
                let passed = gate
                    .wait_for(|g| *g != Gate::Waiting)
                    .await
                    .map(|g| g.clone());
                match passed {
                    Ok(Gate::Started) => {}
                    Ok(Gate::Failed(why)) => {
                        met = Err(format!("{what} was not started: {why}"));
                        break;
                    }
                    _ => {
                        met = Err(format!("{what} was not started"));
                        break;
                    }
                }
            }
            if let Err(why) = self.dependency_met(dep, restoring).await {
                met = Err(format!("{what}: {why}"));
                break;
            }
        }
        if !self.shared.held.current(&step.name, step.token) {
            step.gate
                .send_replace(Gate::Failed("a newer start replaced it".into()));
            return;
        }
        let still_wanted = {
            let table = self.shared.lock();
            step.held.iter().any(|id| {
                table
                    .entries
                    .get(id)
                    .is_some_and(|e| e.desired == DesiredState::Running)
            })
        };
        let result = match met {
            Err(why) => Err(why),
            Ok(()) if !still_wanted => Err("stopped while it waited".to_string()),
            Ok(()) => self.act(step.action).await,
        };
        self.shared.held.done(&step.name, step.token);
        match result {
            Ok(()) => {
                step.gate.send_replace(Gate::Started);
            }
            Err(why) => {
                tracing::warn!(app = %step.name, %why, "not started");
                let reason = format!("not started: {why}");
                for id in &step.held {
                    self.shared.update(*id, |e| {
                        if e.info.status.is_running() {
                            return;
                        }
                        e.desired = DesiredState::Stopped;
                        e.info.status_reason = Some(reason.clone());
                        e.set_phase(Phase::Ended(reason.clone()));
                    });
                }
                step.gate.send_replace(Gate::Failed(why));
            }
        }
    }

    async fn act(&self, action: Action) -> Result<(), String> {
        match action {
            Action::Start(ids) => {
                let replies = self
                    .send_each(&ids, |reply| JobCmd::Start { reply })
                    .map_err(|e| e.to_string())?;
                self.answered(join(replies).await)
                    .map_err(|e| e.to_string())?;
                self.check_fds(&ids).map_err(|e| e.to_string())
            }
            Action::Apply(spec) => {
                let mut outcome = ApplyOutcome::default();
                let mut short = Vec::new();
                self.apply_one(*spec, false, &mut outcome, &mut short)
                    .await
                    .map_err(|e| e.to_string())?;
                match short.is_empty() {
                    true => Ok(()),
                    false => Err(short.join("; ")),
                }
            }
        }
    }

    /// Waits until every process of the dependency's name has reached its condition;
    /// `Err` says why it will not.
    async fn dependency_met(&self, dep: &Dependency, restoring: bool) -> Result<(), String> {
        let (ids, _) = self.of_name(&dep.name);
        if ids.is_empty() {
            return Err("no such process".into());
        }
        for id in ids {
            self.condition_met(id, dep.condition, restoring).await?;
        }
        Ok(())
    }

    async fn condition_met(
        &self,
        id: ProcessId,
        condition: Condition,
        restoring: bool,
    ) -> Result<(), String> {
        // Runs up to this one ended and were followed by a restart: not looked at again.
        let mut after: Option<u64> = None;
        loop {
            let Some(mut rx) = self.shared.read(id, |e| e.ready.subscribe()) else {
                return Err("it was deleted".into());
            };
            let ended = loop {
                let state = rx.borrow_and_update().clone();
                if after.is_none_or(|n| state.run > n) {
                    match (&state.phase, condition) {
                        (Phase::Idle, _) => {
                            let wanted = self
                                .shared
                                .read(id, |e| e.desired == DesiredState::Running)
                                .unwrap_or(false);
                            if !wanted {
                                if restoring && condition == Condition::Completed {
                                    // It completed under an earlier daemon; what it
                                    // needed then still comes first.
                                    return self.own_dependencies_met(id).await;
                                }
                                return Err("it is stopped".into());
                            }
                        }
                        (Phase::Pending, Condition::Started) => return Ok(()),
                        (Phase::Ready, Condition::Started | Condition::Ready) => return Ok(()),
                        (Phase::TimedOut | Phase::Unhealthy(_), Condition::Started) => {
                            return Ok(());
                        }
                        (Phase::TimedOut, Condition::Ready) => {
                            return Err("not ready within its listen_timeout".into());
                        }
                        (Phase::Unhealthy(why), Condition::Ready) => return Err(why.clone()),
                        (Phase::Ended(why), _) => break Some((state.run, why.clone())),
                        _ => {}
                    }
                }
                if rx.changed().await.is_err() {
                    // The entry was replaced (a changed definition) or deleted: look again.
                    break None;
                }
            };
            let Some((run, why)) = ended else { continue };
            match self.after_end(id, run).await {
                None => return Err("it was deleted".into()),
                Some((restarts, code)) => {
                    if condition == Condition::Completed && code == Some(0) {
                        return Ok(());
                    }
                    if !restarts {
                        return Err(why);
                    }
                    after = Some(run);
                }
            }
        }
    }

    /// The dependencies of `id` itself, met (a dependency that completed before: the apps
    /// waiting on it still wait for what it depended on).
    fn own_dependencies_met(
        &self,
        id: ProcessId,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move {
            let deps = self
                .shared
                .read(id, |e| e.spec.depends_on.clone())
                .unwrap_or_default();
            for dep in &deps {
                self.dependency_met(dep, true)
                    .await
                    .map_err(|why| format!("{} ({}): {why}", dep.name, dep.condition))?;
            }
            Ok(())
        })
    }

    /// Once run `run` of `id` has ended: whether another run follows (an immediate or a
    /// backoff restart) and the run's exit code; `None` if the process is deleted.
    async fn after_end(&self, id: ProcessId, run: u64) -> Option<(bool, Option<i32>)> {
        let (_, rows, mut events) = self.subscribe();
        let look = |info: &ProcessInfo| -> Option<bool> {
            if self.current_run(id).is_some_and(|now| now > run) {
                return Some(true);
            }
            match info.status {
                ProcessStatus::WaitingRestart => Some(true),
                ProcessStatus::Stopped | ProcessStatus::Errored => Some(false),
                _ => None,
            }
        };
        let mut row = rows.into_iter().find(|p| p.id == id)?;
        loop {
            if let Some(restarts) = look(&row) {
                let code = self
                    .shared
                    .read(id, |e| e.history.back().and_then(|r| r.exit_code))
                    .flatten()
                    .or(row.exit_code);
                return Some((restarts, code));
            }
            match events.recv().await {
                Ok(event) => match event.kind {
                    EventKind::Process { process } if process.id == id => row = *process,
                    EventKind::Removed { id: gone } if gone == id => return None,
                    _ => {}
                },
                Err(RecvError::Lagged(_)) => {
                    row = self.list().into_iter().find(|p| p.id == id)?;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// Stops `ids` wave by wave, the apps that depend on others first; returns the
    /// processes whose job did not answer.
    pub(super) async fn stop_in_order(
        &self,
        ids: &[ProcessId],
    ) -> Result<Vec<ProcessId>, SupervisorError> {
        let mut lost = Vec::new();
        for wave in self.stop_waves(ids) {
            lost.extend(join(self.send_each(&wave, |reply| JobCmd::Stop { reply })?).await);
        }
        Ok(lost)
    }

    /// `ids` in stop order: reversed start waves over the names among them.
    fn stop_waves(&self, ids: &[ProcessId]) -> Vec<Vec<ProcessId>> {
        let table = self.shared.lock();
        let rows: Vec<(ProcessId, &ProcessSpec)> = ids
            .iter()
            .filter_map(|id| table.entries.get(id).map(|e| (*id, &*e.spec)))
            .collect();
        if rows.iter().all(|(_, spec)| spec.depends_on.is_empty()) {
            return vec![ids.to_vec()];
        }
        let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (_, spec) in &rows {
            graph
                .entry(spec.name.as_str())
                .or_insert_with(|| spec.depends_on.iter().map(|d| d.name.as_str()).collect());
        }
        depends::waves(&graph)
            .into_iter()
            .rev()
            .map(|names| {
                rows.iter()
                    .filter(|(_, spec)| names.contains(&spec.name.as_str()))
                    .map(|(id, _)| *id)
                    .collect()
            })
            .collect()
    }
}
