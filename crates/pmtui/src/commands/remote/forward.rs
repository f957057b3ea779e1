//! Verbs that run on the far host itself: `ssh host <remote-bin> <the same arguments>`, its
//! output shown as it comes. Used where the client would otherwise read this host's files
//! or environment (a script path, an ecosystem file, `restart --update-env`) or watch this
//! host's processes (`kill` waits for the daemon's pid).

use anyhow::{Context, Result, bail};
use pmtui_client::{ClientError, SshEndpoint};
use pmtui_config::shell_quote;
use std::io::{IsTerminal, Write};
use std::process::{ExitCode, Stdio};

/// Global flags that choose the host: they mean nothing on the far side.
const LOCAL_FLAGS: [&str; 4] = ["--host", "--context", "--remote-bin", "--local-file"];

/// Runs this command on `ssh`'s host: the arguments this process got, less the flags that
/// chose the host, plus `extra`; `stdin` is written to its standard input (else none).
pub fn forward(ssh: &SshEndpoint, extra: &[&str], stdin: Option<Vec<u8>>) -> Result<ExitCode> {
    let mut args = own_args()?;
    args.extend(extra.iter().map(|s| s.to_string()));
    let remote: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
    let batch = !std::io::stdin().is_terminal() || stdin.is_some();
    let argv = ssh.command_argv(batch, &remote.join(" "));
    let mut child = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .spawn()
        .map_err(|error| ClientError::SshSpawn {
            command: argv[0].clone(),
            host: ssh.target.to_string(),
            error,
        })?;
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(&bytes)
            .context("cannot send the file to ssh")?;
    }
    let status = child.wait().context("cannot wait for ssh")?;
    match status.code() {
        Some(255) => bail!(
            "ssh to {} failed (exit 255; its message is above)",
            ssh.target
        ),
        Some(127) => bail!(
            "pmtui is not installed on {} (the remote shell could not run `{}`); install it \
             there, or name it with --remote-bin PATH (PMTUI_REMOTE_BIN)",
            ssh.target,
            ssh.remote_bin
        ),
        Some(code) => Ok(ExitCode::from(u8::try_from(code).unwrap_or(1))),
        None => bail!("ssh to {} was killed", ssh.target),
    }
}

/// This process's arguments without the program name and without the host flags (and
/// their values); anything after a bare `--` is the app's and kept as is.
fn own_args() -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut args = std::env::args_os().skip(1);
    let mut rest = false;
    while let Some(arg) = args.next() {
        let Some(arg) = arg.to_str().map(String::from) else {
            bail!("an argument is not UTF-8; it cannot be sent to the remote host");
        };
        if rest {
            out.push(arg);
            continue;
        }
        if arg == "--" {
            rest = true;
            out.push(arg);
            continue;
        }
        if LOCAL_FLAGS.contains(&arg.as_str()) {
            args.next();
            continue;
        }
        if LOCAL_FLAGS
            .iter()
            .any(|flag| arg.starts_with(&format!("{flag}=")))
        {
            continue;
        }
        out.push(arg);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use pmtui_config::shell_quote as quote;

    #[test]
    fn quoting_survives_a_posix_shell() {
        for word in [
            "plain",
            "two words",
            "it's",
            "$HOME",
            "",
            "a;b",
            "--env=A=B",
        ] {
            let out = std::process::Command::new("sh")
                .args(["-c", &format!("printf %s {}", quote(word))])
                .output()
                .expect("sh");
            assert_eq!(String::from_utf8_lossy(&out.stdout), word);
        }
    }
}
