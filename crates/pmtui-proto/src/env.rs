//! Bounds on a process's environment, checked by the client (where the error can name the
//! file or flag) and again by the daemon (for any client): an environment is held in the
//! daemon's table and on disk for as long as the process is defined, so its size is capped.
//!
//! The caps follow what `execve` accepts on Linux: one `KEY=VALUE` string longer than
//! `MAX_ARG_STRLEN` (128 KiB) fails with `E2BIG` however much room is left, and all strings
//! together must fit in a quarter of the stack limit (2 MiB by default), shared with the
//! arguments. So a bigger environment could never have started anyway.

use std::collections::BTreeMap;

/// The longest variable, counted as execve does: `KEY=VALUE` and its NUL.
pub const MAX_ENV_VAR_BYTES: usize = 128 * 1024;
/// The largest environment: the sum of its variables, each counted as above.
pub const MAX_ENV_BYTES: usize = 1024 * 1024;

/// Why an environment is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error(
        "the environment is {bytes} bytes ({count} variables); the limit is {max} bytes (1 MiB)",
        max = MAX_ENV_BYTES
    )]
    TooLarge { bytes: usize, count: usize },
    #[error(
        "environment variable {key} is {bytes} bytes; the limit is {max} bytes (128 KiB, what execve accepts for one variable)",
        key = shown(.key),
        max = MAX_ENV_VAR_BYTES
    )]
    VarTooLarge { key: String, bytes: usize },
    #[error("environment variable {key} has an invalid name (empty, or holding `=` or a NUL byte)", key = shown(.key))]
    BadKey { key: String },
    #[error("environment variable {key} holds a NUL byte, which no process can receive", key = shown(.key))]
    NulInValue { key: String },
}

/// The bytes `execve` counts for one variable.
pub fn var_bytes(key: &str, value: &str) -> usize {
    key.len() + 1 + value.len() + 1
}

/// Checks an environment against the bounds above.
pub fn check_env(env: &BTreeMap<String, String>) -> Result<(), EnvError> {
    let mut total = 0usize;
    for (key, value) in env {
        if key.is_empty() || key.contains(['=', '\0']) {
            return Err(EnvError::BadKey { key: key.clone() });
        }
        if value.contains('\0') {
            return Err(EnvError::NulInValue { key: key.clone() });
        }
        let bytes = var_bytes(key, value);
        if bytes > MAX_ENV_VAR_BYTES {
            return Err(EnvError::VarTooLarge {
                key: key.clone(),
                bytes,
            });
        }
        total += bytes;
    }
    if total > MAX_ENV_BYTES {
        return Err(EnvError::TooLarge {
            bytes: total,
            count: env.len(),
        });
    }
    Ok(())
}

/// A variable name for an error message: escaped, and cut when long.
fn shown(key: &str) -> String {
    let cut = match key.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &key[..i]),
        None => key.to_string(),
    };
    format!("\"{}\"", crate::printable(&cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn an_ordinary_environment_passes() {
        assert_eq!(check_env(&env(&[("PATH", "/bin".into())])), Ok(()));
        // At the per-variable limit exactly.
        let v = "x".repeat(MAX_ENV_VAR_BYTES - 3);
        assert_eq!(check_env(&env(&[("A", v)])), Ok(()));
    }

    #[test]
    fn one_variable_over_128_kib_is_refused_by_name() {
        let v = "x".repeat(MAX_ENV_VAR_BYTES - 2);
        let err = check_env(&env(&[("BIG", v)])).expect_err("too big");
        assert_eq!(
            err.to_string(),
            "environment variable \"BIG\" is 131075 bytes; the limit is 131072 bytes (128 KiB, what execve accepts for one variable)"
        );
    }

    #[test]
    fn the_total_is_bounded() {
        let big = "x".repeat(100 * 1024);
        let pairs: Vec<(String, String)> =
            (0..11).map(|i| (format!("V{i}"), big.clone())).collect();
        let map: BTreeMap<String, String> = pairs.into_iter().collect();
        let err = check_env(&map).expect_err("1.1 MB");
        assert!(
            err.to_string().starts_with(
                "the environment is 1126445 bytes (11 variables); the limit is 1048576 bytes"
            ),
            "{err}"
        );
    }

    #[test]
    fn names_and_values_that_exec_cannot_carry_are_refused() {
        assert!(matches!(
            check_env(&env(&[("", "x".into())])),
            Err(EnvError::BadKey { .. })
        ));
        assert!(matches!(
            check_env(&env(&[("A=B", "x".into())])),
            Err(EnvError::BadKey { .. })
        ));
        assert!(matches!(
            check_env(&env(&[("A", "x\0y".into())])),
            Err(EnvError::NulInValue { .. })
        ));
    }
}
