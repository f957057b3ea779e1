//! The program and arguments of a child that gets listening sockets. `LISTEN_PID` must be
//! the pid of the program that accepts, so a command string is not left to a shell that
//! forks it: a simple one (words and quotes only) is split here into argv, as pm2 does,
//! and any other runs as `sh -c 'exec …'` so that the shell becomes the program. The
//! program is then found in the child's `PATH`, as `execvp` would, since the child execs it
//! with `execve`.

use pmtui_proto::ProcessSpec;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The argv (program first) to run `spec` with sockets.
pub(super) fn socket_argv(spec: &ProcessSpec) -> Vec<String> {
    let (program, args) = spec.argv();
    let Some(command) = shell_command(spec) else {
        return std::iter::once(program).chain(args).collect();
    };
    match split_simple(command) {
        Some(words) if !words.is_empty() => words,
        _ if has_control_operator(command) || command.trim_start().starts_with("exec ") => {
            std::iter::once(program).chain(args).collect()
        }
        _ => vec![program, "-c".into(), format!("exec {command}")],
    }
}

/// The command string of a `sh -c "…"` spec (pmtui's form of a command with spaces).
fn shell_command(spec: &ProcessSpec) -> Option<&str> {
    let shell = spec.interpreter.as_deref()?;
    let base = Path::new(shell).file_name()?.to_str()?;
    let is_shell = matches!(base, "sh" | "bash" | "dash" | "zsh" | "ksh");
    (is_shell && spec.interpreter_args == ["-c"] && spec.args.is_empty())
        .then_some(spec.script.as_str())
}

/// Splits a command string made only of words, single-quoted and double-quoted parts
/// (without `$`, backquotes or backslashes in them). `None` for anything a shell would
/// interpret: expansions, redirections, globs, operators, assignments before the command.
fn split_simple(command: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '$' | '`' | '\\' => return None,
                        c => word.push(c),
                    }
                }
            }
            c if c.is_ascii_alphanumeric() || "-_./:,+@%^=".contains(c) => {
                // `A=1 cmd` sets a variable for cmd: a shell's job.
                if c == '=' && words.is_empty() && !word.is_empty() && !word.contains('/') {
                    return None;
                }
                in_word = true;
                word.push(c);
            }
            c if !c.is_ascii() => {
                in_word = true;
                word.push(c);
            }
            _ => return None,
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// Whether a shell would run several commands (`;`, `&&`, `||`, `|`, `&`, a newline): then
/// `exec` cannot go in front, and the shell keeps its own pid (the README says to put
/// `exec` before the program that accepts).
fn has_control_operator(command: &str) -> bool {
    command.contains([';', '|', '&', '\n'])
}

/// The file `program` names: as it is with a `/`, else the first executable in `PATH` of
/// the child's environment.
pub(super) fn find_program(program: &str, env: &BTreeMap<String, String>) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = env.get("PATH").map(String::as_str);
    candidates(program, path, None).find(|c| is_executable(c))
}

/// As `execvp` in the child would find `program` (`PATH` entries that are relative count
/// from the child's working directory `cwd`), or the errno it would fail with: EACCES when
/// only files that cannot be executed have that name, else ENOENT.
pub(super) fn resolve_program(
    program: &str,
    path: Option<&str>,
    cwd: &Path,
) -> std::io::Result<PathBuf> {
    if program.contains('/') {
        return Ok(PathBuf::from(program));
    }
    if let Some(found) = candidates(program, path, Some(cwd)).find(|c| is_executable(c)) {
        return Ok(found);
    }
    let errno = if candidates(program, path, Some(cwd)).any(|c| c.is_file()) {
        nix::libc::EACCES
    } else {
        nix::libc::ENOENT
    };
    Err(std::io::Error::from_raw_os_error(errno))
}

/// The places `program` is looked for, given the child's `PATH`.
fn candidates<'a>(
    program: &'a str,
    path: Option<&'a str>,
    cwd: Option<&'a Path>,
) -> impl Iterator<Item = PathBuf> + 'a {
    let path = path.unwrap_or("/usr/local/bin:/usr/bin:/bin");
    path.split(':')
        .filter(|dir| !dir.is_empty())
        .map(move |dir| match cwd {
            Some(cwd) => cwd.join(dir).join(program),
            None => Path::new(dir).join(program),
        })
}

fn is_executable(candidate: &Path) -> bool {
    candidate
        .metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(command: &str) -> ProcessSpec {
        ProcessSpec {
            script: command.into(),
            interpreter: Some("sh".into()),
            interpreter_args: vec!["-c".into()],
            ..Default::default()
        }
    }

    #[test]
    fn a_simple_command_string_becomes_argv() {
        assert_eq!(
            socket_argv(&sh("python3 -m http.server --bind 127.0.0.1 8000")),
            [
                "python3",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "8000"
            ]
        );
        assert_eq!(
            socket_argv(&sh("./server 'a b' \"c d\" --x=1")),
            ["./server", "a b", "c d", "--x=1"]
        );
    }

    #[test]
    fn other_command_strings_make_the_shell_exec_the_program() {
        for command in [
            "python3 app.py --port $PORT",
            "./server > /tmp/out",
            "PORT=1 ./server",
            "./server *.conf",
        ] {
            assert_eq!(
                socket_argv(&sh(command)),
                ["sh", "-c", &format!("exec {command}")],
                "{command}"
            );
        }
        // Several commands: `exec` would change what runs; the shell stays as it is.
        for command in ["cd /srv && exec ./server", "exec ./server > /tmp/out"] {
            assert_eq!(socket_argv(&sh(command)), ["sh", "-c", command]);
        }
    }

    #[test]
    fn a_script_with_an_interpreter_is_left_alone() {
        let spec = ProcessSpec {
            script: "/srv/app.py".into(),
            interpreter: Some("python3".into()),
            args: vec!["--port".into(), "1".into()],
            ..Default::default()
        };
        assert_eq!(
            socket_argv(&spec),
            ["python3", "/srv/app.py", "--port", "1"]
        );
    }

    #[test]
    fn programs_are_found_in_the_childs_path() {
        let env = BTreeMap::from([("PATH".to_string(), "/nonexistent:/bin:/usr/bin".to_string())]);
        assert!(find_program("sh", &env).is_some_and(|p| p.ends_with("sh")));
        assert_eq!(find_program("./x", &env), Some(PathBuf::from("./x")));
        assert_eq!(find_program("no-such-program-pmtui", &env), None);
        let cwd = Path::new("/");
        let path = Some("/nonexistent:/bin:/usr/bin");
        let errno = |p| {
            resolve_program(p, path, cwd)
                .err()
                .and_then(|e| e.raw_os_error())
        };
        assert!(resolve_program("sh", path, cwd).is_ok_and(|p| p.ends_with("sh")));
        assert_eq!(errno("no-such-program-pmtui"), Some(nix::libc::ENOENT));
        assert!(
            resolve_program("sh", Some("bin"), cwd).is_ok_and(|p| p == Path::new("/bin/sh")),
            "a relative PATH entry counts from the child's working directory"
        );
    }
}
