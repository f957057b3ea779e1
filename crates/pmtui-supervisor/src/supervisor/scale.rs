//! `scale`: more or fewer instances of one app, the others left running as they are. pm2's
//! order: a new instance copies the definition of the first (lowest id) and takes the
//! lowest free instance number; removed instances are the oldest (lowest ids). Ids are
//! never reused while the list is not empty.

use super::{Entry, Supervisor};
use crate::SupervisorError;
use crate::job::JobCmd;
use crate::record::DesiredState;
use pmtui_proto::{ProcessId, ProcessInfo, ProcessSpec, ScaleTo};
use std::collections::BTreeSet;

/// What `scale` did.
#[derive(Debug, Default)]
pub struct ScaleOutcome {
    pub started: Vec<ProcessInfo>,
    pub deleted: Vec<ProcessInfo>,
    pub kept: Vec<ProcessInfo>,
}

impl Supervisor {
    /// Scales the app `target` names (a name, or an id or namespace of one app).
    pub async fn scale(&self, target: &str, to: ScaleTo) -> Result<ScaleOutcome, SupervisorError> {
        let ids = self.resolve(&[target.to_string()])?;
        let names: BTreeSet<String> = {
            let table = self.shared.lock();
            ids.iter()
                .filter_map(|id| table.entries.get(id).map(|e| e.info.name.clone()))
                .collect()
        };
        let name = match names.len() {
            1 => names.into_iter().next().unwrap_or_default(),
            _ => {
                return Err(SupervisorError::BadRequest(format!(
                    "scale acts on one app; {target} matches {}",
                    names.into_iter().collect::<Vec<_>>().join(", ")
                )));
            }
        };
        let (ids, first) = self.of_name(&name);
        let Some((spec, desired)) = first else {
            return Err(SupervisorError::UnknownProcess(target.to_string()));
        };
        let now = ids.len() as u32;
        let count = to.from(now).map_err(SupervisorError::BadRequest)?;
        let outcome = self.scale_to(&ids, spec, desired, count).await?;
        let added: Vec<ProcessId> = outcome.started.iter().map(|p| p.id).collect();
        if let Some(why) = self.fd_shortage(&added) {
            // Instances that could not start are not kept.
            let _ = self.delete_ids(&added).await;
            return Err(SupervisorError::FdLimit(why));
        }
        Ok(outcome)
    }

    /// The ids of `name`, lowest first, and the definition and desired state of the first.
    pub(super) fn of_name(
        &self,
        name: &str,
    ) -> (Vec<ProcessId>, Option<(ProcessSpec, DesiredState)>) {
        let table = self.shared.lock();
        let found: Vec<&Entry> = table.named(name).collect();
        let first = found.first().map(|e| ((*e.spec).clone(), e.desired));
        (found.iter().map(|e| e.info.id).collect(), first)
    }

    /// Leaves `count` instances of the app whose processes are `ids` (lowest first): adds
    /// copies of `template`, or deletes the oldest. The rest are not touched.
    pub(super) async fn scale_to(
        &self,
        ids: &[ProcessId],
        mut template: ProcessSpec,
        desired: DesiredState,
        count: u32,
    ) -> Result<ScaleOutcome, SupervisorError> {
        template.instances = count;
        let now = ids.len();
        let wanted = count as usize;
        let mut outcome = ScaleOutcome::default();
        let kept: Vec<ProcessId> = if wanted < now {
            let (old, kept) = ids.split_at(now - wanted);
            let targets: Vec<String> = old.iter().map(ToString::to_string).collect();
            outcome.deleted = self.delete(&targets).await?;
            kept.to_vec()
        } else {
            ids.to_vec()
        };
        self.set_count(&kept, count);
        if wanted > now {
            self.bind_sockets(&template)?;
            let mut added = Vec::new();
            let mut ready = Vec::new();
            for _ in now..wanted {
                let (id, rx) = self.add(template.clone(), None, desired, 0, None);
                added.push(id);
                ready.extend(rx);
            }
            self.answered(super::join(ready).await)?;
            outcome.started = self.infos(&added);
        }
        outcome.kept = self.infos(&kept);
        Ok(outcome)
    }

    /// Records the new instance count in the definitions of `ids` (what is persisted and
    /// what decides Node's cluster mode at their next start), without restarting them.
    fn set_count(&self, ids: &[ProcessId], count: u32) {
        let mut table = self.shared.lock();
        for id in ids {
            if let Some(e) = table.entries.get_mut(id) {
                std::sync::Arc::make_mut(&mut e.spec).instances = count;
                let _ = e.job.send(JobCmd::SetCount(count));
            }
        }
    }
}
