//! [`Config::parse`]: section-by-section deserialization that collects every error.

use super::locate::{line_col, locate, parse_path};
use super::{
    validate, BlackholeTarget, Config, ConfigError, ConfigErrors, FileSource, FileTarget,
    HttpSource, SourceConfig, StdoutTarget, SyslogTcpSource, SyslogUdpSource, TargetConfig,
    TcpTarget,
};
use serde::de::DeserializeOwned;
use std::path::Path;
use toml::Value;

const SECTIONS: &str =
    "`engine`, `api`, `sources`, `targets`, `router`, `watchdog`, `dead_letter`, `score`, `alerts`, `correlation`";
const SOURCE_TYPES: &str = "`syslog_udp`, `syslog_tcp`, `http`, `file`";
const TARGET_TYPES: &str =
    "`file`, `stdout`, `blackhole`, `tcp`, `webhook`, `pagerduty`, `slack`, `syslog`";

/// See [`Config::parse`].
pub(super) fn parse(src: &str, file: &Path) -> Result<Config, ConfigErrors> {
    let root: toml::Table = match toml::from_str(src) {
        Ok(root) => root,
        Err(e) => {
            let (line, column) = e.span().map_or((0, 0), |s| line_col(src, s.start));
            return Err(ConfigErrors(vec![ConfigError {
                file: file.to_path_buf(),
                line,
                column,
                field: String::new(),
                message: one_line(e.message()),
            }]));
        }
    };

    let mut b = Builder::default();
    for (key, value) in root {
        match key.as_str() {
            "engine" => b.config.engine = b.de("engine", value).unwrap_or_default(),
            "api" => b.config.api = b.de("api", value).unwrap_or_default(),
            "router" => b.config.router = b.de("router", value).unwrap_or_default(),
            "watchdog" => b.config.watchdog = b.de("watchdog", value).unwrap_or_default(),
            "dead_letter" => b.config.dead_letter = b.de("dead_letter", value).unwrap_or_default(),
            "score" => b.config.score = b.de("score", value).unwrap_or_default(),
            "alerts" => b.config.alerts = b.de("alerts", value).unwrap_or_default(),
            "correlation" => b.config.correlation = b.de("correlation", value).unwrap_or_default(),
            "sources" => b.sources(value),
            "targets" => b.targets(value),
            _ => b.errors.push(ConfigError::unlocated(
                key.as_str(),
                format!("unknown section `{key}`, expected one of {SECTIONS}"),
            )),
        }
    }

    // Semantic checks on what parsed; their indexes are into the parsed lists, which skip
    // the entries that failed, so map them back to the entries' places in the file.
    for mut e in validate::validate(&b.config, &b.unparsed_targets) {
        e.field = reindex(&e.field, "sources", &b.source_index);
        e.field = reindex(&e.field, "targets", &b.target_index);
        e.message = reindex(&e.message, "sources", &b.source_index);
        e.message = reindex(&e.message, "targets", &b.target_index);
        b.errors.push(e);
    }

    let mut errors = b.errors;
    if errors.is_empty() {
        return Ok(b.config);
    }
    for e in &mut errors {
        e.file = file.to_path_buf();
        if e.line == 0 {
            if let Some(span) = locate(src, &parse_path(&e.field)) {
                (e.line, e.column) = line_col(src, span.start);
            }
        }
    }
    // Source order; errors that could not be placed last.
    errors.sort_by_key(|e| (e.line == 0, e.line, e.column));
    Err(ConfigErrors(errors))
}

/// The config being assembled and the errors found so far.
#[derive(Default)]
struct Builder {
    config: Config,
    errors: Vec<ConfigError>,
    /// `config.sources[j]` is `sources[source_index[j]]` in the file.
    source_index: Vec<usize>,
    /// `config.targets[j]` is `targets[target_index[j]]` in the file.
    target_index: Vec<usize>,
    /// Names of `[[targets]]` entries that failed to parse (already reported): the router
    /// may name them without a second error.
    unparsed_targets: Vec<String>,
}

