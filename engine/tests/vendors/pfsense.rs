//! Tests for the `pfsense` mapping.
use crate::support::*;

// Lines composed from the pfSense "Filter Log Format" (IPv4 / IPv6, TCP / UDP / ICMP / CARP)
// and the sshd / webConfigurator login messages; addresses from the documentation ranges.
const FL_TCP_BLOCK: &str = r#"<134>Mar  1 12:00:00 filterlog[48211]: 5,,,1000000103,igb1,match,block,in,4,0x0,,64,12345,0,DF,6,tcp,60,198.51.100.7,203.0.113.10,51234,22,0,S,1234567890,,64240,,mss;sackOK;TS;nop;wscale"#;
const FL_UDP_PASS: &str = r#"<134>Mar  1 12:00:01 filterlog[48211]: 71,,,1700000000,igb0,match,pass,in,4,0x0,,63,54321,0,none,17,udp,72,10.0.10.20,192.0.2.53,50514,53,52"#;
const FL_ICMP_REQ: &str = r#"<134>Mar  1 12:00:02 filterlog[48211]: 4,,,1000000103,igb1,match,block,in,4,0x0,,116,0,0,none,1,icmp,28,198.51.100.8,203.0.113.10,request,2451,1"#;
const FL_V6_TCP: &str = r#"<134>Mar  1 12:00:03 filterlog[48211]: 9,,,1000000105,igb1,match,block,in,6,0x00,0x00000,55,tcp,6,40,2001:db8:beef::7,2001:db8:10::20,44321,443,0,S,987654321,,65535,,"#;
const FL_V6_ICMP: &str = r#"<134>Mar  1 12:00:04 filterlog[48211]: 72,,,1770000001,igb0,match,pass,out,6,0x00,0x00000,255,ipv6-icmp,58,32,fe80::20c:29ff:fe12:3456,ff02::1:ff00:1,"#;
const FL_TCP_PASS: &str = r#"<134>Mar  1 12:00:05 filterlog[48211]: 71,,,1700000000,igb0,match,pass,in,4,0x10,,64,40000,0,DF,6,tcp,52,10.0.10.21,203.0.113.80,52000,443,0,S,111111111,,64240,,mss;nop;nop;sackOK"#;
const FL_V6_UDP: &str = r#"<134>Mar  1 12:00:06 filterlog[48211]: 9,,,1000000105,igb1,match,block,in,6,0x00,0x12345,64,udp,17,84,2001:db8:beef::8,2001:db8:10::20,5353,5353,76"#;
const FL_ICMP_REPLY: &str = r#"<134>Mar  1 12:00:07 filterlog[48211]: 71,,,1700000000,igb0,match,pass,in,4,0x0,,128,2201,0,none,1,icmp,60,10.0.10.22,192.0.2.1,reply,1,77"#;
const FL_UDP_BLOCK: &str = r#"<134>Mar  1 12:00:08 filterlog[48211]: 6,,,1000000104,igb1,match,block,in,4,0x0,,50,0,0,DF,17,udp,40,198.51.100.9,203.0.113.10,1900,1900,20"#;
const FL_CARP: &str = r#"<134>Mar  1 12:00:09 filterlog[48211]: 4,,,1000000103,igb1,match,block,in,4,0x0,,243,60000,0,none,112,carp,56,203.0.113.2,224.0.0.18,advertise,255,1,2,0,1"#;
const FL_5424: &str = r#"<134>1 2024-03-01T12:00:10.123456+00:00 pfsense.home.arpa filterlog 48211 - - 5,,,1000000103,igb1,match,block,in,4,0x0,,241,54321,0,none,6,tcp,44,198.51.100.10,203.0.113.10,60000,3389,0,S,2222222222,,1024,,mss"#;
const FL_NOPRI: &str = r#"Mar  1 12:00:11 pfsense filterlog[48211]: 5,,,1000000103,igb1,match,block,in,4,0x0,,241,54322,0,none,6,tcp,44,198.51.100.11,203.0.113.10,60001,445,0,S,3333333333,,1024,,mss "#;
const SSH_OK: &str = r#"<38>Mar  1 12:10:00 pfsense sshd[61234]: Accepted keyboard-interactive/pam for admin from 10.0.10.30 port 50222 ssh2"#;
const SSH_FAIL: &str = r#"<38>Mar  1 12:10:05 pfsense sshd[61235]: Failed password for invalid user oracle from 198.51.100.44 port 40022 ssh2"#;
const SSH_INVALID: &str =
    r#"<38>Mar  1 12:10:06 pfsense sshd[61235]: Invalid user test from 198.51.100.45 port 40023"#;
