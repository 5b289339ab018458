//! Tests for the `cisco_asa` mapping.
use crate::support::*;

fn s(v: &serde_json::Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

#[test]
fn built_outbound_tcp_puts_the_inside_initiator_in_src() {
    let line = "<166>Mar 15 2024 11:58:01 fw01 : %ASA-6-302013: Built outbound TCP connection 81234501 for outside:93.184.216.34/443 (93.184.216.34/443) to inside:10.10.4.21/52144 (198.51.100.10/52144)";
    let ev = normalise("cisco_asa", line);
    assert_eq!(ev["time"], ms("2024-03-15T11:58:01Z"));
    assert_eq!(ev["class_uid"], 4001);
    assert_eq!(s(&ev["activity_name"]), "Open");
    assert_eq!(s(&ev["status"]), "Success");
    assert_eq!(s(&ev["disposition"]), "Allowed");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "10.10.4.21");
    assert_eq!(ev["src_endpoint"]["port"], 52144);
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "93.184.216.34");
    assert_eq!(ev["dst_endpoint"]["port"], 443);
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "tcp");
    assert_eq!(s(&ev["metadata"]["event_code"]), "302013");
    assert_eq!(s(&ev["metadata"]["product"]["vendor_name"]), "Cisco");
    assert_eq!(s(&ev["metadata"]["product"]["name"]), "ASA");
    assert_eq!(s(&ev["device"]["hostname"]), "fw01");
    assert_eq!(ev["severity_id"], 1);
    assert_eq!(s(&ev["unmapped"]["src_mapped_ip"]), "198.51.100.10");
    assert_eq!(detect(line).as_deref(), Some("cisco_asa"));
}

#[test]
fn built_inbound_udp_ipv6_without_header_and_with_user() {
    // No timestamp, no hostname: the bare `<PRI>%ASA-...` form.
    let line = "<166>%ASA-6-302015: Built inbound UDP connection 77 for outside:2001:db8:40::9/123 (2001:db8:40::9/123) to inside:2001:db8:10::5/123 (2001:db8:10::5/123) (jdoe)";
    let ev = normalise("cisco_asa", line);
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "2001:db8:40::9");
    assert_eq!(ev["src_endpoint"]["port"], 123);
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "2001:db8:10::5");
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "udp");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "jdoe");
    assert_eq!(detect(line).as_deref(), Some("cisco_asa"));
}

#[test]
fn teardown_keeps_duration_bytes_reason_and_user() {
    let line = "<166>Mar 15 2024 11:58:05 fw01 : %ASA-6-302014: Teardown TCP connection 81234504 for outside:140.82.112.3/443 to inside:10.10.4.33/50100 duration 0:00:30 bytes 48211 TCP Reset-I (jsmith)";
    let ev = normalise("cisco_asa", line);
    assert_eq!(s(&ev["activity_name"]), "Close");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "140.82.112.3");
    assert_eq!(ev["dst_endpoint"]["port"], 50100);
    assert_eq!(s(&ev["actor"]["user"]["name"]), "jsmith");
    assert_eq!(ev["metrics"]["bytes"], 48211.0);
    assert_eq!(s(&ev["unmapped"]["teardown_reason"]), "TCP Reset-I");
    assert_eq!(s(&ev["unmapped"]["duration"]), "0:00:30");
    // UDP teardown without a reason, and a trailing space.
    let ev = normalise("cisco_asa", "<166>Mar 15 2024 11:58:02 fw01 : %ASA-6-302016: Teardown UDP connection 5 for outside:8.8.8.8/53 to inside:10.10.4.21/61022 duration 0:00:00 bytes 142 ");
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "10.10.4.21");
    assert_eq!(ev["metrics"]["bytes"], 142.0);
    assert_eq!(s(&ev["metadata"]["event_code"]), "302016");
}

