//! Faults a test injects into a debug build, to prove that the daemon notices, records and
//! recovers from its own failures (`PMTUI_FAULTS=job-panic-on-stop:web,sampler-panic`) and
//! that the UI gives the terminal back when it fails (`ui-panic-on-key`). Read once, from
//! the environment of the process that asks; shared here because both sides read the same
//! variable. Each listed fault fires once. Release builds
//! compile none of this: `fire` is always false there.

#[cfg(debug_assertions)]
mod enabled {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};

    fn armed() -> &'static Mutex<HashSet<String>> {
        static ARMED: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
        ARMED.get_or_init(|| {
            let list = std::env::var("PMTUI_FAULTS").unwrap_or_default();
            Mutex::new(
                list.split(',')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .map(str::to_string)
                    .collect(),
            )
        })
    }

    /// True the first time fault `point` (with `name`, when it is `point:name`) is asked for.
    pub fn fire(point: &str, name: &str) -> bool {
        let key = if name.is_empty() {
            point.to_string()
        } else {
            format!("{point}:{name}")
        };
        armed()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&key)
    }
}

/// Whether the fault `point` (for the process `name`, or `""`) fires now.
#[cfg(debug_assertions)]
pub fn fire(point: &str, name: &str) -> bool {
    enabled::fire(point, name)
}

/// Release builds inject nothing.
#[cfg(not(debug_assertions))]
pub fn fire(_point: &str, _name: &str) -> bool {
    false
}
