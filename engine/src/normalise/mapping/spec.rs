//! The mapping file as written (`config/vendors/<name>.toml`), before compilation. See
//! `docs/vendors.md` for the meaning of every key.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One vendor mapping file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    /// The vendor's name: the file name and the `--vendor` argument.
    pub name: String,
    /// `metadata.product.vendor_name`.
    pub vendor_name: String,
    /// `metadata.product.name`.
    #[serde(default)]
    pub product: Option<String>,
    /// Class of lines that no rule gives a class (a `class_name`); default Base Event.
    #[serde(default)]
    pub class: Option<String>,
    /// Signatures for `vendor = "auto"`.
    #[serde(default)]
    pub detect: DetectSpec,
    /// Where the message id comes from.
    #[serde(default)]
    pub id: Option<IdSpec>,
    /// Operators run on every line before the rule.
    #[serde(default)]
    pub parse: Vec<OpSpec>,
    /// Rules chosen by message id; one without ids is the fallback.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// Auto-detection signatures.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DetectSpec {
    /// The line contains at least one of these.
    #[serde(default)]
    pub any: Vec<String>,
    /// The line contains every one of these.
    #[serde(default)]
    pub all: Vec<String>,
    /// The message is a JSON object with all of these top-level keys.
    #[serde(default)]
    pub json_keys: Vec<String>,
    /// The message is a JSON object (with `json_keys` empty: any JSON object).
    #[serde(default)]
    pub json: bool,
    /// Tie-break: the highest priority among matching vendors wins.
    #[serde(default)]
    pub priority: i32,
}

/// The message id's source.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdSpec {
    /// A record field.
    pub field: String,
}

/// One rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Message ids the rule handles; empty: the fallback rule.
    #[serde(default)]
    pub ids: Vec<String>,
    /// OCSF `class_name` the rule gives its lines.
    #[serde(default)]
    pub class: Option<String>,
    /// OCSF `class_uid` (alternative to `class`).
    #[serde(default)]
    pub class_uid: Option<u32>,
    /// OCSF `activity_name`.
    #[serde(default)]
    pub activity: Option<String>,
    /// The rule's operators.
    #[serde(default)]
    pub ops: Vec<OpSpec>,
}

/// One operator: `op` says which, the other keys are its settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OpSpec {
    /// Operator name: regex, dissect, kv, csv, json, set, rename, copy, map, convert, drop.
    pub op: String,
    /// The field read (default `message`).
    #[serde(default)]
    pub field: Option<String>,
    /// Run only when this field is present.
    #[serde(default)]
    pub if_field: Option<String>,
    /// With `if_field`: run only when it has this value.
    #[serde(default)]
    pub if_value: Option<String>,
    /// Run only when this field is absent (e.g. re-parse a header only when the syslog
    /// parser did not find one).
    #[serde(default)]
    pub if_missing: Option<String>,
    /// When the operator extracts nothing, the rule stops and the line counts as unmapped.
    #[serde(default)]
    pub required: bool,
    /// regex / dissect: the pattern.
    #[serde(default)]
    pub pattern: Option<String>,
    /// regex: several patterns searched in one pass; the first (leftmost, then earliest in the
    /// list) that matches sets its captures.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// kv: pair separator; csv: (unused).
    #[serde(default)]
    pub separator: Option<String>,
    /// kv: key/value delimiter; csv: column delimiter.
    #[serde(default)]
    pub delimiter: Option<String>,
    /// kv: quote character.
    #[serde(default)]
    pub quote: Option<String>,
    /// kv: prefix added to every key.
    #[serde(default)]
    pub prefix: Option<String>,
    /// kv: rename table, vendor key -> field.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
    /// csv: column names (`""` skips).
    #[serde(default)]
    pub columns: Vec<String>,
    /// csv: index of the column naming the layout.
    #[serde(default)]
    pub layout_column: Option<usize>,
    /// csv: column lists by layout name.
    #[serde(default)]
    pub layouts: BTreeMap<String, Vec<String>>,
    /// json: field -> JSON pointer.
    #[serde(default)]
    pub paths: BTreeMap<String, String>,
    /// json: what happens to values no path takes: `unmapped` (default) or `drop`.
    #[serde(default)]
    pub rest: Option<String>,
    /// set: the value (`{field}` inserts a field).
    #[serde(default)]
    pub value: Option<String>,
    /// rename / copy / map / convert: the destination field.
    #[serde(default)]
    pub to: Option<String>,
    /// map: the translation table.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// map: value when no entry matches.
    #[serde(default)]
    pub default: Option<String>,
    /// map: compare ignoring case (default true).
    #[serde(default)]
    pub ignore_case: Option<bool>,
    /// convert: int, ip, timestamp, lowercase, uppercase, trim.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// convert timestamp: the format.
    #[serde(default)]
    pub format: Option<String>,
    /// convert timestamp: the zone of zone-less timestamps (`UTC`, `+05:30`).
    #[serde(default)]
    pub timezone: Option<String>,
    /// drop: the fields removed.
    #[serde(default)]
    pub fields: Vec<String>,
}
