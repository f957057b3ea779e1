//! The add form: six fields, checked in place. What can be checked here (required command,
//! instances, `KEY=VALUE` pairs, the working directory) is; the rest is the resolver's, the
//! same code `pmtui start` runs, and its message lands under the field it is about.

use crate::msg::AddRequest;
use pmtui_proto::RestartMode;
use tui_input::Input;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Command,
    Name,
    Cwd,
    Instances,
    Env,
    Restart,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Field::Command,
        Field::Name,
        Field::Cwd,
        Field::Instances,
        Field::Env,
        Field::Restart,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Field::Command => "Command",
            Field::Name => "Name",
            Field::Cwd => "Directory",
            Field::Instances => "Instances",
            Field::Env => "Environment",
            Field::Restart => "Restart",
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            Field::Command => "app.py, ./server or \"python3 -m http.server 8000\"",
            Field::Name => "default: the script's name",
            Field::Cwd => "default: the directory pmtui was opened in",
            Field::Instances => "a number, or max for one per CPU",
            Field::Env => "KEY=VALUE pairs separated by spaces; quote spaces: K=\"a b\"",
            Field::Restart => "←/→ to choose",
        }
    }
}

#[derive(Debug, Default)]
pub struct AddForm {
    pub focus: usize,
    /// One input per text field, in `Field::ALL` order (Restart has none).
    pub inputs: [Input; 5],
    pub restart: RestartMode,
    pub errors: [Option<String>; 6],
    /// A start request is on its way.
    pub submitting: bool,
}

impl AddForm {
    pub fn field(&self) -> Field {
        Field::ALL[self.focus]
    }

    pub fn value(&self, field: Field) -> &str {
        match field {
            Field::Restart => restart_label(self.restart),
            other => self.inputs[other as usize].value(),
        }
    }

    pub fn next(&mut self) {
        self.focus = (self.focus + 1) % Field::ALL.len();
    }

    pub fn prev(&mut self) {
        self.focus = (self.focus + Field::ALL.len() - 1) % Field::ALL.len();
    }

    pub fn cycle_restart(&mut self, forward: bool) {
        const MODES: [RestartMode; 3] =
            [RestartMode::Always, RestartMode::OnFailure, RestartMode::No];
        let i = MODES.iter().position(|m| *m == self.restart).unwrap_or(0);
        let i = if forward { (i + 1) % 3 } else { (i + 2) % 3 };
        self.restart = MODES[i];
    }

    pub fn set_error(&mut self, field: Field, message: impl Into<String>) {
        self.errors[field as usize] = Some(message.into());
    }

    /// Checks the fields; on success returns what the resolver needs.
    pub fn validate(&mut self) -> Option<AddRequest> {
        self.errors = Default::default();
        let text = |f: Field| self.inputs[f as usize].value().trim().to_string();
        let command = text(Field::Command);
        let name = text(Field::Name);
        let cwd = text(Field::Cwd);
        let instances = text(Field::Instances);
        // Shell-style words, so `BAZ="a b"` and `X='it''s'` mean what they mean in a shell.
        let env_text = text(Field::Env);
        let env: Vec<String> = shlex::split(&env_text).unwrap_or_default();
        if shlex::split(&env_text).is_none() {
            self.set_error(Field::Env, "a quote is not closed");
        }
        if command.is_empty() {
            self.set_error(Field::Command, "required: what to run");
        }
        if name.contains('/') || name.contains(char::is_whitespace) {
            self.set_error(Field::Name, "a name cannot contain spaces or '/'");
        } else if !name.is_empty()
            && let Err(err) = pmtui_proto::check_name(&name)
        {
            self.set_error(Field::Name, err.to_string());
        }
        if !cwd.is_empty() && !std::path::Path::new(&cwd).is_dir() {
            self.set_error(Field::Cwd, format!("{cwd} is not a directory"));
        }
        if !instances.is_empty() && instances != "max" && instances.parse::<i64>().is_err() {
            self.set_error(
                Field::Instances,
                format!("{instances:?} is not a number or max"),
            );
        }
        if let Some(bad) = env.iter().find(|pair| !valid_pair(pair)) {
            self.set_error(Field::Env, format!("{bad:?} is not KEY=VALUE"));
        }
        if self.errors.iter().any(Option::is_some) {
            self.focus = self.errors.iter().position(Option::is_some).unwrap_or(0);
            return None;
        }
        let some = |s: String| (!s.is_empty()).then_some(s);
        Some(AddRequest {
            command,
            name: some(name),
            cwd: some(cwd),
            instances: some(instances),
            env,
            restart: self.restart,
        })
    }

