//! Hosts and their applications: Linux auth log (sshd, sudo, su, PAM, systemd-logind), nginx
//! and Apache access logs, application JSON logs.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use rand::rngs::SmallRng;
use rand::Rng;

use super::{
    ephemeral_port, inside_ip, outside_ip, pick, write_clean, write_json_text, write_pri, Civil,
    Device, BAD_USERS, USERS,
};

const AUTH: u8 = 4;
const AUTHPRIV: u8 = 10;
const LOCAL6: u8 = 22;
const LOCAL7: u8 = 23;

/// `<PRI>May  1 12:00:00 host prog[pid]: ` (RFC 3164 as rsyslog forwards it).
fn bsd_header(
    rng: &mut SmallRng,
    dev: &Device,
    t: &Civil,
    facility: u8,
    sev: u8,
    prog: &str,
    out: &mut String,
) {
    write_pri(facility, sev, out);
    t.write_3164(out);
    let _ = write!(
        out,
        " {} {prog}[{}]: ",
        dev.hostname,
        rng.gen_range(300..99_999u32)
    );
}

fn uid_of(user: &str) -> usize {
    1000 + USERS.iter().position(|u| *u == user).unwrap_or(0)
}

/// Linux auth log with OpenSSH's default `SyslogFacility AUTH`: sshd accepted/failed/invalid
/// user/disconnects (70%), PAM sessions (12%), sudo (10%), su (3%), systemd-logind (5%).
pub(super) fn linux_auth(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    let kind = rng.gen_range(0..100u32);
    let port = ephemeral_port(rng);
    match kind {
        0..=69 => {
            bsd_header(rng, dev, t, AUTH, 6, "sshd", out);
            match kind {
                0..=19 => {
                    let method = pick(rng, &["password", "password", "publickey"]);
                    let _ = write!(
                        out,
                        "Accepted {method} for {} from {} port {port} ssh2",
                        pick(rng, &USERS),
                        inside_ip(rng)
                    );
                    if method == "publickey" {
                        let _ = write!(
                            out,
                            ": ED25519 SHA256:{:016x}{:016x}",
                            rng.gen::<u64>(),
                            rng.gen::<u64>()
                        );
                    }
                }
                20..=37 => {
                    let _ = write!(
                        out,
                        "Failed password for invalid user {} from {} port {port} ssh2",
                        pick(rng, &BAD_USERS),
                        outside_ip(rng)
                    );
                }
                38..=45 => {
                    let _ = write!(
                        out,
                        "Failed password for root from {} port {port} ssh2",
                        outside_ip(rng)
                    );
                }
                46..=53 => {
                    let _ = write!(
                        out,
                        "Invalid user {} from {} port {port}",
                        pick(rng, &BAD_USERS),
                        outside_ip(rng)
                    );
                }
                54..=61 => {
                    let _ = write!(
                        out,
                        "Disconnected from user {} {} port {port}",
                        pick(rng, &USERS),
                        inside_ip(rng)
                    );
                }
                _ => {
                    let _ = write!(
                        out,
                        "Connection closed by authenticating user root {} port {port} [preauth]",
                        outside_ip(rng)
                    );
                }
            }
        }
        70..=81 => {
            let user = pick(rng, &USERS);
            bsd_header(rng, dev, t, AUTHPRIV, 6, "sshd", out);
            if rng.gen_bool(0.5) {
                let _ = write!(
                    out,
                    "pam_unix(sshd:session): session opened for user {user}(uid={}) by (uid=0)",
                    uid_of(user)
                );
            } else {
                let _ = write!(
                    out,
                    "pam_unix(sshd:session): session closed for user {user}"
                );
            }
        }
        82..=91 => {
            let user = pick(rng, &USERS);
            write_pri(AUTHPRIV, 5, out);
            t.write_3164(out);
            let _ = write!(
                out,
                " {} sudo:    {user} : TTY=pts/{} ; PWD=/home/{user} ; USER=root ; COMMAND={}",
                dev.hostname,
                rng.gen_range(0..8u8),
                pick(
                    rng,
                    &[
                        "/usr/bin/systemctl restart nginx",
                        "/usr/bin/apt-get update",
                        "/bin/journalctl -u app",
                        "/usr/bin/docker ps"
                    ]
                )
            );
        }
        92..=94 => {
            let user = pick(rng, &USERS);
            bsd_header(rng, dev, t, AUTHPRIV, 6, "su", out);
            let _ = write!(
                out,
                "pam_unix(su-l:session): session opened for user root(uid=0) by {user}(uid={})",
                uid_of(user)
            );
        }
        _ => {
            let user = pick(rng, &USERS);
            bsd_header(rng, dev, t, AUTHPRIV, 6, "systemd-logind", out);
            if rng.gen_bool(0.5) {
                let _ = write!(
                    out,
                    "New session {} of user {user}.",
                    rng.gen_range(1..9999u32)
                );
            } else {
                let _ = write!(out, "Removed session {}.", rng.gen_range(1..9999u32));
            }
        }
    }
}

