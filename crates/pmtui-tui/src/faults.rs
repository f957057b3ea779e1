//! Faults a test injects into a debug build of the UI, to prove that the terminal is given
//! back when the UI fails: `PMTUI_FAULTS=ui-panic-on-key` (read once, from the UI's
//! environment; the daemon's own faults are in the supervisor). Each listed fault fires once.
//! Release builds compile none of this: `fire` is always false there.

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

    /// True the first time fault `point` is asked for.
    pub fn fire(point: &str) -> bool {
        armed()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(point)
    }
}

/// Whether the fault `point` fires now.
#[cfg(debug_assertions)]
pub(crate) fn fire(point: &str) -> bool {
    enabled::fire(point)
}

/// Release builds inject nothing.
#[cfg(not(debug_assertions))]
pub(crate) fn fire(_point: &str) -> bool {
    false
}
