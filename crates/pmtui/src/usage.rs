//! Command-line errors as a pm2 user needs them. clap's own messages stay, with three
//! corrections: a pm2 flag pmtui lacks is named as such (clap's tip would hand it to the app
//! after `--`), a pm2 verb pmtui lacks points at its pmtui equivalent, and a suggestion for
//! a mistyped verb is drawn from the visible verbs and aliases only (clap also proposes
//! hidden aliases like `l`). Usage errors exit with 2, as clap's do.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser};

/// The exit code of a command line that cannot be parsed (other errors exit 1).
pub const USAGE_EXIT: i32 = 2;

/// Parses the command line, or prints the error and exits.
pub fn parse() -> crate::cli::Cli {
    match crate::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => exit(err),
    }
}

fn exit(err: clap::Error) -> ! {
    let arg = |kind| match err.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    match err.kind() {
        ErrorKind::UnknownArgument => {
            if let Some(why) = arg(ContextKind::InvalidArg).and_then(|flag| {
                let flag = flag.split('=').next().unwrap_or_default().to_string();
                pm2_flag(&flag)
                    .map(|why| format!("{flag} is a pm2 flag pmtui does not have: {why}"))
            }) {
                plain(&err, &why)
            }
        }
        ErrorKind::InvalidSubcommand => {
            if let Some(verb) = arg(ContextKind::InvalidSubcommand) {
                if let Some(hint) = pm2_verb(&verb) {
                    plain(
                        &err,
                        &format!("`{verb}` is a pm2 command pmtui does not have: {hint}"),
                    )
                }
                visible_suggestion(&err, &verb).exit()
            }
        }
        _ => {}
    }
    err.exit()
}

/// Prints `error: <message>` and the usage of the original error, and exits.
fn plain(err: &clap::Error, message: &str) -> ! {
    eprintln!("error: {message}");
    if let Some(ContextValue::StyledStr(usage)) = err.get(ContextKind::Usage) {
        eprintln!("\n{usage}");
    }
    eprintln!("\nFor more information, try '--help'.");
    std::process::exit(USAGE_EXIT)
}

/// The same error with its subcommand suggestion recomputed from visible names.
fn visible_suggestion(err: &clap::Error, verb: &str) -> clap::Error {
    let cmd = crate::cli::Cli::command();
    let visible: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .flat_map(|s| {
            std::iter::once(s.get_name().to_string())
                .chain(s.get_visible_aliases().map(str::to_string))
        })
        .collect();
    let mut fixed = clap::Error::new(ErrorKind::InvalidSubcommand).with_cmd(&cmd);
    for (kind, value) in err.context() {
        let empty = matches!(value, ContextValue::StyledStrs(tips) if tips.is_empty());
        if kind != ContextKind::SuggestedSubcommand && !empty {
            fixed.insert(kind, value.clone());
        }
    }
    if let Some(near) = pmtui_config::error::suggest(verb, visible.iter().map(String::as_str)) {
        fixed.insert(ContextKind::SuggestedSubcommand, ContextValue::String(near));
    }
    fixed
}

/// pm2 flags pmtui does not take, and what to do instead.
fn pm2_flag(flag: &str) -> Option<&'static str> {
    Some(match flag {
        "-x" | "--execute-command" => {
            "pmtui always runs each instance as its own process (pm2's fork mode); drop the flag"
        }
        "--no-daemon" => "run `pmtui daemon` in the foreground, and start apps from another shell",
        "--attach" => "follow the output with `pmtui logs <name>` after `start`",
        "--no-autostart" => "set `autostart: false` in an ecosystem file",
        "--shutdown-with-message"
        | "--source-map-support"
        | "--disable-source-map-support"
        | "--no-pmx"
        | "--no-automation"
        | "--trace"
        | "--disable-trace"
        | "--v8"
        | "--event-loop-inspector"
        | "--deep-monitoring"
        | "--no-vizion" => "a Node.js-only pm2 feature; drop the flag",
        "--filter-env" => "set `filter_env` in an ecosystem file",
        "--parallel" => "pmtui acts on every target at once; drop the flag",
        "-s" | "--silent" => "pmtui has no quiet mode; redirect the output",
        "--no-color" => "set NO_COLOR=1 (colours are also off when the output is not a terminal)",
        "--highlight" | "--format" => "use `--grep REGEX`, `--json` or `--raw`",
        "--hp" | "--service-name" => "only `pmtui startup` and `pmtui unstartup` take it",
        "--wait-ip" => "not supported: the boot unit starts after network.target",
        _ => return None,
    })
}

/// pm2 verbs pmtui does not have, and what to use instead.
fn pm2_verb(verb: &str) -> Option<&'static str> {
    Some(match verb {
        "startOrRestart" | "startOrReload" | "startOrGracefulReload" => {
            "`pmtui restart <file>` starts the missing apps and restarts the others"
        }
        "prettylist" => "use `pmtui ls --json` (or `pmtui jlist`)",
        "id" => "ids are in `pmtui ls` and `pmtui ls --json`",
        "cleardump" => "delete $PMTUI_HOME/dump.json, or `pmtui save --force` with nothing running",
        "updatePM2" | "update" => {
            "after upgrading pmtui: `pmtui save && pmtui kill && pmtui resurrect`"
        }
        "sysinfos" | "slist" => "host figures are in `pmtui metrics`",
        "dashboard" | "dash" | "imonit" => "use `pmtui monit` (or `pmtui` for the dashboard)",
        "send" | "attach" => "writing to a process's stdin is not supported",
        "trigger" => "pm2 actions are a Node.js-only feature",
        "install" | "module:install" | "uninstall" | "module:uninstall" | "set" | "get"
        | "unset" | "multiset" | "conf" | "config" => {
            "pm2 modules and settings are not \
            supported; daemon settings live in $PMTUI_HOME/config.toml"
        }
        "deploy" => {
            "pm2's deploy is not supported; use your own deploy tool, then `pmtui start <file>`"
        }
        "serve" | "expose" => {
            "pm2's static server is not supported; run any static server as an app"
        }
        "link" | "unlink" | "plus" | "register" | "login" | "logout" | "open" | "unmonitor" => {
            "PM2 Plus is not supported"
        }
        "report" => "`pmtui describe <target>` and $PMTUI_HOME/daemon.log",
        "logrotate" => "rotation is built in (see `log_max_size` in the README)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        crate::cli::Cli::command().debug_assert();
    }

    #[test]
    fn suggestions_skip_hidden_aliases() {
        let err = crate::cli::Cli::try_parse_from(["pmtui", "completion"])
            .err()
            .filter(|e| e.kind() == ErrorKind::InvalidSubcommand);
        if let Some(err) = err {
            let fixed = visible_suggestion(&err, "completion").to_string();
            assert!(!fixed.contains("'l'"), "{fixed}");
        }
        let err = crate::cli::Cli::try_parse_from(["pmtui", "jlst"]).expect_err("no such verb");
        let fixed = visible_suggestion(&err, "jlst").to_string();
        assert!(fixed.contains("'jlist'"), "{fixed}");
    }
}