/// sshd `Failed password for [invalid user] <user> from <ip> port <port> ssh2` (the invalid
/// form for users not in the host's user table).
pub(super) fn linux_auth_failure(
    rng: &mut SmallRng,
    dev: &Device,
    t: &Civil,
    src_ip: Ipv4Addr,
    user: &str,
    out: &mut String,
) {
    bsd_header(rng, dev, t, AUTH, 6, "sshd", out);
    out.push_str("Failed password for ");
    if user != "root" && !USERS.contains(&user) {
        out.push_str("invalid user ");
    }
    write_clean(user, true, false, out);
    let _ = write!(out, " from {src_ip} port {} ssh2", ephemeral_port(rng));
}

const PATHS: [&str; 10] = [
    "/",
    "/index.html",
    "/api/v1/orders",
    "/api/v1/cart",
    "/api/v1/login",
    "/healthz",
    "/static/app.js",
    "/static/site.css",
    "/api/v1/items",
    "/favicon.ico",
];
const AGENTS: [&str; 5] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "curl/8.5.0",
    "kube-probe/1.29",
    "okhttp/4.12.0",
];

/// A status as an MSP's web tier sees it: mostly 200, some 3xx/4xx, a few 5xx.
fn http_status(rng: &mut SmallRng) -> u16 {
    match rng.gen_range(0..100u32) {
        0..=79 => 200,
        80..=84 => 304,
        85..=87 => 301,
        88..=93 => 404,
        94..=95 => 401,
        96..=97 => 500,
        98 => 502,
        _ => 503,
    }
}

/// The common request part: `client - user [time] "METHOD path HTTP/1.1" status size
/// "referrer" "agent"`.
fn access_common(rng: &mut SmallRng, t: &Civil, status: u16, path: &str, out: &mut String) {
    let client = if rng.gen_bool(0.7) {
        outside_ip(rng)
    } else {
        inside_ip(rng)
    };
    let _ = write!(out, "{client} - ");
    if rng.gen_range(0..10u32) == 0 {
        out.push_str(pick(rng, &USERS));
    } else {
        out.push('-');
    }
    out.push_str(" [");
    t.write_clf(out);
    let method = if path.starts_with("/api/") {
        pick(rng, &["GET", "GET", "POST", "PUT", "DELETE"])
    } else {
        "GET"
    };
    let _ = write!(out, "] \"{method} ");
    write_clean(path, true, true, out);
    let size = match status {
        304 | 204 => 0,
        200 => rng.gen_range(200..90_000u32),
        _ => rng.gen_range(100..600u32),
    };
    let _ = write!(
        out,
        " HTTP/1.1\" {status} {size} \"{}\" \"{}\"",
        pick(
            rng,
            &[
                "-",
                "https://shop.example.com/",
                "https://www.example.com/start"
            ]
        ),
        pick(rng, &AGENTS)
    );
}

