//! `ChildEnv`: the environment a child receives, held as its definition's environment (an
//! [`EnvMap`], shared with the spec and, through the [`EnvPool`], with every process started
//! from the same shell) plus the few variables pmtui sets on top. A thousand processes
//! then hold one copy of the shell's environment and a dozen small variables each; the
//! whole map is built only when a child is spawned or `describe` shows it.

use pmtui_proto::EnvMap;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// The definition's environment and pmtui's changes to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChildEnv {
    base: EnvMap,
    /// Set on top of `base`; `None` takes a variable of `base` away.
    own: BTreeMap<String, Option<String>>,
}

impl ChildEnv {
    pub fn new(base: EnvMap) -> Self {
        Self {
            base,
            own: BTreeMap::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        match self.own.get(key) {
            Some(value) => value.as_deref(),
            None => self.base.get(key).map(String::as_str),
        }
    }

    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let (key, value) = (key.into(), value.into());
        // A value equal to the definition's costs nothing to keep.
        if self.base.get(&key) == Some(&value) {
            self.own.remove(&key);
        } else {
            self.own.insert(key, Some(value));
        }
    }

    pub fn remove(&mut self, key: &str) {
        if self.base.contains_key(key) {
            self.own.insert(key.to_string(), None);
        } else {
            self.own.remove(key);
        }
    }

    /// Every variable, pmtui's winning over the definition's.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let base = self
            .base
            .iter()
            .filter(|(k, _)| !self.own.contains_key(k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()));
        let own = self
            .own
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.as_deref()?)));
        base.chain(own)
    }

    /// The whole environment as one map.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

impl Extend<(String, String)> for ChildEnv {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, iter: I) {
        for (key, value) in iter {
            self.set(key, value);
        }
    }
}

/// Environments already held, so that an equal one shares their map instead of keeping a
/// copy (processes started from one shell, instances of one app). Maps no process holds
/// any more are dropped as the pool is used.
#[derive(Default)]
pub struct EnvPool {
    maps: Mutex<PoolInner>,
}

#[derive(Default)]
struct PoolInner {
    by_hash: HashMap<u64, Vec<EnvMap>>,
    /// Calls since the last sweep of unused maps.
    since_sweep: usize,
}

/// A sweep of maps no process holds any more, every this many calls.
const SWEEP_EVERY: usize = 64;

impl EnvPool {
    /// Makes `env` share the map of an equal environment already held, or holds its map for
    /// the next ones.
    pub fn intern(&self, env: &mut EnvMap) {
        let hash = env.content_hash();
        let mut inner = self
            .maps
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.since_sweep += 1;
        if inner.since_sweep >= SWEEP_EVERY {
            inner.since_sweep = 0;
            inner.by_hash.retain(|_, maps| {
                maps.retain(|m| m.holders() > 1);
                !maps.is_empty()
            });
        }
        let maps = inner.by_hash.entry(hash).or_default();
        maps.retain(|m| m.holders() > 1 || m.shares_with(env));
        match maps.iter().find(|m| m.shares_with(env) || **m == *env) {
            Some(held) => *env = held.clone(),
            None => maps.push(env.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> EnvMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn own_variables_sit_on_top_of_the_definition() {
        let mut env = ChildEnv::new(map(&[("A", "1"), ("B", "2"), ("NOTIFY_SOCKET", "/x")]));
        env.set("B", "3");
        env.set("C", "4");
        env.remove("NOTIFY_SOCKET");
        env.remove("NOT_THERE");
        env.set("A", "1");
        assert_eq!(env.get("A"), Some("1"));
        assert_eq!(env.get("B"), Some("3"));
        assert_eq!(env.get("NOTIFY_SOCKET"), None);
        let all = env.to_map();
        assert_eq!(all, map(&[("A", "1"), ("B", "3"), ("C", "4")]).into_map());
        assert_eq!(env.own.len(), 3, "A equal to the definition is not kept");
    }

    #[test]
    fn equal_environments_share_one_map() {
        let pool = EnvPool::default();
        let mut a = map(&[("PATH", "/bin")]);
        let mut b = map(&[("PATH", "/bin")]);
        let mut c = map(&[("PATH", "/usr/bin")]);
        pool.intern(&mut a);
        pool.intern(&mut b);
        pool.intern(&mut c);
        assert!(a.shares_with(&b));
        assert!(!a.shares_with(&c));
        drop((a, b, c));
        for _ in 0..SWEEP_EVERY {
            let mut d = map(&[("X", "y")]);
            pool.intern(&mut d);
        }
        let inner = pool.maps.lock().expect("lock");
        let held: Vec<&EnvMap> = inner.by_hash.values().flatten().collect();
        assert_eq!(held.len(), 1, "unused maps go: {held:?}");
        assert!(held[0].contains_key("X"));
    }
}
