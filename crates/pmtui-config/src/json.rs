//! A JSON reader that keeps positions and accepts what pm2 accepts in `*.json` ecosystem
//! files (pm2 evaluates them as JavaScript): `//` and `/* */` comments, trailing commas,
//! single-quoted strings, unquoted keys, hex numbers, `+`/leading-dot numbers, `Infinity`
//! and `NaN` (JSON5). Strict JSON is a subset, so `JSON.stringify` output from node reads too.

use crate::node::{Key, Node, Pos, Value};

/// A syntax error and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Parses one document.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        at: 0,
        line: 1,
        col: 1,
    };
    p.skip_blank()?;
    let node = p.value(0)?;
    p.skip_blank()?;
    if p.peek().is_some() {
        return Err(p.error("unexpected text after the document"));
    }
    Ok(node)
}

/// Nesting deeper than this is refused (a hostile file cannot overflow the stack).
const MAX_DEPTH: usize = 128;

struct Parser {
    chars: Vec<char>,
    at: usize,
    line: u32,
    col: u32,
}

impl Parser {
    fn pos(&self) -> Pos {
        Pos::new(self.line, self.col)
    }

    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            pos: self.pos(),
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("{c:?}"),
            None => "the end of the file".into(),
        }
    }

    /// Skips whitespace and comments.
    fn skip_blank(&mut self) -> Result<(), SyntaxError> {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(c), _) if c.is_whitespace() || c == '\u{feff}' => {
                    self.bump();
                }
                (Some('/'), Some('/')) => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                (Some('/'), Some('*')) => {
                    let start = self.pos();
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            Some('*') if self.peek() == Some('/') => {
                                self.bump();
                                break;
                            }
                            Some(_) => {}
                            None => {
                                return Err(SyntaxError {
                                    pos: start,
                                    message: "unclosed /* comment".into(),
                                });
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        let pos = self.pos();
        let value = match self.peek() {
            Some('{') => self.object(depth)?,
            Some('[') => self.array(depth)?,
            Some('"') | Some('\'') => Value::Str(self.string()?),
            Some(c) if c == '-' || c == '+' || c == '.' || c.is_ascii_digit() => self.number()?,
            Some(c) if is_ident_start(c) => {
                let word = self.identifier();
                match word.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" | "undefined" => Value::Null,
                    "Infinity" => Value::Float(f64::INFINITY),
                    "NaN" => Value::Float(f64::NAN),
                    _ => {
                        return Err(SyntaxError {
                            pos,
                            message: format!(
                                "expected a value, found {word:?} (strings need quotes)"
                            ),
                        });
                    }
                }
            }
            _ => return Err(self.error(format!("expected a value, found {}", self.found()))),
        };
        Ok(Node::new(value, pos))
    }

    fn object(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        let open = self.pos();
        self.bump();
        let mut entries: Vec<(Key, Node)> = Vec::new();
        loop {
            self.skip_blank()?;
            match self.peek() {
                Some('}') => {
                    self.bump();
                    return Ok(Value::Map(entries));
                }
                None => {
                    return Err(SyntaxError {
                        pos: open,
                        message: "unclosed { (missing })".into(),
                    });
                }
                _ => {}
            }
            let key_pos = self.pos();
            let name = match self.peek() {
                Some('"') | Some('\'') => self.string()?,
                Some(c) if is_ident_start(c) || c.is_ascii_digit() => self.identifier(),
                _ => {
                    return Err(self.error(format!("expected a key or }}, found {}", self.found())));
                }
            };
            self.skip_blank()?;
            if self.peek() != Some(':') {
                return Err(self.error(format!(
                    "expected : after the key {name:?}, found {}",
                    self.found()
                )));
            }
            self.bump();
            self.skip_blank()?;
            let value = self.value(depth + 1)?;
            if let Some(i) = entries.iter().position(|(k, _)| k.name == name) {
                // JavaScript keeps the last one; so do we.
                entries.remove(i);
            }
            entries.push((Key { name, pos: key_pos }, value));
            self.skip_blank()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some('}') => {}
                None => {
                    return Err(SyntaxError {
                        pos: open,
                        message: "unclosed { (missing })".into(),
                    });
                }
                _ => {
                    return Err(self.error(format!("expected , or }}, found {}", self.found())));
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        let open = self.pos();
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_blank()?;
            match self.peek() {
                Some(']') => {
                    self.bump();
                    return Ok(Value::Seq(items));
                }
                None => {
                    return Err(SyntaxError {
                        pos: open,
                        message: "unclosed [ (missing ])".into(),
                    });
                }
                _ => {}
            }
            items.push(self.value(depth + 1)?);
            self.skip_blank()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(']') => {}
                None => {
                    return Err(SyntaxError {
                        pos: open,
                        message: "unclosed [ (missing ])".into(),
                    });
                }
                _ => return Err(self.error(format!("expected , or ], found {}", self.found()))),
            }
        }
    }

    fn identifier(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek().filter(|c| is_ident_char(*c)) {
            s.push(c);
            self.bump();
        }
        s
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos();
        let quote = self.bump().unwrap_or('"');
        let mut s = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => {
                    return Err(SyntaxError {
                        pos: start,
                        message: "unclosed string".into(),
                    });
                }
                Some(c) if c == quote => return Ok(s),
                Some('\\') => {
                    let escape_pos = self.pos();
                    match self.bump() {
                        Some('n') => s.push('\n'),
                        Some('t') => s.push('\t'),
                        Some('r') => s.push('\r'),
                        Some('b') => s.push('\u{8}'),
                        Some('f') => s.push('\u{c}'),
                        Some('0') => s.push('\0'),
                        Some('\n') => {}
                        Some('u') => s.push(self.unicode_escape(escape_pos)?),
                        Some(c) => s.push(c),
                        None => {
                            return Err(SyntaxError {
                                pos: start,
                                message: "unclosed string".into(),
                            });
                        }
                    }
                }
                Some(c) => s.push(c),
            }
        }
    }

    fn hex4(&mut self, at: Pos) -> Result<u32, SyntaxError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self
                .bump()
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| SyntaxError {
                    pos: at,
                    message: "bad \\u escape (four hex digits expected)".into(),
                })?;
            code = code * 16 + digit;
        }
        Ok(code)
    }

    fn unicode_escape(&mut self, at: Pos) -> Result<char, SyntaxError> {
        let first = self.hex4(at)?;
        let code = if (0xD800..0xDC00).contains(&first)
            && self.peek() == Some('\\')
            && self.peek_at(1) == Some('u')
        {
            self.bump();
            self.bump();
            let second = self.hex4(at)?;
            0x10000 + ((first - 0xD800) << 10) + (second.wrapping_sub(0xDC00) & 0x3FF)
        } else {
            first
        };
        Ok(char::from_u32(code).unwrap_or('\u{fffd}'))
    }

    fn number(&mut self) -> Result<Value, SyntaxError> {
        let start = self.pos();
        let mut text = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | '_'))
        {
            text.push(c);
            self.bump();
        }
        let bad = || SyntaxError {
            pos: start,
            message: format!("{text:?} is not a number"),
        };
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(&text)),
        };
        let sign = if negative { -1 } else { 1 };
        if let Some(hex) = digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
        {
            return i64::from_str_radix(hex, 16)
                .map(|n| Value::Int(sign * n))
                .map_err(|_| bad());
        }
        match digits {
            "Infinity" => return Ok(Value::Float(sign as f64 * f64::INFINITY)),
            "NaN" => return Ok(Value::Float(f64::NAN)),
            _ => {}
        }
        if digits.is_empty() || !digits.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            return Err(bad());
        }
        if let Ok(n) = digits.parse::<i64>() {
            return Ok(Value::Int(sign * n));
        }
        digits
            .parse::<f64>()
            .map(|f| Value::Float(sign as f64 * f))
            .map_err(|_| bad())
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || c == '-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json5_forms_parse_with_positions() {
        let text = "// pm2 style\n{\n  apps: [\n    { name: 'web', 'instances': 0x2, port: +80, },\n  ],\n  /* done */\n}\n";
        let doc = parse(text).expect("parses");
        let apps = doc.get("apps").expect("apps");
        assert_eq!(apps.pos, Pos::new(3, 9));
        let Value::Seq(items) = &apps.value else {
            panic!("a list")
        };
        let Value::Map(entries) = &items[0].value else {
            panic!("a table")
        };
        assert_eq!(entries[0].0.name, "name");
        assert_eq!(entries[0].0.pos, Pos::new(4, 7));
        assert_eq!(entries[1].1.value, Value::Int(2));
        assert_eq!(entries[2].1.value, Value::Int(80));
    }

    #[test]
    fn syntax_errors_point_at_the_spot() {
        let err = parse("{\n  \"a\": 1\n  \"b\": 2\n}").expect_err("missing comma");
        assert_eq!(err.pos, Pos::new(3, 3));
        assert!(err.message.contains("expected , or }"), "{}", err.message);
        let err = parse("{\n  \"a\": [1, 2\n").expect_err("unclosed");
        assert_eq!(err.pos, Pos::new(2, 8));
        let err = parse("{\"a\": \"x\\u00e9\\n\", \"b\": -1.5e3}").expect("escapes");
        assert_eq!(
            err.get("a").map(|n| &n.value),
            Some(&Value::Str("xé\n".into()))
        );
        assert_eq!(err.get("b").map(|n| &n.value), Some(&Value::Float(-1500.0)));
    }
}
