//! The matcher syntax, before any meaning: `field op value` or `field in [v, ...]`, with the
//! column (1-based, in characters) of each part for error messages.

/// A matcher operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Re,
    NotRe,
    Ge,
    Le,
    Gt,
    Lt,
    In,
}

impl Op {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Re => "=~",
            Op::NotRe => "!~",
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Lt => "<",
            Op::In => "in",
        }
    }
}

/// Operators by their spelling, longest first so `=~` is not read as `=`.
const OPS: [(&str, Op); 8] = [
    ("=~", Op::Re),
    ("!~", Op::NotRe),
    ("!=", Op::Ne),
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("=", Op::Eq),
    (">", Op::Gt),
    ("<", Op::Lt),
];

/// A value as written: its text (quotes and escapes removed) and its column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Literal {
    pub(crate) text: String,
    pub(crate) column: usize,
}

/// A matcher split into its parts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parsed<'a> {
    pub(crate) field: &'a str,
    pub(crate) field_column: usize,
    pub(crate) op: Op,
    /// One value, or the list of `in`.
    pub(crate) values: Vec<Literal>,
}

/// A syntax or meaning error in one matcher.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MatcherError {
    /// 1-based, in characters.
    pub(crate) column: usize,
    pub(crate) reason: String,
}

/// Characters that end a field name.
fn ends_field(c: char) -> bool {
    c.is_whitespace() || matches!(c, '=' | '!' | '<' | '>' | '~' | '[' | '"' | '\'')
}

/// Characters that end a bare (unquoted) value.
fn ends_bare(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | '[' | ']' | '"' | '\'')
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn column(&self) -> usize {
        self.text[..self.pos].chars().count() + 1
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn error(&self, reason: impl Into<String>) -> MatcherError {
        MatcherError {
            column: self.column(),
            reason: reason.into(),
        }
    }

    /// Takes characters up to the first one `end` accepts.
    fn take_until(&mut self, end: fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let n = rest.find(end).unwrap_or(rest.len());
        self.pos += n;
        &rest[..n]
    }

    /// A quoted or bare value.
    fn literal(&mut self) -> Result<Literal, MatcherError> {
        let column = self.column();
        match self.peek() {
            Some(q @ ('"' | '\'')) => {
                self.pos += 1;
                let mut text = String::new();
                let mut chars = self.rest().char_indices();
                while let Some((i, c)) = chars.next() {
                    if c == q {
                        self.pos += i + 1;
                        return Ok(Literal { text, column });
                    }
                    if c != '\\' {
                        text.push(c);
                        continue;
                    }
                    match chars.next() {
                        Some((_, e @ ('"' | '\'' | '\\'))) => text.push(e),
                        Some((_, 'n')) => text.push('\n'),
                        Some((_, 't')) => text.push('\t'),
                        Some((_, 'r')) => text.push('\r'),
                        // Any other escape is kept as written: regexes need `\d`, `\.`.
                        Some((_, e)) => {
                            text.push('\\');
                            text.push(e);
                        }
                        None => break,
                    }
                }
                Err(MatcherError {
                    column,
                    reason: format!("unterminated string (no closing {q})"),
                })
            }
            _ => {
                let word = self.take_until(ends_bare);
                if word.is_empty() {
                    return Err(self.error(match self.peek() {
                        None => "expected a value".to_owned(),
                        Some(c) => format!("expected a value, found '{c}'"),
                    }));
                }
                Ok(Literal {
                    text: word.to_owned(),
                    column,
                })
            }
        }
    }

    fn op(&mut self) -> Result<Op, MatcherError> {
        let rest = self.rest();
        if let Some((spelling, op)) = OPS.iter().find(|(s, _)| rest.starts_with(s)) {
            if *op == Op::Eq && rest[1..].starts_with('=') {
                return Err(self.error("'==' is not an operator: use '='"));
            }
            self.pos += spelling.len();
            return Ok(*op);
        }
        if let Some(after) = rest.strip_prefix("in") {
            if after.is_empty() || after.starts_with(|c: char| c.is_whitespace() || c == '[') {
                self.pos += 2;
                return Ok(Op::In);
            }
        }
        Err(self.error(match self.peek() {
            None => {
                "expected an operator (=, !=, =~, !~, >=, <=, >, <, in) after the field".to_owned()
            }
            Some(_) => format!(
                "expected an operator (=, !=, =~, !~, >=, <=, >, <, in), found '{}'",
                self.rest().chars().take(8).collect::<String>()
            ),
        }))
    }

    /// `[v, v, ...]` (a trailing comma is allowed).
    fn list(&mut self) -> Result<Vec<Literal>, MatcherError> {
        if self.peek() != Some('[') {
            return Err(self.error("expected '[' after 'in'"));
        }
        let open = self.column();
        self.pos += 1;
        let mut values = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(']') => {
                    self.pos += 1;
                    break;
                }
                None => {
                    return Err(MatcherError {
                        column: open,
                        reason: "unclosed list (no ']')".to_owned(),
                    })
                }
                _ => {}
            }
            values.push(self.literal()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(']') => {}
                None => {
                    return Err(MatcherError {
                        column: open,
                        reason: "unclosed list (no ']')".to_owned(),
                    })
                }
                Some(c) => return Err(self.error(format!("expected ',' or ']', found '{c}'"))),
            }
        }
        if values.is_empty() {
            return Err(MatcherError {
                column: open,
                reason: "an empty list matches nothing".to_owned(),
            });
        }
        Ok(values)
    }
}