const SSH_PAM: &str = r#"<38>Mar  1 12:10:07 pfsense sshd[61236]: error: PAM: Authentication error for admin from 2001:db8:beef::9"#;
const SSH_KEY6: &str = r#"<38>Mar  1 12:10:08 pfsense sshd[61237]: Accepted publickey for backup from 2001:db8:10::31 port 51000 ssh2: ED25519 SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"#;
const SSH_DISC: &str = r#"<38>Mar  1 12:10:09 pfsense sshd[61237]: Disconnected from user backup 2001:db8:10::31 port 51000"#;
const WEB_OK: &str = r#"<37>Mar  1 12:20:00 pfsense php-fpm[345]: /index.php: Successful login for user 'admin' from: 10.0.10.30 (Local Database)"#;
const WEB_FAIL: &str = r#"<35>Mar  1 12:20:05 pfsense php-fpm[345]: /index.php: webConfigurator authentication error for user 'root' from: 198.51.100.50"#;
const WEB_LOGOUT: &str = r#"<37>Mar  1 12:20:10 pfsense php-fpm[345]: /index.php: User logged out for user 'admin' from: 10.0.10.30 (Local Database)"#;
const WEB_OK6: &str = r#"<37>Mar  1 12:20:15 pfsense php-fpm[345]: /index.php: Successful login for user 'jane.doe' from: 2001:db8:10::40 (RADIUS)"#;
const WEB_FAIL_OLD: &str = r#"<35>Mar  1 12:20:20 pfsense php[99]: /index.php: webConfigurator authentication error for 'admin' from 198.51.100.51"#;
const PHP_OTHER: &str = r#"<37>Mar  1 12:21:00 pfsense php-fpm[345]: /rc.linkup: Hotplug event detected for WAN(igb1) static IP (203.0.113.10 )"#;
const SSHGUARD: &str = r#"<36>Mar  1 12:22:00 pfsense sshguard[5001]: Attack from "198.51.100.44" on service SSH with danger 10."#;

const V: &str = "pfsense";

fn check_common(e: &serde_json::Value) {
    assert_eq!(e["metadata"]["product"]["vendor_name"], "Netgate");
    assert_eq!(e["metadata"]["product"]["name"], "pfSense");
}

#[test]
fn filterlog_ipv4_tcp_block_with_yearless_header() {
    assert_eq!(detect(FL_TCP_BLOCK).as_deref(), Some(V));
    let e = normalise(V, FL_TCP_BLOCK);
    check_common(&e);
    assert_eq!(e["time"], ms("2024-03-01T12:00:00Z"));
    assert_eq!(e["class_uid"], 4001);
    assert_eq!(e["activity_name"], "Refuse");
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["disposition"], "Blocked");
    assert_eq!(e["src_endpoint"]["ip"], "198.51.100.7");
    assert_eq!(e["src_endpoint"]["port"], 51234);
    assert_eq!(e["dst_endpoint"]["ip"], "203.0.113.10");
    assert_eq!(e["dst_endpoint"]["port"], 22);
    assert_eq!(e["connection_info"]["protocol_name"], "tcp");
    assert_eq!(e["metadata"]["event_code"], "filterlog");
    assert_eq!(e["unmapped"]["interface"], "igb1");
    assert_eq!(e["unmapped"]["tracker"], "1000000103");
    assert_eq!(e["unmapped"]["direction"], "in");
    assert_eq!(e["unmapped"]["tcp_flags"], "S");
    assert_eq!(e["unmapped"]["tcp_options"], "mss;sackOK;TS;nop;wscale");
    // Empty sub rule / anchor columns are not kept.
    assert!(e["unmapped"].get("sub_rule").is_none());

    let e = normalise(V, FL_TCP_PASS);
    assert_eq!(e["status"], "Success");
    assert_eq!(e["disposition"], "Allowed");
    assert_eq!(e["dst_endpoint"]["port"], 443);
}

