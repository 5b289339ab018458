//! Routers and firewalls with Cisco- or Junos-style messages: Cisco ASA, Cisco IOS, Palo Alto
//! PAN-OS (CSV), Juniper SRX.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use rand::rngs::SmallRng;
use rand::Rng;

use super::{
    ephemeral_port, inside_ip, outside_ip, pick, service_port, write_clean, write_pri, Civil,
    Device, BAD_USERS, USERS,
};

const USER: u8 = 1;
const DAEMON: u8 = 3;
const AUTH: u8 = 4;
const LOCAL4: u8 = 20;
const LOCAL7: u8 = 23;

/// `<PRI>May 01 2024 12:00:00 asa-fw-01 : ` (ASA with `logging timestamp` and the device id
/// set to the hostname).
fn asa_header(dev: &Device, t: &Civil, severity: u8, out: &mut String) {
    write_pri(LOCAL4, severity, out);
    t.write_cisco(out);
    out.push(' ');
    out.push_str(&dev.hostname);
    out.push_str(" : ");
}

/// Cisco ASA: built/teardown (302013/302014, 302015/302016 UDP), ACL denies (106023, 106100),
/// NAT (305011), AAA (113004, 113015), admin commands (111008), AnyConnect (722051).
pub(super) fn asa(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    let kind = rng.gen_range(0..100u32);
    let severity = match kind {
        0..=59 | 75..=83 | 88..=95 => 6,
        60..=74 => 4,
        84..=85 => 5,
        _ => 4,
    };
    asa_header(dev, t, severity, out);
    let conn_id = rng.gen_range(1..4_000_000_000u32);
    match kind {
        0..=21 => {
            let dir = if rng.gen_bool(0.7) {
                "outbound"
            } else {
                "inbound"
            };
            let _ = write!(
                out,
                "%ASA-6-302013: Built {dir} TCP connection {conn_id} for "
            );
            asa_endpoint_pair(rng, out, true);
        }
        22..=43 => {
            let _ = write!(out, "%ASA-6-302014: Teardown TCP connection {conn_id} for ");
            asa_endpoint_pair(rng, out, false);
            let secs = rng.gen_range(0..7200u32);
            let reason = pick(
                rng,
                &[
                    "TCP FINs",
                    "TCP FINs",
                    "TCP Reset-I",
                    "TCP Reset-O",
                    "Idle Timeout",
                    "SYN Timeout",
                ],
            );
            let _ = write!(
                out,
                " duration {}:{:02}:{:02} bytes {} {reason}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60,
                rng.gen_range(0..5_000_000u32)
            );
        }
        44..=51 => {
            let _ = write!(
                out,
                "%ASA-6-302015: Built outbound UDP connection {conn_id} for outside:{}/53 ({}/53) to inside:{}/{} ({}/{})",
                Ipv4Addr::new(8, 8, rng.gen_range(4..9u8), 8),
                Ipv4Addr::new(8, 8, 8, 8),
                inside_ip(rng),
                ephemeral_port(rng),
                outside_ip(rng),
                ephemeral_port(rng)
            );
        }
        52..=59 => {
            let secs = rng.gen_range(0..120u32);
            let _ = write!(
                out,
                "%ASA-6-302016: Teardown UDP connection {conn_id} for outside:{}/53 to inside:{}/{} duration 0:{:02}:{:02} bytes {}",
                outside_ip(rng),
                inside_ip(rng),
                ephemeral_port(rng),
                secs / 60,
                secs % 60,
                rng.gen_range(40..4000u32)
            );
        }
        60..=74 => {
            // %ASA-4-106023: Deny tcp src outside:addr/port dst inside:addr/port
            // by access-group "acl" [0xhash, 0x0]
            let proto = pick(rng, &["tcp", "tcp", "tcp", "udp"]);
            let _ = write!(
                out,
                "%ASA-4-106023: Deny {proto} src outside:{}/{} dst inside:{}/{} by access-group \"{}\" [0x{:08x}, 0x0]",
                outside_ip(rng),
                ephemeral_port(rng),
                inside_ip(rng),
                service_port(rng),
                pick(rng, &["outside_access_in", "OUTSIDE_IN", "global_access"]),
                rng.gen::<u32>()
            );
        }
        75..=83 => {
            let _ = write!(
                out,
                "%ASA-6-305011: Built dynamic TCP translation from inside:{}/{} to outside:{}/{}",
                inside_ip(rng),
                ephemeral_port(rng),
                dev.ip,
                ephemeral_port(rng)
            );
        }
        84..=85 => {
            let _ = write!(
                out,
                "%ASA-5-111008: User '{}' executed the '{}' command.",
                pick(rng, &["admin", "netops", "enable_15"]),
                pick(
                    rng,
                    &[
                        "write memory",
                        "show running-config",
                        "clear xlate",
                        "copy running-config startup-config"
                    ]
                )
            );
        }
        86..=87 => {
            let _ = write!(
                out,
                "%ASA-4-106100: access-list outside_access_in denied tcp outside/{}({}) -> inside/{}({}) hit-cnt 1 first hit [0x{:08x}, 0x0]",
                outside_ip(rng),
                ephemeral_port(rng),
                inside_ip(rng),
                service_port(rng),
                rng.gen::<u32>()
            );
        }
        88..=95 => {
            let _ = write!(
                out,
                "%ASA-6-113004: AAA user authentication Successful : server = 10.0.0.{} : user = {}",
                rng.gen_range(10..14u8),
                pick(rng, &USERS)
            );
        }
        96..=97 => {
            let _ = write!(
                out,
                "%ASA-6-113015: AAA user authentication Rejected : reason = {} : server = 10.0.0.{} : user = {} : user IP = {}",
                pick(rng, &["AAA failure", "Invalid password"]),
                rng.gen_range(10..14u8),
                pick(rng, &BAD_USERS),
                outside_ip(rng)
            );
        }
        _ => {
            let _ = write!(
                out,
                "%ASA-4-722051: Group <GroupPolicy_VPN> User <{}> IP <{}> IPv4 Address <10.250.{}.{}> assigned to session",
                pick(rng, &USERS),
                outside_ip(rng),
                rng.gen_range(0..8u8),
                rng.gen_range(2..250u8)
            );
        }
    }
}

