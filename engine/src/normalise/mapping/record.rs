//! The record a mapping works on: named fields, in the order set, whose keys and values are
//! spans of the line (or of the record's scratch text, or constants of the compiled mapping).
//! Nothing in a record holds a reference count: a field costs two small copies, and only the
//! values that end up in the event become [`Text`]s (in `assign`).
//!
//! Every field name a mapping mentions (operator fields and conditions, capture names, columns,
//! targets) is numbered when the mapping compiles ([`Names`]): the record keeps, per number,
//! where that field is, so operators read and write their fields by index, with no hashing and
//! no comparison of names. Keys that only the line knows (a key=value pair's key, a JSON path)
//! are looked up once in the mapping's names (a key the mapping mentions takes its number) and
//! otherwise kept in a small index of the record's own.

use super::assign::{target_of, Target};
use crate::schema::{offsets_in, Part, Symbol, Text, Unmapped};
use bytes::Bytes;

/// A key or value of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val {
    /// Bytes `a..b` of the line.
    Line(u32, u32),
    /// Bytes `a..b` of the record's scratch text (values a line does not hold as such:
    /// unescaped, converted or joined).
    Scratch(u32, u32),
    /// A constant of a compiled mapping (field names, `set`/`map` values).
    Static(&'static str),
}

/// A field name of a compiled mapping: the (interned) name and its number in the mapping's
/// [`Names`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The name.
    pub name: &'static str,
    /// Its number.
    pub slot: u16,
}

/// The seed fields every record may start with (see `docs/vendors.md`, *Seed fields*): the
/// first numbers of every mapping's [`Names`], in this order.
pub const SEEDS: [&str; 9] = [
    "message",
    "raw",
    "_syslog.hostname",
    "_syslog.app_name",
    "_syslog.proc_id",
    "_syslog.msg_id",
    "_cisco.facility",
    "_cisco.mnemonic",
    "_cisco.severity",
];

/// The key of seed field `i` (an index of [`SEEDS`]).
pub fn seed_key(i: usize) -> Key {
    Key {
        name: SEEDS[i],
        slot: i as u16,
    }
}

/// No number: a key only the line knows.
const NO_SLOT: u16 = u16::MAX;

/// The field names of one mapping, numbered as its operators compile, with where each goes in
/// the event (worked out once, not per line) and a table to find a name the line spells out.
#[derive(Debug, Clone)]
pub struct Names {
    keys: Vec<Key>,
    /// Per name, where it goes in the event and, for `metrics.<name>`, the metric's name.
    targets: Vec<(Target, Option<Symbol>)>,
    /// Open addressing on [`key_hash`]: (fingerprint, 1 + number); 0 is empty.
    table: Vec<(u32, u16)>,
    /// A name past [`MAX_NAMES`] was asked for (the mapping is refused).
    overflowed: bool,
}

/// The most field names one mapping may use.
pub const MAX_NAMES: usize = 60_000;

impl Default for Names {
    fn default() -> Names {
        let mut names = Names {
            keys: Vec::new(),
            targets: Vec::new(),
            table: vec![(0, 0); 64],
            overflowed: false,
        };
        for s in SEEDS {
            names.key(s);
        }
        names
    }
}

impl Names {
    /// The number of names.
    fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the mapping asked for more than [`MAX_NAMES`] names: its plan must be
    /// refused (the keys handed out past the limit are not its own).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The key of `name`, numbered now when it is new (at compile time). Past [`MAX_NAMES`]
    /// names it hands out the first key and marks the table [`Names::overflowed`].
    pub fn key(&mut self, name: &str) -> Key {
        let h = key_hash(name.as_bytes());
        if let Some(slot) = self.find(name.as_bytes(), h) {
            return self.keys[usize::from(slot)];
        }
        if self.keys.len() >= MAX_NAMES {
            self.overflowed = true;
            return self.keys[0];
        }
        let slot = self.keys.len() as u16;
        let key = Key {
            name: Symbol::intern(name).as_str(),
            slot,
        };
        self.keys.push(key);
        self.targets.push((
            target_of(name),
            name.strip_prefix("metrics.").map(Symbol::intern),
        ));
        if self.keys.len() * 2 > self.table.len() {
            let mut table = vec![(0, 0); self.table.len() * 2];
            for k in &self.keys {
                Self::insert(&mut table, key_hash(k.name.as_bytes()), k.slot);
            }
            self.table = table;
        } else {
            Self::insert(&mut self.table, h, slot);
        }
        key
    }

