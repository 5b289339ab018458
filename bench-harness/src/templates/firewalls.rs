//! Firewalls with their own key=value or CSV formats: Check Point (Log Exporter), Sophos
//! Firewall (SFOS), pfSense (`filterlog`).

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use rand::rngs::SmallRng;
use rand::Rng;

use super::{
    ephemeral_port, inside_ip, outside_ip, pick, service_port, write_clean, write_pri, Civil,
    Device, BAD_USERS, USERS,
};

const AUTH: u8 = 4;
const LOCAL0: u8 = 16;

/// `<PRI>1 2024-05-01T12:00:00.123Z cp-gw-01 CheckPoint PID - [` (Log Exporter, RFC 5424,
/// `format = syslog`).
fn cp_header(rng: &mut SmallRng, dev: &Device, t: &Civil, severity: u8, out: &mut String) {
    write_pri(LOCAL0, severity, out);
    out.push_str("1 ");
    t.write_rfc3339(out);
    let _ = write!(
        out,
        " {} CheckPoint {} - [",
        dev.hostname,
        rng.gen_range(1000..65_000u32)
    );
}

/// Check Point Log Exporter: Firewall accept/drop (75%), Application Control (8%), IPS and
/// Anti-Bot (7%), Identity Awareness logins (6%), SmartConsole audit (4%).
pub(super) fn checkpoint(
    rng: &mut SmallRng,
    dev: &Device,
    ts_ms: i64,
    t: &Civil,
    out: &mut String,
) {
    let kind = rng.gen_range(0..100u32);
    let secs = ts_ms.div_euclid(1000);
    let (src, dst) = (inside_ip(rng), outside_ip(rng));
    let (sport, dport) = (ephemeral_port(rng), service_port(rng));
    let proto = if dport == 53 || dport == 123 { 17 } else { 6 };
    match kind {
        0..=74 => {
            cp_header(rng, dev, t, 6, out);
            let action = pick(rng, &["Accept", "Accept", "Accept", "Drop", "Reject"]);
            let rule = match action {
                "Accept" => pick(rng, &["Web out", "DNS out", "Mail relay"]),
                _ => "Cleanup rule",
            };
            let _ = write!(
                out,
                "action:\"{action}\"; flags:\"411908\"; ifdir:\"outbound\"; ifname:\"eth1\"; logid:\"0\"; loguid:\"{{0x{:08x},0x0,0x1f00a8c0,0xc0000000}}\"; origin:\"{}\"; sequencenum:\"{}\"; time:\"{secs}\"; version:\"5\"; dst:\"{dst}\"; layer_name:\"Network\"; rule_name:\"{rule}\"; product:\"VPN-1 & FireWall-1\"; proto:\"{proto}\"; s_port:\"{sport}\"; service:\"{dport}\"; src:\"{src}\"]",
                rng.gen::<u32>(),
                dev.ip,
                rng.gen_range(1..100u32)
            );
        }
        75..=82 => {
            cp_header(rng, dev, t, 6, out);
            let _ = write!(
                out,
                "action:\"{}\"; appi_name:\"{}\"; dst:\"{dst}\"; origin:\"{}\"; time:\"{secs}\"; product:\"Application Control\"; proto:\"6\"; s_port:\"{sport}\"; service:\"443\"; src:\"{src}\"; user:\"{} ({})\"]",
                pick(rng, &["Accept", "Accept", "Block"]),
                pick(rng, &["Dropbox", "Facebook", "YouTube", "Office365"]),
                dev.ip,
                pick(rng, &["Ana Costa", "Paul Smith", "Omar Haddad"]),
                pick(rng, &USERS)
            );
        }
        83..=89 => {
            cp_header(rng, dev, t, 4, out);
            if rng.gen_bool(0.5) {
                let _ = write!(
                    out,
                    "action:\"Prevent\"; ifdir:\"inbound\"; attack:\"{}\"; dst:\"{src}\"; origin:\"{}\"; time:\"{secs}\"; product:\"IPS\"; protection_name:\"{}\"; proto:\"6\"; s_port:\"{sport}\"; service:\"80\"; severity:\"High\"; src:\"{dst}\"]",
                    pick(rng, &["SQL Servers Injection", "Web Server Enforcement Violation"]),
                    dev.ip,
                    pick(rng, &["SQL Injection", "Apache Log4j Remote Code Execution"])
                );
            } else {
                let _ = write!(
                    out,
                    "action:\"Detect\"; dst:\"{dst}\"; malware_action:\"Communication with C&C site\"; origin:\"{}\"; time:\"{secs}\"; product:\"Anti-Bot\"; proto:\"6\"; s_port:\"{sport}\"; service:\"8080\"; severity:\"Critical\"; src:\"{src}\"]",
                    dev.ip
                );
            }
        }
        90..=95 => {
            cp_header(rng, dev, t, 6, out);
            let _ = write!(
                out,
                "action:\"Log In\"; auth_method:\"Password\"; auth_status:\"Successful Login\"; identity_src:\"Captive Portal\"; origin:\"{}\"; time:\"{secs}\"; product:\"Identity Awareness\"; src:\"{src}\"; src_user_name:\"{} ({})\"]",
                dev.ip,
                pick(rng, &["Ana Costa", "Paul Smith", "Omar Haddad"]),
                pick(rng, &USERS)
            );
        }
        _ => {
            cp_header(rng, dev, t, 6, out);
            let _ = write!(
                out,
                "action:\"Accept\"; administrator:\"{}\"; client_ip:\"{src}\"; origin:\"{}\"; time:\"{secs}\"; operation:\"{}\"; operation_number:\"{}\"; product:\"SmartConsole\"; subject:\"Policy Publish\"]",
                pick(rng, &["secadmin", "netops"]),
                dev.ip,
                pick(rng, &["Publish", "Install Policy"]),
                rng.gen_range(1..12u32)
            );
        }
    }
}