#[test]
fn acl_denies_106023_106100_106001_710003() {
    let line = "<164>Mar 15 2024 11:58:03 fw01 : %ASA-4-106023: Deny tcp src outside:198.51.100.200/41877 dst inside:10.10.1.5/3389 by access-group \"outside access in\" [0x5063b82f, 0x0]";
    let ev = normalise("cisco_asa", line);
    assert_eq!(ev["class_uid"], 4001);
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["disposition"]), "Blocked");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "198.51.100.200");
    assert_eq!(ev["src_endpoint"]["port"], 41877);
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "10.10.1.5");
    assert_eq!(ev["dst_endpoint"]["port"], 3389);
    assert_eq!(s(&ev["unmapped"]["acl"]), "outside access in");
    assert_eq!(ev["severity_id"], 3);

    // ICMP: no ports, type and code instead.
    let ev = normalise("cisco_asa", "<164>%ASA-4-106023: Deny icmp src outside:203.0.113.5 dst inside:10.0.0.8 (type 8, code 0) by access-group \"outside_in\" [0x0, 0x0]");
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "icmp");
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "10.0.0.8");
    assert!(ev["dst_endpoint"].get("port").is_none());
    assert_eq!(s(&ev["unmapped"]["icmp_type"]), "8");

    let ev = normalise("cisco_asa", "<166>%ASA-6-106100: access-list inside_out permitted tcp inside/10.10.4.33(50100) -> outside/140.82.112.3(443) hit-cnt 1 first hit [0x9a1b6c3d, 0x0]");
    assert_eq!(s(&ev["status"]), "Success");
    assert_eq!(s(&ev["disposition"]), "Allowed");
    assert_eq!(ev["src_endpoint"]["port"], 50100);
    assert_eq!(ev["dst_endpoint"]["port"], 443);

    let ev = normalise("cisco_asa", "<162>%ASA-2-106001: Inbound TCP connection denied from 203.0.113.50/44120 to 198.51.100.25/23 flags SYN  on interface outside");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(ev["dst_endpoint"]["port"], 23);
    assert_eq!(ev["severity_id"], 5);

    let ev = normalise("cisco_asa", "<163>%ASA-3-710003: TCP access denied by ACL from 203.0.113.88/51515 to outside:198.51.100.1/22");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "203.0.113.88");
    assert_eq!(ev["dst_endpoint"]["port"], 22);
    assert_eq!(s(&ev["disposition"]), "Blocked");
    assert_eq!(ev["severity_id"], 4);
}

#[test]
fn aaa_and_management_logins() {
    let ev = normalise("cisco_asa", "<166>Mar 15 2024 11:58:09 fw01 : %ASA-6-113004: AAA user authentication Successful : server = 10.10.0.50 : user = mgarcia");
    assert_eq!(ev["class_uid"], 3002);
    assert_eq!(s(&ev["status"]), "Success");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "mgarcia");
    assert_eq!(s(&ev["metadata"]["event_code"]), "113004");

    let ev = normalise("cisco_asa", "<166>%ASA-6-113005: AAA user authentication Rejected : reason = AAA failure : server = 10.10.0.50 : user = admin1 : user IP = 203.0.113.140");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "admin1");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "203.0.113.140");
    assert_eq!(s(&ev["unmapped"]["reason"]), "AAA failure");

    let ev = normalise("cisco_asa", "<166>%ASA-6-113015: AAA user authentication Rejected : reason = Invalid password : local database : user = netops : user IP = 10.10.9.8");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "netops");

    let ev = normalise("cisco_asa", "<166>%ASA-6-605004: Login denied from 203.0.113.140/40112 to outside:198.51.100.1/https for user \"admin\"");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(ev["dst_endpoint"]["port"], 443);
    assert_eq!(ev["src_endpoint"]["port"], 40112);

    let ev = normalise(
        "cisco_asa",
        "<166>%ASA-6-611101: User authentication succeeded: IP, 10.10.9.8 : Uname: netops",
    );
    assert_eq!(s(&ev["status"]), "Success");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "10.10.9.8");
    let ev = normalise(
        "cisco_asa",
        "<166>%ASA-6-611102: User authentication failed: IP = 203.0.113.140, Uname: root",
    );
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "root");
}

