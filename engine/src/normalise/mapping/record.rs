//! The record a mapping works on: named fields, in the order set, whose values are (usually
//! zero-copy) slices of the line.

use crate::schema::Text;
use smallvec::SmallVec;

/// Named fields of one line, with a small open-addressing index over a constant-time key
/// fingerprint, so `get`/`set` cost the same with 3 fields or 60 (a key=value or JSON line has
/// dozens). Past [`INDEXED`] fields the index is abandoned and lookups scan the fingerprints.
#[derive(Debug, Clone)]
pub struct Record {
    fields: SmallVec<[(Text, Text); 24]>,
    hashes: SmallVec<[u32; 24]>,
    /// Slot -> 1 + position in `fields`; 0 is empty.
    index: [u8; SLOTS],
    overflow: bool,
}

const SLOTS: usize = 128;
const INDEXED: usize = SLOTS * 3 / 4;

impl Default for Record {
    fn default() -> Record {
        Record {
            fields: SmallVec::new(),
            hashes: SmallVec::new(),
            index: [0; SLOTS],
            overflow: false,
        }
    }
}

/// A constant-time fingerprint of a key (its length and first, second, middle and last two
/// bytes); a hit is confirmed by comparing the bytes, so collisions only cost a comparison.
fn key_hash(key: &[u8]) -> u32 {
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

fn slot_of(h: u32) -> usize {
    (h >> 25) as usize
}

impl Record {
    /// An empty record.
    pub fn new() -> Record {
        Record::default()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Text> {
        self.position(key.as_bytes(), key_hash(key.as_bytes()))
            .map(|i| &self.fields[i].1)
    }

    fn position(&self, key: &[u8], h: u32) -> Option<usize> {
        if self.overflow {
            return (0..self.fields.len())
                .find(|&i| self.hashes[i] == h && self.fields[i].0.as_bytes() == key);
        }
        let mut slot = slot_of(h);
        loop {
            let at = self.index[slot];
            if at == 0 {
                return None;
            }
            let i = usize::from(at - 1);
            if self.hashes[i] == h && self.fields[i].0.as_bytes() == key {
                return Some(i);
            }
            slot = (slot + 1) % SLOTS;
        }
    }

    fn index_insert(&mut self, h: u32, i: usize) {
        let mut slot = slot_of(h);
        while self.index[slot] != 0 {
            slot = (slot + 1) % SLOTS;
        }
        self.index[slot] = (i + 1) as u8;
    }

    /// Sets `key` (replacing an earlier value).
    pub fn set(&mut self, key: Text, value: Text) {
        let h = key_hash(key.as_bytes());
        match self.position(key.as_bytes(), h) {
            Some(i) => self.fields[i].1 = value,
            None => self.push_new(h, key, value),
        }
    }

    /// Appends a key known to be absent.
    fn push_new(&mut self, h: u32, key: Text, value: Text) {
        let i = self.fields.len();
        self.hashes.push(h);
        self.fields.push((key, value));
        if !self.overflow {
            if i < INDEXED {
                self.index_insert(h, i);
            } else {
                self.overflow = true;
            }
        }
    }

    /// Sets `key` only when it is not there yet (one lookup); `key` is made only then.
    /// Returns whether it was set.
    pub fn set_if_absent(
        &mut self,
        key: &str,
        make_key: impl FnOnce() -> Text,
        value: Text,
    ) -> bool {
        let h = key_hash(key.as_bytes());
        if self.position(key.as_bytes(), h).is_some() {
            return false;
        }
        self.push_new(h, make_key(), value);
        true
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Text> {
        let i = self.position(key.as_bytes(), key_hash(key.as_bytes()))?;
        self.hashes.remove(i);
        let value = self.fields.remove(i).1;
        if !self.overflow {
            // Positions after `i` moved: rebuild the index (removal is rare: rename and drop).
            self.index = [0; SLOTS];
            for j in 0..self.hashes.len() {
                self.index_insert(self.hashes[j], j);
            }
        }
        Some(value)
    }

    /// Every field, in the order set.
    pub fn iter(&self) -> impl Iterator<Item = &(Text, Text)> {
        self.fields.iter()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_and_remove_takes() {
        let mut r = Record::new();
        r.set(Text::from_static("a"), Text::from_static("1"));
        r.set(Text::from_static("b"), Text::from_static("2"));
        r.set(Text::from_static("a"), Text::from_static("3"));
        assert_eq!(r.get("a").unwrap().as_str(), "3");
        assert_eq!(r.len(), 2);
        assert_eq!(r.remove("b").unwrap().as_str(), "2");
        assert!(r.get("b").is_none());
        assert_eq!(
            r.get("a").unwrap().as_str(),
            "3",
            "the index is rebuilt after a removal"
        );
    }

    #[test]
    fn many_fields_stay_reachable_past_the_index() {
        let mut r = Record::new();
        let keys: Vec<String> = (0..300).map(|i| format!("field.{i}")).collect();
        for (i, k) in keys.iter().enumerate() {
            r.set(Text::copy_from(k), Text::copy_from(&i.to_string()));
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(r.get(k).unwrap().as_str(), i.to_string(), "{k}");
        }
        r.set(Text::copy_from("field.7"), Text::from_static("x"));
        assert_eq!(r.get("field.7").unwrap().as_str(), "x");
        assert_eq!(r.len(), 300);
        assert_eq!(r.remove("field.250").unwrap().as_str(), "250");
        assert!(r.get("field.250").is_none());
        assert_eq!(r.get("field.299").unwrap().as_str(), "299");
    }
}