/// `outside:203.0.113.5/443 (203.0.113.5/443) to inside:10.1.2.3/51234 (198.51.100.7/51234)`.
fn asa_endpoint_pair(rng: &mut SmallRng, out: &mut String, mapped: bool) {
    let remote = outside_ip(rng);
    let rport = service_port(rng);
    let local = inside_ip(rng);
    let lport = ephemeral_port(rng);
    let _ = write!(out, "outside:{remote}/{rport}");
    if mapped {
        let _ = write!(out, " ({remote}/{rport})");
    }
    let _ = write!(out, " to inside:{local}/{lport}");
    if mapped {
        let _ = write!(out, " ({}/{lport})", outside_ip(rng));
    }
}

/// `%ASA-6-113015: AAA user authentication Rejected : reason = ... : user IP = ...`.
pub(super) fn asa_auth_failure(
    rng: &mut SmallRng,
    dev: &Device,
    t: &Civil,
    src_ip: Ipv4Addr,
    user: &str,
    out: &mut String,
) {
    asa_header(dev, t, 6, out);
    let _ = write!(
        out,
        "%ASA-6-113015: AAA user authentication Rejected : reason = {} : server = 10.0.0.{} : user = ",
        pick(rng, &["AAA failure", "Invalid password"]),
        rng.gen_range(10..14u8)
    );
    write_clean(user, true, false, out);
    let _ = write!(out, " : user IP = {src_ip}");
}

/// `%ASA-1-105005: (Primary) Lost Failover communications with mate on interface <if>`.
pub(super) fn asa_link_down(dev: &Device, t: &Civil, interface: &str, out: &mut String) {
    asa_header(dev, t, 1, out);
    out.push_str("%ASA-1-105005: (Primary) Lost Failover communications with mate on interface ");
    write_clean(interface, true, false, out);
}

/// `<PRI>SEQ: HOST: *May  1 12:00:00.123 UTC: ` (IOS with `logging origin-id hostname` and
/// `service timestamps log datetime msec show-timezone`).
fn ios_header(rng: &mut SmallRng, dev: &Device, t: &Civil, severity: u8, out: &mut String) {
    write_pri(LOCAL7, severity, out);
    let _ = write!(out, "{}: {}: ", rng.gen_range(1..999_999u32), dev.hostname);
    t.write_ios(out);
    out.push_str(": ");
}

