//! Vendor mappings: declarative per-vendor parsing (`config/vendors/<name>.toml`, format in
//! `docs/vendors.md`), compiled into [`VendorPlan`]s and held by a [`VendorRegistry`] that the
//! normaliser shards share. The registry swaps its whole state atomically (arc-swap), so a
//! mapping added or fixed through the API or a SIGHUP applies to the next line, without a
//! restart and without pausing the shards.

mod assign;
mod detect;
mod fastmatch;
mod json_op;
mod ops;
mod plan;
mod record;
pub mod spec;
pub mod timefmt;

pub use plan::{Applied, VendorPlan};
pub use record::{Key, Names, Record, Val};

use super::base::{add_header_fields, fill_from_header, parse_line, parse_line_into};
use super::syslog::{parse_structured_data, SyslogHeader};
use super::{FrameMeta, NormaliseError};
use crate::schema::{Event, Symbol};
use arc_swap::ArcSwap;
use bytes::Bytes;
use dashmap::DashMap;
use detect::Detector;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// A mapping that could not be loaded: which vendor, which line of its file, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{message}", if vendor.is_empty() { String::new() } else { format!("vendor {vendor}: ") }, if *line > 0 { format!("line {line}: ") } else { String::new() })]
pub struct MappingError {
    /// The vendor (empty when the file did not parse far enough to name it).
    pub vendor: String,
    /// 1-based line in the mapping file, 0 when unknown.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl MappingError {
    fn new(vendor: &str, line: usize, message: String) -> MappingError {
        MappingError {
            vendor: vendor.to_owned(),
            line,
            message,
        }
    }
}

/// Several mapping errors (loading a folder reports every broken file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingErrors(pub Vec<(PathBuf, MappingError)>);

impl std::fmt::Display for MappingErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (path, e)) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {e}", path.display())?;
        }
        Ok(())
    }
}

impl std::error::Error for MappingErrors {}

/// Per-vendor counters.
#[derive(Debug, Default)]
pub struct VendorMetrics {
    /// Lines given to the mapping.
    pub lines: AtomicU64,
    /// Lines the mapping parsed.
    pub mapped: AtomicU64,
    /// Lines it could not parse (they became Base Events).
    pub unmapped: AtomicU64,
    /// Values that did not convert to their OCSF type (kept in `unmapped`).
    pub parse_errors: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    /// By name, for listings (sorted).
    plans: BTreeMap<Symbol, Arc<VendorPlan>>,
    /// Every plan with its counters, in name order; a batch groups its lines by this index.
    slots: Vec<(Arc<VendorPlan>, Arc<VendorMetrics>)>,
    /// Index into `slots` by symbol (hashed by address), for the per-line lookup.
    lookup: rustc_hash::FxHashMap<Symbol, u32>,
    detector: Detector,
}

impl State {
    fn build(
        plans: BTreeMap<Symbol, Arc<VendorPlan>>,
        metrics: &DashMap<Symbol, Arc<VendorMetrics>>,
    ) -> Result<State, String> {
        let list: Vec<Arc<VendorPlan>> = plans.values().cloned().collect();
        let slots = plans
            .iter()
            .map(|(name, plan)| (plan.clone(), metrics.entry(*name).or_default().clone()))
            .collect();
        let lookup = plans.keys().zip(0u32..).map(|(n, i)| (*n, i)).collect();
        Ok(State {
            detector: Detector::build(&list)?,
            plans,
            slots,
            lookup,
        })
    }
}

/// Summary of one mapping, for listings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VendorInfo {
    /// Name.
    pub name: String,
    /// `metadata.product.vendor_name`.
    pub vendor_name: String,
    /// `metadata.product.name`.
    pub product: Option<String>,
    /// Message ids with their own rule.
    pub ids: usize,
    /// Auto-detected.
    pub detectable: bool,
    /// Lines seen.
    pub lines: u64,
    /// Lines mapped.
    pub mapped: u64,
    /// Lines not mapped.
    pub unmapped: u64,
    /// Values that did not convert.
    pub parse_errors: u64,
}