/// Splits a matcher into field, operator and values.
pub(crate) fn parse(text: &str) -> Result<Parsed<'_>, MatcherError> {
    let mut c = Cursor { text, pos: 0 };
    c.skip_ws();
    if c.peek().is_none() {
        return Err(MatcherError {
            column: 1,
            reason: "empty matcher".to_owned(),
        });
    }
    let field_column = c.column();
    let field = c.take_until(ends_field);
    if field.is_empty() {
        return Err(c.error("expected a field name"));
    }
    c.skip_ws();
    let op = c.op()?;
    c.skip_ws();
    let values = if op == Op::In {
        c.list()?
    } else {
        vec![c.literal()?]
    };
    c.skip_ws();
    if !c.rest().is_empty() {
        return Err(c.error(format!("unexpected text after the value: '{}'", c.rest())));
    }
    Ok(Parsed {
        field,
        field_column,
        op,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(text: &str, column: usize) -> Literal {
        Literal {
            text: text.to_owned(),
            column,
        }
    }

    #[test]
    fn splits_each_form_with_columns() {
        let p = parse(r#"  device.hostname =~ "fw-\d+\"x""#).unwrap();
        assert_eq!(p.field, "device.hostname");
        assert_eq!(p.field_column, 3);
        assert_eq!(p.op, Op::Re);
        assert_eq!(p.values, vec![lit(r#"fw-\d+"x"#, 22)]);

        let p = parse("severity>=High").unwrap();
        assert_eq!((p.field, p.op), ("severity", Op::Ge));
        assert_eq!(p.values, vec![lit("High", 11)]);

        let p = parse(r#"src_endpoint.ip in ["10.0.0.0/8", 192.168.1.7,]"#).unwrap();
        assert_eq!(p.op, Op::In);
        assert_eq!(
            p.values,
            vec![lit("10.0.0.0/8", 21), lit("192.168.1.7", 35)]
        );

        let p = parse("message = ''").unwrap();
        assert_eq!(p.values, vec![lit("", 11)]);
        assert_eq!(parse("status!=Failure").unwrap().op, Op::Ne);
        assert_eq!(parse("unmapped.x !~ a").unwrap().op, Op::NotRe);
    }

    #[test]
    fn syntax_errors_say_where_and_why() {
        let err = |t: &str| parse(t).map(|_| ()).unwrap_err();
        assert_eq!(err("").reason, "empty matcher");
        assert_eq!(err("severity == 4").column, 10);
        assert_eq!(
            err("severity == 4").reason,
            "'==' is not an operator: use '='"
        );
        assert_eq!(
            err("severity 4").reason,
            "expected an operator (=, !=, =~, !~, >=, <=, >, <, in), found '4'"
        );
        assert_eq!(err("status = ").reason, "expected a value");
        let e = err(r#"message = "abc"#);
        assert_eq!(
            (e.column, e.reason.as_str()),
            (11, "unterminated string (no closing \")")
        );
        let e = err("x in [a, b");
        assert_eq!((e.column, e.reason.as_str()), (6, "unclosed list (no ']')"));
        assert_eq!(err("x in []").reason, "an empty list matches nothing");
        assert_eq!(err("x in a").reason, "expected '[' after 'in'");
        let e = err("x = a b");
        assert_eq!(
            (e.column, e.reason.as_str()),
            (7, "unexpected text after the value: 'b'")
        );
        assert_eq!(err("= a").reason, "expected a field name");
    }
}
