//! How a line is written to a log file: raw bytes, raw bytes behind a timestamp prefix
//! (`<time>: `, pm2's `log_date_format`/`--time`), or one JSON object per line. The prefix
//! is formatted with jiff and cached for the current second, so stamping 100,000 lines a
//! second costs one strftime a second. pm2's dayjs formats (`YYYY-MM-DD HH:mm:ss`) are
//! translated to strftime, so an existing ecosystem file keeps working.

use jiff::Timestamp;
use jiff::fmt::strtime;
use jiff::tz::TimeZone;
use pmtui_proto::{LogFormat, LogStream};
use serde::Serialize;

/// The prefix format of `--time` (pm2's `YYYY-MM-DDTHH:mm:ss`), in local time.
pub const DEFAULT_DATE_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// Turns a dayjs format (pm2's `log_date_format`) into strftime; a format that already
/// contains `%` is returned as is. Text in `[brackets]` is literal, as in dayjs.
pub fn to_strftime(format: &str) -> String {
    if format.is_empty() {
        return DEFAULT_DATE_FORMAT.to_string();
    }
    if format.contains('%') {
        return format.to_string();
    }
    const TOKENS: &[(&str, &str)] = &[
        ("YYYY", "%Y"),
        ("SSS", "%3f"),
        ("MMMM", "%B"),
        ("MMM", "%b"),
        ("dddd", "%A"),
        ("ddd", "%a"),
        ("YY", "%y"),
        ("MM", "%m"),
        ("DD", "%d"),
        ("HH", "%H"),
        ("hh", "%I"),
        ("mm", "%M"),
        ("ss", "%S"),
        ("ZZ", "%z"),
        ("Z", "%:z"),
        ("M", "%-m"),
        ("D", "%-d"),
        ("H", "%-H"),
        ("h", "%-I"),
        ("m", "%-M"),
        ("s", "%-S"),
        ("A", "%p"),
        ("a", "%P"),
    ];
    let mut out = String::with_capacity(format.len() * 2);
    let mut rest = format;
    'scan: while let Some(c) = rest.chars().next() {
        if c == '[' {
            let end = rest.find(']').unwrap_or(rest.len());
            out.push_str(&rest[1..end].replace('%', "%%"));
            rest = rest.get(end + 1..).unwrap_or("");
            continue;
        }
        for (token, spec) in TOKENS {
            if let Some(after) = rest.strip_prefix(token) {
                out.push_str(spec);
                rest = after;
                continue 'scan;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Checks a date format by formatting the current time with it.
pub fn check_date_format(format: &str) -> Result<(), String> {
    let now = Timestamp::now().to_zoned_datetime(TimeZone::system());
    strtime::format(to_strftime(format), &now)
        .map(|_| ())
        .map_err(|err| format!("bad log_date_format {format:?}: {err}"))
}

/// Formats timestamps, reusing the last result within the same second when the format has
/// no sub-second field.
#[derive(Debug)]
pub struct Stamper {
    format: String,
    tz: TimeZone,
    per_second: bool,
    cached_second: i64,
    cached: String,
}

impl Stamper {
    pub fn new(format: &str) -> Self {
        let format = to_strftime(format);
        let per_second = !(format.contains('f') || format.contains('N'));
        Self {
            format,
            tz: TimeZone::system(),
            per_second,
            cached_second: i64::MIN,
            cached: String::new(),
        }
    }

    pub fn format(&self) -> &str {
        &self.format
    }

    /// The stamp of `at_ms` (milliseconds since the epoch).
    pub fn stamp(&mut self, at_ms: u64) -> &str {
        let ms = at_ms as i64;
        let second = ms.div_euclid(1000);
        if !self.per_second || second != self.cached_second {
            let ts = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH);
            let zoned = ts.to_zoned_datetime(self.tz.clone());
            self.cached = strtime::format(&self.format, &zoned).unwrap_or_else(|_| ms.to_string());
            self.cached_second = second;
        }
        &self.cached
    }

    /// Reads back a stamp written with this format (local time unless it has an offset).
    pub fn parse(&self, text: &str) -> Option<u64> {
        let parsed = strtime::parse(&self.format, text).ok()?;
        let ts = parsed.to_timestamp().ok().or_else(|| {
            parsed
                .to_datetime()
                .ok()?
                .to_zoned_datetime(self.tz.clone())
                .ok()
                .map(|z| z.timestamp())
        })?;
        u64::try_from(ts.as_millisecond()).ok()
    }
}

/// RFC 3339 in UTC with milliseconds: the `time` of JSON lines when no format is set.
pub fn rfc3339(at_ms: u64) -> String {
    Timestamp::from_millisecond(at_ms as i64)
        .map(|t| format!("{t:.3}"))
        .unwrap_or_default()
}

/// One JSON log line as `log_type: json` writes it: pm2's fields, in pm2's order
/// (`{"message","timestamp","type","process_id","app_name"}`), so tools that read pm2's JSON
/// logs read these.
#[derive(Debug, Serialize)]
pub struct JsonLine<'a> {
    pub message: &'a str,
    /// RFC 3339 in UTC, or the `log_date_format` when one is set (as pm2).
    pub timestamp: &'a str,
    /// `out` or `err`.
    #[serde(rename = "type")]
    pub stream: LogStream,
    pub process_id: u32,
    pub app_name: &'a str,
}

/// The per-process line formatter.
#[derive(Debug)]
pub struct LineFormat {
    kind: LogFormat,
    stamper: Option<Stamper>,
    name: String,
    id: u32,
}

impl LineFormat {
    pub fn new(kind: LogFormat, date_format: Option<&str>, name: &str, id: u32) -> Self {
        Self {
            kind,
            stamper: date_format.map(Stamper::new),
            name: name.to_string(),
            id,
        }
    }

    pub fn kind(&self) -> LogFormat {
        self.kind
    }

    /// Lines go to the file exactly as read: raw, no timestamp.
    pub fn is_plain(&self) -> bool {
        self.kind == LogFormat::Raw && self.stamper.is_none()
    }

    pub fn stamper(&self) -> Option<&Stamper> {
        self.stamper.as_ref()
    }

    /// Appends `line` (without its newline) as it goes to the file, newline included.
    pub fn write(&mut self, out: &mut Vec<u8>, at: u64, stream: LogStream, line: &[u8]) {
        match self.kind {
            LogFormat::Raw => {
                if let Some(stamper) = &mut self.stamper {
                    out.extend_from_slice(stamper.stamp(at).as_bytes());
                    out.extend_from_slice(b": ");
                }
                out.extend_from_slice(line);
            }
            LogFormat::Json => {
                let message = super::line_str(line);
                let time = match &mut self.stamper {
                    Some(stamper) => stamper.stamp(at).to_string(),
                    None => rfc3339(at),
                };
                let record = JsonLine {
                    message: &message,
                    timestamp: &time,
                    stream,
                    process_id: self.id,
                    app_name: &self.name,
                };
                // Serializing plain strings and numbers cannot fail.
                let _ = serde_json::to_writer(&mut *out, &record);
            }
        }
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dayjs_formats_become_strftime() {
        assert_eq!(to_strftime("YYYY-MM-DD HH:mm:ss"), "%Y-%m-%d %H:%M:%S");
        assert_eq!(
            to_strftime("YYYY-MM-DDTHH:mm:ss.SSS Z"),
            "%Y-%m-%dT%H:%M:%S.%3f %:z"
        );
        assert_eq!(to_strftime("[at] HH:mm"), "at %H:%M");
        assert_eq!(to_strftime("%H:%M"), "%H:%M");
        assert_eq!(to_strftime(""), DEFAULT_DATE_FORMAT);
    }

    #[test]
    fn stamps_are_cached_per_second_and_parse_back() {
        let mut stamper = Stamper::new("%Y-%m-%dT%H:%M:%S%:z");
        let at = 1_790_000_000_123;
        let first = stamper.stamp(at).to_string();
        assert_eq!(stamper.stamp(at + 500), first);
        assert_ne!(stamper.stamp(at + 1000), first);
        assert_eq!(stamper.parse(&first), Some(1_790_000_000_000));
    }

    #[test]
    fn sub_second_formats_are_not_cached() {
        let mut stamper = Stamper::new("%H:%M:%S%.3f");
        let a = stamper.stamp(1_790_000_000_100).to_string();
        assert_ne!(stamper.stamp(1_790_000_000_200), a);
    }

    #[test]
    fn bad_formats_are_reported() {
        assert!(check_date_format("%Y-%m-%d").is_ok());
        assert!(check_date_format("%Y %").is_err());
        assert!(check_date_format("%J").is_err());
    }

    #[test]
    fn json_lines_carry_pm2s_fields() {
        let mut format = LineFormat::new(LogFormat::Json, None, "api", 3);
        let mut out = Vec::new();
        format.write(&mut out, 0, LogStream::Err, b"bad \xff byte");
        assert!(out.starts_with(b"{\"message\":"), "pm2's order");
        let value: serde_json::Value = serde_json::from_slice(&out).expect("one JSON object");
        assert_eq!(value["timestamp"], "1970-01-01T00:00:00.000Z");
        assert_eq!(value["type"], "err");
        assert_eq!(value["app_name"], "api");
        assert_eq!(value["process_id"], 3);
        assert_eq!(value["message"], "bad \u{fffd} byte");
        assert_eq!(value.as_object().map(|o| o.len()), Some(5));
        assert_eq!(out.last(), Some(&b'\n'));
    }
}
