//! The table's side of listening sockets: bound before any process of an app is added (so
//! that a taken port is an error of `start`, not a crash loop), and closed once no process
//! of the app asks for them.

use super::Supervisor;
use crate::SupervisorError;
use pmtui_proto::ProcessSpec;

impl Supervisor {
    /// Binds the sockets `spec` asks for that its name does not hold yet.
    pub(super) fn bind_sockets(&self, spec: &ProcessSpec) -> Result<(), SupervisorError> {
        match self.shared.sockets.acquire(spec) {
            Ok(_) => Ok(()),
            Err(why) => {
                self.release_unused_sockets(&spec.name);
                Err(SupervisorError::BadRequest(format!("{}: {why}", spec.name)))
            }
        }
    }

    /// Closes the sockets of `name` that none of its processes asks for any more.
    pub(super) fn release_unused_sockets(&self, name: &str) {
        let specs: Vec<ProcessSpec> = self
            .shared
            .lock()
            .named(name)
            .map(|e| (*e.spec).clone())
            .collect();
        let specs: Vec<&ProcessSpec> = specs.iter().collect();
        self.shared.sockets.retain(name, &specs);
    }
}