const IOS_IFACES: [&str; 5] = [
    "GigabitEthernet0/0",
    "GigabitEthernet0/1",
    "GigabitEthernet0/2",
    "TenGigabitEthernet1/0/1",
    "Vlan20",
];

/// Cisco IOS: ACL logging (IPACCESSLOGP/DP), logins (LOGIN_SUCCESS/FAILED), SSH2 user auth,
/// configuration (CONFIG_I, CFGLOG_LOGGEDCMD), interface and OSPF state, zone firewall drops.
pub(super) fn ios(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    match rng.gen_range(0..100u32) {
        0..=44 => {
            ios_header(rng, dev, t, 6, out);
            let (permitted, proto) = (rng.gen_bool(0.3), pick(rng, &["tcp", "tcp", "udp"]));
            let packets = rng.gen_range(1..3u32);
            let _ = write!(
                out,
                "%SEC-6-IPACCESSLOGP: list {} {} {proto} {}({}) -> {}({}), {packets} packet{}",
                pick(rng, &["101", "OUTSIDE-IN", "120"]),
                if permitted { "permitted" } else { "denied" },
                outside_ip(rng),
                ephemeral_port(rng),
                inside_ip(rng),
                service_port(rng),
                if packets == 1 { "" } else { "s" }
            );
        }
        45..=54 => {
            ios_header(rng, dev, t, 6, out);
            let _ = write!(
                out,
                "%SEC-6-IPACCESSLOGDP: list 101 denied icmp {} -> {} (8/0), {} packets",
                outside_ip(rng),
                inside_ip(rng),
                rng.gen_range(1..20u32)
            );
        }
        55..=64 => {
            ios_header(rng, dev, t, 4, out);
            let _ = write!(
                out,
                "%FW-6-DROP_PKT: Dropping tcp session {}:{} {}:{} on zone-pair out-in class class-default with ip ident {}",
                outside_ip(rng),
                ephemeral_port(rng),
                inside_ip(rng),
                service_port(rng),
                rng.gen_range(0..65_535u32)
            );
        }
        65..=74 => {
            ios_header(rng, dev, t, 5, out);
            let _ = write!(
                out,
                "%SEC_LOGIN-5-LOGIN_SUCCESS: Login Success [user: {}] [Source: {}] [localport: 22] at ",
                pick(rng, &["netadmin", "netops", "noc"]),
                inside_ip(rng)
            );
            ios_at(t, out);
        }
        75..=80 => {
            ios_auth_failure_text(t, outside_ip(rng), pick(rng, &BAD_USERS), rng, dev, out);
        }
        81..=86 => {
            ios_header(rng, dev, t, 5, out);
            let _ = write!(
                out,
                "%SSH-5-SSH2_USERAUTH: User '{}' authentication for SSH2 Session from {} (tty = 0) using crypto cipher 'aes256-ctr', hmac 'hmac-sha2-256' Succeeded",
                pick(rng, &["netadmin", "netops", "noc"]),
                inside_ip(rng)
            );
        }
        87..=90 => {
            ios_header(rng, dev, t, 5, out);
            let _ = write!(
                out,
                "%SYS-5-CONFIG_I: Configured from console by {} on vty{} ({})",
                pick(rng, &["netadmin", "netops"]),
                rng.gen_range(0..5u8),
                inside_ip(rng)
            );
        }
        91..=93 => {
            ios_header(rng, dev, t, 5, out);
            let _ = write!(
                out,
                "%PARSER-5-CFGLOG_LOGGEDCMD: User:{}  logged command:interface {}",
                pick(rng, &["netadmin", "netops"]),
                pick(rng, &IOS_IFACES)
            );
        }
        94..=97 => {
            let up = rng.gen_bool(0.5);
            let iface = pick(rng, &IOS_IFACES);
            ios_header(rng, dev, t, if up { 5 } else { 3 }, out);
            if up {
                let _ = write!(
                    out,
                    "%LINEPROTO-5-UPDOWN: Line protocol on Interface {iface}, changed state to up"
                );
            } else {
                let _ = write!(
                    out,
                    "%LINK-3-UPDOWN: Interface {iface}, changed state to down"
                );
            }
        }
        _ => {
            ios_header(rng, dev, t, 5, out);
            let _ = write!(
                out,
                "%OSPF-5-ADJCHG: Process 1, Nbr 10.20.255.{} on {} from LOADING to FULL, Loading Done",
                rng.gen_range(1..250u8),
                pick(rng, &IOS_IFACES)
            );
        }
    }
}

