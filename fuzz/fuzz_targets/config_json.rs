//! Bytes read as an ecosystem file in JSON: see `config.rs`.
#![no_main]

#[path = "config.rs"]
mod config;

libfuzzer_sys::fuzz_target!(|data: &[u8]| config::run("eco.json", data));
