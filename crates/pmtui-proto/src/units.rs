//! Friendly durations and sizes, as users write them on the command line and in ecosystem
//! files: `1500`, `500ms`, `10s`, `1m30s`, `2h` (milliseconds on the wire) and `1024`, `512K`,
//! `500M`, `1G` (bytes, 1024-based as pm2 reads them). Pure parsing, shared by the CLI and
//! the config-file reader so both accept exactly the same spellings; and the one byte-size
//! formatter, in the spelling each front end shows (`ByteUnits`).

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UnitError {
    #[error("{0:?} is not a duration (write milliseconds like 1500, or 500ms, 10s, 1m30s, 2h)")]
    Duration(String),
    #[error("{0:?} is not a size (write bytes like 1048576, or 512K, 500M, 1G)")]
    Size(String),
}

/// Parses a duration into milliseconds: a bare number is milliseconds; otherwise a sequence
/// of `<number><unit>` parts with units `ms`, `s`, `m`, `h`, `d` (`1m30s`, `1.5s`).
pub fn parse_duration_ms(value: &str) -> Result<u64, UnitError> {
    let bad = || UnitError::Duration(value.to_string());
    let text = value.trim();
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(ms);
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let number: f64 = number.parse().map_err(|_| bad())?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let factor = match unit.trim().to_ascii_lowercase().as_str() {
            "ms" => 1.0,
            "s" | "sec" | "secs" => 1000.0,
            "m" | "min" | "mins" => 60_000.0,
            "h" | "hr" | "hrs" => 3_600_000.0,
            "d" => 86_400_000.0,
            _ => return Err(bad()),
        };
        total += number * factor;
        rest = next.trim_start();
    }
    if !total.is_finite() || total < 0.0 || total > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(total.round() as u64)
}

/// Parses a size into bytes: a bare number is bytes; suffixes `K`, `M`, `G`, `T` (optionally
/// followed by `B`, any case) multiply by powers of 1024, as pm2's `max_memory_restart` does.
pub fn parse_size_bytes(value: &str) -> Result<u64, UnitError> {
    let bad = || UnitError::Size(value.to_string());
    let text = value.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let factor: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    let bytes = number * factor;
    if !bytes.is_finite() || bytes > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes.round() as u64)
}

/// How a byte size is spelled: the unit names (B, K, M, G, T, each 1024 times the last) and
/// what goes between the number and the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteUnits {
    pub names: [&'static str; 5],
    pub separator: &'static str,
}

impl ByteUnits {
    /// `500.0 MiB`: engine messages (exit details).
    pub const IEC: Self = Self {
        names: ["B", "KiB", "MiB", "GiB", "TiB"],
        separator: " ",
    };
    /// `12.3 MB`: the TUI (binary units, as `ps` and pm2 count them).
    pub const SHORT: Self = Self {
        names: ["B", "KB", "MB", "GB", "TB"],
        separator: " ",
    };
    /// `12.3mb`: the CLI tables, as pm2 prints them.
    pub const PM2: Self = Self {
        names: ["b", "kb", "mb", "gb", "tb"],
        separator: "",
    };
}

/// `1 process`, `3 processes`: a count with its noun agreeing.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Serialises a figure with two decimals: an f32 sample widened to f64 would otherwise
/// print as `1.4800000190734863`.
pub fn two_decimals<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(round_two(*v))
}

