//! Tests for the `cisco_ios` mapping.
use crate::support::*;

fn s(v: &serde_json::Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

#[test]
fn ipaccesslogp_with_sequence_millis_and_zone() {
    let line = "<190>10231: *Mar 15 11:50:01.112 UTC: %SEC-6-IPACCESSLOGP: list 101 denied tcp 203.0.113.45(51234) -> 10.20.0.1(23), 1 packet";
    let ev = normalise("cisco_ios", line);
    assert_eq!(ev["time"], ms("2024-03-15T11:50:01.112Z"));
    assert_eq!(ev["class_uid"], 4001);
    assert_eq!(s(&ev["activity_name"]), "Deny");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["disposition"]), "Blocked");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "203.0.113.45");
    assert_eq!(ev["src_endpoint"]["port"], 51234);
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "10.20.0.1");
    assert_eq!(ev["dst_endpoint"]["port"], 23);
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "tcp");
    assert_eq!(s(&ev["metadata"]["event_code"]), "IPACCESSLOGP");
    assert_eq!(s(&ev["metadata"]["product"]["vendor_name"]), "Cisco");
    assert_eq!(s(&ev["metadata"]["product"]["name"]), "IOS");
    assert_eq!(ev["severity_id"], 1);
    assert_eq!(ev["metrics"]["packets"], 1.0);
    assert_eq!(s(&ev["unmapped"]["acl"]), "101");
    assert_eq!(detect(line).as_deref(), Some("cisco_ios"));

    // Permitted, with the input interface and MAC, a named list and several packets.
    let ev = normalise("cisco_ios", "<190>10233: Mar 15 11:50:05.002: %SEC-6-IPACCESSLOGP: list OUTSIDE-IN permitted udp 198.51.100.7(123) (GigabitEthernet0/0 0050.56a1.2b3c) -> 10.20.0.5(123), 3 packets ");
    assert_eq!(s(&ev["status"]), "Success");
    assert_eq!(s(&ev["disposition"]), "Allowed");
    assert_eq!(s(&ev["unmapped"]["interface"]), "GigabitEthernet0/0");
    assert_eq!(ev["metrics"]["packets"], 3.0);
    assert_eq!(ev["dst_endpoint"]["port"], 123);
}

#[test]
fn icmp_other_protocols_standard_lists_and_ipv6() {
    let ev = normalise("cisco_ios", "<190>10234: Mar 15 11:50:09.771 UTC: %SEC-6-IPACCESSLOGDP: list 101 denied icmp 203.0.113.45 -> 10.20.0.1 (8/0), 4 packets");
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "icmp");
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "10.20.0.1");
    assert!(ev["dst_endpoint"].get("port").is_none());
    assert_eq!(s(&ev["unmapped"]["icmp_type"]), "8");

    let ev = normalise("cisco_ios", "<190>10235: Mar 15 11:50:12.301 UTC: %SEC-6-IPACCESSLOGNP: list 101 denied 47 203.0.113.99 -> 10.20.0.1, 1 packet");
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "gre");
    assert_eq!(s(&ev["metadata"]["event_code"]), "IPACCESSLOGNP");

    let ev = normalise("cisco_ios", "<190>10236: Mar 15 11:50:14.020 UTC: %SEC-6-IPACCESSLOGRP: list 150 denied igmp 10.20.5.77 -> 224.0.0.22, 1 packet");
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "igmp");

    let ev = normalise("cisco_ios", "<190>10237: Mar 15 11:50:15.880 UTC: %SEC-6-IPACCESSLOGS: list 10 denied 198.51.100.200 3 packets");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "198.51.100.200");
    assert_eq!(s(&ev["status"]), "Failure");

    let line = "<190>10238: Mar 15 11:50:18.455 UTC: %IPV6_ACL-6-ACCESSLOGP: list V6-IN/20 denied tcp 2001:DB8:9::14(40022) -> 2001:DB8:1::1(22), 1 packet";
    let ev = normalise("cisco_ios", line);
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "2001:db8:9::14");
    assert_eq!(ev["src_endpoint"]["port"], 40022);
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "2001:db8:1::1");
    assert_eq!(s(&ev["metadata"]["event_code"]), "ACCESSLOGP");
    assert_eq!(detect(line).as_deref(), Some("cisco_ios"));
}

