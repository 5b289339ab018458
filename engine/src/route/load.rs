//! Reading a rules file: TOML errors with their line and column, and rule errors with the line
//! of the rule's name or of the matcher at fault.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::error::{RuleError, RuleErrors};
use super::ruleset::RuleSet;
use super::spec::RulesFile;

/// Where each rule's name and matchers are in the file (a second, lenient read).
#[derive(Deserialize)]
struct Places {
    #[serde(default)]
    rules: Vec<RulePlaces>,
}

#[derive(Deserialize)]
struct RulePlaces {
    name: Option<Spanned<toml::Value>>,
    #[serde(default)]
    matchers: Vec<Spanned<toml::Value>>,
}

/// 1-based line and column of byte `at` in `text`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

impl RuleSet {
    /// Reads and compiles a rules file (see [`RuleSet::compile`]); errors name the file and
    /// the line.
    pub fn load(path: &Path, targets: &[&str]) -> Result<RuleSet, RuleErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            RuleErrors::one(RuleError {
                file: Some(path.to_owned()),
                ..RuleError::new(format!("cannot read the rules file: {e}"))
            })
        })?;
        RuleSet::parse(&text, targets).map_err(|mut errors| {
            for e in &mut errors.errors {
                e.file = Some(path.to_owned());
            }
            errors
        })
    }

    /// Compiles the text of a rules file; errors carry lines but no file.
    pub fn parse(text: &str, targets: &[&str]) -> Result<RuleSet, RuleErrors> {
        let file: RulesFile = toml::from_str(text).map_err(|e| {
            let mut err = RuleError::new(e.message().trim().to_owned());
            if let Some(span) = e.span() {
                let (line, column) = line_column(text, span.start);
                err.line = Some(line);
                err.column = Some(column);
            }
            RuleErrors::one(err)
        })?;
        RuleSet::compile(file.rules, targets).map_err(|mut errors| {
            let places = toml::from_str::<Places>(text).ok();
            for e in &mut errors.errors {
                let Some(rule) = e.rule_index.and_then(|i| places.as_ref()?.rules.get(i)) else {
                    continue;
                };
                let at = match &e.matcher {
                    Some(m) => m
                        .index
                        .checked_sub(1)
                        .and_then(|j| rule.matchers.get(j))
                        .map(Spanned::span),
                    None => rule.name.as_ref().map(Spanned::span),
                };
                e.line = at.map(|span| line_column(text, span.start).0);
            }
            errors
        })
    }
}