impl Builder {
    /// Deserializes `value` (found at `base`) as `T`, recording the error on failure.
    ///
    /// serde stops at a section's first error, so after each error the offending key is removed
    /// (falling back to its default) and the section is read again: an unknown field does not
    /// hide a bad value next to it. Gives up when the error names no removable key.
    fn de<T: DeserializeOwned>(&mut self, base: &str, mut value: Value) -> Option<T> {
        let mut removed_fields: Vec<String> = Vec::new();
        for _ in 0..64 {
            match T::deserialize(value.clone()) {
                Ok(v) => return Some(v),
                Err(e) => {
                    let err = serde_error(base, &e);
                    // A required key removed after its own error is now "missing": already said.
                    if removed_fields.contains(&err.field) {
                        return None;
                    }
                    removed_fields.push(err.field.clone());
                    let removed = err
                        .field
                        .strip_prefix(base)
                        .and_then(|rest| rest.strip_prefix('.'))
                        .is_some_and(|rel| remove_key(&mut value, rel));
                    self.errors.push(err);
                    if !removed {
                        return None;
                    }
                }
            }
        }
        None
    }

    /// `[[section]]`: the entries that are tables, with their index in the file.
    fn entries(&mut self, section: &str, value: Value) -> Vec<(usize, toml::Table)> {
        let items = match value {
            Value::Array(items) => items,
            other => {
                self.errors.push(ConfigError::unlocated(
                    section,
                    format!(
                        "expected an array of tables (`[[{section}]]`), found {}",
                        other.type_str()
                    ),
                ));
                return Vec::new();
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Value::Table(t) => out.push((i, t)),
                other => self.errors.push(ConfigError::unlocated(
                    format!("{section}[{i}]"),
                    format!("expected a table, found {}", other.type_str()),
                )),
            }
        }
        out
    }

    /// Removes and returns the entry's `type`, recording an error when it is missing or not a
    /// string.
    fn take_type(&mut self, base: &str, entry: &mut toml::Table, expected: &str) -> Option<String> {
        match entry.remove("type") {
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.errors.push(ConfigError::unlocated(
                    format!("{base}.type"),
                    format!(
                        "invalid type: {}, expected a string, one of {expected}",
                        other.type_str()
                    ),
                ));
                None
            }
            None => {
                self.errors.push(ConfigError::unlocated(
                    format!("{base}.type"),
                    format!("missing field `type`, expected one of {expected}"),
                ));
                None
            }
        }
    }

    fn unknown_type(&mut self, base: &str, what: &str, kind: &str, expected: &str) {
        self.errors.push(ConfigError::unlocated(
            format!("{base}.type"),
            format!("unknown {what} type `{kind}`, expected one of {expected}"),
        ));
    }

    /// Each `[[sources]]` entry on its own, dispatched on `type` so that field errors keep their
    /// key path (serde's internally tagged enums lose it).
    fn sources(&mut self, value: Value) {
        for (i, mut entry) in self.entries("sources", value) {
            let base = format!("sources[{i}]");
            let Some(kind) = self.take_type(&base, &mut entry, SOURCE_TYPES) else {
                continue;
            };
            let body = Value::Table(entry);
            let parsed = match kind.as_str() {
                "syslog_udp" => self
                    .de::<SyslogUdpSource>(&base, body)
                    .map(SourceConfig::SyslogUdp),
                "syslog_tcp" => self
                    .de::<SyslogTcpSource>(&base, body)
                    .map(SourceConfig::SyslogTcp),
                "http" => self.de::<HttpSource>(&base, body).map(SourceConfig::Http),
                "file" => self.de::<FileSource>(&base, body).map(SourceConfig::File),
                _ => {
                    self.unknown_type(&base, "source", &kind, SOURCE_TYPES);
                    None
                }
            };
            if let Some(source) = parsed {
                self.config.sources.push(source);
                self.source_index.push(i);
            }
        }
    }

    /// Each `[[targets]]` entry on its own, as for sources.
    fn targets(&mut self, value: Value) {
        for (i, mut entry) in self.entries("targets", value) {
            let base = format!("targets[{i}]");
            let name = entry.get("name").and_then(Value::as_str).map(str::to_owned);
            let parsed = match self.take_type(&base, &mut entry, TARGET_TYPES) {
                None => None,
                Some(kind) => {
                    let body = Value::Table(entry);
                    match kind.as_str() {
                        "file" => self.de::<FileTarget>(&base, body).map(TargetConfig::File),
                        "stdout" => self
                            .de::<StdoutTarget>(&base, body)
                            .map(TargetConfig::Stdout),
                        "blackhole" => self
                            .de::<BlackholeTarget>(&base, body)
                            .map(TargetConfig::Blackhole),
                        "tcp" => self.de::<TcpTarget>(&base, body).map(TargetConfig::Tcp),
                        "webhook" => self.de(&base, body).map(TargetConfig::Webhook),
                        "pagerduty" => self.de(&base, body).map(TargetConfig::Pagerduty),
                        "slack" => self.de(&base, body).map(TargetConfig::Slack),
                        "syslog" => self.de(&base, body).map(TargetConfig::Syslog),
                        _ => {
                            self.unknown_type(&base, "target", &kind, TARGET_TYPES);
                            None
                        }
                    }
                }
            };
            match parsed {
                Some(target) => {
                    self.config.targets.push(target);
                    self.target_index.push(i);
                }
                None => self.unparsed_targets.extend(name),
            }
        }
    }
}

