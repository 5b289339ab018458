//! Host and application templates: OpenSSH `sshd` (RFC 3164) and RFC 5424 application lines.

use std::fmt::Write as _;

use rand::rngs::SmallRng;
use rand::Rng;

use super::{
    ephemeral_port, pick, write_inside_ip, write_outside_ip, write_pri, Civil, Device, BAD_USERS,
    USERS,
};

const AUTH: u8 = 4;
const LOCAL0: u8 = 16;

/// OpenSSH with the default `SyslogFacility AUTH`, `LogLevel INFO`:
/// `<38>May  1 12:00:00 web-01 sshd[4242]: Accepted password for alice from 10.0.0.5 port 51234 ssh2`.
pub(super) fn sshd(rng: &mut SmallRng, dev: Device, t: &Civil, out: &mut String) {
    write_pri(AUTH, 6, out);
    t.write_3164(out);
    out.push(' ');
    dev.write_hostname(out);
    let _ = write!(out, " sshd[{}]: ", rng.gen_range(300..99_999u32));
    let port = ephemeral_port(rng);
    match rng.gen_range(0..100u32) {
        0..=29 => {
            let method = pick(rng, &["password", "password", "publickey"]);
            let _ = write!(out, "Accepted {method} for {} from ", pick(rng, &USERS));
            write_inside_ip(rng, out);
            let _ = write!(out, " port {port} ssh2");
            if method == "publickey" {
                let _ = write!(
                    out,
                    ": ED25519 SHA256:{:016x}{:016x}",
                    rng.gen::<u64>(),
                    rng.gen::<u64>()
                );
            }
        }
        30..=59 => {
            let _ = write!(
                out,
                "Failed password for invalid user {} from ",
                pick(rng, &BAD_USERS)
            );
            write_outside_ip(rng, out);
            let _ = write!(out, " port {port} ssh2");
        }
        60..=69 => {
            out.push_str("Failed password for root from ");
            write_outside_ip(rng, out);
            let _ = write!(out, " port {port} ssh2");
        }
        70..=84 => {
            let _ = write!(out, "Disconnected from user {} ", pick(rng, &USERS));
            write_inside_ip(rng, out);
            let _ = write!(out, " port {port}");
        }
        85..=92 => {
            let _ = write!(
                out,
                "Disconnected from invalid user {} ",
                pick(rng, &BAD_USERS)
            );
            write_outside_ip(rng, out);
            let _ = write!(out, " port {port} [preauth]");
        }
        _ => {
            let user = pick(rng, &USERS);
            let uid = 1000 + USERS.iter().position(|u| *u == user).unwrap_or(0);
            let _ = write!(
                out,
                "pam_unix(sshd:session): session opened for user {user}(uid={uid}) by (uid=0)"
            );
        }
    }
}

const APPS: [&str; 4] = ["orders", "payments", "auth-svc", "inventory"];
const PATHS: [&str; 5] = [
    "/api/v1/orders",
    "/api/v1/cart",
    "/api/v1/login",
    "/healthz",
    "/api/v1/items",
];

/// RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`.
pub(super) fn rfc5424(rng: &mut SmallRng, dev: Device, t: &Civil, out: &mut String) {
    let kind = rng.gen_range(0..100u32);
    let status = match rng.gen_range(0..100u32) {
        0..=84 => 200,
        85..=91 => 404,
        92..=96 => 500,
        _ => 503,
    };
    let severity = match kind {
        0..=69 if status >= 500 => 3,
        0..=69 if status >= 400 => 4,
        0..=69 => 6,
        70..=84 => 4,
        _ => 5,
    };
    write_pri(LOCAL0, severity, out);
    out.push_str("1 ");
    t.write_rfc3339(out);
    out.push(' ');
    dev.write_hostname(out);
    let app = pick(rng, &APPS);
    let pid = rng.gen_range(100..65_000u32);
    match kind {
        0..=69 => {
            let method = pick(rng, &["GET", "GET", "POST", "PUT", "DELETE"]);
            let path = pick(rng, &PATHS);
            let latency = if status >= 500 {
                rng.gen_range(800..5000u32)
            } else {
                rng.gen_range(1..300u32)
            };
            let _ = write!(
                out,
                " {app} {pid} HTTP [req@32473 method=\"{method}\" path=\"{path}\" status=\"{status}\" latency_ms=\"{latency}\" client=\""
            );
            write_outside_ip(rng, out);
            let _ = write!(
                out,
                "\"] {method} {path} status={status} latency_ms={latency}"
            );
        }
        70..=84 => {
            let cpu = rng.gen_range(5.0..99.5f64);
            let mem = rng.gen_range(20.0..95.0f64);
            let _ = write!(
                out,
                " {app} {pid} METRIC [metrics@32473 cpu_pct=\"{cpu:.1}\" mem_pct=\"{mem:.1}\"] resource usage cpu_pct={cpu:.1} mem_pct={mem:.1}"
            );
        }
        _ => {
            let user = pick(rng, &USERS);
            let ok = rng.gen_bool(0.8);
            let _ = write!(
                out,
                " {app} - AUDIT [audit@32473 user=\"{user}\" action=\"login\" outcome=\"{}\"] user {user} login {}",
                if ok { "success" } else { "failure" },
                if ok { "succeeded" } else { "failed" }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{render_all, split_pri};
    use super::super::Vendor;

    #[test]
    fn sshd_lines_are_rfc3164_with_program_and_pid() {
        let lines = render_all(Vendor::Sshd);
        for token in [
            "Accepted password for ",
            "Failed password for invalid user ",
            "Disconnected from user ",
        ] {
            let line = lines.iter().find(|l| l.contains(token)).expect(token);
            let (pri, rest) = split_pri(line);
            assert_eq!(pri, 38, "auth.info: {line}");
            // `Mmm dd hh:mm:ss host sshd[pid]: msg`
            let after_ts = &rest[16..];
            let (host, msg) = after_ts.split_once(' ').unwrap();
            assert!(host.starts_with("web-"), "{line}");
            assert!(msg.starts_with("sshd[") && msg.contains("]: "), "{line}");
            if token.starts_with("Accepted") || token.starts_with("Failed") {
                assert!(line.contains(" port ") && line.ends_with(" ssh2"), "{line}");
            }
        }
    }

    #[test]
    fn rfc5424_lines_have_version_timestamp_and_msgid() {
        for line in render_all(Vendor::Rfc5424) {
            let (_, rest) = split_pri(&line);
            let fields: Vec<&str> = rest.splitn(7, ' ').collect();
            assert_eq!(fields[0], "1", "{line}");
            assert_eq!(fields[1].len(), 24, "RFC 3339 ms timestamp: {line}");
            assert!(fields[1].ends_with('Z') && fields[1].as_bytes()[10] == b'T');
            assert!(matches!(fields[5], "HTTP" | "METRIC" | "AUDIT"), "{line}");
            assert!(fields[6].starts_with('['), "{line}");
        }
    }
}