/// nginx `combined` plus `$request_time`, sent with `access_log syslog:server=...` (tag
/// `nginx`, facility local7, severity info): `<190>May  1 12:00:00 web-01 nginx: 203.0.113.7 -
/// - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 5123 "-" "curl/8.5.0" 0.004`.
pub(super) fn nginx(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    let status = http_status(rng);
    let path = pick(rng, &PATHS);
    let ms = if status >= 500 {
        rng.gen_range(200..5000u32)
    } else {
        rng.gen_range(0..250u32)
    };
    nginx_line(rng, dev, t, status, path, ms, out);
}

pub(super) fn nginx_line(
    rng: &mut SmallRng,
    dev: &Device,
    t: &Civil,
    status: u16,
    path: &str,
    duration_ms: u32,
    out: &mut String,
) {
    write_pri(LOCAL7, 6, out);
    t.write_3164(out);
    let _ = write!(out, " {} nginx: ", dev.hostname);
    access_common(rng, t, status, path, out);
    let _ = write!(out, " {}.{:03}", duration_ms / 1000, duration_ms % 1000);
}

/// Apache `combined` plus `%D` (microseconds), piped to `logger -t httpd` (facility local6):
/// `<182>May  1 12:00:00 www-01 httpd[2201]: ... "curl/8.5.0" 1532`.
pub(super) fn apache(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    let status = http_status(rng);
    let path = pick(rng, &PATHS);
    let ms = if status >= 500 {
        rng.gen_range(200..5000u32)
    } else {
        rng.gen_range(0..250u32)
    };
    apache_line(rng, dev, t, status, path, ms, out);
}

pub(super) fn apache_line(
    rng: &mut SmallRng,
    dev: &Device,
    t: &Civil,
    status: u16,
    path: &str,
    duration_ms: u32,
    out: &mut String,
) {
    bsd_header(rng, dev, t, LOCAL6, 6, "httpd", out);
    access_common(rng, t, status, path, out);
    let _ = write!(
        out,
        " {}",
        u64::from(duration_ms) * 1000 + rng.gen_range(0..1000u64)
    );
}

const APPS: [&str; 4] = ["orders", "payments", "auth-svc", "inventory"];

/// Application JSON logs (pino/bunyan/logrus-style): request completions, warnings, errors,
/// login audits; `timestamp` RFC 3339 with ms, `host` the device.
pub(super) fn generic_json(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    out.push_str("{\"timestamp\":\"");
    t.write_rfc3339(out);
    let app = pick(rng, &APPS);
    let kind = rng.gen_range(0..100u32);
    let level = match kind {
        0..=74 => "info",
        75..=89 => "warn",
        _ => "error",
    };
    let _ = write!(
        out,
        "\",\"level\":\"{level}\",\"service\":\"{app}\",\"host\":\""
    );
    write_json_text(&dev.hostname, out);
    out.push('"');
    match kind {
        0..=64 | 75..=84 | 90..=99 => {
            let status = match level {
                "error" => 500,
                "warn" => 429,
                _ => 200,
            };
            let _ = write!(
                out,
                ",\"message\":\"request completed\",\"src_ip\":\"{}\",\"src_port\":{},\"method\":\"GET\",\"path\":\"{}\",\"status_code\":{status},\"duration_ms\":{},\"request_id\":\"req-{:08x}\"",
                outside_ip(rng),
                ephemeral_port(rng),
                pick(rng, &PATHS),
                rng.gen_range(1..900u32),
                rng.gen::<u32>()
            );
        }
        _ => {
            let ok = kind < 70;
            let _ = write!(
                out,
                ",\"message\":\"{}\",\"user\":\"{}\",\"src_ip\":\"{}\",\"event_code\":\"{}\",\"status\":\"{}\"",
                if ok { "login succeeded" } else { "login failed" },
                pick(rng, &USERS),
                inside_ip(rng),
                if ok { "AUTH-200" } else { "AUTH-401" },
                if ok { "success" } else { "failure" }
            );
        }
    }
    out.push('}');
}