/// `action:"Failed Log In"` of Mobile Access for `user` from `src_ip`.
pub(super) fn checkpoint_failed_login(
    rng: &mut SmallRng,
    dev: &Device,
    ts_ms: i64,
    t: &Civil,
    src_ip: Ipv4Addr,
    user: &str,
    out: &mut String,
) {
    cp_header(rng, dev, t, 5, out);
    let _ = write!(
        out,
        "action:\"Failed Log In\"; auth_status:\"Failed Login\"; origin:\"{}\"; time:\"{}\"; product:\"Mobile Access\"; reason:\"Wrong user name or password\"; src:\"{src_ip}\"; user:\"",
        dev.ip,
        ts_ms.div_euclid(1000)
    );
    write_clean(user, false, true, out);
    out.push_str("\"]");
}

/// `<PRI>May  1 12:00:00 xg-fw-01 device="SFW" date=2024-05-01 time=12:00:00 timezone="UTC"
/// device_name="xg-fw-01" device_id=... log_id=...`: SFOS 18 key=value, relayed with an RFC
/// 3164 header carrying the device's hostname.
fn sophos_header(dev: &Device, t: &Civil, severity: u8, log_id: &str, out: &mut String) {
    write_pri(LOCAL0, severity, out);
    t.write_3164(out);
    let _ = write!(out, " {} device=\"SFW\" date=", dev.hostname);
    t.write_date('-', out);
    out.push_str(" time=");
    t.write_time(out);
    let _ = write!(
        out,
        " timezone=\"UTC\" device_name=\"{}\" device_id=C2300{:010X} log_id={log_id} ",
        dev.hostname,
        u32::from(dev.ip)
    );
}