/// `at 12:00:00 UTC Wed May 1 2024` (the tail of SEC_LOGIN messages).
fn ios_at(t: &Civil, out: &mut String) {
    let _ = write!(
        out,
        "{:02}:{:02}:{:02} UTC {} {} {} {}",
        t.hour,
        t.min,
        t.sec,
        t.weekday(),
        t.mon(),
        t.day,
        t.year
    );
}

fn ios_auth_failure_text(
    t: &Civil,
    src_ip: Ipv4Addr,
    user: &str,
    rng: &mut SmallRng,
    dev: &Device,
    out: &mut String,
) {
    ios_header(rng, dev, t, 4, out);
    out.push_str("%SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: ");
    write_clean(user, false, false, out);
    let _ = write!(
        out,
        "] [Source: {src_ip}] [localport: 22] [Reason: Login Authentication Failed] at "
    );
    ios_at(t, out);
}

/// `%SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: u] [Source: ip] ...`.
pub(super) fn ios_auth_failure(
    rng: &mut SmallRng,
    dev: &Device,
    t: &Civil,
    src_ip: Ipv4Addr,
    user: &str,
    out: &mut String,
) {
    ios_auth_failure_text(t, src_ip, user, rng, dev, out);
}

/// `%LINK-3-UPDOWN: Interface <if>, changed state to down` (or the line protocol's
/// `%LINEPROTO-5-UPDOWN`, which follows it).
pub(super) fn ios_link_down(
    rng: &mut SmallRng,
    dev: &Device,
    t: &Civil,
    interface: &str,
    out: &mut String,
) {
    if rng.gen_bool(0.5) {
        ios_header(rng, dev, t, 3, out);
        out.push_str("%LINK-3-UPDOWN: Interface ");
        write_clean(interface, true, false, out);
    } else {
        ios_header(rng, dev, t, 5, out);
        out.push_str("%LINEPROTO-5-UPDOWN: Line protocol on Interface ");
        write_clean(interface, true, false, out);
    }
    out.push_str(", changed state to down");
}

const PAN_APPS: [&str; 8] = [
    "ssl",
    "web-browsing",
    "dns",
    "ms-rdp",
    "ssh",
    "office365-base",
    "google-base",
    "ntp",
];
const PAN_THREATS: [&str; 5] = [
    "Microsoft Windows SMB Remote Code Execution Vulnerability(32427)",
    "Apache Log4j Remote Code Execution Vulnerability(91991)",
    "SSH User Authentication Brute Force Attempt(40015)",
    "HTTP Directory Traversal Vulnerability(30844)",
    "Suspicious DNS Query (generic:malware.example)(109001001)",
];

/// `<PRI>May  1 12:00:00 pa-fw-01 1,2024/05/01 12:00:00,SERIAL,TYPE,SUBTYPE,2561,2024/05/01
/// 12:00:00,` : the RFC 3164 header and the columns every log type starts with.
fn panos_prefix(
    dev: &Device,
    t: &Civil,
    severity: u8,
    typ: &str,
    sub: &str,
    out: &mut String,
) -> u64 {
    write_pri(USER, severity, out);
    t.write_3164(out);
    out.push(' ');
    out.push_str(&dev.hostname);
    out.push_str(" 1,");
    let serial = 7_901_000_000u64 + u64::from(u32::from(dev.ip) & 0xffff);
    t.write_date('/', out);
    out.push(' ');
    t.write_time(out);
    let _ = write!(out, ",{serial:012},{typ},{sub},2561,");
    t.write_date('/', out);
    out.push(' ');
    t.write_time(out);
    out.push(',');
    serial
}

/// PAN-OS TRAFFIC (65%), THREAT (20%), SYSTEM (6%), AUTHENTICATION (5%) and GLOBALPROTECT
/// (4%) CSV with the documented column order (PAN-OS 10.x/11.x syslog field descriptions).
pub(super) fn panos(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    match rng.gen_range(0..100u32) {
        0..=84 => panos_session(rng, dev, t, out),
        85..=90 => panos_system(rng, dev, t, out),
        91..=95 => {
            let ok = rng.gen_bool(0.8);
            let user = pick(rng, &USERS);
            let ip = if ok { inside_ip(rng) } else { outside_ip(rng) };
            panos_auth(rng, dev, t, ip, user, ok, out);
        }
        _ => panos_globalprotect(rng, dev, t, out),
    }
}