#[test]
fn filterlog_ipv4_udp_and_icmp() {
    let e = normalise(V, FL_UDP_PASS);
    assert_eq!(e["time"], ms("2024-03-01T12:00:01Z"));
    assert_eq!(e["status"], "Success");
    assert_eq!(e["disposition"], "Allowed");
    assert_eq!(e["connection_info"]["protocol_name"], "udp");
    assert_eq!(e["src_endpoint"]["port"], 50514);
    assert_eq!(e["dst_endpoint"]["port"], 53);
    assert_eq!(e["unmapped"]["data_length"], "52");

    let e = normalise(V, FL_UDP_BLOCK);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["dst_endpoint"]["port"], 1900);

    // ICMP: no ports; the type column is not a port.
    let e = normalise(V, FL_ICMP_REQ);
    assert_eq!(e["connection_info"]["protocol_name"], "icmp");
    assert!(e["src_endpoint"].get("port").is_none(), "{e}");
    assert!(e["dst_endpoint"].get("port").is_none(), "{e}");
    assert_eq!(e["unmapped"]["icmp_type"], "request");
    assert_eq!(e["unmapped"]["icmp_id"], "2451");
    assert_eq!(e["unmapped"]["icmp_seq"], "1");
    assert_eq!(e["status"], "Failure");

    let e = normalise(V, FL_ICMP_REPLY);
    assert_eq!(e["status"], "Success");
    assert_eq!(e["unmapped"]["icmp_type"], "reply");

    let e = normalise(V, FL_CARP);
    assert_eq!(e["connection_info"]["protocol_name"], "carp");
    assert_eq!(e["dst_endpoint"]["ip"], "224.0.0.18");
    assert!(e["dst_endpoint"].get("port").is_none());
}

#[test]
fn filterlog_ipv6_tcp_udp_icmp() {
    assert_eq!(detect(FL_V6_TCP).as_deref(), Some(V));
    let e = normalise(V, FL_V6_TCP);
    check_common(&e);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["src_endpoint"]["ip"], "2001:db8:beef::7");
    assert_eq!(e["src_endpoint"]["port"], 44321);
    assert_eq!(e["dst_endpoint"]["ip"], "2001:db8:10::20");
    assert_eq!(e["dst_endpoint"]["port"], 443);
    assert_eq!(e["connection_info"]["protocol_name"], "tcp");
    assert_eq!(e["unmapped"]["ip_version"], "6");
    assert_eq!(e["unmapped"]["hop_limit"], "55");

    let e = normalise(V, FL_V6_UDP);
    assert_eq!(e["connection_info"]["protocol_name"], "udp");
    assert_eq!(e["src_endpoint"]["port"], 5353);
    assert_eq!(e["unmapped"]["flow_label"], "0x12345");

    // ICMPv6 with a trailing empty column.
    let e = normalise(V, FL_V6_ICMP);
    assert_eq!(e["status"], "Success");
    assert_eq!(e["connection_info"]["protocol_name"], "ipv6-icmp");
    assert_eq!(e["src_endpoint"]["ip"], "fe80::20c:29ff:fe12:3456");
    assert_eq!(e["dst_endpoint"]["ip"], "ff02::1:ff00:1");
    assert_eq!(e["unmapped"]["direction"], "out");
}

#[test]
fn filterlog_rfc5424_and_file_line_without_pri() {
    assert_eq!(detect(FL_5424).as_deref(), Some(V));
    let e = normalise("auto", FL_5424);
    check_common(&e);
    assert_eq!(e["time"], ms("2024-03-01T12:00:10.123Z"));
    assert_eq!(e["device"]["hostname"], "pfsense.home.arpa");
    assert_eq!(e["dst_endpoint"]["port"], 3389);
    assert_eq!(e["metadata"]["event_code"], "filterlog");

    // As read from /var/log/filter.log: no PRI, a year-less time, a trailing space.
    assert_eq!(detect(FL_NOPRI).as_deref(), Some(V));
    let e = normalise(V, FL_NOPRI);
    assert_eq!(e["time"], ms("2024-03-01T12:00:11Z"));
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["src_endpoint"]["ip"], "198.51.100.11");
    assert_eq!(e["dst_endpoint"]["port"], 445);
    assert_eq!(e["unmapped"]["tcp_options"], "mss");
    assert_eq!(e["metadata"]["event_code"], "filterlog");
}