#[test]
fn anyconnect_and_webvpn_sessions() {
    let ev = normalise("cisco_asa", "<166>%ASA-6-716001: Group <Remote Staff> User <akim> IP <203.0.113.201> WebVPN session started.");
    assert_eq!(ev["class_uid"], 3002);
    assert_eq!(s(&ev["activity_name"]), "Logon");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "akim");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "203.0.113.201");
    assert_eq!(s(&ev["unmapped"]["group"]), "Remote Staff");

    let ev = normalise("cisco_asa", "<164>%ASA-4-722051: Group <RemoteStaff> User <akim> IP <203.0.113.201> IPv4 Address <10.200.0.14> IPv6 address <::> assigned to session");
    assert_eq!(s(&ev["unmapped"]["assigned_ip"]), "10.200.0.14");

    let ev = normalise("cisco_asa", "<166>%ASA-6-716002: Group <RemoteStaff> User <akim> IP <203.0.113.201> WebVPN session terminated: User Requested.");
    assert_eq!(s(&ev["activity_name"]), "Logoff");
    assert_eq!(s(&ev["unmapped"]["reason"]), "User Requested");

    // Without angle brackets, and a rejected session.
    let ev = normalise("cisco_asa", "<164>%ASA-4-113029: Group VPN_USERS User jdoe IP 198.51.100.77 Session could not be established: session limit of 5 reached");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "jdoe");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "198.51.100.77");
}

#[test]
fn lines_without_pri_read_the_tag_time_and_host() {
    let line = "Mar 15 2024 09:36:50: %ASA-4-106023: Deny udp src dmz:10.1.2.30/63016 dst outside:192.0.2.8/53 by access-group \"acl_dmz\" [0xe3aab522, 0x0]";
    let ev = normalise("cisco_asa", line);
    assert_eq!(ev["time"], ms("2024-03-15T09:36:50Z"));
    assert_eq!(s(&ev["metadata"]["event_code"]), "106023");
    assert_eq!(ev["severity_id"], 3);
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "192.0.2.8");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(detect(line).as_deref(), Some("cisco_asa"));

    // Year-less, a zone word, a facility class in the tag, and a host.
    let line = "Mar 14 22:10:05 EDT fw02 : %ASA-session-5-106100: access-list acl_in denied udp inside/10.1.2.16(2241) -> outside/192.0.2.89(2000) hit-cnt 1 first hit [0x71a87d94, 0x0]";
    let ev = normalise("cisco_asa", line);
    assert_eq!(ev["time"], ms("2024-03-15T02:10:05Z"));
    assert_eq!(s(&ev["device"]["hostname"]), "fw02");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(ev["severity_id"], 2);
}

#[test]
fn icmp_nat_url_and_failover() {
    let ev = normalise("cisco_asa", "<166>%ASA-6-302020: Built outbound ICMP connection for faddr 1.1.1.1/0 gaddr 198.51.100.10/7 laddr 10.10.4.21/7 type 8 code 0");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "10.10.4.21");
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "1.1.1.1");
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "icmp");

    let ev = normalise("cisco_asa", "<166>%ASA-6-305011: Built dynamic TCP translation from inside:10.10.4.33/50100 to outside:198.51.100.10/50100");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "10.10.4.33");
    assert_eq!(s(&ev["unmapped"]["mapped_ip"]), "198.51.100.10");

    let ev = normalise("cisco_asa", "<165>%ASA-5-304001: jdoe@10.10.4.21 Accessed URL 93.184.216.34:http://www.example.com/a b.html");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "jdoe");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "10.10.4.21");
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "93.184.216.34");
    assert_eq!(s(&ev["unmapped"]["url"]), "http://www.example.com/a b.html");

    let ev = normalise(
        "cisco_asa",
        "<161>%ASA-1-105005: (Primary) Lost Failover communications with mate on interface folink",
    );
    assert_eq!(s(&ev["unmapped"]["failover_unit"]), "Primary");
    assert_eq!(s(&ev["unmapped"]["interface"]), "folink");
    assert_eq!(ev["severity_id"], 5);
    let ev = normalise(
        "cisco_asa",
        "<161>%ASA-1-104001: (Secondary) Switching to ACTIVE - mate want me Active.",
    );
    assert_eq!(s(&ev["unmapped"]["failover_state"]), "ACTIVE");
}