fn panos_session(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    let threat = rng.gen_range(0..85u32) < 20;
    let (typ, sub) = if threat {
        (
            "THREAT",
            pick(rng, &["vulnerability", "spyware", "vulnerability"]),
        )
    } else {
        (
            "TRAFFIC",
            pick(rng, &["end", "end", "start", "drop", "deny"]),
        )
    };
    panos_prefix(dev, t, if threat { 4 } else { 6 }, typ, sub, out);
    // Source Address, Destination Address, NAT Source IP, NAT Destination IP
    let src = inside_ip(rng);
    let dst = outside_ip(rng);
    let _ = write!(out, "{src},{dst},{},{dst},", dev.ip);
    // Rule, Source User, Destination User, Application, Virtual System, Source Zone,
    // Destination Zone, Inbound Interface, Outbound Interface, Log Action, FUTURE_USE
    let blocked = matches!(sub, "drop" | "deny");
    let rule = if blocked {
        pick(rng, &["block-bad", "default-deny"])
    } else {
        pick(rng, &["allow-outbound", "allow-dmz", "allow-web"])
    };
    let _ = write!(out, "{rule},");
    if rng.gen_bool(0.5) {
        let _ = write!(out, "corp\\{}", pick(rng, &USERS));
    }
    let app = pick(rng, &PAN_APPS);
    let _ = write!(
        out,
        ",,{app},vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,"
    );
    t.write_date('/', out);
    out.push(' ');
    t.write_time(out);
    // Session ID, Repeat Count, Source Port, Destination Port, NAT Source Port, NAT
    // Destination Port, Flags, Protocol
    let sport = ephemeral_port(rng);
    let dport = service_port(rng);
    let proto = if app == "dns" || app == "ntp" {
        "udp"
    } else {
        "tcp"
    };
    let _ = write!(
        out,
        ",{},1,{sport},{dport},{},{dport},0x400064,{proto},",
        rng.gen_range(1..2_000_000u32),
        ephemeral_port(rng)
    );
    let seq = rng.gen_range(7_000_000_000u64..7_999_999_999);
    if threat {
        let action = pick(rng, &["alert", "reset-both", "drop", "block-ip"]);
        let threat_id = pick(rng, &PAN_THREATS);
        let severity = pick(rng, &["informational", "low", "medium", "high", "critical"]);
        let _ = write!(
            out,
            "{action},,{threat_id},any,{severity},client-to-server,{seq},0x2000000000000000,10.0.0.0-10.255.255.255,United States,0,,0,,,0,,,,,,,,0,0,0,0,0,vsys1,"
        );
    } else {
        let action = match sub {
            "drop" => "drop",
            "deny" => "deny",
            _ => "allow",
        };
        let (sent, rcvd, reason) = match sub {
            "start" => (rng.gen_range(60..2_000u32), 0, "n/a"),
            "end" => (
                rng.gen_range(60..200_000u32),
                rng.gen_range(0..2_000_000u32),
                pick(
                    rng,
                    &["aged-out", "tcp-fin", "tcp-fin", "tcp-rst-from-client"],
                ),
            ),
            _ => (rng.gen_range(60..200u32), 0, "policy-deny"),
        };
        let (ps, pr) = (sent / 700 + 1, rcvd / 1200);
        let _ = write!(
            out,
            "{action},{},{sent},{rcvd},{},",
            u64::from(sent) + u64::from(rcvd),
            ps + pr
        );
        t.write_date('/', out);
        out.push(' ');
        t.write_time(out);
        let _ = write!(
            out,
            ",{},any,0,{seq},0x0,10.0.0.0-10.255.255.255,United States,0,{ps},{pr},{reason},0,0,0,0,vsys1,",
            if sub == "end" { rng.gen_range(0..600u32) } else { 0 }
        );
    }
    out.push_str(&dev.hostname);
    if threat {
        let category = pick(
            rng,
            &["code-execution", "brute-force", "info-leak", "dns-c2"],
        );
        let _ = write!(out, ",,,,,0,,0,,N/A,{category},8795-8500");
    } else {
        let _ = write!(
            out,
            ",from-policy,,,0,,0,,N/A,0,0,0,0,5b8d2c1e-0a4f-4c7e-9d3b-{:012x}",
            rule.len() as u64 * 0x1_0001 + u64::from(u32::from(dev.ip) & 0xffff)
        );
    }
}