/// Every vendor mapping, hot-swappable.
#[derive(Debug, Default)]
pub struct VendorRegistry {
    dir: Option<PathBuf>,
    state: ArcSwap<State>,
    metrics: DashMap<Symbol, Arc<VendorMetrics>>,
    unrecognised: DashMap<Symbol, Arc<AtomicU64>>,
}

fn compile_file(path: &Path) -> Result<VendorPlan, MappingError> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| MappingError::new("", 0, format!("cannot read: {e}")))?;
    let plan = VendorPlan::compile(&src)?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if plan.name.as_str() != stem {
        return Err(MappingError::new(
            plan.name.as_str(),
            0,
            format!(
                "name {:?} must match the file name {stem:?}",
                plan.name.as_str()
            ),
        ));
    }
    Ok(plan)
}

fn read_dir(dir: &Path) -> Result<BTreeMap<Symbol, Arc<VendorPlan>>, MappingErrors> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        MappingErrors(vec![(
            dir.to_owned(),
            MappingError::new("", 0, format!("cannot read the vendors folder: {e}")),
        )])
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut plans = BTreeMap::new();
    let mut errors = Vec::new();
    for path in paths {
        match compile_file(&path) {
            Ok(plan) => {
                plans.insert(plan.name, Arc::new(plan));
            }
            Err(e) => errors.push((path, e)),
        }
    }
    if errors.is_empty() {
        Ok(plans)
    } else {
        Err(MappingErrors(errors))
    }
}

impl VendorRegistry {
    /// A registry with no mappings (every line becomes a Base Event).
    pub fn empty() -> VendorRegistry {
        VendorRegistry::default()
    }

    /// Loads every `*.toml` of `dir`; every broken file is reported.
    pub fn load_dir(dir: &Path) -> Result<VendorRegistry, MappingErrors> {
        let plans = read_dir(dir)?;
        let metrics = DashMap::new();
        let state = State::build(plans, &metrics)
            .map_err(|e| MappingErrors(vec![(dir.to_owned(), MappingError::new("", 0, e))]))?;
        Ok(VendorRegistry {
            dir: Some(dir.to_owned()),
            state: ArcSwap::from_pointee(state),
            metrics,
            ..VendorRegistry::default()
        })
    }

    /// Re-reads the folder (SIGHUP). On any error the running mappings stay as they were.
    pub fn reload(&self) -> Result<usize, MappingErrors> {
        let Some(dir) = &self.dir else { return Ok(0) };
        let plans = read_dir(dir)?;
        let n = plans.len();
        let state = State::build(plans, &self.metrics)
            .map_err(|e| MappingErrors(vec![(dir.clone(), MappingError::new("", 0, e))]))?;
        self.state.store(Arc::new(state));
        Ok(n)
    }

