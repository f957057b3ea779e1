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
    /// Set on top of `base`, or taken away from it.
    own: Own,
}

/// pmtui's variables in two allocations: their names and values one after another in
/// `text`, and where each one's name and value end in `vars`, sorted by name. A dozen
/// variables held as a `BTreeMap<String, Option<String>>` cost each process a B-tree node
/// and two allocations a variable, about 1.3 KiB; this way about 0.5 KiB.
#[derive(Debug, Clone, Default, PartialEq)]
struct Own {
    text: Box<str>,
    vars: Box<[Var]>,
}

/// One of pmtui's variables: its name is `text[start..value]`, its value
/// `text[value..end]`; without an end it takes the definition's variable away.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Var {
    start: u32,
    value: u32,
    end: Option<u32>,
}

impl Own {
    fn name(&self, var: &Var) -> &str {
        self.text
            .get(var.start as usize..var.value as usize)
            .unwrap_or_default()
    }

    /// Its value, `None` when it takes the definition's variable away.
    fn value(&self, var: &Var) -> Option<&str> {
        let end = var.end?;
        Some(
            self.text
                .get(var.value as usize..end as usize)
                .unwrap_or_default(),
        )
    }

    /// Each variable: its name and its value (`None`: taken away).
    fn entries(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.vars
            .iter()
            .map(|var| (self.name(var), self.value(var)))
    }

    /// `Some(None)` for a variable taken away, `None` for one pmtui has not touched.
    fn get(&self, key: &str) -> Option<Option<&str>> {
        let at = self
            .vars
            .binary_search_by(|var| self.name(var).cmp(key))
            .ok()?;
        Some(self.value(&self.vars[at]))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.vars.len()
    }

    /// The same variables with `key` set to `change` (`Some(None)`: taken away) or, for
    /// `None`, without `key`. Rebuilt whole: a process gets a dozen, once per run at most.
    fn with(&self, key: &str, change: Option<Option<&str>>) -> Own {
        let mut entries: Vec<(&str, Option<&str>)> =
            self.entries().filter(|(name, _)| *name != key).collect();
        if let Some(value) = change {
            let at = entries.partition_point(|(name, _)| *name < key);
            entries.insert(at, (key, value));
        }
        let mut text = String::with_capacity(
            entries
                .iter()
                .map(|(name, value)| name.len() + value.map_or(0, str::len))
                .sum(),
        );
        let mut vars = Vec::with_capacity(entries.len());
        for (name, value) in entries {
            // No variable comes near 4 GiB (the kernel refuses a string over 128 KiB in
            // an environment); one that would is left out rather than cut.
            let start = u32::try_from(text.len());
            text.push_str(name);
            let split = u32::try_from(text.len());
            let end = value.map(|value| {
                text.push_str(value);
                u32::try_from(text.len())
            });
            match (start, split, end.transpose()) {
                (Ok(start), Ok(value), Ok(end)) => vars.push(Var { start, value, end }),
                _ => tracing::warn!(name, "environment variable too large, left out"),
            }
        }
        Own {
            text: text.into_boxed_str(),
            vars: vars.into_boxed_slice(),
        }
    }
}

impl ChildEnv {
    pub fn new(base: EnvMap) -> Self {
        Self {
            base,
            own: Own::default(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        match self.own.get(key) {
            Some(value) => value,
            None => self.base.get(key).map(String::as_str),
        }
    }

    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let (key, value) = (key.into(), value.into());
        // A value equal to the definition's costs nothing to keep.
        if self.base.get(&key) == Some(&value) {
            if self.own.get(&key).is_some() {
                self.own = self.own.with(&key, None);
            }
        } else if self.own.get(&key) != Some(Some(value.as_str())) {
            self.own = self.own.with(&key, Some(Some(&value)));
        }
    }

    pub fn remove(&mut self, key: &str) {
        if self.base.contains_key(key) {
            if self.own.get(key) != Some(None) {
                self.own = self.own.with(key, Some(None));
            }
        } else if self.own.get(key).is_some() {
            self.own = self.own.with(key, None);
        }
    }

    /// Every variable, pmtui's winning over the definition's.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let base = self
            .base
            .iter()
            .filter(|(k, _)| self.own.get(k).is_none())
            .map(|(k, v)| (k.as_str(), v.as_str()));
        let own = self.own.entries().filter_map(|(k, v)| Some((k, v?)));
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
    fn own_variables_change_and_go_in_any_order() {
        let mut env = ChildEnv::new(map(&[("A", "1"), ("Z", "26")]));
        for (k, v) in [("M", "x"), ("B", "é"), ("Y", ""), ("M", "y")] {
            env.set(k, v);
        }
        env.remove("Z");
        env.remove("B");
        env.set("A", "2");
        let own: Vec<(&str, Option<&str>)> = env.own.entries().collect();
        assert_eq!(
            own,
            [
                ("A", Some("2")),
                ("M", Some("y")),
                ("Y", Some("")),
                ("Z", None)
            ]
        );
        let all: Vec<(&str, &str)> = env.iter().collect();
        assert_eq!(all, [("A", "2"), ("M", "y"), ("Y", "")]);
        env.set("A", "1");
        env.set("Z", "26");
        assert_eq!(
            env.own.len(),
            2,
            "back to the definition's values: not kept"
        );
        assert_eq!(env, {
            let mut same = ChildEnv::new(map(&[("A", "1"), ("Z", "26")]));
            same.set("Y", "");
            same.set("M", "y");
            same
        });
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