/// `v` rounded to two decimals, as `two_decimals` writes it.
pub fn round_two(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Formats `n` bytes in 1024-based units with one decimal (`1.5 KB`); below 1024 the whole
/// number (`512 B`).
pub fn format_bytes(n: u64, units: ByteUnits) -> String {
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.names.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let sep = units.separator;
    if unit == 0 {
        format!("{n}{sep}{}", units.names[0])
    } else {
        format!("{value:.1}{sep}{}", units.names[unit])
    }
}

/// An app metric's value (gauge, counter total or rate) as every front end shows it: a
/// `*_bytes` series as a size like memory everywhere (`52.4 MB`); any other with at most 3
/// decimals and no trailing zeros (`4.25`, `212.4`), from ten thousand on with an SI prefix
/// and at most 2 decimals (`12.35k`, `1.5M`), so a value fits a column.
pub fn format_metric(name: &str, v: f64) -> String {
    if name.ends_with("_bytes") && v >= 0.0 && v.is_finite() {
        return format_bytes(v.round() as u64, ByteUnits::SHORT);
    }
    let (scaled, prefix, decimals) = match v.abs() {
        a if a >= 1e12 => (v / 1e12, "T", 2),
        a if a >= 1e9 => (v / 1e9, "G", 2),
        a if a >= 1e6 => (v / 1e6, "M", 2),
        a if a >= 1e4 => (v / 1e3, "k", 2),
        _ => (v, "", 3),
    };
    let text = format!("{scaled:.decimals$}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    let text = if text == "-0" { "0" } else { text };
    format!("{text}{prefix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases = [
            ("1500", 1500),
            ("500ms", 500),
            ("10s", 10_000),
            ("1.5s", 1500),
            ("1m30s", 90_000),
            ("1m 30s", 90_000),
            ("2h", 7_200_000),
            ("1h2m3s4ms", 3_723_004),
            ("1d", 86_400_000),
            ("30S", 30_000),
        ];
        for (text, ms) in cases {
            assert_eq!(parse_duration_ms(text), Ok(ms), "{text}");
        }
        for text in ["", "soon", "10x", "s", "-5s", "1..5s"] {
            assert!(parse_duration_ms(text).is_err(), "{text} should fail");
        }
    }

    #[test]
    fn sizes() {
        let cases = [
            ("1024", 1024),
            ("512K", 512 * 1024),
            ("500M", 500 * 1024 * 1024),
            ("500mb", 500 * 1024 * 1024),
            ("1G", 1024 * 1024 * 1024),
            ("1.5G", 1536 * 1024 * 1024),
            ("10B", 10),
        ];
        for (text, bytes) in cases {
            assert_eq!(parse_size_bytes(text), Ok(bytes), "{text}");
        }
        for text in ["", "big", "10Q", "M"] {
            assert!(parse_size_bytes(text).is_err(), "{text} should fail");
        }
    }

    #[test]
    fn formats_app_metrics_one_way() {
        let cases = [
            ("lag_ms", 212.4, "212.4"),
            ("lag_ms", 4.2501, "4.25"),
            ("lag_ms", 0.0004, "0"),
            ("lag_ms", -0.0001, "0"),
            ("lag_ms", 0.005, "0.005"),
            ("requests_total", 1230.0, "1230"),
            ("requests_total", 12_345.0, "12.35k"),
            ("requests_total", 1_500_000.0, "1.5M"),
            ("requests_total", -25_000.0, "-25k"),
            ("node_heap_used_bytes", 52_428_800.0, "50.0 MB"),
            ("node_heap_used_bytes", 512.0, "512 B"),
            ("delta_bytes", -5.0, "-5"),
        ];
        for (name, v, shown) in cases {
            assert_eq!(format_metric(name, v), shown, "{name} {v}");
        }
    }

    #[test]
    fn formats_bytes_in_each_spelling() {
        assert_eq!(format_bytes(512, ByteUnits::IEC), "512 B");
        assert_eq!(format_bytes(524_288_000, ByteUnits::IEC), "500.0 MiB");
        assert_eq!(format_bytes(1536, ByteUnits::SHORT), "1.5 KB");
        assert_eq!(format_bytes(512, ByteUnits::PM2), "512b");
        assert_eq!(format_bytes(5 * 1024 * 1024, ByteUnits::PM2), "5.0mb");
        assert_eq!(format_bytes(u64::MAX, ByteUnits::SHORT), "16777216.0 TB");
    }
}

#[cfg(test)]
mod words_and_json {
    use super::*;

    #[test]
    fn plurals_agree() {
        assert_eq!(plural(1, "process", "processes"), "1 process");
        assert_eq!(plural(0, "process", "processes"), "0 processes");
        assert_eq!(plural(3, "app", "apps"), "3 apps");
    }

    #[test]
    fn widened_f32_figures_serialise_without_noise() {
        let mut out = Vec::new();
        two_decimals(
            &f64::from(1.48f32),
            &mut serde_json::Serializer::new(&mut out),
        )
        .expect("serialises");
        assert_eq!(String::from_utf8_lossy(&out), "1.48");
    }
}
