//! `EnvMap`: an environment (variables by name) behind a shared pointer. A daemon holds the
//! environment of every process it supervises, usually the same shell's for hundreds of
//! them; cloning an `EnvMap` shares the map instead of copying it, and the first change to
//! a shared one copies it then (copy on write). On the wire it is a plain JSON object.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Variables by name, shared between clones until one of them changes.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EnvMap(Arc<BTreeMap<String, String>>);

impl EnvMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether both hold the very same map (not merely equal ones).
    pub fn shares_with(&self, other: &EnvMap) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// How many `EnvMap`s share this map.
    pub fn holders(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    /// The map itself, copied only when it is shared.
    pub fn into_map(self) -> BTreeMap<String, String> {
        Arc::try_unwrap(self.0).unwrap_or_else(|shared| (*shared).clone())
    }

    /// A hash of the contents (for finding an equal map to share).
    pub fn content_hash(&self) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.0.hash(&mut hasher);
        hasher.finish()
    }
}

impl Deref for EnvMap {
    type Target = BTreeMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for EnvMap {
    fn deref_mut(&mut self) -> &mut Self::Target {
        Arc::make_mut(&mut self.0)
    }
}

impl std::fmt::Debug for EnvMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<BTreeMap<String, String>> for EnvMap {
    fn from(map: BTreeMap<String, String>) -> Self {
        Self(Arc::new(map))
    }
}

impl From<EnvMap> for BTreeMap<String, String> {
    fn from(env: EnvMap) -> Self {
        env.into_map()
    }
}

impl<const N: usize> From<[(String, String); N]> for EnvMap {
    fn from(pairs: [(String, String); N]) -> Self {
        Self(Arc::new(pairs.into()))
    }
}

impl FromIterator<(String, String)> for EnvMap {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Self(Arc::new(iter.into_iter().collect()))
    }
}

impl IntoIterator for EnvMap {
    type Item = (String, String);
    type IntoIter = std::collections::btree_map::IntoIter<String, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.into_map().into_iter()
    }
}

impl<'a> IntoIterator for &'a EnvMap {
    type Item = (&'a String, &'a String);
    type IntoIter = std::collections::btree_map::Iter<'a, String, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Extend<(String, String)> for EnvMap {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, iter: I) {
        let mut iter = iter.into_iter().peekable();
        // Extending with nothing leaves a shared map shared.
        if iter.peek().is_some() {
            Arc::make_mut(&mut self.0).extend(iter);
        }
    }
}

impl Serialize for EnvMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for EnvMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_until_one_changes() {
        let a: EnvMap = [("A".to_string(), "1".to_string())].into();
        let mut b = a.clone();
        assert!(a.shares_with(&b));
        b.extend(std::iter::empty());
        assert!(a.shares_with(&b), "extending with nothing copies nothing");
        b.insert("B".into(), "2".into());
        assert!(!a.shares_with(&b));
        assert_eq!(a.len(), 1);
        assert_eq!(b.len(), 2);
        assert_eq!(
            a.content_hash(),
            EnvMap::from(a.clone().into_map()).content_hash()
        );
    }

    #[test]
    fn the_wire_form_is_a_plain_object() {
        let env: EnvMap = [("K".to_string(), "v".to_string())].into();
        let json = serde_json::to_string(&env).expect("serializes");
        assert_eq!(json, r#"{"K":"v"}"#);
        let back: EnvMap = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, env);
    }
}
