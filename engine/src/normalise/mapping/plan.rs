//! A mapping compiled into a plan: operators built once, rules indexed by message id.

use super::assign::assign;
use super::ops::Op;
use super::record::{Key, Names, Record};
use super::spec::{DetectSpec, MappingSpec, OpSpec, RuleSpec};
use super::MappingError;
use crate::schema::{class_uid_of, Event, Symbol, CLASS_BASE_EVENT};
use bytes::Bytes;
use rustc_hash::FxHashMap as HashMap;

/// One vendor's compiled mapping.
#[derive(Debug)]
pub struct VendorPlan {
    /// The vendor's name.
    pub name: Symbol,
    /// `metadata.product.vendor_name`.
    pub vendor_name: Symbol,
    /// `metadata.product.name`.
    pub product: Option<Symbol>,
    /// Detection signatures.
    pub detect: DetectSpec,
    /// The mapping file's text (what `GET /api/v1/vendors/{name}` returns).
    pub source: String,
    /// Message ids with a rule of their own.
    pub ids: Vec<String>,
    class_uid: u32,
    /// The field names its operators use, numbered.
    names: Names,
    id_field: Option<Key>,
    parse: Vec<Op>,
    rules: Vec<Rule>,
    by_id: HashMap<String, usize>,
    fallback: Option<usize>,
}

#[derive(Debug)]
struct Rule {
    class_uid: Option<u32>,
    activity: Option<Symbol>,
    ops: Vec<Op>,
}

/// What applying a plan achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// An operator extracted fields (or a rule matched the id) and no required one failed.
    pub mapped: bool,
    /// Values that did not convert to their OCSF type (kept in `unmapped`).
    pub bad_values: u32,
}

fn class_of(name: &Option<String>, uid: Option<u32>, at: &str) -> Result<Option<u32>, String> {
    match (name, uid) {
        (_, Some(uid)) => Ok(Some(uid)),
        (Some(n), None) => class_uid_of(n)
            .map(Some)
            .ok_or_else(|| format!("{at}: unknown class {n:?} (e.g. \"Network Activity\", \"Authentication\", \"API Activity\", \"HTTP Activity\", \"Base Event\")")),
        (None, None) => Ok(None),
    }
}

fn compile_ops(specs: &[OpSpec], at: &str, names: &mut Names) -> Result<Vec<Op>, String> {
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| Op::compile(s, names).map_err(|e| format!("{at}[{i}] (op {:?}): {e}", s.op)))
        .collect()
}

