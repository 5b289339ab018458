//! Firewall templates: Cisco ASA and Palo Alto PAN-OS (CSV).

use std::fmt::Write as _;

use rand::rngs::SmallRng;
use rand::Rng;

use super::{
    ephemeral_port, pick, service_port, write_inside_ip, write_outside_ip, write_pri, Civil,
    Device, USERS,
};

const LOCAL4: u8 = 20;
const USER: u8 = 1;

/// Cisco ASA: `<166>May 01 2024 12:00:00 asa-fw-01 : %ASA-6-302013: Built ...`.
pub(super) fn asa(rng: &mut SmallRng, dev: Device, t: &Civil, out: &mut String) {
    let kind = rng.gen_range(0..100u32);
    let severity = match kind {
        0..=69 | 90..=99 => 6,
        _ => 4,
    };
    write_pri(LOCAL4, severity, out);
    t.write_cisco(out);
    out.push(' ');
    dev.write_hostname(out);
    out.push_str(" : ");
    let conn_id = rng.gen_range(1..4_000_000_000u32);
    match kind {
        0..=34 => {
            // %ASA-6-302013: Built {inbound|outbound} TCP connection id for
            // iface:addr/port (mapped/port) to iface:addr/port (mapped/port)
            let outbound = rng.gen_bool(0.7);
            let dir = if outbound { "outbound" } else { "inbound" };
            let _ = write!(
                out,
                "%ASA-6-302013: Built {dir} TCP connection {conn_id} for "
            );
            asa_endpoint_pair(rng, out, true);
        }
        35..=69 => {
            // %ASA-6-302014: Teardown TCP connection id for iface:addr/port to iface:addr/port
            // duration h:mm:ss bytes N reason
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
        70..=89 => {
            // %ASA-4-106023: Deny tcp src outside:addr/port dst inside:addr/port
            // by access-group "acl" [0xhash, 0x0]
            let proto = pick(rng, &["tcp", "tcp", "tcp", "udp"]);
            let _ = write!(out, "%ASA-4-106023: Deny {proto} src outside:");
            write_outside_ip(rng, out);
            let _ = write!(out, "/{} dst inside:", ephemeral_port(rng));
            write_inside_ip(rng, out);
            let acl = pick(rng, &["outside_access_in", "OUTSIDE_IN", "global_access"]);
            let _ = write!(
                out,
                "/{} by access-group \"{acl}\" [0x{:08x}, 0x0]",
                service_port(rng),
                rng.gen::<u32>()
            );
        }
        _ => {
            // %ASA-6-113004: AAA user authentication Successful : server = IP : user = name
            let _ = write!(
                out,
                "%ASA-6-113004: AAA user authentication Successful : server = 10.0.0.{} : user = {}",
                rng.gen_range(10..14u8),
                pick(rng, &USERS)
            );
        }
    }
}

/// `outside:203.0.113.5/443 (203.0.113.5/443) to inside:10.1.2.3/51234 (198.51.100.7/51234)`.
fn asa_endpoint_pair(rng: &mut SmallRng, out: &mut String, mapped: bool) {
    let mut remote = String::with_capacity(16);
    write_outside_ip(rng, &mut remote);
    let rport = service_port(rng);
    let mut local = String::with_capacity(16);
    write_inside_ip(rng, &mut local);
    let lport = ephemeral_port(rng);
    let _ = write!(out, "outside:{remote}/{rport}");
    if mapped {
        let _ = write!(out, " ({remote}/{rport})");
    }
    let _ = write!(out, " to inside:{local}/{lport}");
    if mapped {
        out.push_str(" (");
        write_outside_ip(rng, out);
        let _ = write!(out, "/{lport})");
    }
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

/// PAN-OS TRAFFIC or THREAT CSV with the documented column order (PAN-OS 10.x/11.x syslog
/// field descriptions), after an RFC 3164 header.
pub(super) fn panos(rng: &mut SmallRng, dev: Device, t: &Civil, out: &mut String) {
    let threat = rng.gen_bool(0.25);
    write_pri(USER, if threat { 4 } else { 6 }, out);
    t.write_3164(out);
    out.push(' ');
    dev.write_hostname(out);
    out.push(' ');
    let mut ts = String::with_capacity(20);
    t.write_date('/', &mut ts);
    ts.push(' ');
    t.write_time(&mut ts);
    let serial = 7_901_000_000u64 + u64::from(dev.index);
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
    // FUTURE_USE, Receive Time, Serial, Type, Threat/Content Type, FUTURE_USE, Generated Time
    let _ = write!(out, "1,{ts},{serial:012},{typ},{sub},2561,{ts},");
    // Source Address, Destination Address, NAT Source IP, NAT Destination IP
    let mut src = String::with_capacity(16);
    write_inside_ip(rng, &mut src);
    let mut dst = String::with_capacity(16);
    write_outside_ip(rng, &mut dst);
    let _ = write!(out, "{src},{dst},203.0.113.{},{dst},", dev.index % 250 + 1);
    // Rule, Source User, Destination User, Application, Virtual System, Source Zone, Destination
    // Zone, Inbound Interface, Outbound Interface, Log Action, FUTURE_USE
    let blocked = matches!(sub, "drop" | "deny");
    let rule = if blocked {
        pick(rng, &["block-bad", "default-deny"])
    } else {
        pick(rng, &["allow-outbound", "allow-dmz", "allow-web"])
    };
    let user = if rng.gen_bool(0.5) {
        format!("corp\\{}", pick(rng, &USERS))
    } else {
        String::new()
    };
    let app = pick(rng, &PAN_APPS);
    let _ = write!(
        out,
        "{rule},{user},,{app},vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,{ts},"
    );
    // Session ID, Repeat Count, Source Port, Destination Port, NAT Source Port, NAT Destination
    // Port, Flags, Protocol
    let sport = ephemeral_port(rng);
    let dport = service_port(rng);
    let proto = if app == "dns" || app == "ntp" {
        "udp"
    } else {
        "tcp"
    };
    let _ = write!(
        out,
        "{},1,{sport},{dport},{},{dport},0x400064,{proto},",
        rng.gen_range(1..2_000_000u32),
        ephemeral_port(rng)
    );
    let seq = rng.gen_range(7_000_000_000u64..7_999_999_999);
    if threat {
        // Action, URL/Filename, Threat ID, Category, Severity, Direction, Sequence Number, Action
        // Flags, Source Location, Destination Location, FUTURE_USE, Content Type, PCAP_ID, File
        // Digest, Cloud, URL Index, User Agent, File Type, X-Forwarded-For, Referer, Sender,
        // Subject, Recipient, Report ID, DG Hierarchy 1-4, Virtual System Name, Device Name
        let action = pick(rng, &["alert", "reset-both", "drop", "block-ip"]);
        let threat_id = pick(rng, &PAN_THREATS);
        let severity = pick(rng, &["informational", "low", "medium", "high", "critical"]);
        let _ = write!(
            out,
            "{action},,{threat_id},any,{severity},client-to-server,{seq},0x2000000000000000,10.0.0.0-10.255.255.255,United States,0,,0,,,0,,,,,,,,0,0,0,0,0,vsys1,"
        );
    } else {
        // Action, Bytes, Bytes Sent, Bytes Received, Packets, Start Time, Elapsed Time,
        // Category, FUTURE_USE, Sequence Number, Action Flags, Source Location, Destination
        // Location, FUTURE_USE, Packets Sent, Packets Received, Session End Reason, DG Hierarchy
        // 1-4, Virtual System Name, Device Name, Action Source
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
            "{action},{},{sent},{rcvd},{},{ts},{},any,0,{seq},0x0,10.0.0.0-10.255.255.255,United States,0,{ps},{pr},{reason},0,0,0,0,vsys1,",
            u64::from(sent) + u64::from(rcvd),
            ps + pr,
            if sub == "end" { rng.gen_range(0..600u32) } else { 0 }
        );
    }
    dev.write_hostname(out);
    if threat {
        // FUTURE_USE, Source/Destination VM UUID, HTTP Method, Tunnel ID, Monitor Tag, Parent
        // Session ID, Parent Start Time, Tunnel Type, Threat Category, Content Version
        let category = pick(
            rng,
            &["code-execution", "brute-force", "info-leak", "dns-c2"],
        );
        let _ = write!(out, ",,,,,0,,0,,N/A,{category},8795-8500");
    } else {
        // Action Source, Source/Destination VM UUID, Tunnel ID, Monitor Tag, Parent Session ID,
        // Parent Start Time, Tunnel Type, SCTP Association ID, SCTP Chunks (total, sent,
        // received), Rule UUID
        let _ = write!(
            out,
            ",from-policy,,,0,,0,,N/A,0,0,0,0,5b8d2c1e-0a4f-4c7e-9d3b-{:012x}",
            rule.len() as u64 * 0x1_0001 + u64::from(dev.index)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{render_all, split_pri};
    use super::super::Vendor;

    #[test]
    fn asa_lines_carry_the_four_message_ids_with_matching_severity() {
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