    /// Adds or replaces the mapping `name` from its file text: validated and compiled first (a
    /// broken mapping is refused and the old one stays), then swapped in and written to the
    /// vendors folder so it survives a restart.
    pub fn put(&self, name: &str, src: &str) -> Result<(), MappingError> {
        let plan = VendorPlan::compile(src)?;
        if plan.name.as_str() != name {
            return Err(MappingError::new(
                plan.name.as_str(),
                0,
                format!(
                    "the file names vendor {:?} but was sent for {name:?}",
                    plan.name.as_str()
                ),
            ));
        }
        // Built before saving: a mapping the registry as a whole cannot take is refused
        // without touching the folder.
        let mut plans = self.state.load().plans.clone();
        plans.insert(plan.name, Arc::new(plan));
        let state =
            State::build(plans, &self.metrics).map_err(|e| MappingError::new(name, 0, e))?;
        if let Some(dir) = &self.dir {
            let path = dir.join(format!("{name}.toml"));
            let tmp = dir.join(format!(".{name}.toml.tmp"));
            std::fs::write(&tmp, src)
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|e| {
                    MappingError::new(name, 0, format!("cannot save {}: {e}", path.display()))
                })?;
        }
        self.state.store(Arc::new(state));
        Ok(())
    }

    /// The mapping `name`.
    pub fn plan(&self, name: &str) -> Option<Arc<VendorPlan>> {
        self.state.load().plans.get(&Symbol::intern(name)).cloned()
    }

    /// True when `name` is a loaded mapping.
    pub fn contains(&self, name: &str) -> bool {
        self.plan(name).is_some()
    }

    /// Every mapping, by name.
    pub fn list(&self) -> Vec<VendorInfo> {
        self.state
            .load()
            .plans
            .values()
            .map(|p| {
                let m = self.metrics_of(p.name);
                VendorInfo {
                    name: p.name.to_string(),
                    vendor_name: p.vendor_name.to_string(),
                    product: p.product.map(|s| s.to_string()),
                    ids: p.ids.len(),
                    detectable: !(p.detect.any.is_empty()
                        && p.detect.all.is_empty()
                        && p.detect.json_keys.is_empty()
                        && !p.detect.json),
                    lines: m.lines.load(Relaxed),
                    mapped: m.mapped.load(Relaxed),
                    unmapped: m.unmapped.load(Relaxed),
                    parse_errors: m.parse_errors.load(Relaxed),
                }
            })
            .collect()
    }

    /// The vendor auto-detection picks for a line (its syslog MSG found by the header parser).
    pub fn detect(&self, line: &[u8]) -> Option<&'static str> {
        let text = std::str::from_utf8(line).ok()?;
        let message = crate::normalise::syslog::parse_syslog(text, 0)
            .map(|h| h.message)
            .unwrap_or(text);
        self.detect_message(line, message)
    }

    /// The vendor auto-detection picks for a line whose syslog MSG (`message`, the whole line
    /// when it has no header) is known.
    pub fn detect_message(&self, line: &[u8], message: &str) -> Option<&'static str> {
        self.state
            .load()
            .detector
            .detect(line, message)
            .map(|s| s.as_str())
    }

    /// Counters of vendor `name`.
    pub fn metrics_of(&self, name: Symbol) -> Arc<VendorMetrics> {
        self.metrics.entry(name).or_default().clone()
    }

    /// Lines of each source that no vendor recognised.
    pub fn unrecognised(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .unrecognised
            .iter()
            .map(|e| (e.key().to_string(), e.value().load(Relaxed)))
            .collect();
        v.sort();
        v
    }

    /// Normalises one line: with the source's vendor, or the detected one, or as a Base Event.
    pub fn normalise_line(&self, data: &Bytes, meta: &FrameMeta) -> Result<Event, NormaliseError> {
        let (line, h) = parse_line(data, meta)?;
        let state = self.state.load();
        match state.slot_of(data, &h, meta) {
            Some(slot) => {
                let mut tally = Tally::default();
                let mut ev = Event::default();
                state.map_line(slot, data, line, &h, meta, &mut tally, &mut ev, &mut None);
                tally.flush(&state);
                Ok(ev)
            }
            None => {
                self.count_unrecognised(meta, 1);
                let mut ev = Event::default();
                unrecognised_line(&mut ev, data, &h, meta);
                Ok(ev)
            }
        }
    }

    /// Normalises the lines `which` of `frames` and hands each result to `emit` with its index
    /// in `frames`, **not in input order**: lines whose vendor is detected are mapped vendor
    /// by vendor. Interleaved vendors run a different mapping (code, tables, regexes) on every
    /// line; grouped, one vendor's lines run back to back with its code and data warm, which
    /// on a mixed 18-vendor corpus is worth far more than the extra pass over the batch.
    /// Same results and counters as [`Self::normalise_line`] on each line; the registry state
    /// is read once, so a mapping swapped in mid-batch applies from the next batch.
    ///
    /// The events are lent: every line is built in one event of the batch, which `emit` may
    /// read (or take, to keep it) and which is cleared and refilled for the next line, so an
    /// event is neither built aside and copied out nor dropped per line, and its `unmapped`
    /// fields reuse the room earlier lines took (from batch to batch too: the event is kept
    /// on the thread, emptied, between batches). The mapping's record is reused the same way.
    pub fn normalise_lines(
        &self,
        frames: &[super::Frame],
        which: &[u32],
        meta: &FrameMeta,
        emit: &mut dyn FnMut(usize, Result<&mut Event, NormaliseError>),
    ) {
        let state = self.state.load();
        let mut ev = SPARE_EVENT.with(std::cell::Cell::take);
        // The detected lines, and beside them their headers, each parsed where it is kept
        // (`parse_line_into`: not copied from the parser into the batch).
        let mut parsed: Vec<(u32, u32, &str)> = Vec::with_capacity(which.len());
        let mut headers: Vec<SyslogHeader<'_>> = Vec::with_capacity(which.len());
        // Sorted, the lines of one vendor are adjacent (see `group_key`).
        let mut order: Vec<u64> = Vec::with_capacity(which.len());
        let mut unrecognised = 0;
        for &i in which {
            let data = &frames[i as usize].data;
            headers.push(SyslogHeader::bare(""));
            let Some(h) = headers.last_mut() else {
                continue;
            };
            let line = match parse_line_into(data, meta, h) {
                Ok(line) => line,
                Err(e) => {
                    headers.pop();
                    emit(i as usize, Err(e));
                    continue;
                }
            };
            match state.slot_of(data, h, meta) {
                Some(slot) => {
                    order.push(group_key(slot, h.message, parsed.len()));
                    parsed.push((i, slot, line));
                }
                None => {
                    unrecognised += 1;
                    unrecognised_line(&mut ev, data, h, meta);
                    emit(i as usize, Ok(&mut ev));
                    headers.pop();
                }
            }
        }
        self.count_unrecognised(meta, unrecognised);
        order.sort_unstable();
        let mut tally = Tally::default();
        let mut rec = None;
        for key in order {
            let k = (key & 0xffff_ffff) as usize;
            let (i, slot, line) = parsed[k];
            let data = &frames[i as usize].data;
            let h = &headers[k];
            state.map_line(slot, data, line, h, meta, &mut tally, &mut ev, &mut rec);
            emit(i as usize, Ok(&mut ev));
        }
        tally.flush(&state);
        // Emptied before it is kept: its texts share the frames' bytes, which the caller may
        // want back whole (the `normalize` command reuses its read buffer).
        ev.clear();
        SPARE_EVENT.with(|spare| spare.set(ev));
    }
}

