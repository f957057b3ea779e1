//! Request decoding as the daemon does it, on JSON text: a request frame, its round trip,
//! and what the daemon then checks of it without a process table: names, namespaces and
//! environments of the specs it carries, and its targets (`/regex/` included) resolved
//! against a small table.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pmtui_proto::codec::{ClientFrame, decode, encode};
use pmtui_proto::{ProcessSpec, Request};
use pmtui_supervisor::{TargetEntry, resolve_targets};

fn check(spec: &ProcessSpec) {
    let _ = pmtui_proto::check_name(&spec.name);
    let _ = pmtui_proto::check_namespace(&spec.namespace);
    let _ = pmtui_proto::check_env(&spec.env);
    let stem = pmtui_proto::file_stem(&spec.name);
    assert!(stem.len() <= pmtui_proto::names::MAX_STEM_BYTES);
    assert!(!stem.contains('/') && !stem.starts_with('.'), "{stem}");
    let _ = pmtui_proto::printable(&spec.name);
}

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = decode::<ClientFrame>(data) else {
        return;
    };
    let bytes = encode(&frame).expect("a decoded frame encodes");
    assert_eq!(decode::<ClientFrame>(&bytes).expect("round trip"), frame);
    let ClientFrame::Request { request, .. } = frame else {
        return;
    };
    let targets: Vec<String> = match &request {
        Request::Start { spec, .. } => {
            check(spec);
            vec![spec.name.clone()]
        }
        Request::Apply { specs, .. } => {
            specs.iter().for_each(check);
            specs.iter().map(|s| s.name.clone()).collect()
        }
        Request::Stop { targets }
        | Request::Delete { targets }
        | Request::Reset { targets }
        | Request::Describe { targets, .. }
        | Request::Metrics { targets, .. } => targets.clone(),
        Request::Restart { targets, env } => {
            if let Some(env) = env {
                let _ = pmtui_proto::check_env(env);
            }
            targets.clone()
        }
        _ => return,
    };
    let names = ["api", "worker", "co l", "x"];
    let table: Vec<TargetEntry<'_>> = names
        .iter()
        .enumerate()
        .map(|(i, name)| TargetEntry {
            id: i as u32,
            name,
            namespace: if i % 2 == 0 { "default" } else { "jobs" },
            script: "/bin/sleep",
        })
        .collect();
    let _ = resolve_targets(table.iter().cloned(), &targets);
});