/// Sophos Firewall: Firewall allowed/denied (80%), IDP (6%), Content Filtering (8%),
/// authentication events (6%).
pub(super) fn sophos(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    let kind = rng.gen_range(0..100u32);
    let (src, dst) = (inside_ip(rng), outside_ip(rng));
    let (sport, dport) = (ephemeral_port(rng), service_port(rng));
    match kind {
        0..=79 => {
            let allowed = rng.gen_bool(0.8);
            let (log_id, sub, status) = if allowed {
                ("010101600001", "Allowed", "Allow")
            } else {
                ("010102600002", "Denied", "Deny")
            };
            sophos_header(dev, t, 6, log_id, out);
            let (sent, recv) = if allowed {
                (rng.gen_range(60..90_000u32), rng.gen_range(0..900_000u32))
            } else {
                (0, 0)
            };
            let _ = write!(
                out,
                "log_type=\"Firewall\" log_component=\"Firewall Rule\" log_subtype=\"{sub}\" status=\"{status}\" priority=Information duration={} fw_rule_id={} user_name=\"{}\" in_interface=\"Port1\" out_interface=\"Port2\" src_ip={src} dst_ip={dst} protocol=\"{}\" src_port={sport} dst_port={dport} sent_pkts={} recv_pkts={} sent_bytes={sent} recv_bytes={recv} srczone=\"LAN\" dstzone=\"WAN\"",
                if allowed { rng.gen_range(1..600u32) } else { 0 },
                if allowed { rng.gen_range(1..20u32) } else { 0 },
                if rng.gen_bool(0.4) { pick(rng, &USERS) } else { "" },
                if dport == 53 || dport == 123 { "UDP" } else { "TCP" },
                sent / 600,
                recv / 1200
            );
        }
        80..=85 => {
            sophos_header(dev, t, 4, "020603401001", out);
            let _ = write!(
                out,
                "log_type=\"IDP\" log_component=\"Signatures\" log_subtype=\"Drop\" priority=Warning idp_policy_id=8 fw_rule_id=9 user_name=\"\" signature_id={} signature_msg=\"{}\" classification=\"Attempted User Privilege Gain\" rule_priority=1 src_ip={dst} dst_ip={src} protocol=\"TCP\" src_port={sport} dst_port=8080 platform=\"Linux\" category=\"Server-Other\" target=\"Server\"",
                rng.gen_range(10_000..70_000u32),
                pick(
                    rng,
                    &[
                        "SERVER-OTHER Apache Log4j logging remote code execution attempt",
                        "SERVER-WEBAPP PHP-CGI remote file include attempt"
                    ]
                )
            );
        }
        86..=93 => {
            let denied = rng.gen_bool(0.3);
            let (log_id, sub, category, ctype, host) = if denied {
                (
                    "050902616002",
                    "Denied",
                    "Gambling",
                    "Unacceptable",
                    "casino.example.net",
                )
            } else {
                (
                    "050901616001",
                    "Allowed",
                    "Information Technology",
                    "Acceptable",
                    "docs.example.com",
                )
            };
            sophos_header(dev, t, if denied { 5 } else { 6 }, log_id, out);
            let _ = write!(
                out,
                "log_type=\"Content Filtering\" log_component=\"HTTP\" log_subtype=\"{sub}\" status=\"\" priority=Information fw_rule_id=5 user_name=\"{}\" user_gp=\"Staff\" iap=13 category=\"{category}\" category_type=\"{ctype}\" url=\"https://{host}/\" contenttype=\"text/html\" src_ip={src} dst_ip={dst} protocol=\"TCP\" src_port={sport} dst_port=443 sent_bytes={} recv_bytes={} domain={host}",
                pick(rng, &USERS),
                rng.gen_range(200..2000u32),
                if denied { 0 } else { rng.gen_range(1000..90_000u32) }
            );
        }
        _ => sophos_auth(rng, dev, t, None, out),
    }
}

/// Firewall authentication: success, or the failure of `failure`'s user from its address.
pub(super) fn sophos_auth(
    rng: &mut SmallRng,
    dev: &Device,
    t: &Civil,
    failure: Option<(Ipv4Addr, &str)>,
    out: &mut String,
) {
    let ok = failure.is_none() && rng.gen_bool(0.8);
    let (ip, user) = match failure {
        Some(f) => f,
        None if ok => (inside_ip(rng), pick(rng, &USERS)),
        None => (outside_ip(rng), pick(rng, &BAD_USERS)),
    };
    let log_id = if ok { "062910617701" } else { "062910617702" };
    sophos_header(dev, t, if ok { 6 } else { 5 }, log_id, out);
    let _ = write!(
        out,
        "log_type=\"Event\" log_component=\"Firewall Authentication\" log_subtype=\"Authentication\" status=\"{}\" priority={} user_name=\"",
        if ok { "Successful" } else { "Failed" },
        if ok { "Information" } else { "Notification" }
    );
    write_clean(user, false, true, out);
    let _ = write!(
        out,
        "\" usergroupname=\"{}\" auth_client=\"{}\" auth_mechanism=\"{}\" reason=\"{}\" src_ip={ip} message=\"User ",
        if ok { "Staff" } else { "" },
        pick(rng, &["Clientless", "CTA", "Web Client"]),
        if ok { "AD" } else { "Local" },
        if ok { "" } else { "Invalid credentials" }
    );
    write_clean(user, false, true, out);
    if ok {
        out.push_str(" of group Staff logged in successfully to Firewall through AD authentication mechanism\"");
    } else {
        out.push_str(" failed to login to Firewall through Local authentication mechanism because of wrong credentials\"");
    }
}