/// The sort key of a detected line: its mapping's slot (16 bits), a hash of the first 8 bytes
/// of its message (16 bits: lines of one message type usually share their start, so within a
/// vendor they run together too) and its position in the batch (32 bits, so equal keys keep
/// input order; positions come from `u32` frame indexes). More than 65,536 mappings only cost
/// the grouping, never a result: the slot itself is kept beside the line.
fn group_key(slot: u32, message: &str, pos: usize) -> u64 {
    let m = message.as_bytes();
    let mut start = [0u8; 8];
    let k = m.len().min(8);
    start[..k].copy_from_slice(&m[..k]);
    let shape = u64::from_le_bytes(start).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48;
    (u64::from(slot) & 0xffff) << 48 | shape << 32 | (pos as u64 & 0xffff_ffff)
}

impl VendorRegistry {
    /// Counts `n` lines of `meta`'s source that no vendor recognised.
    fn count_unrecognised(&self, meta: &FrameMeta, n: u64) {
        if n > 0 {
            self.unrecognised
                .entry(meta.source)
                .or_default()
                .fetch_add(n, Relaxed);
        }
    }
}

thread_local! {
    /// The event [`VendorRegistry::normalise_lines`] builds its lines in, kept empty between
    /// batches so the room its `unmapped` fields took is reused.
    static SPARE_EVENT: std::cell::Cell<Event> = std::cell::Cell::new(Event::default());
}

/// The Base Event of a line no vendor recognised, built in `ev`.
fn unrecognised_line(ev: &mut Event, data: &Bytes, h: &SyslogHeader<'_>, meta: &FrameMeta) {
    fill_from_header(ev, data, h, meta);
    add_header_fields(ev, data, h);
}

