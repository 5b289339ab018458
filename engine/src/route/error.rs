//! Errors in a rules file, all reported at once, each saying where (file, line, rule,
//! matcher, column) and why.

use std::fmt;
use std::path::PathBuf;

/// Every error found in a set of rules (never empty when returned).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", join(.errors))]
pub struct RuleErrors {
    /// The errors, in file order.
    pub errors: Vec<RuleError>,
}

fn join(errors: &[RuleError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl RuleErrors {
    pub(crate) fn one(error: RuleError) -> RuleErrors {
        RuleErrors {
            errors: vec![error],
        }
    }
}

/// A matcher an error is about.
#[derive(Debug, Clone, PartialEq)]
pub struct MatcherRef {
    /// 1-based position in the rule's `matchers`.
    pub index: usize,
    /// The matcher as written.
    pub text: String,
}

/// One error. Displayed as
/// `FILE, line LINE: rule "NAME", matcher N 'TEXT', column C: REASON`, leaving out what is not known.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    /// The rules file, when loaded from one.
    pub file: Option<PathBuf>,
    /// 1-based line in the file.
    pub line: Option<usize>,
    /// The rule's name (`None` for errors about the whole file).
    pub rule: Option<String>,
    /// 0-based position of the rule in the file (for attaching lines).
    pub rule_index: Option<usize>,
    /// The matcher, for matcher errors.
    pub matcher: Option<MatcherRef>,
    /// 1-based column: in the matcher's text for matcher errors, else in the file's line.
    pub column: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

impl RuleError {
    /// An error with only a reason.
    pub(crate) fn new(reason: impl Into<String>) -> RuleError {
        RuleError {
            file: None,
            line: None,
            rule: None,
            rule_index: None,
            matcher: None,
            column: None,
            reason: reason.into(),
        }
    }

    /// An error about rule `index` named `name`.
    pub(crate) fn in_rule(index: usize, name: &str, reason: impl Into<String>) -> RuleError {
        RuleError {
            rule: Some(name.to_owned()),
            rule_index: Some(index),
            ..RuleError::new(reason)
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut located = false;
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            located = true;
        }
        if let Some(line) = self.line {
            if located {
                f.write_str(", ")?;
            }
            write!(f, "line {line}")?;
            if let (None, Some(column)) = (&self.matcher, self.column) {
                write!(f, ", column {column}")?;
            }
            located = true;
        }
        if let Some(rule) = &self.rule {
            if located {
                f.write_str(": ")?;
            }
            write!(f, "rule \"{rule}\"")?;
            if let Some(m) = &self.matcher {
                write!(f, ", matcher {} '{}'", m.index, m.text)?;
                if let Some(column) = self.column {
                    write!(f, ", column {column}")?;
                }
            }
            located = true;
        }
        if located {
            f.write_str(": ")?;
        }
        f.write_str(&self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_leaves_out_what_is_not_known() {
        let mut e = RuleError::in_rule(0, "x", "unknown severity \"Hgh\"");
        e.matcher = Some(MatcherRef {
            index: 2,
            text: "severity >= \"Hgh\"".to_owned(),
        });
        e.column = Some(13);
        assert_eq!(
            e.to_string(),
            "rule \"x\", matcher 2 'severity >= \"Hgh\"', column 13: unknown severity \"Hgh\""
        );
        e.file = Some("rules.toml".into());
        e.line = Some(7);
        assert_eq!(
            e.to_string(),
            "rules.toml, line 7: rule \"x\", matcher 2 'severity >= \"Hgh\"', column 13: \
             unknown severity \"Hgh\""
        );
        let mut syntax = RuleError::new("expected `=`");
        syntax.file = Some("rules.toml".into());
        syntax.line = Some(3);
        syntax.column = Some(5);
        assert_eq!(
            syntax.to_string(),
            "rules.toml, line 3, column 5: expected `=`"
        );
        let both = RuleErrors {
            errors: vec![RuleError::new("a"), RuleError::new("b")],
        };
        assert_eq!(both.to_string(), "a\nb");
    }
}
