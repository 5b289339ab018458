//! Line templates: realistic syslog lines from the vendors' documented formats.
//!
//! A [`Renderer`] writes one complete line (with its `<PRI>` header, without framing) for a
//! vendor at a given event time. Rendering happens once, when the pool is built; the send path
//! never formats anything.

mod fortigate;
mod host;
mod network;

use std::fmt::Write as _;

use rand::rngs::SmallRng;
use rand::Rng;

/// A family of devices whose log format the harness can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vendor {
    /// Cisco ASA `%ASA-<sev>-<id>:` messages, RFC 3164-ish header with the year.
    Asa,
    /// Palo Alto PAN-OS TRAFFIC and THREAT CSV logs.
    PanOs,
    /// Fortinet FortiGate key=value logs (no syslog header after PRI, as FortiOS sends them).
    FortiGate,
    /// OpenSSH `sshd[pid]:` lines in RFC 3164.
    Sshd,
    /// RFC 5424 application lines with structured data.
    Rfc5424,
}

impl Vendor {
    pub const ALL: [Vendor; 5] = [
        Vendor::Asa,
        Vendor::PanOs,
        Vendor::FortiGate,
        Vendor::Sshd,
        Vendor::Rfc5424,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Vendor::Asa => "asa",
            Vendor::PanOs => "panos",
            Vendor::FortiGate => "fortigate",
            Vendor::Sshd => "sshd",
            Vendor::Rfc5424 => "rfc5424",
        }
    }

    pub fn from_name(name: &str) -> Option<Vendor> {
        match name.to_ascii_lowercase().as_str() {
            "asa" | "cisco" | "cisco-asa" => Some(Vendor::Asa),
            "panos" | "pan-os" | "paloalto" => Some(Vendor::PanOs),
            "fortigate" | "forti" | "fortinet" => Some(Vendor::FortiGate),
            "sshd" | "linux" => Some(Vendor::Sshd),
            "rfc5424" | "5424" | "app" => Some(Vendor::Rfc5424),
            _ => None,
        }
    }
}

/// Relative weights of the vendors in the generated traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct Mix {
    weights: Vec<(Vendor, u32)>,
    total: u32,
}

impl Mix {
    pub fn new(weights: Vec<(Vendor, u32)>) -> Result<Mix, String> {
        let total = weights.iter().map(|(_, w)| *w).sum::<u32>();
        if total == 0 {
            return Err("the vendor mix needs at least one positive weight".into());
        }
        Ok(Mix { weights, total })
    }

    pub fn pick(&self, rng: &mut SmallRng) -> Vendor {
        let mut x = rng.gen_range(0..self.total);
        for (v, w) in &self.weights {
            if x < *w {
                return *v;
            }
            x -= w;
        }
        self.weights[0].0
    }
}

/// Renders lines for a set of simulated devices.
#[derive(Debug)]
pub struct Renderer {
    rng: SmallRng,
    devices: u32,
}

/// One reporting device: its hostname and management IP.
#[derive(Debug, Clone, Copy)]
struct Device {
    vendor: Vendor,
    index: u32,
}

impl Device {
    fn write_hostname(self, out: &mut String) {
        let prefix = match self.vendor {
            Vendor::Asa => "asa-fw-",
            Vendor::PanOs => "pa-fw-",
            Vendor::FortiGate => "FGT-",
            Vendor::Sshd => "web-",
            Vendor::Rfc5424 => "app-",
        };
        let _ = write!(out, "{prefix}{:02}", self.index + 1);
    }
}

impl Renderer {
    pub fn new(rng: SmallRng, devices: u32) -> Renderer {
        Renderer {
            rng,
            devices: devices.max(1),
        }
    }

    pub fn rng(&mut self) -> &mut SmallRng {
        &mut self.rng
    }

    /// Appends one line (PRI header included, no framing) for `vendor` at `ts_ms` to `out`.
    pub fn render(&mut self, vendor: Vendor, ts_ms: i64, out: &mut String) {
        let device = Device {
            vendor,
            index: self.rng.gen_range(0..self.devices),
        };
        let t = Civil::from_unix_ms(ts_ms);
        match vendor {
            Vendor::Asa => network::asa(&mut self.rng, device, &t, out),
            Vendor::PanOs => network::panos(&mut self.rng, device, &t, out),
            Vendor::FortiGate => fortigate::fortigate(&mut self.rng, device, ts_ms, &t, out),
            Vendor::Sshd => host::sshd(&mut self.rng, device, &t, out),
            Vendor::Rfc5424 => host::rfc5424(&mut self.rng, device, &t, out),
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A UTC calendar time broken into fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    milli: u32,
}

impl Civil {
    /// Days-to-civil conversion (H. Hinnant's algorithm), UTC.
    fn from_unix_ms(ms: i64) -> Civil {
        let secs = ms.div_euclid(1000);
        let milli = ms.rem_euclid(1000) as u32;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: sod / 3600,
            min: sod / 60 % 60,
            sec: sod % 60,
            milli,
        }
    }

    fn mon(&self) -> &'static str {
        MONTHS[(self.month as usize).saturating_sub(1) % 12]
    }

    /// `May  1 12:00:00` (RFC 3164).
    fn write_3164(&self, out: &mut String) {
        let _ = write!(
            out,
            "{} {:>2} {:02}:{:02}:{:02}",
            self.mon(),
            self.day,
            self.hour,
            self.min,
            self.sec
        );
    }