    /// The first place to look for fingerprint `h` in a table of `len` entries: from the
    /// fingerprint's high bits. (Its low bits come from the key's last two bytes alone, as a
    /// product's low bits depend only on the factors' low bits: JSON keys ending alike, `Id`,
    /// `Name`, `arn`, piled up in a few runs, 2.3 probes a lookup on CloudTrail.)
    #[inline]
    fn home(h: u32, len: usize) -> usize {
        ((u64::from(h) * len as u64) >> 32) as usize
    }

    fn insert(table: &mut [(u32, u16)], h: u32, slot: u16) {
        let mask = table.len() - 1;
        let mut i = Self::home(h, table.len());
        while table[i].1 != 0 {
            i = (i + 1) & mask;
        }
        table[i] = (h, slot + 1);
    }

    /// The number of `name` (fingerprint `h`), if the mapping mentions it.
    #[inline]
    fn find(&self, name: &[u8], h: u32) -> Option<u16> {
        let mask = self.table.len() - 1;
        let mut i = Self::home(h, self.table.len());
        loop {
            let (fp, at) = self.table[i];
            if at == 0 {
                return None;
            }
            if fp == h && same_bytes(self.keys[usize::from(at - 1)].name.as_bytes(), name) {
                return Some(at - 1);
            }
            i = (i + 1) & mask;
        }
    }

    /// The key of `name` (whose [`key_hash`] is `h`), if the mapping mentions it.
    #[inline]
    pub fn find_hashed(&self, name: &str, h: u32) -> Option<Key> {
        self.find(name.as_bytes(), h)
            .map(|s| self.keys[usize::from(s)])
    }

    /// The key of `name`, if the mapping mentions it.
    pub fn get(&self, name: &str) -> Option<Key> {
        self.find(name.as_bytes(), key_hash(name.as_bytes()))
            .map(|s| self.keys[usize::from(s)])
    }

    /// Where field number `slot` goes in the event, and its metric name for `metrics.` fields.
    #[inline]
    pub(super) fn target(&self, slot: u16) -> (Target, Option<Symbol>) {
        self.targets[usize::from(slot)]
    }
}

/// Where the record's fields are: per [`Names`] number, 1 + index in `fields` (0 absent).
type Slots = Vec<u32>;

/// Named fields of one line.
#[derive(Debug)]
pub struct Record<'a> {
    line: &'a str,
    names: &'a Names,
    scratch: String,
    /// See [`Record::input`].
    input_buf: String,
    /// See [`Record::take_slots`].
    captures: Captures,
    fields: Vec<Field>,
    at: Slots,
    /// Index of the fields whose keys the mapping does not name: slot -> `1 + position in
    /// fields` in the low 24 bits, 8 more bits of the fingerprint in the high ones; 0 is
    /// empty. Cleared when the first such key comes (most records have none).
    others: Option<Box<[u32; SLOTS]>>,
    /// Fields in `others`.
    n_others: usize,
    /// Fields removed (their keys are [`REMOVED`]; they stay in place so the indexes hold).
    removed: usize,
}

/// One field: key, value, the key's number ([`NO_SLOT`] for keys only the line knows) and,
/// for those, its fingerprint.
#[derive(Debug, Clone, Copy)]
struct Field {
    key: Val,
    value: Val,
    slot: u16,
    hash: u32,
}

/// Capture positions of a regex search (two per group).
pub type Captures = Vec<Option<regex_automata::util::primitives::NonMaxUsize>>;

type Spare = (
    String,
    String,
    Captures,
    Vec<Field>,
    Slots,
    Option<Box<[u32; SLOTS]>>,
);

thread_local! {
    /// The buffers of the last record dropped on this thread, kept so the next record reuses
    /// their capacity (a JSON or key=value line has dozens of fields).
    static SPARE: std::cell::RefCell<Spare> =
        const {
            std::cell::RefCell::new((
                String::new(),
                String::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                None,
            ))
        };
}

/// The key of a removed field: compared by address, so no real key is ever taken for it.
static REMOVED: &str = "(removed)";

fn is_removed(key: Val) -> bool {
    matches!(key, Val::Static(s) if std::ptr::eq(s, REMOVED))
}

const SLOTS: usize = 128;
const INDEXED: usize = SLOTS * 3 / 4;

