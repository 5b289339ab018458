//! The record a mapping works on: named fields whose values are (usually zero-copy) slices of
//! the line. Small and linear: a line has a few dozen fields at most, and a scan over them is
//! cheaper than hashing.

use crate::schema::Text;
use smallvec::SmallVec;

/// Named fields of one line. Each key's hash is kept beside it, so a lookup compares bytes
/// only on a hash hit (a line of a key=value vendor has 40+ fields).
#[derive(Debug, Default, Clone)]
pub struct Record {
    fields: SmallVec<[(Text, Text); 24]>,
    hashes: SmallVec<[u32; 24]>,
}

/// A constant-time fingerprint of a key (length and its first and last two bytes); a hit is
/// confirmed by comparing the bytes, so collisions only cost a comparison.
fn key_hash(key: &[u8]) -> u32 {
    let n = key.len();
    let at = |i: usize| u32::from(key.get(i).copied().unwrap_or(0));
    (n as u32) << 24 ^ at(0) << 16 ^ at(1) << 8 ^ at(n.wrapping_sub(1)) ^ at(n.wrapping_sub(2)) << 4
}

impl Record {
    /// An empty record.
    pub fn new() -> Record {
        Record::default()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Text> {
        self.position(key.as_bytes()).map(|i| &self.fields[i].1)
    }

    fn position(&self, key: &[u8]) -> Option<usize> {
        let h = key_hash(key);
        self.hashes
            .iter()
            .enumerate()
            .filter(|(_, kh)| **kh == h)
            .map(|(i, _)| i)
            .find(|i| self.fields[*i].0.as_bytes() == key)
    }

    /// Sets `key` (replacing an earlier value).
    pub fn set(&mut self, key: Text, value: Text) {
        match self.position(key.as_bytes()) {
            Some(i) => self.fields[i].1 = value,
            None => {
                self.hashes.push(key_hash(key.as_bytes()));
                self.fields.push((key, value));
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Text> {
        let i = self.position(key.as_bytes())?;
        self.hashes.remove(i);
        Some(self.fields.remove(i).1)
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
    }
}