#[test]
fn ftd_connection_events() {
    let line = "<161>2024-03-15T11:58:18Z ftd01 : %FTD-1-430003: DeviceUUID: 6f1c2a4e-0d3b-11ee-9e2a-5b1c7a9d3e10, InstanceID: 1, ConnectionID: 4411, AccessControlRuleAction: Allow, SrcIP: 10.20.1.15, DstIP: 2001:db8:7::45, SrcPort: 50544, DstPort: 443, Protocol: tcp, ACPolicy: Corp Policy, AccessControlRuleName: Allow-Web, User: CORP\\lwong, InitiatorBytes: 1920, ResponderBytes: 22004";
    let ev = normalise("cisco_asa", line);
    assert_eq!(ev["time"], ms("2024-03-15T11:58:18Z"));
    assert_eq!(s(&ev["metadata"]["product"]["name"]), "FTD");
    assert_eq!(s(&ev["metadata"]["event_code"]), "430003");
    assert_eq!(s(&ev["activity_name"]), "Close");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "10.20.1.15");
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "2001:db8:7::45");
    assert_eq!(ev["dst_endpoint"]["port"], 443);
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "tcp");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "CORP\\lwong");
    assert_eq!(s(&ev["disposition"]), "Allowed");
    assert_eq!(s(&ev["unmapped"]["policy"]), "Corp Policy");
    assert_eq!(detect(line).as_deref(), Some("cisco_asa"));

    let ev = normalise("auto", "<161>%FTD-1-430002: ConnectionID: 4412, AccessControlRuleAction: Block, SrcIP: 10.20.1.16, DstIP: 203.0.113.99, SrcPort: 50601, DstPort: 8080, Protocol: tcp, User: No Authentication Required");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["disposition"]), "Blocked");
    assert!(
        ev.get("actor").is_none(),
        "placeholder users are not users: {ev}"
    );
}

#[test]
fn built_with_identity_users_and_without_mapped_sockets() {
    // The documented shape with identity-firewall users on both sides and an AAA user.
    let ev = normalise("cisco_asa", "<166>%ASA-6-302013: Built inbound TCP connection 12 for outside:198.51.100.9/40000 (198.51.100.9/40000)(LOCAL\\bob) to inside:10.0.0.2/22 (10.0.0.2/22)(LOCAL\\srv) (alice)");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "198.51.100.9");
    assert_eq!(ev["dst_endpoint"]["port"], 22);
    assert_eq!(s(&ev["actor"]["user"]["name"]), "alice");
    assert_eq!(s(&ev["unmapped"]["dst_user"]), "LOCAL\\srv");
    assert_eq!(s(&ev["unmapped"]["direction"]), "inbound");
    assert!(ev["unmapped"].get("_dir").is_none());

    // No mapped sockets and a user right after the port: the general regexes read it.
    let ev = normalise("cisco_asa", "<166>%ASA-6-302013: Built outbound TCP connection 14 for outside:198.51.100.7/443(web) to inside:10.0.0.3/5555(carol)");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "10.0.0.3");
    assert_eq!(ev["src_endpoint"]["port"], 5555);
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "198.51.100.7");
    assert_eq!(ev["dst_endpoint"]["port"], 443);
    assert_eq!(s(&ev["actor"]["user"]["name"]), "carol");
    assert_eq!(s(&ev["unmapped"]["dst_user"]), "web");
    assert!(ev["unmapped"].get("src_mapped_ip").is_none());
    assert_eq!(s(&ev["status"]), "Success");
}