/// A constant-time fingerprint of a key (its length and first, second, middle and last two
/// bytes); a hit is confirmed by comparing the bytes, so collisions only cost a comparison.
#[inline]
pub fn key_hash(key: &[u8]) -> u32 {
    let n = key.len();
    let at = |i: usize| u32::from(key.get(i).copied().unwrap_or(0));
    let h = (n as u32) << 24
        ^ at(0) << 16
        ^ at(1) << 8
        ^ at(n.wrapping_sub(1))
        ^ at(n.wrapping_sub(2)) << 4
        ^ at(n / 2) << 12;
    h.wrapping_mul(0x9E37_79B1)
}

/// `a == b`, for the short keys of a record without a call to `memcmp`: up to 16 bytes are
/// compared as two overlapping words.
#[inline(always)]
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or([0; 4]));
    match n {
        0..=3 => a == b,
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

fn slot_of(h: u32) -> usize {
    (h >> 25) as usize
}

fn tag_of(h: u32) -> u32 {
    (h >> 17) & 0xff
}

/// `s` without leading and trailing whitespace, as `str::trim` (Unicode whitespace), but
/// without decoding characters when both ends are plainly not whitespace (nearly every value).
pub fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    let plain = |c: u8| c > b' ' && c < 0x80;
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) if plain(f) && plain(l) => s,
        _ => s.trim(),
    }
}

/// The span of `part` within `whole`, when it lies there (lines are far below 4 GiB).
fn span_in(whole: &str, part: &str) -> Option<(u32, u32)> {
    let r = offsets_in(whole.as_bytes(), part.as_bytes())?;
    Some((r.start as u32, r.end as u32))
}