impl VendorPlan {
    /// Parses and compiles a mapping file's text.
    pub fn compile(src: &str) -> Result<VendorPlan, MappingError> {
        let spec: MappingSpec = toml::from_str(src).map_err(|e| {
            let line = e
                .span()
                .map(|s| src[..s.start.min(src.len())].matches('\n').count() + 1)
                .unwrap_or(0);
            MappingError::new("", line, e.message().trim().to_owned())
        })?;
        let name = spec.name.clone();
        let err = |msg: String| MappingError::new(&name, 0, msg);
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(err(format!(
                "name {name:?} must be letters, digits, '_' or '-'"
            )));
        }
        if name == "auto" {
            return Err(err("`auto` is reserved for detection".into()));
        }
        let d = &spec.detect;
        for (list, texts) in [
            ("any", &d.any),
            ("all", &d.all),
            ("json_keys", &d.json_keys),
        ] {
            if let Some(i) = texts.iter().position(String::is_empty) {
                return Err(err(format!(
                    "detect.{list}[{i}]: an empty signature (it would be in every line)"
                )));
            }
        }
        if d.all.len() + d.json_keys.len() > 64 {
            return Err(err(format!(
                "detect: {} `all` and `json_keys` signatures; at most 64 together",
                d.all.len() + d.json_keys.len()
            )));
        }
        let class_uid = class_of(&spec.class, None, "class")
            .map_err(err)?
            .unwrap_or(CLASS_BASE_EVENT);
        let mut names = Names::default();
        let parse = compile_ops(&spec.parse, "parse", &mut names).map_err(err)?;
        let mut rules = Vec::with_capacity(spec.rules.len());
        let mut by_id = HashMap::default();
        let mut fallback = None;
        let mut ids = Vec::new();
        for (i, r) in spec.rules.iter().enumerate() {
            let RuleSpec {
                ids: rule_ids,
                class,
                class_uid,
                activity,
                ops,
            } = r;
            let at = format!("rules[{i}]");
            let rule = Rule {
                class_uid: class_of(class, *class_uid, &at).map_err(err)?,
                activity: activity.as_deref().map(Symbol::intern),
                ops: compile_ops(ops, &format!("{at}.ops"), &mut names).map_err(err)?,
            };
            if rule_ids.is_empty() && fallback.replace(i).is_some() {
                return Err(err(format!(
                    "{at}: a second rule without `ids`; only one fallback rule is allowed"
                )));
            }
            for id in rule_ids {
                if by_id.insert(id.clone(), i).is_some() {
                    return Err(err(format!("{at}: id {id:?} already has a rule")));
                }
                ids.push(id.clone());
            }
            rules.push(rule);
        }
        let id_field = spec.id.as_ref().map(|i| names.key(&i.field));
        if names.overflowed() {
            return Err(err(format!(
                "more than {} distinct field names; a mapping may use at most that many",
                super::record::MAX_NAMES
            )));
        }
        if !rules.is_empty() && spec.id.is_none() && fallback.is_none() {
            return Err(err(
                "rules with `ids` need an `[id]` section saying where the id is".into(),
            ));
        }
        Ok(VendorPlan {
            name: Symbol::intern(&name),
            vendor_name: Symbol::intern(&spec.vendor_name),
            product: spec.product.as_deref().map(Symbol::intern),
            detect: spec.detect.clone(),
            source: src.to_owned(),
            ids,
            class_uid,
            id_field,
            names,
            parse,
            rules,
            by_id,
            fallback,
        })
    }

    /// The field names of the mapping (what its records are built over).
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Runs the plan on a seeded record and assigns the result to `ev` (`frame`: the bytes of
    /// the record's line).
    pub fn apply(
        &self,
        rec: &mut Record<'_>,
        frame: &Bytes,
        ev: &mut Event,
        reference_ms: i64,
    ) -> Applied {
        let mut extracted = false;
        let mut failed = run_ops(&self.parse, rec, reference_ms, &mut extracted);
        ev.vendor = Some(self.vendor_name);
        ev.product = self.product;
        ev.class_uid = self.class_uid;
        if !failed {
            let by_id = self
                .id_field
                .and_then(|f| rec.get_str(f))
                .and_then(|id| self.by_id.get(super::record::trim(id)))
                .copied();
            if by_id.is_some() {
                extracted = true;
            }
            if let Some(rule) = by_id.or(self.fallback).map(|i| &self.rules[i]) {
                if let Some(c) = rule.class_uid {
                    ev.class_uid = c;
                }
                if let Some(a) = rule.activity {
                    ev.activity_name = Some(a);
                }
                failed = run_ops(&rule.ops, rec, reference_ms, &mut extracted);
            }
        }
        let bad_values = assign(rec, frame, ev);
        Applied {
            mapped: extracted && !failed,
            bad_values,
        }
    }
}

/// Runs operators in order; true when a required one found nothing (the rest are skipped).
fn run_ops(ops: &[Op], rec: &mut Record<'_>, reference_ms: i64, extracted: &mut bool) -> bool {
    for op in ops {
        let matched = op.run(rec, reference_ms);
        if matched && op.extracts() {
            *extracted = true;
        }
        if !matched && op.required {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(detect: &str) -> Result<VendorPlan, MappingError> {
        VendorPlan::compile(&format!(
            "name = \"v\"\nvendor_name = \"v\"\n[detect]\n{detect}\n"
        ))
    }

    #[test]
    fn an_empty_signature_is_refused() {
        for (detect, list) in [
            (r#"any = [""]"#, "detect.any[0]"),
            (r#"any = ["zz", ""]"#, "detect.any[1]"),
            (r#"all = [""]"#, "detect.all[0]"),
            (r#"json_keys = ["k", ""]"#, "detect.json_keys[1]"),
        ] {
            let e = compile(detect).unwrap_err().to_string();
            assert!(
                e.contains(list) && e.contains("empty signature"),
                "{detect}: {e}"
            );
        }
    }

    #[test]
    fn a_mapping_with_too_many_field_names_is_refused() {
        let columns: Vec<String> = (0..=super::super::record::MAX_NAMES)
            .map(|i| format!("\"c{i}\""))
            .collect();
        let src = format!(
            "name = \"v\"\nvendor_name = \"v\"\n[[parse]]\nop = \"csv\"\ncolumns = [{}]\n",
            columns.join(", ")
        );
        let e = VendorPlan::compile(&src).unwrap_err().to_string();
        assert!(e.contains("distinct field names"), "{e}");
    }

    #[test]
    fn at_most_64_all_and_json_keys_signatures() {
        let sigs = |n: usize| {
            (0..n)
                .map(|i| format!("\"s{i}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        assert!(compile(&format!("all = [{}]", sigs(64))).is_ok());
        let e = compile(&format!("all = [{}]", sigs(65)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 64"), "{e}");
        let e = compile(&format!("all = [{}]\njson_keys = [\"k\"]", sigs(64)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 64"), "{e}");
    }
}
