//! Bounded capture of an action's output.

/// Keeps the first `limit` bytes written to it and counts the rest.
#[derive(Debug)]
pub(super) struct Capture {
    kept: Vec<u8>,
    limit: usize,
    dropped: u64,
}

impl Capture {
    pub(super) fn new(limit: usize) -> Capture {
        Capture {
            kept: Vec::with_capacity(limit.min(8192)),
            limit,
            dropped: 0,
        }
    }

    pub(super) fn push(&mut self, bytes: &[u8]) {
        let room = self.limit.saturating_sub(self.kept.len());
        let take = room.min(bytes.len());
        self.kept.extend_from_slice(&bytes[..take]);
        self.dropped += (bytes.len() - take) as u64;
    }

    /// The kept bytes as text (invalid UTF-8 replaced), then `[truncated N bytes]` on its own
    /// line when anything was dropped.
    pub(super) fn into_text(self) -> String {
        let mut text = String::from_utf8_lossy(&self.kept).into_owned();
        if self.dropped > 0 {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("[truncated {} bytes]", self.dropped));
        }
        text
    }
}

/// `headline`, then `rest` on the following lines when there is any.
pub(super) fn with_output(headline: String, rest: String) -> String {
    if rest.is_empty() {
        headline
    } else {
        format!("{headline}\n{rest}")
    }
}

/// An error and its chain of causes, `outer: inner: innermost`, without repeats.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_bytes_and_counts_the_rest() {
        let mut c = Capture::new(5);
        c.push(b"abc");
        c.push(b"defgh");
        c.push(b"ij");
        assert_eq!(c.into_text(), "abcde\n[truncated 5 bytes]");
    }

    #[test]
    fn output_within_the_limit_is_unchanged() {
        let mut c = Capture::new(6);
        c.push(b"x\n");
        c.push(b"y\n");
        assert_eq!(c.into_text(), "x\ny\n");
        let mut full = Capture::new(2);
        full.push(b"x\nyz");
        assert_eq!(full.into_text(), "x\n[truncated 2 bytes]");
    }

    #[test]
    fn a_cut_character_is_replaced_not_an_error() {
        let mut c = Capture::new(1);
        c.push("é".as_bytes());
        assert_eq!(c.into_text(), "\u{fffd}\n[truncated 1 bytes]");
    }

    #[test]
    fn headline_and_output() {
        assert_eq!(with_output("timed out".into(), String::new()), "timed out");
        assert_eq!(
            with_output("timed out".into(), "a\n".into()),
            "timed out\na\n"
        );
    }
}
