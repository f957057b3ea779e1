//! Which daemons a command talks to: this host's, one reached over ssh (`--host`,
//! `PMTUI_HOST`, `--context`, the context in use), or several (`ls` and the UI). Also the
//! verbs that must run on the far host itself (`start <script>`, file verbs, `kill`): they
//! are forwarded as `ssh host pmtui <the same arguments>`, so paths are read there.

pub mod contexts;
pub mod dial;
mod forward;
pub mod verbs;

pub use forward::forward;

use anyhow::{Result, bail};
use contexts::Contexts;
use pmtui_client::Endpoint;
use std::sync::OnceLock;

/// The daemons of this invocation, chosen once from the command line.
pub struct Hosts {
    pub endpoints: Vec<Endpoint>,
    /// The context these came from, shown in `ls` headers and the UI title.
    pub context: Option<String>,
}

static HOSTS: OnceLock<Hosts> = OnceLock::new();

/// Chooses the daemons: `--host` (or `PMTUI_HOST`, comma-separated), else `--context`
/// (or `PMTUI_CONTEXT`), else the context in use (`pmtui context use`), else this host.
pub fn init(hosts: &[String], context: &[String], remote_bin: Option<&str>) -> Result<()> {
    let home = super::home();
    let exe = std::env::current_exe()?;
    let env_list = |name: &str| -> Vec<String> {
        std::env::var(name)
            .ok()
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    if !hosts.is_empty() && !context.is_empty() {
        bail!("give either --host or --context, not both");
    }
    let bin = remote_bin.map(String::from);
    let endpoint = |url: &str, bin: Option<String>| -> Result<Endpoint> {
        Ok(Endpoint::parse(url, bin, home.clone(), exe.clone())?)
    };
    let chosen = if !hosts.is_empty() {
        Hosts {
            endpoints: hosts
                .iter()
                .map(|h| endpoint(h, bin.clone()))
                .collect::<Result<_>>()?,
            context: None,
        }
    } else {
        let mut names = context.to_vec();
        if names.is_empty() {
            let from_env = env_list("PMTUI_HOST");
            if !from_env.is_empty() {
                let endpoints = from_env
                    .iter()
                    .map(|h| endpoint(h, bin.clone()))
                    .collect::<Result<_>>()?;
                let _ = HOSTS.set(Hosts {
                    endpoints,
                    context: None,
                });
                return Ok(());
            }
            names = env_list("PMTUI_CONTEXT");
        }
        let stored = if names.is_empty() {
            // No context asked for: a state directory that cannot be read is reported by
            // the connection to this host's daemon, with its remedy.
            let stored = Contexts::load(&home).unwrap_or_default();
            if let Some(current) = &stored.current {
                names.push(current.clone());
            }
            stored
        } else {
            Contexts::load(&home)?
        };
        let mut endpoints = Vec::new();
        for name in &names {
            match stored.get(name)? {
                None => endpoints.push(Endpoint::Local {
                    home: home.clone(),
                    exe: exe.clone(),
                }),
                Some(entry) => endpoints.push(endpoint(
                    &entry.host,
                    bin.clone().or_else(|| entry.remote_bin.clone()),
                )?),
            }
        }
        if endpoints.is_empty() {
            endpoints.push(Endpoint::Local {
                home: home.clone(),
                exe: exe.clone(),
            });
        }
        Hosts {
            endpoints,
            context: (!names.is_empty()).then(|| names.join(",")),
        }
    };
    let _ = HOSTS.set(chosen);
    Ok(())
}

fn hosts() -> &'static Hosts {
    HOSTS.get_or_init(|| Hosts {
        endpoints: vec![Endpoint::Local {
            home: super::home(),
            exe: std::env::current_exe().unwrap_or_else(|_| "pmtui".into()),
        }],
        context: None,
    })
}

/// Every daemon of this invocation.
pub fn endpoints() -> &'static [Endpoint] {
    &hosts().endpoints
}

/// The context in use, if one was chosen.
pub fn context() -> Option<&'static str> {
    hosts().context.as_deref()
}

/// The one daemon of a verb that talks to one.
pub fn single() -> Result<&'static Endpoint> {
    match endpoints() {
        [one] => Ok(one),
        several => bail!(
            "this command talks to one daemon, and {} hosts were given ({}); only `ls` and \
             the UI (`pmtui` without a verb) show several",
            several.len(),
            several
                .iter()
                .map(Endpoint::label)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The remote daemon of this invocation, if it has one.
pub fn remote() -> Option<&'static pmtui_client::SshEndpoint> {
    match endpoints() {
        [Endpoint::Ssh(ssh)] => Some(ssh),
        _ => None,
    }
}

/// The header line of `ls` when the daemons are not (only) this host's: the context and
/// the hosts, so a table of another machine is never mistaken for this one's.
pub fn header() -> Option<String> {
    let hosts: Vec<String> = endpoints().iter().map(Endpoint::label).collect();
    let remote = endpoints().iter().any(Endpoint::is_remote);
    match context() {
        Some(name) => Some(format!("context: {name} ({})", hosts.join(", "))),
        None if remote => Some(format!("host: {}", hosts.join(", "))),
        None => None,
    }
}