impl State {
    /// The mapping for a line: the source's vendor, or the detected one.
    fn slot_of(&self, data: &[u8], h: &SyslogHeader<'_>, meta: &FrameMeta) -> Option<u32> {
        let v = match meta.vendor.filter(|v| v.as_str() != "auto") {
            Some(v) => v,
            None => self.detector.detect(data, h.message)?,
        };
        self.lookup.get(&v).copied()
    }

    /// Applies mapping `slot` to a line whose header is parsed, counting it in `tally`; the
    /// event is built in `ev` (whatever it held) and the mapping works in `rec` (the record of
    /// an earlier line of the batch, reset, or a new one).
    #[allow(clippy::too_many_arguments)]
    fn map_line<'a>(
        &'a self,
        slot: u32,
        data: &Bytes,
        line: &'a str,
        h: &SyslogHeader<'_>,
        meta: &FrameMeta,
        tally: &mut Tally,
        ev: &mut Event,
        rec: &mut Option<Record<'a>>,
    ) {
        let (plan, _) = &self.slots[slot as usize];
        fill_from_header(ev, data, h, meta);
        let names = plan.names();
        if let Some(rec) = rec.as_mut() {
            rec.reset(line, names);
        }
        let rec = rec.get_or_insert_with(|| Record::new(line, names));
        seed(rec, h);
        let reference_ms = (meta.received_ns / 1_000_000) as i64;
        let applied = plan.apply(rec, data, ev, reference_ms);
        if !applied.mapped {
            // Nothing was extracted: the line is a Base Event of the vendor, message kept.
            ev.class_uid = crate::schema::CLASS_BASE_EVENT;
        }
        tally.count(self, slot, applied);
    }
}

/// Per-vendor counts of lines mapped since the last flush, all of one mapping: added to the
/// shared atomic counters when the mapping changes (a batch maps its lines grouped by vendor,
/// so about once per vendor per batch) and at the end, not up to four times a line.
#[derive(Default)]
struct Tally {
    slot: Option<u32>,
    lines: u64,
    mapped: u64,
    unmapped: u64,
    parse_errors: u64,
}

impl Tally {
    fn count(&mut self, state: &State, slot: u32, applied: Applied) {
        if self.slot != Some(slot) {
            self.flush(state);
            self.slot = Some(slot);
        }
        self.lines += 1;
        if applied.mapped {
            self.mapped += 1;
        } else {
            self.unmapped += 1;
        }
        self.parse_errors += u64::from(applied.bad_values);
    }

    fn flush(&mut self, state: &State) {
        if let Some((_, m)) = self.slot.and_then(|s| state.slots.get(s as usize)) {
            for (counter, n) in [
                (&m.lines, self.lines),
                (&m.mapped, self.mapped),
                (&m.unmapped, self.unmapped),
                (&m.parse_errors, self.parse_errors),
            ] {
                if n > 0 {
                    counter.fetch_add(n, Relaxed);
                }
            }
        }
        *self = Tally::default();
    }
}

