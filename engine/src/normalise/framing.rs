//! Stream framing for syslog over TCP and files (RFC 6587): splits a byte stream into frames.
//!
//! A connector appends each read to one [`BytesMut`] per stream and calls
//! [`SyslogFramer::decode`]; every complete frame moves out as a zero-copy [`Frame`] (a frozen
//! slice of the buffer) and a partial frame stays behind for the next read. At end of stream
//! [`SyslogFramer::finish`] emits the last line that had no delimiter.
//!
//! - Newline framing (RFC 6587 3.4.2, "non-transparent"): LF ends a frame, a trailing CR is
//!   dropped, NUL also ends a frame (some senders use it), empty frames are skipped.
//! - Octet counting (RFC 6587 3.4.1): `MSG-LEN SP SYSLOG-MSG`, the length in decimal without a
//!   leading zero. A malformed count in explicit octet-counting mode falls back to newline
//!   framing for that one frame, so the stream never stalls.
//! - [`Framing::Auto`] decides per frame: digits, SP, then `<` is octet counting, anything else
//!   is newline framing.
//!
//! A frame longer than the maximum is emitted once, cut to the maximum and marked `truncated`
//! (the normaliser dead-letters it as oversized); the rest of it is discarded, across later reads
//! too. The buffer therefore never holds more than about the maximum plus one read.

use super::Frame;
use bytes::{Buf, BytesMut};

/// How a stream delimits its frames (the `framing` setting of a TCP or file source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Framing {
    /// Decide per frame: octet counting when the frame starts with `digits SP <`, newline
    /// framing otherwise.
    #[default]
    Auto,
    /// Frames end at LF (or NUL); a trailing CR is dropped.
    Newline,
    /// RFC 6587 octet counting (`MSG-LEN SP SYSLOG-MSG`), falling back to newline framing for a
    /// frame whose count is malformed.
    OctetCounting,
}

/// Most digits an octet count may have (9,999,999,999 bytes is already absurd for a frame).
const MAX_COUNT_DIGITS: usize = 10;

/// What the framer is still throwing away from an oversized frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Discard {
    /// Nothing: the buffer starts at a frame boundary.
    Nothing,
    /// The rest of an oversized newline frame, up to and including its delimiter.
    ToDelimiter,
    /// The remaining declared bytes of an oversized octet-counted frame.
    Bytes(u64),
}

/// How the frame at the start of the buffer is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Head {
    /// Octet counted: the header (`digits SP`) is `header` bytes, the message `len` bytes.
    Counted { header: usize, len: u64 },
    /// Newline delimited.
    Line,
    /// Not enough bytes yet to tell.
    NeedMore,
}

/// Splits one byte stream into syslog frames. Keeps only the state of the frame in progress
/// (what to discard, how far the buffer was already searched), so one framer serves one stream.
#[derive(Debug)]
pub struct SyslogFramer {
    framing: Framing,
    max_line: usize,
    discard: Discard,
    /// Bytes at the start of the buffer already searched for a delimiter without finding one,
    /// so a long line arriving in many reads is scanned once.
    scanned: usize,
    truncated: u64,
}

impl SyslogFramer {
    /// A framer for `framing` that cuts frames longer than `max_line` bytes (at least 1).
    pub fn new(framing: Framing, max_line: usize) -> Self {
        SyslogFramer {
            framing,
            max_line: max_line.max(1),
            discard: Discard::Nothing,
            scanned: 0,
            truncated: 0,
        }
    }

    /// Moves every complete frame in `buf` to `out` (as `Frame::line(...)` with the truncated
    /// flag), leaving a partial frame in `buf`. `buf` must be the same stream's buffer on every
    /// call, only ever appended to between calls.
    pub fn decode(&mut self, buf: &mut BytesMut, out: &mut Vec<Frame>) {
        self.scanned = self.scanned.min(buf.len());
        loop {
            if !self.skip_discarded(buf) || buf.is_empty() {
                return;
            }
            let progressed = match self.head(buf) {
                Head::NeedMore => false,
                Head::Counted { header, len } => self.counted_frame(buf, out, header, len),
                Head::Line => self.line_frame(buf, out),
            };
            if !progressed {
                return;
            }
        }
    }

    /// End of stream: emits the remaining partial frame (a last line without a delimiter), if it
    /// is not empty, and resets the framer for a new stream. The remainder of an octet-counted
    /// frame cut short by the end of stream is emitted without its count header.
    pub fn finish(&mut self, buf: &mut BytesMut, out: &mut Vec<Frame>) {
        self.decode(buf, out);
        if self.discard == Discard::Nothing && !buf.is_empty() {
            if let Head::Counted { header, .. } = self.head(buf) {
                buf.advance(header);
            }
            let len = buf.len();
            let cr = usize::from(buf.ends_with(b"\r"));
            if len - cr > self.max_line {
                let keep = self.max_line;
                self.emit_truncated(buf, out, keep, len - keep);
            } else {
                self.emit(buf, out, len, cr);
            }
        }
        buf.clear();
        self.discard = Discard::Nothing;
        self.scanned = 0;
    }

