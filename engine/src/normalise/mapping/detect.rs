//! Vendor auto-detection: every vendor's signatures in one Aho-Corasick automaton, so a line is
//! scanned once whatever the number of vendors (not a regex per vendor).

use super::plan::VendorPlan;
use crate::schema::Symbol;
use aho_corasick::AhoCorasick;
use smallvec::SmallVec;
use std::sync::Arc;

#[derive(Debug)]
struct Entry {
    name: Symbol,
    has_any: bool,
    all_mask: u64,
    json: bool,
    priority: i32,
}

/// The compiled signatures of every vendor.
#[derive(Debug, Default)]
pub struct Detector {
    ac: Option<AhoCorasick>,
    /// Pattern id -> (vendor index, `Some(bit)` for an `all` pattern, `None` for `any`).
    patterns: Vec<(usize, Option<u32>)>,
    vendors: Vec<Entry>,
}

impl Detector {
    /// Builds the detector; vendors without signatures are never detected.
    pub fn build(plans: &[Arc<VendorPlan>]) -> Result<Detector, String> {
        let mut texts: Vec<String> = Vec::new();
        let mut patterns = Vec::new();
        let mut vendors = Vec::new();
        for plan in plans {
            let d = &plan.detect;
            let all: Vec<String> = d
                .all
                .iter()
                .cloned()
                .chain(d.json_keys.iter().map(|k| format!("\"{k}\"")))
                .collect();
            if all.len() > 64 {
                return Err(format!(
                    "{}: at most 64 `all`/`json_keys` signatures",
                    plan.name
                ));
            }
            if d.any.is_empty() && all.is_empty() && !d.json {
                continue;
            }
            let v = vendors.len();
            for p in d.any.iter().filter(|p| !p.is_empty()) {
                texts.push(p.clone());
                patterns.push((v, None));
            }
            for (bit, p) in all.iter().enumerate() {
                texts.push(p.clone());
                patterns.push((v, Some(bit as u32)));
            }
            vendors.push(Entry {
                name: plan.name,
                has_any: d.any.iter().any(|p| !p.is_empty()),
                all_mask: if all.is_empty() {
                    0
                } else {
                    u64::MAX >> (64 - all.len())
                },
                json: d.json || !d.json_keys.is_empty(),
                priority: d.priority,
            });
        }
        let ac = if texts.is_empty() {
            None
        } else {
            // A DFA: the overlapping scan of every line was 18 % of a profile with the NFA.
            Some(
                AhoCorasick::builder()
                    .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                    .build(&texts)
                    .map_err(|e| format!("detection signatures: {e}"))?,
            )
        };
        Ok(Detector {
            ac,
            patterns,
            vendors,
        })
    }

    /// The vendor of `line` (whose syslog MSG is `message`), if any matches.
    pub fn detect(&self, line: &[u8], message: &str) -> Option<Symbol> {
        let mut any: SmallVec<[bool; 32]> = SmallVec::from_elem(false, self.vendors.len());
        let mut all: SmallVec<[u64; 32]> = SmallVec::from_elem(0, self.vendors.len());
        if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(line) {
                let (v, bit) = self.patterns[m.pattern().as_usize()];
                match bit {
                    None => any[v] = true,
                    Some(b) => all[v] |= 1 << b,
                }
            }
        }
        let is_json = message.trim_start().starts_with('{');
        self.vendors
            .iter()
            .enumerate()
            .filter(|(v, e)| {
                (!e.has_any || any[*v])
                    && all[*v] & e.all_mask == e.all_mask
                    && (!e.json || is_json)
            })
            .max_by_key(|(v, e)| (e.priority, std::cmp::Reverse(*v)))
            .map(|(_, e)| e.name)
    }
}