#[test]
fn login_success_and_failure() {
    let line = "<189>10239: Mar 15 11:50:20.100 UTC: %SEC_LOGIN-5-LOGIN_SUCCESS: Login Success [user: netadmin] [Source: 10.20.9.15] [localport: 22] at 11:50:20 UTC Fri Mar 15 2024";
    let ev = normalise("cisco_ios", line);
    assert_eq!(ev["class_uid"], 3002);
    assert_eq!(s(&ev["activity_name"]), "Logon");
    assert_eq!(s(&ev["status"]), "Success");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "netadmin");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "10.20.9.15");
    assert_eq!(ev["dst_endpoint"]["port"], 22);
    assert_eq!(ev["severity_id"], 2);
    assert_eq!(detect(line).as_deref(), Some("cisco_ios"));

    let ev = normalise("cisco_ios", "<188>10240: Mar 15 11:50:25.412 UTC: %SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: admin] [Source: 203.0.113.45] [localport: 22] [Reason: Login Authentication Failed] at 11:50:25 UTC Fri Mar 15 2024");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "admin");
    assert_eq!(s(&ev["unmapped"]["reason"]), "Login Authentication Failed");
    assert_eq!(ev["severity_id"], 3);

    // An empty user name, an IPv6 source.
    let ev = normalise("cisco_ios", "<188>7: Mar 15 11:50:26.000 UTC: %SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: ] [Source: 2001:db8::66] [localport: 23] [Reason: Login Authentication Failed] at 11:50:26 UTC Fri Mar 15 2024");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "2001:db8::66");
    assert!(ev.get("actor").is_none());

    let ev = normalise("cisco_ios", "<185>10242: Mar 15 11:50:30.667 UTC: %SEC_LOGIN-1-QUIET_MODE_ON: Still timeleft for watching failures is 158 secs, [user: root] [Source: 203.0.113.45] [localport: 22] [Reason: Login Authentication Failed - BadUser] [ACL: sl_def_acl] at 11:50:30 UTC Fri Mar 15 2024");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(ev["severity_id"], 5);
    assert_eq!(s(&ev["unmapped"]["acl"]), "sl_def_acl");
}

#[test]
fn ssh_sessions() {
    let ev = normalise("cisco_ios", "<189>10244: Mar 15 11:51:03.118 UTC: %SSH-5-SSH2_USERAUTH: User 'netadmin' authentication for SSH2 Session from 10.20.9.15 (tty = 0) using crypto cipher 'aes256-ctr', hmac 'hmac-sha2-256' Succeeded");
    assert_eq!(ev["class_uid"], 3002);
    assert_eq!(s(&ev["status"]), "Success");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "netadmin");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "10.20.9.15");
    let ev = normalise("cisco_ios", "<189>10252: Mar 15 11:54:02.950 UTC: %SSH-5-SSH2_CLOSE: SSH2 Session from 10.20.9.15 (tty = 0) for user 'netadmin' using crypto cipher 'aes256-ctr', hmac 'hmac-sha2-256' closed");
    assert_eq!(s(&ev["activity_name"]), "Close");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "netadmin");
}

#[test]
fn configuration_changes() {
    let line = "<189>10245: Mar 15 11:52:40.201 UTC: %SYS-5-CONFIG_I: Configured from console by netadmin on vty0 (10.20.9.15)";
    let ev = normalise("cisco_ios", line);
    assert_eq!(s(&ev["metadata"]["event_code"]), "CONFIG_I");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "netadmin");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "10.20.9.15");
    assert_eq!(s(&ev["unmapped"]["line"]), "vty0");
    assert_eq!(detect(line).as_deref(), Some("cisco_ios"));

    // From the console: no user, no address.
    let ev = normalise(
        "cisco_ios",
        "<189>10253: Mar 15 11:54:10.000 UTC: %SYS-5-CONFIG_I: Configured from console by console",
    );
    assert!(ev.get("actor").is_none());
    assert_eq!(s(&ev["unmapped"]["line"]), "console");

    // Origin id, IPv6 peer.
    let ev = normalise("cisco_ios", "<189>45: core-rtr2: *Mar 15 11:56:00.004 UTC: %SYS-5-CONFIG_I: Configured from memory by netops on vty1 (2001:db8:9::20)");
    assert_eq!(s(&ev["device"]["hostname"]), "core-rtr2");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "netops");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "2001:db8:9::20");
    assert_eq!(ev["time"], ms("2024-03-15T11:56:00.004Z"));

    let ev = normalise("cisco_ios", "<189>10246: Mar 15 11:52:41.009 UTC: %PARSER-5-CFGLOG_LOGGEDCMD: User:netadmin  logged command:interface GigabitEthernet0/2");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "netadmin");
    assert_eq!(
        s(&ev["unmapped"]["command"]),
        "interface GigabitEthernet0/2"
    );
}

