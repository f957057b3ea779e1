//! Friendly units: durations (`1600`, `"10s"`, `"1m30s"`, `"1h 30m"`, `"500ms"`) in
//! milliseconds, sizes (`"500M"`, `"1.5G"`, `"64KB"`) in bytes, 1024-based like pm2, and
//! instance counts (`N`, `max`, `0`, `-N`).

/// Parses milliseconds or a duration with units; several parts add up (`1m30s`).
pub fn millis(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let bad = || format!("{value:?} is not a duration (try 1600, \"10s\", \"1m30s\" or \"500ms\")");
    if let Ok(ms) = value.parse::<u64>() {
        return Ok(ms);
    }
    let mut total = 0.0;
    let mut rest = value;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let rest_trim = rest.trim_start();
        let split = rest_trim
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest_trim.len());
        let (number, after) = rest_trim.split_at(split);
        let number: f64 = number.parse().map_err(|_| bad())?;
        let after = after.trim_start();
        let unit_len = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let factor = match unit {
            "ms" => 1.0,
            "s" | "sec" | "secs" | "second" | "seconds" => 1000.0,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000.0,
            "h" | "hr" | "hour" | "hours" => 3_600_000.0,
            "d" | "day" | "days" => 86_400_000.0,
            _ => return Err(bad()),
        };
        total += number * factor;
        rest = after.trim_start();
    }
    Ok(total.round() as u64)
}

/// Parses bytes or a size with a unit; K, M, G and T are powers of 1024 as in pm2
/// (`K`, `KB`, `KiB` all mean 1024).
pub fn bytes(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let bad = || format!("{value:?} is not a size (try 524288000, \"500M\" or \"1G\")");
    if let Ok(n) = value.parse::<u64>() {
        return Ok(n);
    }
    let split = value
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .ok_or_else(bad)?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let unit = unit.trim().to_ascii_uppercase();
    let unit = unit
        .strip_suffix("IB")
        .or_else(|| unit.strip_suffix('B'))
        .unwrap_or(&unit);
    let power = match unit {
        "" => 0,
        "K" => 1,
        "M" => 2,
        "G" => 3,
        "T" => 4,
        _ => return Err(bad()),
    };
    Ok((number * 1024f64.powi(power)).round() as u64)
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
