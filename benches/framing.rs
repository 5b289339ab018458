//! Stream framing: `SyslogFramer` cutting 1 MiB of realistic syslog traffic into frames, newline
//! delimited and octet counted, beside a raw baseline (a plain `memchr` newline split of the same
//! buffer). Throughput is in frames (lines); ns per line = time / lines.

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::time::Duration;
use tocsin_engine::normalise::framing::{Framing, SyslogFramer};
use tocsin_engine::normalise::Frame;

const MAX_LINE: usize = 64 * 1024;

/// Realistic lines from the vendors tocsin sees, numbered so no two are identical.
fn sample_line(i: usize) -> String {
    match i % 5 {
        0 => format!("<38>Mar  1 12:00:{:02} bastion-{} sshd[{}]: Failed password for invalid user admin from 203.0.113.{} port {} ssh2", i % 60, i % 7, 4000 + i % 900, i % 250, 40_000 + i % 20_000),
        1 => format!("<166>Mar 01 2024 12:00:{:02} fw01 : %ASA-6-302013: Built outbound TCP connection {} for outside:93.184.216.34/443 (93.184.216.34/443) to inside:10.0.0.{}/{} (10.0.0.5/51515)", i % 60, i, i % 250, 50_000 + i % 10_000),
        2 => format!("<165>1 2024-03-01T12:00:00.{:03}Z app-{}.example.com billing {} PAY42 [origin@32473 ip=\"10.0.0.{}\" env=\"prod\"] payment {} failed: card declined", i % 1000, i % 9, 800 + i % 100, i % 250, i),
        3 => format!("<189>date=2024-03-01 time=12:00:{:02} devname=\"FW 1\" devid=\"FGT60F\" logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" srcip=10.1.1.{} srcport={} dstip=8.8.8.8 dstport=53 proto=17 action=\"accept\" sentbyte={}", i % 60, i % 250, 1024 + i % 60_000, i * 3),
        _ => format!("<14>Mar  1 12:00:{:02} PA-VM 1,2024/03/01 12:00:00,007200001056,TRAFFIC,end,2561,2024/03/01 12:00:00,10.0.0.{},8.8.8.8,0.0.0.0,0.0.0.0,allow-dns,,,dns,vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,2024/03/01 12:00:00,{},1,5{},53", i % 60, i % 250, i, i % 10),
    }
}

/// About 1 MiB of lines, newline framed and octet counted, and the line count.
fn buffers() -> (Vec<u8>, Vec<u8>, u64) {
    let (mut newline, mut counted, mut n) = (Vec::new(), Vec::new(), 0);
    while newline.len() < 1 << 20 {
        let line = sample_line(n as usize);
        newline.extend_from_slice(line.as_bytes());
        newline.push(b'\n');
        counted.extend_from_slice(format!("{} {line}", line.len()).as_bytes());
        n += 1;
    }
    (newline, counted, n)
}

fn framer(c: &mut Criterion, name: &str, framing: Framing, input: &[u8], lines: u64) {
    c.benchmark_group("framing")
        .throughput(Throughput::Elements(lines))
        .bench_function(name, |b| {
            b.iter_batched(
                || {
                    (
                        BytesMut::from(input),
                        Vec::<Frame>::with_capacity(lines as usize),
                    )
                },
                |(mut buf, mut out)| {
                    let mut f = SyslogFramer::new(framing, MAX_LINE);
                    f.decode(&mut buf, &mut out);
                    assert_eq!(out.len() as u64, lines);
                    (buf, out)
                },
                BatchSize::LargeInput,
            )
        });
}

fn bench(c: &mut Criterion) {
    let (newline, counted, lines) = buffers();
    c.benchmark_group("framing")
        .throughput(Throughput::Elements(lines))
        .bench_function("baseline_memchr_split", |b| {
            b.iter(|| {
                let buf = black_box(&newline[..]);
                let mut start = 0;
                let mut n = 0u64;
                for end in memchr::memchr_iter(b'\n', buf) {
                    black_box(&buf[start..end]);
                    start = end + 1;
                    n += 1;
                }
                n
            })
        });
    framer(c, "newline", Framing::Newline, &newline, lines);
    framer(c, "auto_newline", Framing::Auto, &newline, lines);
    framer(c, "octet_counting", Framing::OctetCounting, &counted, lines);
    framer(c, "auto_octet_counting", Framing::Auto, &counted, lines);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
