//! The duration and size parsers (`"1m30s"`, `"500M"`) and the instance count (`"max"`,
//! `"-1"`): never a panic, and what parses is a value the caller can use.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = pmtui_proto::parse_duration_ms(text);
    if let Ok(bytes) = pmtui_proto::parse_size_bytes(text) {
        let _ = pmtui_proto::format_bytes(bytes, pmtui_proto::ByteUnits::PM2);
    }
    if let Ok(n) = pmtui_config::units::instances(text) {
        assert!(n >= 1, "{text:?} gave {n} instances");
    }
});
