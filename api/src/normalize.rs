//! `tocsin normalize`: raw lines in, exactly one JSON event per input line out, in order, with
//! the same normaliser as the live pipeline. A line that cannot be normalised still yields one
//! line: a Base Event holding the raw text (lossily decoded) and the error under `unmapped`
//! (`tocsin.parse_error`, `tocsin.error`), so line N of the output always answers line N of the
//! input.

use bytes::{Buf, Bytes, BytesMut};
use std::io::{BufWriter, Read, Write};
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
    // Twice the chunk: once every line of a chunk is written (and its frame dropped), the
    // partial line left over moves to the front and the next read reuses the same allocation
    // instead of asking the allocator (and the kernel, page by page) for a fresh megabyte.
    let mut buf = BytesMut::with_capacity(2 * CHUNK);
    // One chunk's lines are normalised as one batch (grouped by vendor inside, so results come
    // back out of order): each result is written to `batch_out` and its span noted, and the
    // spans are then written in input order.
    let mut frames: Vec<Frame> = Vec::new();
    let mut wholes: Vec<(usize, Bytes)> = Vec::new();
    let mut batch_out: Vec<u8> = Vec::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut eof = false;
    while !eof {
        buf.reserve(CHUNK);
        let start = buf.len();
        buf.resize(start + CHUNK, 0);
        let n = input.read(&mut buf[start..])?;
        buf.truncate(start + n);
        eof = n == 0;
        loop {
            // One reference count up (the line's handle) and one down (when the frame is
            // dropped) per line: the newline is skipped with `advance`, the CR cut with
            // `truncate` and the line moved into the frame, where splitting off the newline,
            // slicing off the CR and cloning the line for the frame took three more pairs of
            // atomic operations.
            let mut line = match memchr::memchr(b'\n', &buf) {
                Some(i) => {
                    let line = buf.split_to(i).freeze();
                    buf.advance(1);
                    line
                }
                None if eof && !buf.is_empty() => buf.split().freeze(),
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
        if frames.is_empty() {
            continue;
        }
        stats.lines += frames.len() as u64;
        batch_out.clear();
        spans.clear();
        spans.resize(frames.len(), (0, 0));
        normaliser.normalise_batch(&frames, &meta, |i, result| {
            let start = batch_out.len();
            match result {
                Ok(event) => json::write_event(&event, &mut batch_out),
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
        for &(from, to) in &spans {
            out.write_all(&batch_out[from..to])?;
        }
        // The frames hold the chunk's bytes: dropped here, the next `reserve` reuses them.
        frames.clear();
        wholes.clear();
    }
    out.flush()?;
    Ok(stats)
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
}
