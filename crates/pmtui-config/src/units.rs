//! Friendly units: durations (`1600`, `"10s"`, `"1m30s"`, `"1h 30m"`, `"500ms"`) in
//! milliseconds, sizes (`"500M"`, `"1.5G"`, `"64KB"`) in bytes, 1024-based like pm2 (both
//! shared with the command line through pmtui-proto), and instance counts (`N`, `max`, `-N`).

/// Parses milliseconds or a duration with units; several parts add up (`1m30s`). The
/// spellings are the command line's (`pmtui_proto::parse_duration_ms`).
pub fn millis(value: &str) -> Result<u64, String> {
    pmtui_proto::parse_duration_ms(value).map_err(|e| e.to_string())
}

/// Parses bytes or a size with a unit; K, M, G and T are powers of 1024 as in pm2
/// (`pmtui_proto::parse_size_bytes`).
pub fn bytes(value: &str) -> Result<u64, String> {
    pmtui_proto::parse_size_bytes(value).map_err(|e| e.to_string())
}

/// Parses `N`, `max`, `0` (= max) or `-N` (= CPUs − N, at least 1).
pub fn instances(value: &str) -> Result<u32, String> {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get() as i64)
        .unwrap_or(1);
    let n: i64 = match value.trim() {
        "max" => cpus,
        other => other
            .parse()
            .map_err(|_| format!("{other:?} is not a number of instances (a number or \"max\")"))?,
    };
    Ok(match n {
        0 => cpus,
        n if n < 0 => (cpus + n).max(1),
        n => n.min(i64::from(u32::MAX)),
    } as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(millis("1600"), Ok(1600));
        assert_eq!(millis("10s"), Ok(10_000));
        assert_eq!(millis("1m30s"), Ok(90_000));
        assert_eq!(millis("1h 30m"), Ok(5_400_000));
        assert_eq!(millis("1.5m"), Ok(90_000));
        assert_eq!(millis("500ms"), Ok(500));
        assert!(millis("soon").is_err());
        assert!(millis("10 parsecs").is_err());
        assert!(millis("").is_err());
    }

    #[test]
    fn sizes_are_1024_based() {
        assert_eq!(bytes("1024"), Ok(1024));
        assert_eq!(bytes("500M"), Ok(524_288_000));
        assert_eq!(bytes("1G"), Ok(1 << 30));
        assert_eq!(bytes("64KB"), Ok(65_536));
        assert_eq!(bytes("1.5k"), Ok(1536));
        assert!(bytes("lots").is_err());
        assert!(bytes("5X").is_err());
    }

    #[test]
    fn instance_counts() {
        assert_eq!(instances("3"), Ok(3));
        assert!(instances("max").is_ok_and(|n| n >= 1));
        assert!(instances("-100").is_ok_and(|n| n == 1));
        assert!(instances("lots").is_err());
    }
}
