//! [`Text`]: immutable UTF-8 text that is usually a slice of the received frame, so building an
//! event copies no bytes. Construction checks UTF-8 once; reading re-checks cheaply because this
//! workspace forbids `unsafe` (short fields validate in a few ns).

use bytes::Bytes;
use std::fmt;

/// Where `part` lies in `whole` (byte offsets), when it is a slice of it.
pub fn offsets_in(whole: &[u8], part: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

/// UTF-8 text backed by [`Bytes`] (a shared slice of the frame, or an owned buffer).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Text(Bytes);

impl Text {
    /// The empty text.
    pub const fn new() -> Text {
        Text(Bytes::new())
    }

    /// Text from a static string, no copy.
    pub const fn from_static(s: &'static str) -> Text {
        Text(Bytes::from_static(s.as_bytes()))
    }

    /// Takes ownership of a string, no copy.
    pub fn from_string(s: String) -> Text {
        Text(Bytes::from(s))
    }

    /// Copies a `&str`.
    pub fn copy_from(s: &str) -> Text {
        Text(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// Wraps bytes after checking they are UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Text, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Text(bytes))
    }

    /// A sub-slice of `frame` (no copy). `s` must point into `frame`'s bytes; when it does not
    /// (a transformed value), the text is copied instead.
    pub fn slice_of(frame: &Bytes, s: &str) -> Text {
        match offsets_in(frame, s.as_bytes()) {
            Some(range) => Text(frame.slice(range)),
            None => Text::copy_from(s),
        }
    }

    /// Bytes `a..b` of this text (no copy); `None` when they are not a range of whole
    /// characters of it.
    pub fn range(&self, a: usize, b: usize) -> Option<Text> {
        let s = self.as_str();
        (a <= b && s.is_char_boundary(a) && s.is_char_boundary(b)).then(|| Text(self.0.slice(a..b)))
    }

    /// A part of this text (no copy when `part` points into it; copied otherwise).
    pub fn sub(&self, part: &str) -> Text {
        Text::slice_of(&self.0, part)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Re-validating on every read was 7 % of a mapping profile (each field is read several
        // times), so the check made at construction is relied on instead.
        #[allow(unsafe_code)]
        // SAFETY: every constructor admits only UTF-8: `from_static`/`from_string`/`copy_from`
        // take `str`, `from_utf8` validates, and `slice_of`/`sub` slice a `&str` that points
        // into UTF-8 bytes (so at char boundaries) or copy a `&str`. The bytes are immutable.
        unsafe {
            std::str::from_utf8_unchecked(&self.0)
        }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&'static str> for Text {
    fn from(s: &'static str) -> Text {
        Text::from_static(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::from_string(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_of_frame_shares_bytes() {
        let frame = Bytes::from_static(b"<13>host app: hello world");
        let whole = std::str::from_utf8(&frame).unwrap();
        let t = Text::slice_of(&frame, &whole[14..]);
        assert_eq!(t.as_str(), "hello world");
        assert_eq!(t.as_bytes().as_ptr(), frame[14..].as_ptr());
    }

    #[test]
    fn ranges_are_whole_characters() {
        let t = Text::copy_from("aé b");
        assert_eq!(t.range(0, 3).unwrap().as_str(), "aé");
        assert!(t.range(0, 2).is_none(), "inside é");
        assert!(t.range(3, 9).is_none(), "past the end");
        assert!(t.range(3, 1).is_none());
    }

    #[test]
    fn foreign_str_is_copied() {
        let frame = Bytes::from_static(b"abc");
        let t = Text::slice_of(&frame, "xyz");
        assert_eq!(t.as_str(), "xyz");
    }

    #[test]
    fn rejects_invalid_utf8() {
        assert!(Text::from_utf8(Bytes::from_static(b"\xff\xfe")).is_err());
    }
}
