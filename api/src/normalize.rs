//! `tocsin normalize`: raw lines in, exactly one JSON event per input line out, in order, with
//! the same normaliser as the live pipeline. A line that cannot be normalised still yields one
//! line: a Base Event holding the raw text (lossily decoded) and the error under `unmapped`
//! (`tocsin.parse_error`, `tocsin.error`), so line N of the output always answers line N of the
//! input.

use bytes::{Bytes, BytesMut};
use std::io::{BufWriter, IoSlice, Read, Write};
use tocsin_engine::normalise::{Frame, FrameMeta, Normaliser};
use tocsin_engine::schema::{json, Event, Symbol, Text};

const CHUNK: usize = 1 << 20;

/// Counts of one run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NormalizeStats {
    /// Lines read.
    pub lines: u64,
    /// Lines that failed to normalise (still written, with the error).
    pub errors: u64,
}

/// Normalises every line of `input` into `out`.
pub fn normalize_stream(
    normaliser: &Normaliser,
    vendor: Option<Symbol>,
    input: &mut dyn Read,
    out: &mut dyn Write,
) -> std::io::Result<NormalizeStats> {
    let mut stats = NormalizeStats::default();
    let meta = FrameMeta {
        source: Symbol::intern("normalize"),
        received_ns: tocsin_engine::clock::now_ns(),
        peer: None,
        vendor,
    };
    let max = normaliser.max_line_bytes();
    // The read buffer: the partial line left by the last chunk, then up to a chunk read after
    // it. It is zeroed once and kept at its full length: each batch freezes it into the
    // `Bytes` the frames share (no copy), and once the batch's frames are dropped it comes back
    // as the same allocation, its bytes still initialised, so no read has to zero a fresh
    // megabyte first (as resizing a `BytesMut` before each read did).
    let mut buf = BytesMut::zeroed(2 * CHUNK);
    // Bytes `..filled` of `buf` hold the partial line left over.
    let mut filled = 0;
    // One chunk's lines are normalised as one batch (grouped by vendor inside, so results come
    // back out of order): each result is written to `batch_out` and its span noted, and the
    // spans are then written in input order. Room for a typical batch's output up front: grown
    // from empty it took a dozen reallocations, each copying what was written so far.
    let mut frames: Vec<Frame> = Vec::new();
    let mut wholes: Vec<(usize, Bytes)> = Vec::new();
    let mut batch_out: Vec<u8> = Vec::with_capacity(4 * CHUNK);
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut eof = false;
    while !eof {
        if buf.len() - filled < CHUNK {
            // A partial line longer than the buffer's spare room (rare): grow it.
            buf.resize(filled + CHUNK, 0);
        }
        let n = loop {
            match input.read(&mut buf[filled..filled + CHUNK]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                read => break read?,
            }
        };
        let end = filled + n;
        eof = n == 0;
        // The frames share the buffer (one reference count up and down per line).
        let chunk = buf.freeze();
        let mut from = 0;
        loop {
            let mut line = match memchr::memchr(b'\n', &chunk[from..end]) {
                Some(i) => {
                    let line = chunk.slice(from..from + i);
                    from += i + 1;
                    line
                }
                None if eof && from < end => {
                    let line = chunk.slice(from..end);
                    from = end;
                    line
                }
                None => break,
            };
            strip_cr(&mut line);
            // An oversized line keeps its whole text for the error event.
            if line.len() > max {
                frames.push(oversized(line.slice(..max)));
                wholes.push((frames.len() - 1, line));
            } else {
                frames.push(Frame::line(line));
            }
        }
        if !frames.is_empty() {
            stats.lines += frames.len() as u64;
            batch_out.clear();
            spans.clear();
            spans.resize(frames.len(), (0, 0));
            // Lent: each event is written out where the batch built it, and its room reused
            // for the next line.
            normaliser.normalise_batch_lent(&frames, &meta, |i, result| {
                let start = batch_out.len();
                match result {
                    Ok(event) => json::write_event(event, &mut batch_out),
                    Err(e) => {
                        stats.errors += 1;
                        let raw = wholes
                            .iter()
                            .find(|(w, _)| *w == i)
                            .map_or(&frames[i].data, |(_, whole)| whole);
                        json::write_event(
                            &error_event(raw, &meta, e.reason(), &e.to_string()),
                            &mut batch_out,
                        );
                    }
                }
                batch_out.push(b'\n');
                spans[i] = (start, batch_out.len());
            });
            write_spans(out, &batch_out, &spans)?;
            // The frames hold the chunk's bytes: once they are dropped the buffer is whole again.
            frames.clear();
            wholes.clear();
        }
        buf = reclaim(chunk, from..end);
        filled = end - from;
    }
    out.flush()?;
    Ok(stats)
}

