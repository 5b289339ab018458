//! The record a mapping works on: named fields whose values are (usually zero-copy) slices of
//! the line. Small and linear: a line has a few dozen fields at most, and a scan over them is
//! cheaper than hashing.

use crate::schema::Text;
use smallvec::SmallVec;

/// Named fields of one line.
#[derive(Debug, Default, Clone)]
pub struct Record {
    fields: SmallVec<[(Text, Text); 24]>,
}

impl Record {
    /// An empty record.
    pub fn new() -> Record {
        Record::default()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Text> {
        self.fields
            .iter()
            .find(|(k, _)| k.as_bytes() == key.as_bytes())
            .map(|(_, v)| v)
    }

    /// Sets `key` (replacing an earlier value).
    pub fn set(&mut self, key: Text, value: Text) {
        match self
            .fields
            .iter_mut()
            .find(|(k, _)| k.as_bytes() == key.as_bytes())
        {
            Some((_, v)) => *v = value,
            None => self.fields.push((key, value)),
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Text> {
        let i = self
            .fields
            .iter()
            .position(|(k, _)| k.as_bytes() == key.as_bytes())?;
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