    /// How many frames were truncated so far (`tocsin_frames_truncated_total`).
    pub fn truncated(&self) -> u64 {
        self.truncated
    }

    /// Drops what remains of an oversized frame. Returns false when the whole buffer was
    /// discarded and the frame is still not over.
    fn skip_discarded(&mut self, buf: &mut BytesMut) -> bool {
        match self.discard {
            Discard::Nothing => true,
            Discard::ToDelimiter => match memchr::memchr2(b'\n', 0, buf) {
                Some(i) => {
                    buf.advance(i + 1);
                    self.discard = Discard::Nothing;
                    true
                }
                None => {
                    buf.clear();
                    false
                }
            },
            Discard::Bytes(left) => {
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                buf.advance(n);
                let left = left - n as u64;
                if left == 0 {
                    self.discard = Discard::Nothing;
                    true
                } else {
                    self.discard = Discard::Bytes(left);
                    false
                }
            }
        }
    }

    /// Tells how the frame at the start of `buf` (non-empty) is delimited.
    fn head(&self, buf: &[u8]) -> Head {
        if self.framing == Framing::Newline || self.scanned > 0 {
            return Head::Line;
        }
        // MSG-LEN = NONZERO-DIGIT *DIGIT
        if !matches!(buf[0], b'1'..=b'9') {
            return Head::Line;
        }
        let digits = buf
            .iter()
            .take(MAX_COUNT_DIGITS + 1)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits > MAX_COUNT_DIGITS {
            return Head::Line;
        }
        let Some(&after) = buf.get(digits) else {
            return Head::NeedMore;
        };
        if after != b' ' {
            return Head::Line;
        }
        if self.framing == Framing::Auto {
            match buf.get(digits + 1) {
                None => return Head::NeedMore,
                Some(b'<') => {}
                Some(_) => return Head::Line,
            }
        }
        let len = buf[..digits]
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        Head::Counted {
            header: digits + 1,
            len,
        }
    }

    /// Emits the octet-counted frame at the start of `buf` if enough of it has arrived.
    fn counted_frame(
        &mut self,
        buf: &mut BytesMut,
        out: &mut Vec<Frame>,
        header: usize,
        len: u64,
    ) -> bool {
        let available = (buf.len() - header) as u64;
        if len > self.max_line as u64 {
            if available < self.max_line as u64 {
                return false;
            }
            buf.advance(header);
            let keep = self.max_line;
            self.emit_truncated(buf, out, keep, 0);
            self.discard = Discard::Bytes(len - keep as u64);
            return true;
        }
        if available < len {
            return false;
        }
        buf.advance(header);
        // len <= max_line, so it fits in usize.
        let len = len as usize;
        let trailing = buf[..len]
            .iter()
            .rev()
            .take_while(|b| matches!(b, b'\n' | b'\r' | 0))
            .count();
        self.emit(buf, out, len, trailing);
        true
    }

    /// Emits the newline-delimited frame at the start of `buf`, or the truncated start of an
    /// oversized one. Returns false when more bytes are needed.
    fn line_frame(&mut self, buf: &mut BytesMut, out: &mut Vec<Frame>) -> bool {
        match memchr::memchr2(b'\n', 0, &buf[self.scanned..]) {
            Some(i) => {
                let end = self.scanned + i;
                self.scanned = 0;
                let cr = usize::from(end > 0 && buf[end - 1] == b'\r');
                let content = end - cr;
                if content > self.max_line {
                    let keep = self.max_line;
                    self.emit_truncated(buf, out, keep, end + 1 - keep);
                } else {
                    self.emit(buf, out, end + 1, cr + 1);
                }
                true
            }
            // The content may still lose one trailing CR, hence `+ 1`.
            None if buf.len() > self.max_line + 1 => {
                self.scanned = 0;
                let keep = self.max_line;
                let rest = buf.len() - keep;
                self.emit_truncated(buf, out, keep, rest);
                self.discard = Discard::ToDelimiter;
                true
            }
            None => {
                self.scanned = buf.len();
                false
            }
        }
    }