impl<'a> Record<'a> {
    /// An empty record over `line` (the frame's text), for a mapping with `names`.
    pub fn new(line: &'a str, names: &'a Names) -> Record<'a> {
        let (mut scratch, input_buf, captures, mut fields, mut at, others) = SPARE
            .with(|spare| spare.try_borrow_mut().map(|mut s| std::mem::take(&mut *s)))
            .unwrap_or_default();
        scratch.clear();
        fields.clear();
        at.clear();
        at.resize(names.len(), 0);
        Record {
            line,
            names,
            scratch,
            input_buf,
            captures,
            fields,
            at,
            others,
            n_others: 0,
            removed: 0,
        }
    }

    /// Empties the record for the next line of a batch, `line`, mapped with `names` (which
    /// need not be the last line's): the same record as [`Record::new`] gives, but only the
    /// field numbers the last line set are cleared (not the whole table of the mapping's
    /// names), and no buffer goes back to the thread's spares and out again.
    pub fn reset(&mut self, line: &'a str, names: &'a Names) {
        // Every number `at` holds belongs to a field of `fields` with that number (`set`
        // pushes it; `remove` clears the number itself), so this zeroes all of `at`.
        for f in &self.fields {
            if let Some(at) = self.at.get_mut(usize::from(f.slot)) {
                *at = 0;
            }
        }
        debug_assert!(self.at.iter().all(|&i| i == 0));
        self.at.resize(names.len(), 0);
        self.fields.clear();
        self.scratch.clear();
        self.n_others = 0;
        self.removed = 0;
        self.line = line;
        self.names = names;
    }

    /// The line the record is over.
    pub fn line(&self) -> &'a str {
        self.line
    }

    /// The mapping's names.
    pub fn names(&self) -> &'a Names {
        self.names
    }

    /// The text of `v`.
    #[inline(always)]
    pub fn str(&self, v: Val) -> &str {
        match v {
            Val::Line(a, b) => &self.line[a as usize..b as usize],
            Val::Scratch(a, b) => &self.scratch[a as usize..b as usize],
            Val::Static(s) => s,
        }
    }

    /// The bytes of `v` (as [`Record::str`], without the checks that a slice of a `str` ends
    /// on character boundaries: keys are compared and hashed as bytes).
    #[inline]
    fn bytes(&self, v: Val) -> &[u8] {
        match v {
            Val::Line(a, b) => &self.line.as_bytes()[a as usize..b as usize],
            Val::Scratch(a, b) => &self.scratch.as_bytes()[a as usize..b as usize],
            Val::Static(s) => s.as_bytes(),
        }
    }

    /// The text of `v`, held apart from the record (so an operator can read it while it sets
    /// fields): a line span or a constant as is, scratch text copied into `buf` (operators
    /// seldom work on a value the mapping itself produced).
    pub fn input<'b>(&self, v: Val, buf: &'b mut String) -> &'b str
    where
        'a: 'b,
    {
        match v {
            Val::Line(a, b) => &self.line[a as usize..b as usize],
            Val::Static(s) => s,
            Val::Scratch(a, b) => {
                buf.clear();
                buf.push_str(&self.scratch[a as usize..b as usize]);
                buf
            }
        }
    }

    /// The text of `v` when it is not the record's own (a line span or a constant): borrowed
    /// from the line or the mapping, not from the record, so an operator can read it while it
    /// sets fields, without the copy [`Record::input`] makes of scratch text.
    #[inline(always)]
    pub fn outside(&self, v: Val) -> Option<&'a str> {
        match v {
            Val::Line(a, b) => Some(&self.line[a as usize..b as usize]),
            Val::Static(s) => Some(s),
            Val::Scratch(..) => None,
        }
    }

    /// The buffer for [`Record::input`] (give it back with [`Record::give_input_buf`]).
    pub fn take_input_buf(&mut self) -> String {
        std::mem::take(&mut self.input_buf)
    }

    /// Returns the buffer taken by [`Record::take_input_buf`], so its capacity is reused.
    pub fn give_input_buf(&mut self, buf: String) {
        self.input_buf = buf;
    }

    /// A buffer for a regex search's capture positions (give it back with
    /// [`Record::give_slots`]): kept by the record, so a search allocates nothing.
    pub fn take_slots(&mut self) -> Captures {
        std::mem::take(&mut self.captures)
    }

    /// Returns the buffer taken by [`Record::take_slots`].
    pub fn give_slots(&mut self, captures: Captures) {
        self.captures = captures;
    }

    /// `s` as a value: a span of the line when it lies in the line, else copied to scratch.
    pub fn val(&mut self, s: &str) -> Val {
        match span_in(self.line, s) {
            Some((a, b)) => Val::Line(a, b),
            None => self.owned(s),
        }
    }

    /// `part` (a part of the text of `v`) as a value: a constant's part stays a constant, a
    /// part of the line a span; anything else is copied.
    pub fn part(&mut self, v: Val, part: &str) -> Val {
        match v {
            Val::Line(..) => {
                if let Some((a, b)) = span_in(self.line, part) {
                    return Val::Line(a, b);
                }
            }
            Val::Static(s) => {
                if let Some((a, b)) = span_in(s, part) {
                    return Val::Static(&s[a as usize..b as usize]);
                }
            }
            Val::Scratch(..) => {}
        }
        self.val(part)
    }

    /// Bytes `a..b` of `s`, the text of `v` (as [`Record::input`] gives it), as a value: what
    /// [`Record::part`] makes of `&s[a..b]`, without finding where that lies.
    #[inline(always)]
    pub fn sub(&mut self, v: Val, s: &str, a: usize, b: usize) -> Val {
        debug_assert_eq!(s.len(), self.str(v).len(), "`s` is the text of `v`");
        match v {
            Val::Line(x, _) => Val::Line(x + a as u32, x + b as u32),
            _ => self.sub_other(v, s, a, b),
        }
    }

    /// [`Record::sub`] of a constant or of scratch text.
    #[inline(never)]
    fn sub_other(&mut self, v: Val, s: &str, a: usize, b: usize) -> Val {
        match v {
            Val::Static(t) => Val::Static(&t[a..b]),
            _ => self.owned(&s[a..b]),
        }
    }

    /// `s` copied to the scratch text.
    pub fn owned(&mut self, s: &str) -> Val {
        let a = self.scratch.len();
        self.scratch.push_str(s);
        Val::Scratch(a as u32, self.scratch.len() as u32)
    }

    /// A value built by `write` appending to the scratch text.
    pub fn build(&mut self, write: impl FnOnce(&mut String)) -> Val {
        let a = self.scratch.len();
        write(&mut self.scratch);
        Val::Scratch(a as u32, self.scratch.len() as u32)
    }

    /// The length of the scratch text (where [`Record::append`]s start).
    #[inline]
    pub fn scratch_len(&self) -> usize {
        self.scratch.len()
    }

    /// Appends the text of `part` to the scratch text (values already there stay in place).
    #[inline]
    pub fn append(&mut self, part: Val) {
        match part {
            Val::Line(x, y) => self.scratch.push_str(&self.line[x as usize..y as usize]),
            Val::Scratch(x, y) => {
                // Rare (a template over a value the mapping built); `extend_from_within`
                // is past the workspace's MSRV.
                let piece = self.scratch[x as usize..y as usize].to_owned();
                self.scratch.push_str(&piece);
            }
            Val::Static(s) => self.scratch.push_str(s),
        }
    }

    /// The scratch text from `start` (a [`Record::scratch_len`]) on, as a value.
    #[inline]
    pub fn scratch_from(&self, start: usize) -> Val {
        Val::Scratch(start as u32, self.scratch.len() as u32)
    }

    /// The value of field `key`.
    #[inline]
    pub fn get(&self, key: Key) -> Option<Val> {
        match self.at.get(usize::from(key.slot)) {
            Some(&i) if i > 0 => Some(self.fields[i as usize - 1].value),
            _ => None,
        }
    }

    /// The text of field `key`.
    #[inline]
    pub fn get_str(&self, key: Key) -> Option<&str> {
        self.get(key).map(|v| self.str(v))
    }

    /// True when field `key` is set.
    #[inline]
    pub fn has(&self, key: Key) -> bool {
        self.at.get(usize::from(key.slot)).is_some_and(|&i| i > 0)
    }

    /// The value of the field named `name` (a name of the mapping or one only the line knows).
    pub fn lookup_val(&self, name: &str) -> Option<Val> {
        let h = key_hash(name.as_bytes());
        match self.names.find(name.as_bytes(), h) {
            Some(slot) => self.get(self.names.keys[usize::from(slot)]),
            None => self
                .position_other(name.as_bytes(), h)
                .map(|i| self.fields[i].value),
        }
    }

    /// The text of the field named `name`.
    pub fn lookup(&self, name: &str) -> Option<&str> {
        self.lookup_val(name).map(|v| self.str(v))
    }

    /// Sets field `key` (replacing an earlier value in its place).
    #[inline]
    pub fn set(&mut self, key: Key, value: Val) {
        let s = usize::from(key.slot);
        match self.at[s] {
            0 => {
                self.fields.push(Field {
                    key: Val::Static(key.name),
                    value,
                    slot: key.slot,
                    hash: 0,
                });
                self.at[s] = self.fields.len() as u32;
            }
            i => self.fields[i as usize - 1].value = value,
        }
    }

    /// Sets field `key` to `s` (a span of the line when it lies there, else a copy).
    pub fn set_str(&mut self, key: Key, s: &str) {
        let v = self.val(s);
        self.set(key, v);
    }

    /// Sets the field whose name is the text of `key` (a key the line spells out), replacing
    /// an earlier value. `if_absent`: only when it is not there yet. Returns whether it was set.
    pub fn set_named(&mut self, key: Val, value: Val, if_absent: bool) -> bool {
        let (h, named) = {
            let k = self.bytes(key);
            let h = key_hash(k);
            (h, self.names.find(k, h))
        };
        match named {
            Some(slot) => {
                let key = self.names.keys[usize::from(slot)];
                if if_absent && self.has(key) {
                    return false;
                }
                self.set(key, value);
                true
            }
            None => self.put_other(h, key, value, if_absent),
        }
    }

    /// Sets the field whose key, one the mapping does not name (its [`Names::find_hashed`]
    /// found nothing), is the text of `key` with fingerprint `h`, replacing an earlier value.
    pub fn set_other(&mut self, h: u32, key: Val, value: Val) {
        self.put_other(h, key, value, false);
    }

    /// [`Record::set_other`] only when the key is not there yet; returns whether it was set.
    pub fn set_other_if_absent(&mut self, h: u32, key: Val, value: Val) -> bool {
        self.put_other(h, key, value, true)
    }

    /// [`Record::set_other`], or with `if_absent` only when the key is not there yet; returns
    /// whether it was set.
    fn put_other(&mut self, h: u32, key: Val, value: Val, if_absent: bool) -> bool {
        match self.position_other(self.bytes(key), h) {
            Some(_) if if_absent => false,
            Some(i) => {
                self.fields[i].value = value;
                true
            }
            None => {
                self.push_other(h, key, value);
                true
            }
        }
    }

    fn key_is(&self, i: usize, key: &[u8]) -> bool {
        let k = self.fields[i].key;
        !is_removed(k) && same_bytes(self.bytes(k), key)
    }

    /// Where the field with key `key` (fingerprint `h`), one the mapping does not name, is.
    fn position_other(&self, key: &[u8], h: u32) -> Option<usize> {
        if self.n_others == 0 {
            return None;
        }
        if self.n_others > INDEXED {
            return (0..self.fields.len()).find(|&i| {
                let f = &self.fields[i];
                f.slot == NO_SLOT && f.hash == h && self.key_is(i, key)
            });
        }
        let others = self.others.as_deref()?;
        let tag = tag_of(h);
        let mut slot = slot_of(h);
        loop {
            let at = others[slot];
            if at == 0 {
                return None;
            }
            if at >> 24 == tag {
                let i = (at & 0xff_ffff) as usize - 1;
                if self.fields[i].hash == h && self.key_is(i, key) {
                    return Some(i);
                }
            }
            slot = (slot + 1) % SLOTS;
        }
    }

    /// Appends a key the mapping does not name, known to be absent.
    fn push_other(&mut self, h: u32, key: Val, value: Val) {
        let others = self.others.get_or_insert_with(|| Box::new([0; SLOTS]));
        if self.n_others == 0 {
            others.fill(0);
        }
        let i = self.fields.len();
        self.fields.push(Field {
            key,
            value,
            slot: NO_SLOT,
            hash: h,
        });
        self.n_others += 1;
        if self.n_others <= INDEXED && i < 0xff_ffff {
            let mut slot = slot_of(h);
            while others[slot] != 0 {
                slot = (slot + 1) % SLOTS;
            }
            others[slot] = (tag_of(h) << 24) | (i as u32 + 1);
        }
    }

    /// Removes field `key`, returning its value. The field stays in place under a key no
    /// lookup matches, so the indexes need no rebuilding.
    pub fn remove(&mut self, key: Key) -> Option<Val> {
        let s = usize::from(key.slot);
        let i = std::mem::take(&mut self.at[s]);
        if i == 0 {
            return None;
        }
        let f = &mut self.fields[i as usize - 1];
        f.key = Val::Static(REMOVED);
        self.removed += 1;
        Some(f.value)
    }

    /// Every field (key, value, the key's number when the mapping names it), in the order set.
    pub fn fields(&self) -> impl Iterator<Item = (Val, Val, Option<u16>)> + '_ {
        self.fields
            .iter()
            .filter(|f| self.removed == 0 || !is_removed(f.key))
            .map(|f| (f.key, f.value, (f.slot != NO_SLOT).then_some(f.slot)))
    }

    /// Every field (key, value), in the order set.
    pub fn iter(&self) -> impl Iterator<Item = (Val, Val)> + '_ {
        self.fields().map(|(k, v, _)| (k, v))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len() - self.removed
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The [`Text`]s of the event made from this record's values: slices of `frame` (the
    /// line's bytes) for line spans, the constants themselves, and slices of one copy of the
    /// scratch text (made when first needed) for the rest, so no value costs an allocation.
    pub fn texts<'r>(&'r self, frame: &'r Bytes) -> Texts<'r, 'a> {
        Texts {
            rec: self,
            frame,
            scratch: std::cell::OnceCell::new(),
        }
    }
}

