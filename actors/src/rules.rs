//! The routing rules as the API edits them: list, add, replace, remove. Each change is
//! compiled and checked first (a bad rule changes nothing), written back to the rules file
//! (atomically: a crash leaves the old file or the new one), then swapped in, so the router
//! shards use it from their next batch.

use crate::router::SharedRules;
use arc_swap::ArcSwap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tocsin_engine::route::{RuleSet, RuleSpec, RulesFile};

/// Why a rules change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The new set does not compile; nothing changed.
    #[error("{0}")]
    Invalid(String),
    /// No rule of that name.
    #[error("no rule named {0:?}")]
    NotFound(String),
    /// A rule of that name exists already.
    #[error("a rule named {0:?} exists already (PUT /api/v1/rules/{0} replaces it)")]
    Exists(String),
    /// The rules file could not be written; nothing changed.
    #[error("rules file {path}: {error}")]
    Write {
        /// The file.
        path: String,
        /// The OS error.
        error: std::io::Error,
    },
}

/// The routing rules, shared with the router shards.
#[derive(Debug)]
pub struct RouteRules {
    shared: SharedRules,
    specs: Mutex<Vec<RuleSpec>>,
    targets: Vec<String>,
    runbooks: Vec<String>,
    file: Option<PathBuf>,
}

/// The runbooks `rules` name that are not among `known`, as one message; `None` when all are.
pub fn unknown_runbooks(rules: &RuleSet, known: &[String]) -> Option<String> {
    let unknown: Vec<&str> = rules
        .runbooks()
        .filter(|r| !known.iter().any(|k| k == r))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    let known = if known.is_empty() {
        "none are configured".to_owned()
    } else {
        format!("configured: {}", known.join(", "))
    };
    Some(format!(
        "no [[alerts.runbooks]] entry named {} ({known})",
        unknown
            .iter()
            .map(|r| format!("{r:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

impl RouteRules {
    /// Rules compiled from `specs`, for targets named `targets` (in `[[targets]]` order) and
    /// the configured `runbooks`, written back to `file` when changed.
    pub fn new(
        rules: RuleSet,
        targets: Vec<String>,
        runbooks: Vec<String>,
        file: Option<PathBuf>,
    ) -> Arc<RouteRules> {
        let specs = rules.specs().to_vec();
        Arc::new(RouteRules {
            shared: Arc::new(ArcSwap::from_pointee(rules)),
            specs: Mutex::new(specs),
            targets,
            runbooks,
            file,
        })
    }

    /// What the router shards read.
    pub fn shared(&self) -> SharedRules {
        self.shared.clone()
    }

    /// The rules as written, in file order.
    pub fn list(&self) -> Vec<RuleSpec> {
        self.specs.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Adds a rule; its name must be new.
    pub fn add(&self, rule: RuleSpec) -> Result<RuleSpec, RulesError> {
        self.change(|specs| {
            if specs.iter().any(|r| r.name == rule.name) {
                return Err(RulesError::Exists(rule.name.clone()));
            }
            specs.push(rule.clone());
            Ok(rule.clone())
        })
    }

    /// Replaces the rule named `name` (or adds it when there is none); returns it.
    pub fn replace(&self, name: &str, mut rule: RuleSpec) -> Result<RuleSpec, RulesError> {
        rule.name = name.to_owned();
        self.change(|specs| {
            match specs.iter_mut().find(|r| r.name == name) {
                Some(slot) => *slot = rule.clone(),
                None => specs.push(rule.clone()),
            }
            Ok(rule.clone())
        })
    }

    /// Removes the rule named `name`.
    pub fn remove(&self, name: &str) -> Result<RuleSpec, RulesError> {
        self.change(|specs| {
            let i = specs
                .iter()
                .position(|r| r.name == name)
                .ok_or_else(|| RulesError::NotFound(name.to_owned()))?;
            Ok(specs.remove(i))
        })
    }

    fn change<T>(
        &self,
        edit: impl FnOnce(&mut Vec<RuleSpec>) -> Result<T, RulesError>,
    ) -> Result<T, RulesError> {
        let mut guard = self
            .specs
            .lock()
            .map_err(|_| RulesError::Invalid("rules lock poisoned by an earlier panic".into()))?;
        let mut next = guard.clone();
        let out = edit(&mut next)?;
        let names: Vec<&str> = self.targets.iter().map(String::as_str).collect();
        let compiled = RuleSet::compile(next.clone(), &names)
            .map_err(|e| RulesError::Invalid(e.to_string()))?;
        if let Some(why) = unknown_runbooks(&compiled, &self.runbooks) {
            return Err(RulesError::Invalid(why));
        }
        if let Some(path) = &self.file {
            write_atomically(path, &next)?;
        }
        self.shared.store(Arc::new(compiled));
        *guard = next;
        Ok(out)
    }
}

fn write_atomically(path: &std::path::Path, rules: &[RuleSpec]) -> Result<(), RulesError> {
    let err = |error: std::io::Error| RulesError::Write {
        path: path.display().to_string(),
        error,
    };
    let file = RulesFile {
        rules: rules.to_vec(),
    };
    let text = toml::to_string(&file)
        .map_err(|e| RulesError::Invalid(format!("cannot write the rules as TOML: {e}")))?;
    let text = format!(
        "# Routing rules (see docs/rules.md). Written by tocsin after a change through \
         /api/v1/rules.\n\n{text}"
    );
    tocsin_engine::durable::write_atomic(path, text.as_bytes()).map_err(err)
}