/// SYSTEM: `general` admin logins, `auth` failures, HA state, content updates.
fn panos_system(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    let (sub, event, module, severity, pri) = match rng.gen_range(0..4u32) {
        0 => ("general", "general", "general", "informational", 6),
        1 => ("auth", "auth-fail", "general", "medium", 3),
        2 => ("general", "general", "general", "informational", 6),
        _ => ("dnsproxy", "dnsproxy-up", "general", "informational", 6),
    };
    panos_prefix(dev, t, pri, "SYSTEM", sub, out);
    let _ = write!(out, ",{event},,0,0,{module},{severity},");
    match event {
        "auth-fail" => {
            let _ = write!(
                out,
                "failed authentication for user '{}'.  Reason: Invalid username/password. From: {}.",
                pick(rng, &BAD_USERS),
                outside_ip(rng)
            );
        }
        "dnsproxy-up" => out.push_str("DNS proxy object is up"),
        _ => {
            let _ = write!(
                out,
                "User {} logged in via Web from {} using https",
                pick(rng, &["admin", "netops"]),
                inside_ip(rng)
            );
        }
    }
    let _ = write!(
        out,
        ",{},0x0,0,0,0,0,,{},0,0,",
        rng.gen_range(1000..99_999u32),
        dev.hostname
    );
}

/// AUTHENTICATION: `auth-success` or `auth-fail` of a captive portal / GlobalProtect user.
fn panos_auth(
    rng: &mut SmallRng,
    dev: &Device,
    t: &Civil,
    src_ip: Ipv4Addr,
    user: &str,
    ok: bool,
    out: &mut String,
) {
    panos_prefix(dev, t, 6, "AUTHENTICATION", "0", out);
    let _ = write!(out, "vsys1,{src_ip},");
    write_clean(user, false, false, out);
    out.push(',');
    // normalize_user: the same name.
    write_clean(user, false, false, out);
    let _ = write!(
        out,
        ",cp-object,captive-portal-web,1,{},,Log-Fwd,corp-ldap,,0,{},1,{},0x0,0,0,0,0,,{},1,PAP,,",
        rng.gen_range(1000..99_999u32),
        if ok { "auth-success" } else { "auth-fail" },
        rng.gen_range(100..99_999u32),
        dev.hostname
    );
}

/// `<PRI>... AUTHENTICATION,...,auth-fail,...` for `user` from `src_ip`.
pub(super) fn panos_auth_failure(
    rng: &mut SmallRng,
    dev: &Device,
    t: &Civil,
    src_ip: Ipv4Addr,
    user: &str,
    out: &mut String,
) {
    panos_auth(rng, dev, t, src_ip, user, false, out);
}

/// GLOBALPROTECT: portal pre-login and gateway connected events.
fn panos_globalprotect(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    panos_prefix(dev, t, 6, "GLOBALPROTECT", "0", out);
    let (event, stage, desc) = if rng.gen_bool(0.5) {
        ("portal-prelogin", "before-login", "Portal pre-login")
    } else {
        (
            "gateway-connected",
            "connected",
            "GlobalProtect gateway connected",
        )
    };
    let _ = write!(
        out,
        "vsys1,{event},{stage},,ipsec,{},DE,laptop-{:03},{},,10.250.{}.{},,a1b2c3d4-e5f6,C02XK0AAJG5J,6.1.1,\"Microsoft Windows 10 Pro , 64-bit\",10.0.19045,1,,,{desc},success,Frankfurt,0,on-demand,0,corp-portal,{},0x8000000000000000,,manual,,,,corp-gw,0,0,0,0,,{},1,",
        pick(rng, &USERS),
        rng.gen_range(1..400u32),
        outside_ip(rng),
        rng.gen_range(0..8u8),
        rng.gen_range(2..250u8),
        rng.gen_range(100..99_999u32),
        dev.hostname
    );
}