    /// Puts a resolver or daemon message under the field it is about.
    pub fn place_error(&mut self, message: &str) {
        let field = if message.contains("--cwd")
            || message.contains("directory") && !message.contains("script")
        {
            Field::Cwd
        } else if message.contains("--instances") {
            Field::Instances
        } else if message.contains("name")
            && (message.contains("taken") || message.contains("exists") || message.contains("used"))
        {
            Field::Name
        } else {
            Field::Command
        };
        self.set_error(field, message);
        self.focus = field as usize;
    }
}

pub fn restart_label(mode: RestartMode) -> &'static str {
    match mode {
        RestartMode::Always => "always",
        RestartMode::OnFailure => "on-failure",
        RestartMode::No => "no",
    }
}

fn valid_pair(pair: &str) -> bool {
    let Some((key, _)) = pair.split_once('=') else {
        return false;
    };
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(values: [&str; 5]) -> AddForm {
        let mut f = AddForm::default();
        for (i, v) in values.iter().enumerate() {
            f.inputs[i] = Input::new(v.to_string());
        }
        f
    }

    #[test]
    fn empty_command_and_bad_fields_are_named() {
        let mut f = form(["", "a b", "/no/such/dir", "lots", "A=1 =2"]);
        assert!(f.validate().is_none());
        assert!(f.errors[Field::Command as usize].is_some());
        assert!(f.errors[Field::Name as usize].is_some());
        assert!(
            f.errors[Field::Cwd as usize]
                .as_deref()
                .is_some_and(|e| e.contains("/no/such/dir"))
        );
        assert!(
            f.errors[Field::Instances as usize]
                .as_deref()
                .is_some_and(|e| e.contains("lots"))
        );
        assert!(
            f.errors[Field::Env as usize]
                .as_deref()
                .is_some_and(|e| e.contains("=2"))
        );
        assert_eq!(f.focus, 0);
    }

    #[test]
    fn control_characters_and_long_names_are_refused_in_the_form() {
        let mut f = form(["sleep 100", "a\x1b[2Jb", "", "", ""]);
        assert!(f.validate().is_none());
        assert!(
            f.errors[Field::Name as usize]
                .as_deref()
                .is_some_and(|e| e.contains("control character \\e") && !e.contains('\x1b')),
            "{:?}",
            f.errors
        );
        let mut f = form(["sleep 100", &"n".repeat(129), "", "", ""]);
        assert!(f.validate().is_none());
        assert!(f.errors[Field::Name as usize].is_some());
    }

    #[test]
    fn a_good_form_becomes_a_request() {
        let mut f = form([
            "sleep 100",
            "nap",
            "/tmp",
            "2",
            "A=1 B=x=y BAZ=\"a b\" Q='c d'",
        ]);
        f.cycle_restart(true);
        let r = f.validate().expect("valid");
        assert_eq!(r.command, "sleep 100");
        assert_eq!(r.name.as_deref(), Some("nap"));
        assert_eq!(r.env, ["A=1", "B=x=y", "BAZ=a b", "Q=c d"]);
        let mut f = form(["sleep 100", "", "", "", "A=\"open"]);
        assert!(f.validate().is_none());
        assert!(
            f.errors[Field::Env as usize]
                .as_deref()
                .is_some_and(|e| e.contains("quote"))
        );
        assert_eq!(r.restart, RestartMode::OnFailure);
    }

    #[test]
    fn resolver_messages_land_under_their_field() {
        let mut f = AddForm::default();
        f.place_error("--instances takes a number or `max`, not \"x\"");
        assert!(f.errors[Field::Instances as usize].is_some());
        f.place_error("script not found: nope is neither a file in /tmp nor a command in PATH");
        assert!(f.errors[Field::Command as usize].is_some());
    }
}