/// `<PRI>May  1 12:00:00 pfsense-01 filterlog[pid]: ` with `filterlog`'s CSV following.
fn pfsense_header(
    dev: &Device,
    t: &Civil,
    facility: u8,
    sev: u8,
    prog: &str,
    pid: u32,
    out: &mut String,
) {
    write_pri(facility, sev, out);
    t.write_3164(out);
    let _ = write!(out, " {} {prog}[{pid}]: ", dev.hostname);
}

/// pfSense: `filterlog` IPv4 TCP/UDP/ICMP pass and block (95%), webConfigurator logins (5%).
/// (pfSense's own sshd lines are left out: auto-detection gives them to `linux_auth`.)
pub(super) fn pfsense(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    if rng.gen_range(0..100u32) >= 95 {
        let ok = rng.gen_bool(0.7);
        pfsense_header(
            dev,
            t,
            AUTH,
            if ok { 5 } else { 3 },
            "php-fpm",
            rng.gen_range(300..9999),
            out,
        );
        if ok {
            let _ = write!(
                out,
                "/index.php: Successful login for user '{}' from: {} (Local Database)",
                pick(rng, &["admin", "netops"]),
                inside_ip(rng)
            );
        } else {
            let _ = write!(
                out,
                "/index.php: webConfigurator authentication error for user '{}' from: {}",
                pick(rng, &BAD_USERS),
                outside_ip(rng)
            );
        }
        return;
    }
    pfsense_header(
        dev,
        t,
        LOCAL0,
        6,
        "filterlog",
        rng.gen_range(300..99_999),
        out,
    );
    let pass = rng.gen_bool(0.6);
    let (action, dir, iface, rule, tracker) = if pass {
        ("pass", "out", "igb0", 71, 1_700_000_000u32)
    } else {
        ("block", "in", "igb1", 5, 1_000_000_103u32)
    };
    let (src, dst) = if pass {
        (inside_ip(rng), outside_ip(rng))
    } else {
        (outside_ip(rng), dev.ip)
    };
    let ttl = rng.gen_range(30..128u32);
    let id = rng.gen_range(0..65_535u32);
    match rng.gen_range(0..10u32) {
        0..=5 => {
            let len = rng.gen_range(40..1500u32);
            let _ = write!(
                out,
                "{rule},,,{tracker},{iface},match,{action},{dir},4,0x0,,{ttl},{id},0,DF,6,tcp,{len},{src},{dst},{},{},{},S,{},,64240,,mss;sackOK;TS;nop;wscale",
                ephemeral_port(rng),
                service_port(rng),
                len.saturating_sub(40),
                rng.gen::<u32>()
            );
        }
        6..=8 => {
            let len = rng.gen_range(28..512u32);
            let _ = write!(
                out,
                "{rule},,,{tracker},{iface},match,{action},{dir},4,0x0,,{ttl},{id},0,none,17,udp,{len},{src},{dst},{},{},{}",
                ephemeral_port(rng),
                pick(rng, &["53", "123", "443", "1900"]),
                len.saturating_sub(8)
            );
        }
        _ => {
            let _ = write!(
                out,
                "{rule},,,{tracker},{iface},match,{action},{dir},4,0x0,,{ttl},{id},0,none,1,icmp,28,{src},{dst},request,{},{}",
                rng.gen_range(1..65_535u32),
                rng.gen_range(1..100u32)
            );
        }
    }
}

/// `php-fpm[pid]: /index.php: webConfigurator authentication error for user 'u' from: ip`
/// (pfSense's sshd lines are detected as `linux_auth`, so the webConfigurator says it).
pub(super) fn pfsense_auth_failure(
    rng: &mut SmallRng,
    dev: &Device,
    t: &Civil,
    src_ip: Ipv4Addr,
    user: &str,
    out: &mut String,
) {
    pfsense_header(dev, t, AUTH, 3, "php-fpm", rng.gen_range(300..9999), out);
    out.push_str("/index.php: webConfigurator authentication error for user '");
    write_clean(user, false, true, out);
    let _ = write!(out, "' from: {src_ip}");
}