/// Juniper SRX (RFC 3164, `structured-data` off): RT_FLOW session create/close/deny, RT_IDS
/// screens, SSHD_LOGIN_FAILED, UI_LOGIN_EVENT, UI_COMMIT, SNMP link traps.
pub(super) fn srx(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    let kind = rng.gen_range(0..100u32);
    let (facility, severity) = match kind {
        0..=79 => (USER, 6),
        80..=87 => (USER, 3),
        88..=93 => (AUTH, 6),
        _ => (DAEMON, 5),
    };
    write_pri(facility, severity, out);
    t.write_3164(out);
    out.push(' ');
    out.push_str(&dev.hostname);
    let src = inside_ip(rng);
    let dst = outside_ip(rng);
    let (sport, dport) = (ephemeral_port(rng), service_port(rng));
    let (proto, service) = match dport {
        53 => (17, "junos-dns-udp"),
        123 => (17, "junos-ntp"),
        80 | 8080 => (6, "junos-http"),
        22 => (6, "junos-ssh"),
        _ => (6, "junos-https"),
    };
    let session = rng.gen_range(10_000..9_999_999u32);
    let nat_port = ephemeral_port(rng);
    match kind {
        0..=34 => {
            let _ = write!(
                out,
                " RT_FLOW: RT_FLOW_SESSION_CREATE: session created {src}/{sport}->{dst}/{dport} 0x0 {service} {}/{nat_port}->{dst}/{dport} 0x0 source rule trust-to-untrust N/A N/A {proto} allow-web trust untrust {session} N/A(N/A) ge-0/0/1.0 UNKNOWN UNKNOWN UNKNOWN",
                dev.ip
            );
        }
        35..=64 => {
            let (pk_out, pk_in) = (rng.gen_range(1..400u32), rng.gen_range(1..900u32));
            let _ = write!(
                out,
                " RT_FLOW: RT_FLOW_SESSION_CLOSE: session closed {}: {src}/{sport}->{dst}/{dport} 0x0 {service} {}/{nat_port}->{dst}/{dport} 0x0 source rule trust-to-untrust N/A N/A {proto} allow-web trust untrust {session} {pk_out}({}) {pk_in}({}) {} UNKNOWN UNKNOWN N/A(N/A) ge-0/0/1.0 UNKNOWN ",
                pick(rng, &["TCP FIN", "TCP RST", "idle Timeout", "response received"]),
                dev.ip,
                pk_out * 300,
                pk_in * 900,
                rng.gen_range(1..3600u32)
            );
        }
        65..=79 => {
            let _ = write!(
                out,
                " RT_FLOW: RT_FLOW_SESSION_DENY: session denied {}/{}->{}/{dport} 0x0 {service} {proto}(0) default-deny untrust trust UNKNOWN UNKNOWN N/A(N/A) ge-0/0/0.0 UNKNOWN policy deny",
                outside_ip(rng),
                ephemeral_port(rng),
                dev.ip
            );
        }
        80..=87 => {
            let (screen, what) = if rng.gen_bool(0.6) {
                ("RT_SCREEN_TCP", "SYN flood!")
            } else {
                ("RT_SCREEN_UDP", "UDP flood!")
            };
            let _ = write!(
                out,
                " RT_IDS: {screen}: {what} source: {}:{}, destination: {}:{dport}, zone name: untrust, interface name: ge-0/0/0.0, action: drop",
                outside_ip(rng),
                ephemeral_port(rng),
                dev.ip
            );
        }
        88..=91 => {
            let _ = write!(
                out,
                " sshd[{}]: SSHD_LOGIN_FAILED: Login failed for user '{}' from host '{}'",
                rng.gen_range(300..65_000u32),
                pick(rng, &BAD_USERS),
                outside_ip(rng)
            );
        }
        92..=93 => {
            let pid = rng.gen_range(300..65_000u32);
            let _ = write!(
                out,
                " mgd[{pid}]: UI_LOGIN_EVENT: User '{}' login, class 'super-user' [{pid}], ssh-connection '{} {} {} 22', client-mode 'cli'",
                pick(rng, &["netops", "noc", "admin"]),
                inside_ip(rng),
                ephemeral_port(rng),
                dev.ip
            );
        }
        94..=97 => {
            let _ = write!(
                out,
                " mgd[{}]: UI_COMMIT: User '{}' requested 'commit' operation (comment: none)",
                rng.gen_range(300..65_000u32),
                pick(rng, &["netops", "noc"])
            );
        }
        _ => {
            let port = rng.gen_range(0..8u8);
            let _ = write!(
                out,
                " mib2d[{}]: SNMP_TRAP_LINK_UP: ifIndex {}, ifAdminStatus up(1), ifOperStatus up(1), ifName ge-0/0/{port}",
                rng.gen_range(300..65_000u32),
                510 + u32::from(port)
            );
        }
    }
}

