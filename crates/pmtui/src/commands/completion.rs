//! `pmtui completion <shell>`: clap_complete's script for the verbs and flags, plus, for bash
//! and zsh, the names of the running processes where a verb takes targets. Those come from
//! `pmtui __complete-names`, which asks a running daemon and never starts one, so pressing
//! tab costs one socket round trip, and nothing when no daemon runs.

use crate::cli::Cli;
use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;
use std::fmt::Write as _;
use std::process::ExitCode;

pub fn print(shell: Shell) -> Result<ExitCode> {
    print!("{}", script(shell)?);
    Ok(ExitCode::SUCCESS)
}

/// The whole script for `shell`.
pub fn script(shell: Shell) -> Result<String> {
    let mut cmd = Cli::command();
    // The verbs' flags are deferred (see `cli::Command`): built here for the scripts.
    cmd.build();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "pmtui", &mut out);
    let script = String::from_utf8(out)?;
    let verbs = target_verbs(&cmd);
    Ok(match shell {
        Shell::Bash => format!("{script}\n{}", bash_names(&verbs)),
        Shell::Zsh => zsh_names(&script),
        _ => script,
    })
}

/// The hidden verb the scripts call for names. It is read before clap (see `main`), not
/// declared there, so no completion script, help page or suggestion shows it.
pub const NAMES_VERB: &str = "__complete-names";

/// Whether this invocation is `pmtui __complete-names`.
pub fn names_requested() -> bool {
    let mut args = std::env::args_os().skip(1);
    args.next().is_some_and(|a| a == NAMES_VERB) && args.next().is_none()
}

/// `pmtui __complete-names`: one name per line (processes, their namespaces, `all`), or
/// nothing when no daemon answers. Always exits 0: a completion must never print errors.
pub fn print_names() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    if let Ok(runtime) = runtime {
        print!("{}", runtime.block_on(names()));
    }
    ExitCode::SUCCESS
}

async fn names() -> String {
    let socket = pmtui_daemon::Paths::from_env().socket;
    let Ok(client) = pmtui_client::Client::connect(&socket).await else {
        return String::new();
    };
    let Ok(pmtui_proto::Response::Processes { processes }) =
        client.request(pmtui_proto::Request::List).await
    else {
        return String::new();
    };
    let mut names: Vec<&str> = processes.iter().map(|p| p.name.as_str()).collect();
    names.extend(
        processes
            .iter()
            .map(|p| p.namespace.as_str())
            .filter(|ns| *ns != "default"),
    );
    names.sort_unstable();
    names.dedup();
    let mut out = String::new();
    // Names hold no control characters (the daemon refuses them), so one per line is safe.
    for name in names.into_iter().chain(["all"]) {
        out.push_str(name);
        out.push('\n');
    }
    out
}

/// A verb whose positionals are targets: its names (aliases too), how many positionals come
/// before the targets (`signal SIG targets…`), and its flags that take a value.
struct TargetVerb {
    names: Vec<String>,
    before: usize,
    valued_flags: Vec<String>,
}

/// Every verb with a `targets`/`target` positional, read from the clap definition.
fn target_verbs(cli: &clap::Command) -> Vec<TargetVerb> {
    let mut verbs = Vec::new();
    for sub in cli.get_subcommands() {
        let positionals: Vec<&str> = sub.get_positionals().map(|a| a.get_id().as_str()).collect();
        let Some(before) = positionals
            .iter()
            .position(|id| *id == "targets" || *id == "target")
        else {
            continue;
        };
        let names = std::iter::once(sub.get_name().to_string())
            .chain(sub.get_all_aliases().map(str::to_string))
            .collect();
        let valued_flags = sub
            .get_arguments()
            .filter(|a| {
                // `--timestamp=FMT` never takes the next word.
                !a.is_positional() && a.get_action().takes_values() && !a.is_require_equals_set()
            })
            .flat_map(|a| {
                a.get_long()
                    .map(|l| format!("--{l}"))
                    .into_iter()
                    .chain(a.get_short().map(|s| format!("-{s}")))
            })
            .collect();
        verbs.push(TargetVerb {
            names,
            before,
            valued_flags,
        });
    }
    verbs
}