/// Sets the fields a mapping starts from (see `docs/vendors.md`, *Seed fields*) in `rec`, an
/// empty record over the line of `h`.
fn seed(rec: &mut Record<'_>, h: &SyslogHeader<'_>) {
    use record::seed_key;
    let line = rec.line();
    // In the order of `record::SEEDS`.
    rec.set_str(seed_key(0), h.message);
    // The whole line (far below 4 GiB: frames are capped by `max_line_bytes`).
    rec.set(seed_key(1), record::Val::Line(0, line.len() as u32));
    for (i, v) in [h.hostname, h.app_name, h.proc_id, h.msg_id]
        .into_iter()
        .enumerate()
    {
        if let Some(v) = v {
            rec.set_str(seed_key(2 + i), v);
        }
    }
    if let Some(tag) = h.cisco {
        rec.set_str(seed_key(6), tag.facility);
        rec.set_str(seed_key(7), tag.mnemonic);
        let severity = rec.owned(itoa::Buffer::new().format(tag.severity));
        rec.set(seed_key(8), severity);
    }
    if let Some(sd) = h.structured_data {
        for (id, param, value) in parse_structured_data(sd) {
            let key = rec.build(|out| {
                out.push_str("sd.");
                out.push_str(id);
                out.push('.');
                out.push_str(param);
            });
            let value = rec.val(&value);
            rec.set_named(key, value, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::CLASS_BASE_EVENT;

    const ACME: &str = r#"name = "acme"
vendor_name = "Acme"
class = "Network Activity"

[detect]
any = ["ACMEFW "]

[[parse]]
op = "regex"
required = true
pattern = '^ACMEFW (?P<src_endpoint.ip>\S+) -> (?P<dst_endpoint.ip>\S+)$'
"#;

    fn registry() -> (tempfile::TempDir, VendorRegistry) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("acme.toml"), ACME).unwrap();
        let reg = VendorRegistry::load_dir(dir.path()).unwrap();
        (dir, reg)
    }

    fn meta(vendor: &str) -> FrameMeta {
        FrameMeta {
            source: Symbol::intern("unit"),
            received_ns: 1_700_000_000_000_000_000,
            peer: None,
            vendor: Some(Symbol::intern(vendor)),
        }
    }

    #[test]
    fn a_line_the_mapping_cannot_parse_is_a_base_event_of_the_vendor() {
        let (_dir, reg) = registry();
        let ok = reg
            .normalise_line(
                &Bytes::from_static(b"ACMEFW 10.0.0.1 -> 10.0.0.2"),
                &meta("auto"),
            )
            .unwrap();
        assert_eq!(ok.class_uid, 4001);
        assert_eq!(ok.src.ip, Some("10.0.0.1".parse().unwrap()));
        let bad = reg
            .normalise_line(&Bytes::from_static(b"ACMEFW garbled"), &meta("acme"))
            .unwrap();
        assert_eq!(bad.class_uid, CLASS_BASE_EVENT);
        assert_eq!(bad.vendor.map(|v| v.as_str()), Some("Acme"));
        assert_eq!(bad.message.as_str(), "ACMEFW garbled");
        let m = reg.metrics_of(Symbol::intern("acme"));
        assert_eq!(
            (
                m.lines.load(Relaxed),
                m.mapped.load(Relaxed),
                m.unmapped.load(Relaxed)
            ),
            (2, 1, 1)
        );
        let other = reg
            .normalise_line(&Bytes::from_static(b"something else"), &meta("auto"))
            .unwrap();
        assert_eq!(other.class_uid, CLASS_BASE_EVENT);
        assert_eq!(reg.unrecognised(), vec![("unit".to_owned(), 1)]);
    }

    const RICH: &str = r#"name = "rich"
vendor_name = "Rich"
class = "Network Activity"

[detect]
any = ["RICH "]

[[parse]]
op = "kv"
field = "message"
"#;

    /// A line that sets every field of the event, with many unmapped ones, a value that does
    /// not convert, structured data and a full syslog header.
    fn rich_line() -> String {
        let mut l = String::from(
            r#"<13>1 2024-03-01T12:00:00Z host-a app 123 ID47 [ex@1 a="1" b="2"] RICH aa=1"#,
        );
        l.push_str(
            " time=2024-03-01T12:00:01Z severity_id=3 class_uid=4001 activity_name=Open \
             status=Success disposition=Allowed src_endpoint.ip=10.0.0.1 \
             src_endpoint.port=1234 src_endpoint.hostname=src-h dst_endpoint.ip=10.0.0.2 \
             dst_endpoint.port=443 dst_endpoint.hostname=dst-h actor.user.name=bob \
             connection_info.protocol_name=6 device.hostname=dev device.ip=10.0.0.9 \
             metadata.event_code=E1 metadata.uid=U1 metadata.product.name=P \
             tocsin.entity=ent metrics.bytes=10 metrics.pkts=2 metrics.bad=x",
        );
        for i in 0..40 {
            l.push_str(&format!(" extra{i}=\"value {i}\""));
        }
        l
    }

    fn render(ev: &Event) -> String {
        let mut out = Vec::new();
        crate::schema::json::write_event(ev, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_sparse_line_after_a_rich_one_gets_the_result_of_a_fresh_normaliser() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rich.toml"), RICH).unwrap();
        let reg = VendorRegistry::load_dir(dir.path()).unwrap();
        let rich = Bytes::from(rich_line());
        // The same first 8 bytes of message: one group, in input order.
        let sparse = Bytes::from_static(b"RICH aa=2");
        let other = Bytes::from_static(b"no vendor here");
        let frames: Vec<super::super::Frame> = [&rich, &sparse, &other, &rich, &other, &sparse]
            .into_iter()
            .map(|b| super::super::Frame::line(b.clone()))
            .collect();
        for vendor in ["rich", "auto"] {
            let meta = meta(vendor);
            // Each line alone, through a new event and record.
            let want: Vec<String> = frames
                .iter()
                .map(|f| render(&reg.normalise_line(&f.data, &meta).unwrap()))
                .collect();
            let full = reg.normalise_line(&rich, &meta).unwrap();
            // The premise: the rich line leaves something in every field.
            assert!(full.activity_name.is_some() && full.disposition.is_some());
            assert!(full.src.ip.is_some() && full.src.port.is_some());
            assert!(full.src.hostname.is_some() && full.dst.hostname.is_some());
            assert!(full.dst.ip.is_some() && full.dst.port.is_some());
            assert!(full.user.is_some() && full.protocol.is_some() && full.uid.is_some());
            assert!(full.device.hostname.is_some() && full.device.ip.is_some());
            assert!(full.vendor.is_some() && full.product.is_some());
            assert!(full.event_code.is_some() && full.entity.is_some());
            assert_eq!(full.metrics.len(), 2);
            assert!(full.unmapped.len() > 40, "{}", full.unmapped.len());
            assert_eq!(full.status, crate::schema::Status::Success);
            assert_eq!(full.unmapped_value("sd.ex@1.a"), Some("1"));
            assert_eq!(full.unmapped_value("metrics.bad"), Some("x"));
            // One batch: the rich line's event and record are reused for the sparse line.
            let mut got = vec![None; frames.len()];
            let mut order = Vec::new();
            reg.normalise_lines(&frames, &[0, 1, 2, 3, 4, 5], &meta, &mut |i, r| {
                got[i] = Some(render(r.unwrap()));
                order.push(i);
            });
            for (i, w) in want.iter().enumerate() {
                assert_eq!(got[i].as_deref(), Some(w.as_str()), "{vendor}: line {i}");
            }
            let mapped: Vec<usize> = order.into_iter().filter(|&i| i != 2 && i != 4).collect();
            assert_eq!(mapped, [0, 1, 3, 5], "{vendor}: rich before sparse");
            // Batch after batch (the event kept on the thread between them), and with the
            // consumer taking some events away.
            for (n, (i, take)) in [(0, false), (1, false), (3, true), (5, false), (2, true)]
                .into_iter()
                .enumerate()
            {
                let mut seen = 0;
                reg.normalise_lines(&frames, &[i], &meta, &mut |j, r| {
                    let ev = r.unwrap();
                    assert_eq!(render(ev), want[j], "{vendor}: batch {n}");
                    if take {
                        let kept = std::mem::take(ev);
                        assert_eq!(render(&kept), want[j]);
                    }
                    seen += 1;
                });
                assert_eq!(seen, 1);
            }
        }
    }

    #[test]
    fn a_cleared_event_is_a_default_event() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rich.toml"), RICH).unwrap();
        let reg = VendorRegistry::load_dir(dir.path()).unwrap();
        let mut ev = reg
            .normalise_line(&Bytes::from(rich_line()), &meta("rich"))
            .unwrap();
        assert_ne!(ev, Event::default());
        ev.clear();
        assert_eq!(ev, Event::default());
        assert_eq!(render(&ev), render(&Event::default()));
    }
}