/// `sshd[pid]: SSHD_LOGIN_FAILED: Login failed for user 'u' from host 'ip'`.
pub(super) fn srx_auth_failure(
    rng: &mut SmallRng,
    dev: &Device,
    t: &Civil,
    src_ip: Ipv4Addr,
    user: &str,
    out: &mut String,
) {
    write_pri(AUTH, 6, out);
    t.write_3164(out);
    let _ = write!(
        out,
        " {} sshd[{}]: SSHD_LOGIN_FAILED: Login failed for user '",
        dev.hostname,
        rng.gen_range(300..65_000u32)
    );
    write_clean(user, false, true, out);
    let _ = write!(out, "' from host '{src_ip}'");
}

/// `mib2d[pid]: SNMP_TRAP_LINK_DOWN: ifIndex N, ifAdminStatus up(1), ifOperStatus down(2),
/// ifName <if>`.
pub(super) fn srx_link_down(
    rng: &mut SmallRng,
    dev: &Device,
    t: &Civil,
    interface: &str,
    out: &mut String,
) {
    write_pri(DAEMON, 4, out);
    t.write_3164(out);
    let _ = write!(
        out,
        " {} mib2d[{}]: SNMP_TRAP_LINK_DOWN: ifIndex {}, ifAdminStatus up(1), ifOperStatus down(2), ifName ",
        dev.hostname,
        rng.gen_range(300..65_000u32),
        rng.gen_range(500..600u32)
    );
    write_clean(interface, true, false, out);
}

#[cfg(test)]
mod tests {
    use super::super::tests::{render_all, split_pri};
    use super::super::Vendor;

    #[test]
    fn asa_lines_carry_the_message_ids_with_matching_severity() {
        let lines = render_all(Vendor::Asa);
        for (id, pri) in [
            ("%ASA-6-302013: Built ", 166),
            ("%ASA-6-302014: Teardown TCP connection ", 166),
            ("%ASA-4-106023: Deny ", 164),
            (
                "%ASA-6-113004: AAA user authentication Successful : server = ",
                166,
            ),
        ] {
            let hit = lines.iter().find(|l| l.contains(id)).expect(id);
            assert_eq!(split_pri(hit).0, pri, "{hit}");
        }
        let deny = lines.iter().find(|l| l.contains("106023")).unwrap();
        assert!(deny.contains(" by access-group \""), "{deny}");
        assert!(
            deny.contains(" src outside:") && deny.contains(" dst inside:"),
            "{deny}"
        );
        let tear = lines.iter().find(|l| l.contains("302014")).unwrap();
        assert!(
            tear.contains(" duration ") && tear.contains(" bytes "),
            "{tear}"
        );
    }

    #[test]
    fn panos_lines_have_documented_columns() {
        let lines = render_all(Vendor::PanOs);
        for typ in ["TRAFFIC", "THREAT"] {
            let line = lines
                .iter()
                .find(|l| l.split(',').nth(3) == Some(typ))
                .expect(typ);
            let (_, rest) = split_pri(line);
            let csv = &rest[rest.find(" 1,").expect("CSV starts with FUTURE_USE 1") + 1..];
            let cols: Vec<&str> = csv.split(',').collect();
            assert_eq!(cols[3], typ);
            assert!(cols[7].starts_with("10."), "source address: {line}");
            assert!(matches!(cols[29], "tcp" | "udp"), "protocol column: {line}");
            if typ == "TRAFFIC" {
                assert!(matches!(cols[30], "allow" | "drop" | "deny"), "{line}");
                assert_eq!(cols.len(), 66, "{line}");
                assert_eq!(cols[53], "from-policy", "action source: {line}");
            } else {
                assert!(cols[32].ends_with(')'), "threat id column: {line}");
                assert_eq!(cols.len(), 71, "{line}");
                assert!(cols[59].starts_with("pa-fw-"), "device name: {line}");
            }
        }
    }
}