#[test]
fn sshd_logins() {
    let e = normalise(V, SSH_OK);
    check_common(&e);
    assert_eq!(e["time"], ms("2024-03-01T12:10:00Z"));
    assert_eq!(e["class_uid"], 3002);
    assert_eq!(e["activity_name"], "Logon");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["actor"]["user"]["name"], "admin");
    assert_eq!(e["src_endpoint"]["ip"], "10.0.10.30");
    assert_eq!(e["src_endpoint"]["port"], 50222);
    assert_eq!(e["metadata"]["event_code"], "sshd");
    assert_eq!(e["device"]["hostname"], "pfsense");
    assert_eq!(e["unmapped"]["auth_method"], "keyboard-interactive/pam");

    let e = normalise(V, SSH_FAIL);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["actor"]["user"]["name"], "oracle");
    assert_eq!(e["src_endpoint"]["ip"], "198.51.100.44");

    let e = normalise(V, SSH_INVALID);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["actor"]["user"]["name"], "test");

    let e = normalise(V, SSH_PAM);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["src_endpoint"]["ip"], "2001:db8:beef::9");

    let e = normalise(V, SSH_KEY6);
    assert_eq!(e["status"], "Success");
    assert_eq!(e["src_endpoint"]["ip"], "2001:db8:10::31");
    assert_eq!(e["actor"]["user"]["name"], "backup");

    let e = normalise(V, SSH_DISC);
    assert_eq!(e["activity_name"], "Logoff");
    assert_eq!(e["actor"]["user"]["name"], "backup");
}

#[test]
fn webconfigurator_logins() {
    assert_eq!(detect(WEB_OK).as_deref(), Some(V));
    let e = normalise(V, WEB_OK);
    check_common(&e);
    assert_eq!(e["class_uid"], 3002);
    assert_eq!(e["activity_name"], "Logon");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["actor"]["user"]["name"], "admin");
    assert_eq!(e["src_endpoint"]["ip"], "10.0.10.30");
    assert_eq!(e["metadata"]["event_code"], "php-fpm");
    assert_eq!(e["unmapped"]["script"], "/index.php");
    assert_eq!(e["time"], ms("2024-03-01T12:20:00Z"));

    assert_eq!(detect(WEB_FAIL).as_deref(), Some(V));
    let e = normalise(V, WEB_FAIL);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["actor"]["user"]["name"], "root");
    assert_eq!(e["src_endpoint"]["ip"], "198.51.100.50");
    assert_eq!(e["severity_id"], 4);

    let e = normalise(V, WEB_LOGOUT);
    assert_eq!(e["activity_name"], "Logoff");
    assert_eq!(e["status"], "Success");

    let e = normalise(V, WEB_OK6);
    assert_eq!(e["src_endpoint"]["ip"], "2001:db8:10::40");
    assert_eq!(e["actor"]["user"]["name"], "jane.doe");

    // Older releases: php, no "user", no colon after "from".
    let e = normalise(V, WEB_FAIL_OLD);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["actor"]["user"]["name"], "admin");
    assert_eq!(e["src_endpoint"]["ip"], "198.51.100.51");
    assert_eq!(e["metadata"]["event_code"], "php");

    // Other php-fpm lines stay Base Events.
    let e = normalise(V, PHP_OTHER);
    assert_eq!(e["class_uid"], 0);
    assert!(e.get("actor").is_none());

    let e = normalise(V, SSHGUARD);
    assert_eq!(e["src_endpoint"]["ip"], "198.51.100.44");
    assert_eq!(e["metadata"]["event_code"], "sshguard");
}