/// Writes `batch[from..to]` for each span in order, handing the writer the spans themselves
/// (one vectored write: a buffered writer passes one larger than its buffer straight through
/// to the file, which takes up to 1024 slices a call) rather than copying each into its
/// buffer first.
fn write_spans(out: &mut dyn Write, batch: &[u8], spans: &[(usize, usize)]) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = spans
        .iter()
        .map(|&(from, to)| IoSlice::new(&batch[from..to]))
        .collect();
    let mut left: &mut [IoSlice<'_>] = &mut slices;
    while !left.is_empty() {
        match out.write_vectored(left) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WriteZero,
                    "failed to write whole buffer",
                ))
            }
            Ok(n) => IoSlice::advance_slices(&mut left, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The read buffer back from the batch's `chunk` (its frames dropped), with bytes `rest` of
/// it (the partial line) moved to the front; its whole length is kept.
fn reclaim(chunk: Bytes, rest: std::ops::Range<usize>) -> BytesMut {
    match chunk.try_into_mut() {
        Ok(mut buf) => {
            buf.copy_within(rest, 0);
            buf
        }
        Err(shared) => {
            // Something still holds part of the chunk: a fresh buffer, and the chunk's bytes
            // are left to their holders.
            let mut fresh = BytesMut::zeroed(shared.len().max(2 * CHUNK));
            fresh[..rest.len()].copy_from_slice(&shared[rest]);
            fresh
        }
    }
}

fn strip_cr(line: &mut Bytes) {
    if line.last() == Some(&b'\r') {
        line.truncate(line.len() - 1);
    }
}

/// The first `max` bytes of a longer line.
fn oversized(data: Bytes) -> Frame {
    Frame {
        truncated: true,
        ..Frame::line(data)
    }
}

fn error_event(raw: &[u8], meta: &FrameMeta, reason: &'static str, error: &str) -> Event {
    let mut event = Event {
        time: (meta.received_ns / 1_000_000) as i64,
        received_ns: meta.received_ns,
        message: Text::from_string(String::from_utf8_lossy(raw).into_owned()),
        source: Some(meta.source),
        ..Event::default()
    };
    event.unmapped.push((
        Text::from_static("tocsin.parse_error"),
        Text::from_static(reason),
    ));
    event
        .unmapped
        .push((Text::from_static("tocsin.error"), Text::copy_from(error)));
    event
}

/// Runs `tocsin normalize` over files (or stdin when none), writing to stdout.
pub fn run(
    normaliser: &Normaliser,
    vendor: Option<Symbol>,
    files: &[std::path::PathBuf],
) -> anyhow::Result<NormalizeStats> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut total = NormalizeStats::default();
    if files.is_empty() {
        let stats = normalize_stream(normaliser, vendor, &mut std::io::stdin().lock(), &mut out)?;
        total.lines += stats.lines;
        total.errors += stats.errors;
    }
    for path in files {
        let mut f =
            std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let stats = normalize_stream(normaliser, vendor, &mut f, &mut out)?;
        total.lines += stats.lines;
        total.errors += stats.errors;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_output_line_per_input_line_including_bad_ones() {
        let input =
            b"<13>Oct 11 22:14:15 host app: hello\n\nbad \xff byte\r\nlast line without newline";
        let mut out = Vec::new();
        let stats =
            normalize_stream(&Normaliser::new(1024), None, &mut &input[..], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(stats.lines, 4);
        assert_eq!(lines.len(), 4);
        for l in &lines {
            serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
        let bad: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
        assert_eq!(bad["unmapped"]["tocsin.parse_error"], "not_utf8");
        let last: serde_json::Value = serde_json::from_str(lines[3]).unwrap();
        assert_eq!(last["message"], "last line without newline");
    }

    #[test]
    fn crs_newlines_and_chunk_boundaries() {
        // Lines that straddle the chunk boundary, a lone CR, a CR not at the end, CRLF
        // everywhere, and empty lines.
        let mut input = Vec::new();
        let mut want = Vec::new();
        for i in 0..2 * CHUNK / 1000 + 3 {
            let text = format!(
                "<13>Oct 11 22:14:15 host app: line {i} y{}",
                "x".repeat(i % 1200)
            );
            input.extend_from_slice(text.as_bytes());
            input.extend_from_slice(if i % 2 == 0 { b"\r\n" } else { b"\n" });
            want.push(format!("line {i} y{}", "x".repeat(i % 1200)));
        }
        input.extend_from_slice(b"<13>Oct 11 22:14:15 host app: mid\rcr\n\r\n\r");
        let mut out = Vec::new();
        let stats =
            normalize_stream(&Normaliser::new(4096), None, &mut &input[..], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let events: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(stats.lines as usize, want.len() + 3);
        assert_eq!(events.len(), want.len() + 3);
        for (ev, want) in events.iter().zip(&want) {
            assert_eq!(ev["message"], want.as_str());
        }
        let n = want.len();
        assert_eq!(events[n]["message"], "mid\rcr");
        // "\r" alone is an empty line, twice (the last without a newline).
        assert_eq!(events[n + 1]["unmapped"]["tocsin.parse_error"], "empty");
        assert_eq!(events[n + 2]["unmapped"]["tocsin.parse_error"], "empty");
        assert_eq!(stats.errors, 2);
    }

    #[test]
    fn an_oversized_line_reports_its_whole_text() {
        let long = format!("{}é tail", "a".repeat(70));
        let input = format!("{long}\r\nshort\n");
        let mut out = Vec::new();
        normalize_stream(&Normaliser::new(64), None, &mut input.as_bytes(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["message"], long.as_str());
        // Exactly the maximum is not oversized.
        let input = format!("{}\n", "b".repeat(64));
        let mut out = Vec::new();
        let stats =
            normalize_stream(&Normaliser::new(64), None, &mut input.as_bytes(), &mut out).unwrap();
        assert_eq!(stats.errors, 0);
    }

    #[test]
    fn oversized_lines_are_reported_not_dropped() {
        let mut input = vec![b'a'; 100];
        input.extend_from_slice(b"\nshort\n");
        let mut out = Vec::new();
        let stats =
            normalize_stream(&Normaliser::new(64), None, &mut &input[..], &mut out).unwrap();
        assert_eq!(
            stats,
            NormalizeStats {
                lines: 2,
                errors: 1
            }
        );
        let text = String::from_utf8(out).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["unmapped"]["tocsin.parse_error"], "oversized");
    }

    /// Reads at most `max` bytes a call (and reports an interruption before each read).
    struct Trickle<'a> {
        data: &'a [u8],
        max: usize,
        interrupt: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.max).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// Takes at most `max` bytes a call, across slices, and reports an interruption every
    /// other call.
    struct Narrow {
        got: Vec<u8>,
        max: usize,
        calls: usize,
    }

    impl Write for Narrow {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }

        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> std::io::Result<usize> {
            self.calls += 1;
            if self.calls % 2 == 0 {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            let mut n = 0;
            for b in bufs {
                let k = b.len().min(self.max - n);
                self.got.extend_from_slice(&b[..k]);
                n += k;
                if n == self.max {
                    break;
                }
            }
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn spans_are_written_in_order_through_partial_and_interrupted_writes() {
        let batch = b"ccc\na\nbb\n\ndddd\n";
        let spans = [(4, 6), (6, 9), (0, 4), (9, 10), (10, 15)];
        let want = b"a\nbb\nccc\n\ndddd\n";
        for max in 1..=want.len() {
            let mut out = Narrow {
                got: Vec::new(),
                max,
                calls: 0,
            };
            write_spans(&mut out, batch, &spans).unwrap();
            assert_eq!(out.got, want, "at most {max} bytes a write");
        }
        // No spans, nothing written.
        let mut out = Vec::new();
        write_spans(&mut out, batch, &[]).unwrap();
        assert!(out.is_empty());
        // A writer that takes nothing is an error, not a loop.
        let mut full = [0u8; 0];
        let err = write_spans(&mut &mut full[..], batch, &spans).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::WriteZero);
    }

    #[test]
    fn output_is_the_same_however_the_input_arrives_and_the_output_leaves() {
        let mut input = Vec::new();
        for i in 0..300 {
            input.extend_from_slice(
                format!(
                    "<13>Oct 11 22:14:15 host app: line {i} é{}\n",
                    "z".repeat(i % 97)
                )
                .as_bytes(),
            );
        }
        input.extend_from_slice(b"\xff bad\r\n\nno newline at the end");
        let normaliser = Normaliser::new(1024);
        let mut whole = Vec::new();
        let stats = normalize_stream(&normaliser, None, &mut &input[..], &mut whole).unwrap();
        assert_eq!(stats.lines, 303);
        // Two runs: the receive time differs, so compare with the logged times masked.
        let masked = |out: &[u8]| {
            let text = String::from_utf8(out.to_vec()).unwrap();
            text.lines()
                .map(|l| {
                    let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                    v["metadata"]["logged_time"] = 0.into();
                    if v["class_uid"] == 0 {
                        v["time"] = 0.into();
                    }
                    v.to_string()
                })
                .collect::<Vec<_>>()
        };
        let want = masked(&whole);
        for max in [1, 2, 7, 64, 4096] {
            let mut out = Narrow {
                got: Vec::new(),
                max: max * 3,
                calls: 0,
            };
            let mut reader = Trickle {
                data: &input,
                max,
                interrupt: false,
            };
            let stats = normalize_stream(&normaliser, None, &mut reader, &mut out).unwrap();
            assert_eq!(stats.lines, 303);
            assert_eq!(masked(&out.got), want, "reads of at most {max} bytes");
        }
    }

    #[test]
    fn a_line_longer_than_the_read_buffer_grows_it() {
        // Longer than the buffer (two chunks), between two short lines.
        let long = "x".repeat(2 * CHUNK + 10);
        let input = format!("first\n{long}\nlast\n");
        let mut out = Vec::new();
        let stats =
            normalize_stream(&Normaliser::new(64), None, &mut input.as_bytes(), &mut out).unwrap();
        assert_eq!(
            stats,
            NormalizeStats {
                lines: 3,
                errors: 1
            }
        );
        let text = String::from_utf8(out).unwrap();
        let events: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0]["message"], "first");
        assert_eq!(events[1]["message"], long.as_str());
        assert_eq!(events[1]["unmapped"]["tocsin.parse_error"], "oversized");
        assert_eq!(events[2]["message"], "last");
    }

    #[test]
    fn the_read_buffer_comes_back_whole_held_or_not() {
        let mut buf = BytesMut::zeroed(2 * CHUNK);
        buf[10..15].copy_from_slice(b"hello");
        let chunk = buf.freeze();
        let at = chunk.as_ptr();
        let back = reclaim(chunk, 10..15);
        assert_eq!(back.len(), 2 * CHUNK);
        assert_eq!(&back[..5], b"hello");
        assert_eq!(back.as_ptr(), at, "the same allocation, not a copy");
        // A frame still held: a fresh buffer, the holder's bytes untouched.
        let chunk = back.freeze();
        let held = chunk.slice(0..5);
        let back = reclaim(chunk, 0..5);
        assert_eq!(back.len(), 2 * CHUNK);
        assert_eq!(&back[..5], b"hello");
        assert_eq!(&held[..], b"hello");
        // An empty rest.
        assert_eq!(reclaim(back.freeze(), 7..7).len(), 2 * CHUNK);
    }
}