    /// Moves `take` bytes out of `buf`, drops the last `strip` of them (delimiters), and emits
    /// the rest as a frame unless it is empty.
    fn emit(&mut self, buf: &mut BytesMut, out: &mut Vec<Frame>, take: usize, strip: usize) {
        let mut data = buf.split_to(take);
        data.truncate(take - strip);
        if !data.is_empty() {
            out.push(Frame::line(data.freeze()));
        }
    }

    /// Emits the first `keep` bytes of `buf` as a truncated frame and discards `drop` more.
    fn emit_truncated(
        &mut self,
        buf: &mut BytesMut,
        out: &mut Vec<Frame>,
        keep: usize,
        drop: usize,
    ) {
        let data = buf.split_to(keep).freeze();
        buf.advance(drop);
        self.truncated += 1;
        out.push(Frame {
            truncated: true,
            ..Frame::line(data)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(framing: Framing, max: usize, chunks: &[&[u8]], finish: bool) -> Vec<(Vec<u8>, bool)> {
        let mut f = SyslogFramer::new(framing, max);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for c in chunks {
            buf.extend_from_slice(c);
            f.decode(&mut buf, &mut out);
        }
        if finish {
            f.finish(&mut buf, &mut out);
        }
        pairs(out)
    }

    fn pairs(out: Vec<Frame>) -> Vec<(Vec<u8>, bool)> {
        out.into_iter()
            .map(|fr| (fr.data.to_vec(), fr.truncated))
            .collect()
    }

    fn lines(v: &[(Vec<u8>, bool)]) -> Vec<String> {
        v.iter()
            .map(|(d, t)| {
                format!(
                    "{}{}",
                    String::from_utf8_lossy(d),
                    if *t { "~" } else { "" }
                )
            })
            .collect()
    }

    #[test]
    fn newline_framing_strips_cr_skips_empty_and_accepts_nul() {
        let out = run(
            Framing::Newline,
            100,
            &[b"<34>one\r\n\n\r\n<34>two\0<34>three\npartial"],
            false,
        );
        assert_eq!(lines(&out), ["<34>one", "<34>two", "<34>three"]);
    }

    #[test]
    fn finish_emits_trailing_line_once() {
        let mut f = SyslogFramer::new(Framing::Auto, 100);
        let mut buf = BytesMut::from(&b"a\nlast line\r"[..]);
        let mut out = Vec::new();
        f.decode(&mut buf, &mut out);
        assert_eq!(out.len(), 1);
        f.finish(&mut buf, &mut out);
        assert_eq!(&out[1].data[..], b"last line");
        assert!(buf.is_empty());
        f.finish(&mut buf, &mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn octet_counting_frames_may_hold_newlines() {
        let input = b"10 <34>a\nb\nc\n13 <13>hello you5 <1>x\n";
        let out = run(Framing::OctetCounting, 100, &[input], false);
        // The first frame's trailing LF (counted) is stripped, inner LFs are kept.
        assert_eq!(lines(&out), ["<34>a\nb\nc", "<13>hello you", "<1>x"]);
    }

    #[test]
    fn malformed_count_falls_back_to_newline_for_that_frame() {
        let input = b"012 <34>zero\nabc def\n9 <13>okay\n5 <13>\n";
        let out = run(Framing::OctetCounting, 100, &[input], true);
        assert_eq!(lines(&out), ["012 <34>zero", "abc def", "<13>okay", "<13>"]);
    }

    #[test]
    fn auto_mode_mixes_framings_per_frame() {
        let input = b"<34>plain line\n9 <13>octet<34>next\n123 not counted\n6 <1>abc";
        let out = run(Framing::Auto, 100, &[input], false);
        assert_eq!(
            lines(&out),
            [
                "<34>plain line",
                "<13>octet",
                "<34>next",
                "123 not counted",
                "<1>abc"
            ]
        );
    }

    #[test]
    fn every_split_position_gives_the_same_frames() {
        let input: &[u8] =
            b"<34>one\r\n12 <13>counted\n<13>two\0\n6 <1>abc<2>three with \r inside\r\n";
        for framing in [Framing::Auto, Framing::OctetCounting, Framing::Newline] {
            let whole = run(framing, 64, &[input], true);
            for i in 0..=input.len() {
                for j in i..=input.len() {
                    let parts = [&input[..i], &input[i..j], &input[j..]];
                    assert_eq!(run(framing, 64, &parts, true), whole, "{framing:?} {i} {j}");
                }
            }
        }
        assert_eq!(
            lines(&run(Framing::Auto, 64, &[input], true)),
            [
                "<34>one",
                "<13>counted",
                "<13>two",
                "<1>abc",
                "<2>three with \r inside"
            ]
        );
    }

    #[test]
    fn oversize_newline_frame_is_cut_once_and_the_next_is_intact() {
        let long = [b'x'; 50];
        let mut input = long.to_vec();
        input.extend_from_slice(b"\n<13>next\n");
        let whole = run(Framing::Newline, 10, &[&input], true);
        assert_eq!(lines(&whole), ["xxxxxxxxxx~", "<13>next"]);
        // The same when the long line arrives in small reads and the buffer stays bounded.
        let mut f = SyslogFramer::new(Framing::Newline, 10);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for c in input.chunks(3) {
            buf.extend_from_slice(c);
            f.decode(&mut buf, &mut out);
            assert!(buf.len() <= 12, "buffer grew to {}", buf.len());
        }
        f.finish(&mut buf, &mut out);
        assert_eq!(lines(&pairs(out)), lines(&whole));
        assert_eq!(f.truncated(), 1);
        // Exactly max bytes plus CRLF is not oversize.
        let out = run(Framing::Newline, 10, &[b"0123456789\r\n"], false);
        assert_eq!(lines(&out), ["0123456789"]);
    }

    #[test]
    fn oversize_octet_frame_skips_the_declared_rest_across_reads() {
        let mut input = b"30 <13>".to_vec();
        input.extend_from_slice(&[b'a'; 26]);
        input.extend_from_slice(b"5 <1>ok");
        for i in 0..=input.len() {
            let out = run(
                Framing::OctetCounting,
                8,
                &[&input[..i], &input[i..]],
                false,
            );
            assert_eq!(lines(&out), ["<13>aaaa~", "<1>ok"], "split at {i}");
        }
        let mut f = SyslogFramer::new(Framing::Auto, 8);
        let mut buf = BytesMut::from(&input[..]);
        let mut out = Vec::new();
        f.decode(&mut buf, &mut out);
        assert_eq!(f.truncated(), 1);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn a_line_that_never_ends_keeps_the_buffer_bounded() {
        let mut f = SyslogFramer::new(Framing::Auto, 100);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for _ in 0..1000 {
            buf.extend_from_slice(&[b'y'; 64]);
            f.decode(&mut buf, &mut out);
            assert!(buf.len() <= 100 + 64);
        }
        assert_eq!(out.len(), 1);
        assert!(out[0].truncated);
        buf.extend_from_slice(b"tail\nnext\n");
        f.decode(&mut buf, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(&out[1].data[..], b"next");
    }

    #[test]
    fn frames_share_the_read_buffer() {
        let mut f = SyslogFramer::new(Framing::Newline, 100);
        let mut buf = BytesMut::from(&b"abc\ndef\n"[..]);
        let start = buf.as_ptr() as usize;
        let mut out = Vec::new();
        f.decode(&mut buf, &mut out);
        assert_eq!(out[1].data.as_ptr() as usize, start + 4);
    }

    fn line_strategy() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(b'a'), Just(b' '), Just(b'\r'), Just(b'<'), Just(b'7')],
            0..40,
        )
    }

    proptest! {
        #[test]
        fn newline_lines_come_out_once_in_order(
            raw in proptest::collection::vec(line_strategy(), 0..20),
            cuts in proptest::collection::vec(0usize..2000, 0..8),
        ) {
            const MAX: usize = 24;
            let mut input = Vec::new();
            for l in &raw {
                input.extend_from_slice(l);
                input.push(b'\n');
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (input.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut at = 0;
            for c in cuts {
                chunks.push(&input[at..c]);
                at = c;
            }
            chunks.push(&input[at..]);
            let got = run(Framing::Newline, MAX, &chunks, true);
            let want: Vec<(Vec<u8>, bool)> = raw
                .iter()
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                .filter(|l| !l.is_empty())
                .map(|l| if l.len() > MAX { (l[..MAX].to_vec(), true) } else { (l.to_vec(), false) })
                .collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn arbitrary_chunks_never_panic_and_stay_bounded(
            chunks in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![Just(b'1'), Just(b'0'), Just(b' '), Just(b'<'), Just(b'\n'),
                                Just(0u8), Just(b'\r'), any::<u8>()],
                    0..64),
                0..30),
            mode in 0u8..3,
            max in 1usize..48,
        ) {
            let framing = [Framing::Auto, Framing::Newline, Framing::OctetCounting][mode as usize];
            let mut f = SyslogFramer::new(framing, max);
            let mut buf = BytesMut::new();
            let mut out = Vec::new();
            for c in &chunks {
                buf.extend_from_slice(c);
                f.decode(&mut buf, &mut out);
                prop_assert!(buf.len() <= max + MAX_COUNT_DIGITS + 1);
            }
            f.finish(&mut buf, &mut out);
            for fr in &out {
                prop_assert!(!fr.data.is_empty());
                prop_assert!(fr.data.len() <= max);
            }
        }
    }
}