/// A serde error from deserializing the value at `base`, with the field path completed from
/// the error: the key path toml attaches (`in `a.b``), then the field an unknown/missing
/// field error names.
fn serde_error(base: &str, e: &toml::de::Error) -> ConfigError {
    let message = e.message();
    // toml renders a span-less error as "MESSAGE\nin `KEY.PATH`\n"; the key path is not
    // otherwise public.
    let full = e.to_string();
    let keys = full
        .strip_prefix(message)
        .map(str::trim)
        .and_then(|rest| rest.strip_prefix("in `"))
        .and_then(|rest| rest.strip_suffix('`'))
        .unwrap_or("");
    let mut field = join(base, keys);
    for prefix in ["unknown field `", "missing field `"] {
        if let Some(name) = message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
        {
            field = join(&field, name);
        }
    }
    ConfigError::unlocated(field, one_line(message))
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (_, true) => a.to_owned(),
        (true, false) => b.to_owned(),
        (false, false) => format!("{a}.{b}"),
    }
}

/// Rewrites every `section[j]` in `text` to `section[index[j]]`.
fn reindex(text: &str, section: &str, index: &[usize]) -> String {
    let pattern = format!("{section}[");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&pattern) {
        let (before, from) = rest.split_at(at + pattern.len());
        out.push_str(before);
        rest = from;
        let Some(end) = rest.find(']') else { break };
        if let Some(i) = rest[..end].parse::<usize>().ok().and_then(|j| index.get(j)) {
            out.push_str(&i.to_string());
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Messages are one line each in the `FILE:LINE:COL: FIELD: MESSAGE` listing.
fn one_line(message: &str) -> String {
    message
        .trim()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Removes the key at dotted path `rel` (tables only) from `value`; false when there is none.
fn remove_key(value: &mut Value, rel: &str) -> bool {
    let mut parts = rel.split('.').peekable();
    let mut table = match value {
        Value::Table(t) => t,
        _ => return false,
    };
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            return table.remove(part).is_some();
        }
        table = match table.get_mut(part) {
            Some(Value::Table(t)) => t,
            _ => return false,
        };
    }
    false
}
