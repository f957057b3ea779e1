//! `pmtui schema`: the JSON Schema generated from the field table, for editors. Needs no
//! daemon.

use anyhow::Result;
use std::process::ExitCode;

pub fn print(settings: bool) -> Result<ExitCode> {
    let schema = if settings {
        pmtui_config::schema::json::settings()
    } else {
        pmtui_config::schema::json::ecosystem()
    };
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(ExitCode::SUCCESS)
}