#[test]
fn interfaces_neighbours_and_restarts() {
    let line = "<187>10247: Mar 15 11:53:00.411 UTC: %LINK-3-UPDOWN: Interface GigabitEthernet0/2, changed state to down";
    let ev = normalise("cisco_ios", line);
    assert_eq!(ev["severity_id"], 4);
    assert_eq!(s(&ev["metadata"]["event_code"]), "UPDOWN");
    assert_eq!(s(&ev["unmapped"]["interface"]), "GigabitEthernet0/2");
    assert_eq!(s(&ev["unmapped"]["state"]), "down");
    assert_eq!(detect(line).as_deref(), Some("cisco_ios"));

    let ev = normalise("cisco_ios", "<189>10248: Mar 15 11:53:01.412 UTC: %LINEPROTO-5-UPDOWN: Line protocol on Interface GigabitEthernet0/2, changed state to down");
    assert_eq!(s(&ev["unmapped"]["interface"]), "GigabitEthernet0/2");
    let ev = normalise("cisco_ios", "<189>10249: Mar 15 11:53:20.503 UTC: %LINK-5-CHANGED: Interface GigabitEthernet0/2, changed state to administratively down");
    assert_eq!(s(&ev["unmapped"]["state"]), "administratively down");

    let ev = normalise("cisco_ios", "<189>10250: Mar 15 11:53:21.700 UTC: %OSPF-5-ADJCHG: Process 1, Nbr 10.20.255.2 on GigabitEthernet0/2 from FULL to DOWN, Neighbor Down: Interface down or detached");
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "10.20.255.2");
    assert_eq!(s(&ev["unmapped"]["state"]), "DOWN");

    let line = "<189>1: *Mar 15 12:00:41.215 UTC: %SYS-5-RESTART: System restarted --";
    let ev = normalise("auto", line);
    assert_eq!(s(&ev["metadata"]["event_code"]), "RESTART");
    assert_eq!(s(&ev["metadata"]["product"]["name"]), "IOS");
    assert_eq!(ev["time"], ms("2024-03-15T12:00:41.215Z"));
}

#[test]
fn relayed_lines_without_pri_use_the_device_time() {
    // A relay's BSD header (time, host, sequence) in front of the device's own time and tag.
    let line = "Mar 15 11:50:48 192.0.2.2 585917: Mar 15 11:50:47.272: %SEC-6-IPACCESSLOGP: list 177 denied udp 192.168.100.195(55250) -> 192.168.100.255(15600), 1 packet";
    let ev = normalise("cisco_ios", line);
    assert_eq!(ev["time"], ms("2024-03-15T11:50:47.272Z"));
    assert_eq!(s(&ev["device"]["hostname"]), "192.0.2.2");
    assert_eq!(s(&ev["metadata"]["event_code"]), "IPACCESSLOGP");
    assert_eq!(ev["severity_id"], 1);
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "192.168.100.195");
    assert_eq!(ev["dst_endpoint"]["port"], 15600);
    assert_eq!(detect(line).as_deref(), Some("cisco_ios"));
}

#[test]
fn asa_lines_are_not_ios() {
    assert_eq!(
        detect("<166>%ASA-6-302013: Built outbound TCP connection 1 for outside:1.1.1.1/443 (1.1.1.1/443) to inside:10.0.0.1/5 (2.2.2.2/5)").as_deref(),
        Some("cisco_asa")
    );
    let ev = normalise("cisco_ios", "<188>Mar 15 11:55:09 10.1.1.1 17: %FW-6-DROP_PKT: Dropping tcp session 203.0.113.61:40112 10.20.0.10:445 on zone-pair out-in class class-default with ip ident 0");
    assert_eq!(s(&ev["disposition"]), "Blocked");
    assert_eq!(ev["dst_endpoint"]["port"], 445);
    assert_eq!(s(&ev["device"]["hostname"]), "10.1.1.1");
}
