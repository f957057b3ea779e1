//! Refusing a definition before anything is done with it.

use crate::{SupervisorError, logs, spawn, tree};
use pmtui_proto::ProcessSpec;

pub(super) fn validate(spec: &ProcessSpec) -> Result<(), SupervisorError> {
    // Names become file names and are printed: length and control characters are checked
    // here too, since not every client is pmtui's CLI.
    pmtui_proto::check_name(&spec.name)
        .map_err(|err| SupervisorError::BadRequest(err.to_string()))?;
    pmtui_proto::check_namespace(&spec.namespace)
        .map_err(|err| SupervisorError::BadRequest(err.to_string()))?;
    // Names that targets would read as something else could never be acted on by name. A
    // number is fine, as in pm2: targets try it as an id first, then as a name.
    let name = spec.name.as_str();
    let taken_as = if name == "all" {
        Some("every process")
    } else if name.len() > 1 && name.starts_with('/') && name.ends_with('/') {
        Some("a regular expression")
    } else {
        None
    };
    if let Some(what) = taken_as {
        return Err(SupervisorError::BadRequest(format!(
            "{name:?} cannot be a process name: targets read it as {what}; choose another name"
        )));
    }
    let ns = spec.namespace.as_str();
    if ns == "all" {
        return Err(SupervisorError::BadRequest(
            "\"all\" cannot be a namespace: targets read it as every process; choose another \
             namespace"
                .into(),
        ));
    }
    // The environment is kept in the table and on disk while the process is defined.
    pmtui_proto::check_env(&spec.env)
        .map_err(|err| SupervisorError::BadRequest(format!("{}: {err}", spec.name)))?;
    if spec.script.trim().is_empty() {
        return Err(SupervisorError::BadRequest(format!(
            "{} has no script to run",
            spec.name
        )));
    }
    if let Some(format) = &spec.logs.date_format {
        logs::check_date_format(format)
            .map_err(|err| SupervisorError::BadRequest(format!("{}: {err}", spec.name)))?;
    }
    if let Some(pattern) = spec
        .cron_restart
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    {
        crate::cron::CronSchedule::parse(pattern).map_err(|err| {
            SupervisorError::BadRequest(format!("{}: cron_restart: {err}", spec.name))
        })?;
    }
    if let Some(pattern) = spec.schedule.as_deref().filter(|p| !p.trim().is_empty()) {
        crate::cron::CronSchedule::parse(pattern).map_err(|err| {
            SupervisorError::BadRequest(format!("{}: schedule: {err}", spec.name))
        })?;
        if spec
            .cron_restart
            .as_deref()
            .is_some_and(|p| !p.trim().is_empty())
        {
            return Err(SupervisorError::BadRequest(format!(
                "{}: schedule and cron_restart cannot go together: a task runs at each firing \
                 (schedule), cron_restart restarts a long-running app",
                spec.name
            )));
        }
    }
    crate::cron::CronSchedule::zone(spec.timezone.as_deref())
        .map_err(|err| SupervisorError::BadRequest(format!("{}: timezone: {err}", spec.name)))?;
    if spec.timeout_ms == Some(0) {
        return Err(SupervisorError::BadRequest(format!(
            "{}: the task timeout must be more than 0",
            spec.name
        )));
    }
    for (event, hook) in &spec.hooks {
        crate::hooks::check(event, hook).map_err(|err| {
            SupervisorError::BadRequest(format!("{}: hooks.{event}: {err}", spec.name))
        })?;
    }
    let backoff = &spec.restart.backoff;
    if !backoff.factor.is_finite() || backoff.factor < 1.0 {
        return Err(SupervisorError::BadRequest(format!(
            "{}: restart backoff factor must be a number of at least 1, not {}",
            spec.name, backoff.factor
        )));
    }
    spawn::resolve_credentials(spec)
        .map_err(|err| SupervisorError::BadRequest(format!("{}: {err}", spec.name)))?;
    if let Some(problem) = spec.health_check.as_ref().and_then(|c| c.problem()) {
        return Err(SupervisorError::BadRequest(format!(
            "{}: health_check: {problem}",
            spec.name
        )));
    }
    if let Some(url) = &spec.metrics_url {
        pmtui_proto::HttpTarget::parse(url).map_err(|err| {
            SupervisorError::BadRequest(format!("{}: metrics_url: {err}", spec.name))
        })?;
    }
    let too_long = spec
        .metrics_keep
        .iter()
        .find(|k| k.is_empty() || k.len() > pmtui_proto::MAX_APP_NAME);
    if spec.metrics_keep.len() > pmtui_proto::MAX_APP_SERIES || too_long.is_some() {
        return Err(SupervisorError::BadRequest(format!(
            "{}: metrics_keep takes at most {} names of 1 to {} bytes",
            spec.name,
            pmtui_proto::MAX_APP_SERIES,
            pmtui_proto::MAX_APP_NAME
        )));
    }
    if spec.watchdog_ms == Some(0) {
        return Err(SupervisorError::BadRequest(format!(
            "{}: the watchdog period must be more than 0",
            spec.name
        )));
    }
    if tree::parse_signal(&spec.stop_signal).is_none() {
        return Err(SupervisorError::BadRequest(format!(
            "unknown stop signal {}",
            spec.stop_signal
        )));
    }
    Ok(())
}