    /// `May 01 2024 12:00:00` (Cisco with `logging timestamp` and year).
    fn write_cisco(&self, out: &mut String) {
        let _ = write!(
            out,
            "{} {:02} {} {:02}:{:02}:{:02}",
            self.mon(),
            self.day,
            self.year,
            self.hour,
            self.min,
            self.sec
        );
    }

    /// `2024-05-01T12:00:00.123Z` (RFC 5424 / RFC 3339).
    fn write_rfc3339(&self, out: &mut String) {
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.year, self.month, self.day, self.hour, self.min, self.sec, self.milli
        );
    }

    /// `2024/05/01 12:00:00` (PAN-OS), with `sep` between the date parts.
    fn write_date(&self, sep: char, out: &mut String) {
        let _ = write!(
            out,
            "{:04}{sep}{:02}{sep}{:02}",
            self.year, self.month, self.day
        );
    }

    fn write_time(&self, out: &mut String) {
        let _ = write!(out, "{:02}:{:02}:{:02}", self.hour, self.min, self.sec);
    }
}

/// `<PRI>` for a facility and severity (RFC 5424 section 6.2.1).
fn write_pri(facility: u8, severity: u8, out: &mut String) {
    let _ = write!(out, "<{}>", u32::from(facility) * 8 + u32::from(severity));
}

const USERS: [&str; 16] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "oscar", "peggy", "trent", "victor", "walter",
];
const BAD_USERS: [&str; 10] = [
    "admin", "test", "oracle", "ubuntu", "guest", "user", "postgres", "git", "pi", "support",
];
const PUBLIC_FIRST_OCTETS: [u8; 14] = [
    23, 31, 45, 52, 66, 81, 91, 104, 142, 151, 176, 185, 203, 212,
];
const SERVICE_PORTS: [u16; 12] = [22, 25, 53, 80, 123, 389, 443, 445, 993, 3389, 8080, 8443];

fn pick<'a>(rng: &mut SmallRng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

fn write_inside_ip(rng: &mut SmallRng, out: &mut String) {
    let _ = write!(
        out,
        "10.{}.{}.{}",
        rng.gen_range(0..32u8),
        rng.gen_range(0..=255u8),
        rng.gen_range(1..255u8)
    );
}

fn write_outside_ip(rng: &mut SmallRng, out: &mut String) {
    let first = PUBLIC_FIRST_OCTETS[rng.gen_range(0..PUBLIC_FIRST_OCTETS.len())];
    let _ = write!(
        out,
        "{first}.{}.{}.{}",
        rng.gen_range(0..=255u8),
        rng.gen_range(0..=255u8),
        rng.gen_range(1..255u8)
    );
}

fn ephemeral_port(rng: &mut SmallRng) -> u16 {
    rng.gen_range(1024..=65535)
}

fn service_port(rng: &mut SmallRng) -> u16 {
    SERVICE_PORTS[rng.gen_range(0..SERVICE_PORTS.len())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Parses `<PRI>` at the start of a line; returns (pri, rest).
    pub(crate) fn split_pri(line: &str) -> (u32, &str) {
        let rest = line.strip_prefix('<').expect("line starts with <");
        let end = rest.find('>').expect("PRI is closed by >");
        assert!((1..=3).contains(&end), "PRI has 1-3 digits: {line}");
        let pri: u32 = rest[..end].parse().expect("PRI is numeric");
        assert!(pri <= 191, "PRI within 0..=191: {line}");
        (pri, &rest[end + 1..])
    }

    fn lines(vendor: Vendor, n: usize) -> Vec<String> {
        let mut r = Renderer::new(SmallRng::seed_from_u64(7), 5);
        (0..n)
            .map(|i| {
                let mut s = String::new();
                r.render(vendor, 1_714_564_800_000 + i as i64, &mut s);
                s
            })
            .collect()
    }

    #[test]
    fn civil_time_matches_known_dates() {
        let t = Civil::from_unix_ms(1_714_564_800_123); // 2024-05-01T12:00:00.123Z
        assert_eq!((t.year, t.month, t.day), (2024, 5, 1));
        assert_eq!((t.hour, t.min, t.sec, t.milli), (12, 0, 0, 123));
        let t = Civil::from_unix_ms(951_782_400_000); // 2000-02-29T00:00:00Z
        assert_eq!((t.year, t.month, t.day), (2000, 2, 29));
        let mut s = String::new();
        Civil::from_unix_ms(1_714_564_800_123).write_3164(&mut s);
        assert_eq!(s, "May  1 12:00:00");
    }

    #[test]
    fn every_vendor_renders_valid_pri_and_no_newline() {
        for v in Vendor::ALL {
            for line in lines(v, 500) {
                split_pri(&line);
                assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
            }
        }
    }

    #[test]
    fn mix_picks_only_weighted_vendors() {
        let mix = Mix::new(vec![(Vendor::Asa, 0), (Vendor::Sshd, 3)]).unwrap();
        let mut rng = SmallRng::seed_from_u64(1);
        assert!((0..1000).all(|_| mix.pick(&mut rng) == Vendor::Sshd));
    }

    pub(crate) fn render_all(vendor: Vendor) -> Vec<String> {
        lines(vendor, 2000)
    }
}