impl Drop for Record<'_> {
    fn drop(&mut self) {
        let scratch = std::mem::take(&mut self.scratch);
        let input_buf = std::mem::take(&mut self.input_buf);
        let captures = std::mem::take(&mut self.captures);
        let fields = std::mem::take(&mut self.fields);
        let at = std::mem::take(&mut self.at);
        let others = self.others.take();
        SPARE.with(|spare| {
            if let Ok(mut spare) = spare.try_borrow_mut() {
                *spare = (scratch, input_buf, captures, fields, at, others);
            }
        });
    }
}

/// See [`Record::texts`].
#[derive(Debug)]
pub struct Texts<'r, 'a> {
    rec: &'r Record<'a>,
    frame: &'r Bytes,
    scratch: std::cell::OnceCell<Text>,
}

impl Texts<'_, '_> {
    fn scratch(&self) -> &Text {
        self.scratch
            .get_or_init(|| Text::copy_from(&self.rec.scratch))
    }

    /// The whole of `v` as a [`Part`] of `unmapped`: a span of the line or of the scratch text
    /// (each registered as a base of `unmapped` when first used; `bases` remembers their
    /// indices), a constant as itself.
    #[inline(always)]
    pub fn whole(&self, unmapped: &mut Unmapped, bases: &mut [Option<u8>; 2], v: Val) -> Part {
        let (which, a, b) = match v {
            Val::Static(s) => return Part::Text(Text::from_static(s)),
            Val::Line(a, b) => (0, a, b),
            Val::Scratch(a, b) => (1, a, b),
        };
        match bases[which] {
            Some(base) => Part::Span { base, a, b },
            None => self.whole_first(unmapped, bases, which, v),
        }
    }

