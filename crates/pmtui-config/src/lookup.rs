//! Finding programs the way pm2 does: the interpreter for a script's extension and a `PATH`
//! lookup in the environment the process will get. Shared by `pmtui start <script>` and
//! ecosystem files.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The interpreter pm2 picks for a file extension.
pub fn interpreter_for(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()? {
        "py" => Some("python3"),
        "js" | "cjs" | "mjs" => Some("node"),
        "sh" => Some("bash"),
        "rb" => Some("ruby"),
        "pl" => Some("perl"),
        "php" => Some("php"),
        _ => None,
    }
}

/// Looks `program` up in the `PATH` of `env` (a path with a `/` is checked as it is).
pub fn which(program: &str, env: &BTreeMap<String, String>) -> Option<PathBuf> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return is_executable(&path).then_some(path);
    }
    env.get("PATH")?
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| is_executable(candidate))
}

pub fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Splits `--env` values: `KEY=VALUE` pairs, and bare names (an ecosystem `env_<name>`).
pub fn split_env(values: &[String]) -> (BTreeMap<String, String>, Option<String>) {
    let mut vars = BTreeMap::new();
    let mut block = None;
    for value in values {
        match value.split_once('=') {
            Some((k, v)) => {
                vars.insert(k.to_string(), v.to_string());
            }
            None => block = Some(value.clone()),
        }
    }
    (vars, block)
}

/// A resolved program: what `ProcessSpec` gets for `script`, `interpreter` and
/// `interpreter_args`, and the name to use when none is given.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub script: String,
    pub interpreter: Option<String>,
    pub interpreter_args: Vec<String>,
    pub default_name: String,
}

/// Resolves what to run as pm2 does: a file under `cwd` (interpreter by extension, checked
/// to be installed), a command string with spaces (run by `sh -c`), or a command in `PATH`.
/// `interpreter` is the one asked for (`none` = run directly).
pub fn resolve_script(
    given: &str,
    cwd: &Path,
    interpreter: Option<&str>,
    interpreter_args: Vec<String>,
    env: &BTreeMap<String, String>,
) -> Result<Resolved, String> {
    let path = cwd.join(given);
    if path.is_file() {
        let path = path.canonicalize().unwrap_or(path);
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| given.into());
        let interpreter = match interpreter {
            Some("none") => None,
            Some(explicit) => Some(explicit.to_string()),
            None => interpreter_for(&path).map(String::from),
        };
        match &interpreter {
            Some(program) => {
                if which(program, env).is_none() {
                    return Err(format!(
                        "interpreter {program} for {} is not installed (not found in PATH); install it or set the interpreter",
                        path.display()
                    ));
                }
            }
            None => {
                if !is_executable(&path) {
                    return Err(format!(
                        "{} is not executable and has no known interpreter; run `chmod +x {}` or set the interpreter",
                        path.display(),
                        path.display()
                    ));
                }
            }
        }
        return Ok(Resolved {
            script: path.display().to_string(),
            interpreter,
            interpreter_args,
            default_name: stem,
        });
    }
    if given.trim().contains(char::is_whitespace) {
        let first = given.split_whitespace().next().unwrap_or(given);
        let name = Path::new(first)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shell = interpreter
            .filter(|i| *i != "none")
            .unwrap_or("sh")
            .to_string();
        return Ok(Resolved {
            script: given.to_string(),
            interpreter: Some(shell),
            interpreter_args: vec!["-c".into()],
            default_name: name,
        });
    }
    if given.contains('/') {
        return Err(format!("script not found: {}", path.display()));
    }
    match which(given, env) {
        Some(found) => Ok(Resolved {
            script: found.display().to_string(),
            interpreter: interpreter.filter(|i| *i != "none").map(String::from),
            interpreter_args,
            default_name: given.to_string(),
        }),
        None => Err(format!(
            "script not found: {given} is neither a file in {} nor a command in PATH",
            cwd.display()
        )),
    }
}