/// A bash function run after clap's: when the word being completed is a target of a verb
/// that takes targets, it adds the daemon's names; clap's placeholders (`<TARGETS>`) go.
fn bash_names(verbs: &[TargetVerb]) -> String {
    let mut cases = String::new();
    let mut valued: Vec<&str> = Vec::new();
    for verb in verbs {
        let _ = writeln!(
            cases,
            "                {}) first={} ;;",
            verb.names.join("|"),
            verb.before
        );
        valued.extend(verb.valued_flags.iter().map(String::as_str));
    }
    valued.sort_unstable();
    valued.dedup();
    let valued = if valued.is_empty() {
        "--pmtui-none".to_string()
    } else {
        valued.join("|")
    };
    format!(
        r#"# Process names from the running daemon (`pmtui __complete-names` never starts one).
_pmtui_names() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local verb="" first=-1 n=0 i word
    [[ "$cur" == -* ]] && return 0
    case "$prev" in {valued}) return 0 ;; esac
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${{COMP_WORDS[i]}}"
        if [[ -z "$verb" ]]; then
            [[ "$word" == -* ]] && continue
            verb="$word"
            case "$verb" in
{cases}                *) return 0 ;;
            esac
            continue
        fi
        case "$word" in
            {valued}) ((i++)) ;;
            -*) ;;
            *) ((n++)) ;;
        esac
    done
    [[ -z "$verb" || $n -lt $first ]] && return 0
    local names
    names=$("${{COMP_WORDS[0]}}" __complete-names 2>/dev/null) || return 0
    local IFS=$'\n'
    COMPREPLY+=($(compgen -W "$names" -- "$cur"))
}}

_pmtui_with_names() {{
    _pmtui "$@"
    local kept=() word
    for word in "${{COMPREPLY[@]}}"; do
        [[ "$word" == "<"* || "$word" == "["* ]] || kept+=("$word")
    done
    COMPREPLY=("${{kept[@]}}")
    _pmtui_names
}}

complete -F _pmtui_with_names -o bashdefault -o default pmtui
"#
    )
}

/// clap's zsh script with `_pmtui_names` as the completer of target positionals.
fn zsh_names(script: &str) -> String {
    let helper = r#"
# Process names from the running daemon (`pmtui __complete-names` never starts one).
_pmtui_names() {
    local -a names
    names=(${(f)"$(${words[1]} __complete-names 2>/dev/null)"})
    compadd -a names
}
"#;
    let mut out = String::with_capacity(script.len() + helper.len());
    let mut lines = script.split_inclusive('\n');
    // The helper goes after the `#compdef` line, before anything calls `_pmtui`.
    if let Some(first) = lines.next() {
        out.push_str(first);
        out.push_str(helper);
    }
    for line in lines {
        let is_target = line.contains("::targets -- ") || line.contains("::target -- ");
        match (is_target, line.rfind(":_default'")) {
            (true, Some(at)) => {
                out.push_str(&line[..at]);
                out.push_str(":_pmtui_names'");
                out.push_str(&line[at + ":_default'".len()..]);
            }
            _ => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_with_targets_come_from_the_clap_definition() {
        let mut cmd = Cli::command();
        cmd.build();
        let verbs = target_verbs(&cmd);
        let find = |name: &str| verbs.iter().find(|v| v.names.iter().any(|n| n == name));
        assert!(find("stop").is_some_and(|v| v.before == 0));
        assert!(find("del").is_some(), "aliases are included");
        assert!(find("signal").is_some_and(|v| v.before == 1));
        assert!(find("logs").is_some_and(|v| v.valued_flags.contains(&"--lines".into())));
        assert!(find("ls").is_none());
    }

    #[test]
    fn zsh_targets_complete_names() {
        let script = script(Shell::Zsh).unwrap_or_default();
        assert!(script.starts_with("#compdef pmtui\n\n# Process names"));
        assert!(script.contains(":_pmtui_names'"), "no target completer");
        assert!(
            !script.contains("::targets -- Names, ids, namespaces, /regex/ or `all`:_default'")
        );
    }
}
