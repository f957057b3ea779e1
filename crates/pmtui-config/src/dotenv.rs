//! dotenv files (`env_file`): `KEY=VALUE` lines, `export` allowed, `#` comments, single
//! quotes literal, double quotes with `\n`-style escapes.

/// The variables in order, or the 1-based line of the first bad line and why.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, (u32, String)> {
    let mut vars = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u32 + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, value)) = line.split_once('=') else {
            return Err((line_no, format!("expected KEY=VALUE, found {line:?}")));
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return Err((line_no, format!("{key:?} is not a variable name")));
        }
        let value = value.trim();
        let value = if let Some(rest) = value.strip_prefix('\'') {
            rest.strip_suffix('\'')
                .ok_or((line_no, "unclosed ' quote".to_string()))?
                .to_string()
        } else if let Some(rest) = value.strip_prefix('"') {
            let inner = rest
                .strip_suffix('"')
                .ok_or((line_no, "unclosed \" quote".to_string()))?;
            unescape(inner)
        } else {
            // An unquoted value ends at " #".
            value
                .split_once(" #")
                .map_or(value, |(v, _)| v)
                .trim_end()
                .to_string()
        };
        vars.push((key.to_string(), value));
    }
    Ok(vars)
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines() {
        let vars =
            parse("# c\nA=1\nexport B = 'x y'\nC=\"a\\nb\"\nD=plain # note\n\n").expect("parses");
        assert_eq!(
            vars,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "x y".into()),
                ("C".into(), "a\nb".into()),
                ("D".into(), "plain".into())
            ]
        );
        assert_eq!(parse("A=1\nnot a line\n").map_err(|e| e.0), Err(2));
    }
}