    /// [`Texts::whole`] for the first value of the line (`which` 0) or of the scratch text
    /// (1): registers it as a base.
    #[inline(never)]
    fn whole_first(
        &self,
        unmapped: &mut Unmapped,
        bases: &mut [Option<u8>; 2],
        which: usize,
        v: Val,
    ) -> Part {
        let text = match which {
            0 => Text::slice_of(self.frame, self.rec.line),
            _ => self.scratch().clone(),
        };
        bases[which] = unmapped.add_base(text);
        match (bases[which], v) {
            (Some(base), Val::Line(a, b) | Val::Scratch(a, b)) => Part::Span { base, a, b },
            _ => Part::Text(self.text(v, self.rec.str(v))),
        }
    }

    /// `part` (a part of the text of `v`) as a [`Text`].
    pub fn text(&self, v: Val, part: &str) -> Text {
        match v {
            Val::Line(..) => Text::slice_of(self.frame, part),
            Val::Static(s) => match span_in(s, part) {
                Some((a, b)) => Text::from_static(&s[a as usize..b as usize]),
                None => Text::copy_from(part),
            },
            Val::Scratch(..) => {
                let scratch = self.scratch();
                span_in(&self.rec.scratch, part)
                    .and_then(|(a, b)| scratch.range(a as usize, b as usize))
                    .unwrap_or_else(|| Text::copy_from(part))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_is_equality() {
        let words: Vec<Vec<u8>> = (0..=24)
            .flat_map(|n| {
                let base: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
                // The same length, one byte changed at each position.
                let mut out = vec![base.clone()];
                for i in 0..n {
                    let mut v = base.clone();
                    v[i] ^= 0x80;
                    out.push(v);
                }
                out
            })
            .collect();
        for a in &words {
            for b in &words {
                assert_eq!(same_bytes(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn trim_matches_str_trim() {
        for s in [
            "",
            " ",
            "a",
            " a ",
            "\ta b\n",
            "\u{a0}x\u{3000}",
            "x\u{a0}",
            "é",
            " é ",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }

    #[test]
    fn names_are_numbered_once_after_the_seeds() {
        let mut names = Names::default();
        assert_eq!(names.len(), SEEDS.len());
        assert_eq!(names.get("message"), Some(seed_key(0)));
        let a = names.key("a");
        assert_eq!(a.slot as usize, SEEDS.len());
        assert_eq!(names.key("a"), a, "the same name keeps its number");
        // Past the first table size: every name still found, with its own number.
        let keys: Vec<Key> = (0..200).map(|i| names.key(&format!("f{i}"))).collect();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(names.get(&format!("f{i}")), Some(*k));
        }
        assert!(names.get("nope").is_none());
        assert_eq!(names.target(a.slot).0, Target::Unmapped);
        let m = names.key("metrics.bytes_in");
        assert_eq!(names.target(m.slot).0, Target::Metric);
        assert_eq!(names.target(m.slot).1.map(|s| s.as_str()), Some("bytes_in"));
    }

    #[test]
    fn set_replaces_and_remove_takes() {
        let mut names = Names::default();
        let (a, b) = (names.key("a"), names.key("b"));
        let mut r = Record::new("", &names);
        r.set(a, Val::Static("1"));
        r.set(b, Val::Static("2"));
        r.set(a, Val::Static("3"));
        assert_eq!(r.get_str(a), Some("3"));
        assert_eq!(r.len(), 2);
        assert_eq!(r.remove(b), Some(Val::Static("2")));
        assert!(r.get(b).is_none() && !r.has(b));
        assert_eq!(r.remove(b), None, "removing twice takes nothing");
        assert_eq!(r.get_str(a), Some("3"));
        assert_eq!(r.iter().count(), 1, "a removed field is not listed");
        r.set(b, Val::Static("4"));
        assert_eq!(r.get_str(b), Some("4"), "a removed key can be set again");
        assert_eq!(r.len(), 2);
        let keys: Vec<&str> = r.iter().map(|(k, _)| r.str(k)).collect();
        assert_eq!(keys, ["a", "b"], "set again after removal, it comes last");
    }

    #[test]
    fn a_reset_record_is_a_new_record_over_the_new_line_and_names() {
        let mut first = Names::default();
        let (a, b) = (first.key("a"), first.key("b"));
        let mut second = Names::default();
        let (z, a2) = (second.key("z"), second.key("a"));
        let line = "user=alice port=22";
        let mut r = Record::new(line, &first);
        r.set(a, Val::Line(5, 10));
        r.set(b, Val::Static("2"));
        assert_eq!(r.remove(b), Some(Val::Static("2")));
        r.set(b, Val::Static("3"));
        let built = r.owned("scratch");
        r.set_named(Val::Line(11, 15), built, false);
        for (other, o) in [(0u32, "k0"), (1, "k1"), (2, "k2")] {
            r.set_other(other, Val::Static(o), Val::Static("v"));
        }
        let next = "x=1";
        r.reset(next, &second);
        let fresh = Record::new(next, &second);
        assert_eq!(r.line(), next);
        assert_eq!(r.len(), fresh.len());
        assert_eq!(r.iter().count(), 0, "nothing of the last line is listed");
        for k in [z, a2] {
            assert!(!r.has(k) && r.get(k).is_none());
        }
        for name in ["a", "b", "port", "k0", "k1", "k2", "z"] {
            assert_eq!(r.lookup(name), None, "{name}");
        }
        assert_eq!(r.scratch_len(), 0);
        // And it works like a new one: a key named by the new mapping, and one it does not.
        r.set(a2, Val::Line(2, 3));
        r.set_named(Val::Line(0, 1), Val::Static("y"), false);
        assert_eq!(r.get_str(a2), Some("1"));
        assert_eq!(r.lookup("x"), Some("y"));
        let fields: Vec<(&str, Option<u16>)> =
            r.fields().map(|(k, _, slot)| (r.str(k), slot)).collect();
        assert_eq!(fields, [("a", Some(a2.slot)), ("x", None)]);
    }

    #[test]
    fn keys_the_line_spells_take_the_mappings_number_when_it_names_them() {
        let mut names = Names::default();
        let port = names.key("port");
        let line = "user=alice port=22 port=23";
        let mut r = Record::new(line, &names);
        assert!(r.set_named(Val::Line(0, 4), Val::Line(5, 10), false));
        assert!(r.set_named(Val::Line(11, 15), Val::Line(16, 18), false));
        assert_eq!(
            r.get_str(port),
            Some("22"),
            "a named key is reachable by number"
        );
        assert!(r.set_named(Val::Line(19, 23), Val::Line(24, 26), false));
        assert_eq!(r.get_str(port), Some("23"), "and replaced in place");
        assert!(!r.set_named(Val::Line(0, 4), Val::Static("bob"), true));
        assert_eq!(r.lookup("user"), Some("alice"), "if_absent keeps the first");
        assert!(r.set_named(Val::Line(0, 4), Val::Static("bob"), false));
        assert_eq!(r.lookup("user"), Some("bob"));
        assert_eq!(r.len(), 2);
        let fields: Vec<(&str, Option<u16>)> =
            r.fields().map(|(k, _, slot)| (r.str(k), slot)).collect();
        assert_eq!(fields, [("user", None), ("port", Some(port.slot))]);
    }

    #[test]
    fn values_of_the_line_are_spans_and_others_are_copied() {
        let mut names = Names::default();
        let (user, other) = (names.key("user"), names.key("other"));
        let line = "user=alice port=22";
        let mut r = Record::new(line, &names);
        r.set_str(user, &line[5..10]);
        let elsewhere = String::from("bob");
        r.set_str(other, &elsewhere);
        assert_eq!(r.get(user), Some(Val::Line(5, 10)));
        assert!(matches!(r.get(other), Some(Val::Scratch(..))));
        assert_eq!(r.get_str(other), Some("bob"));
        let key = r.val(&line[11..15]);
        r.set_named(key, Val::Static("x"), false);
        assert_eq!(
            r.lookup("port"),
            Some("x"),
            "a key may be a span of the line"
        );
    }

    #[test]
    fn many_fields_stay_reachable_past_the_index() {
        let mut names = Names::default();
        let seven = names.key("field.7");
        for round in 0..2 {
            // The second round reuses the first record's buffers (and its stale index).
            let mut r = Record::new("", &names);
            let keys: Vec<String> = (0..300).map(|i| format!("field.{i}")).collect();
            for (i, k) in keys.iter().enumerate() {
                let key = r.owned(k);
                let value = r.owned(&(i + round).to_string());
                r.set_named(key, value, false);
            }
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(r.lookup(k), Some((i + round).to_string().as_str()), "{k}");
            }
            r.set(seven, Val::Static("x"));
            assert_eq!(r.lookup("field.7"), Some("x"));
            assert_eq!(r.len(), 300);
            let again = r.owned("field.250");
            assert!(!r.set_named(again, Val::Static("y"), true));
            assert_eq!(
                r.lookup("field.299"),
                Some((299 + round).to_string().as_str())
            );
            assert!(r.lookup("field.300").is_none());
        }
        let r = Record::new("", &names);
        assert!(r.lookup("field.1").is_none(), "a new record starts empty");
    }
}
