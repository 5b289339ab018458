//! Tests for the `juniper_srx` mapping.
use crate::support::*;

fn s(v: &serde_json::Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

const CREATE_SD: &str = r#"<14>1 2024-03-15T11:40:01.104+01:00 srx-edge1 RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.129 source-address="10.30.1.20" source-port="51544" destination-address="93.184.216.34" destination-port="443" connection-tag="0" service-name="junos-https" nat-source-address="198.51.100.30" nat-source-port="21544" nat-destination-address="93.184.216.34" nat-destination-port="443" nat-connection-tag="0" src-nat-rule-type="source rule" src-nat-rule-name="trust-to-untrust" dst-nat-rule-type="N/A" dst-nat-rule-name="N/A" protocol-id="6" policy-name="allow web" source-zone-name="trust" destination-zone-name="untrust" session-id-32="220011" username="N/A" roles="N/A" packet-incoming-interface="ge-0/0/1.0" application="UNKNOWN" nested-application="UNKNOWN" encrypted="UNKNOWN"]"#;

#[test]
fn structured_session_create() {
    let ev = normalise("juniper_srx", CREATE_SD);
    assert_eq!(ev["time"], ms("2024-03-15T10:40:01.104Z"));
    assert_eq!(ev["class_uid"], 4001);
    assert_eq!(s(&ev["activity_name"]), "Open");
    assert_eq!(s(&ev["status"]), "Success");
    assert_eq!(s(&ev["disposition"]), "Allowed");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "10.30.1.20");
    assert_eq!(ev["src_endpoint"]["port"], 51544);
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "93.184.216.34");
    assert_eq!(ev["dst_endpoint"]["port"], 443);
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "tcp");
    assert_eq!(s(&ev["metadata"]["event_code"]), "RT_FLOW_SESSION_CREATE");
    assert_eq!(s(&ev["metadata"]["product"]["vendor_name"]), "Juniper");
    assert_eq!(s(&ev["metadata"]["product"]["name"]), "SRX");
    assert_eq!(s(&ev["device"]["hostname"]), "srx-edge1");
    assert_eq!(ev["severity_id"], 1);
    assert_eq!(s(&ev["unmapped"]["policy"]), "allow web");
    assert_eq!(s(&ev["unmapped"]["nat_src_ip"]), "198.51.100.30");
    assert!(ev.get("actor").is_none(), "N/A is no user");
    assert_eq!(detect(CREATE_SD).as_deref(), Some("juniper_srx"));
}

#[test]
fn structured_close_and_deny() {
    let line = r#"<14>1 2024-03-15T11:40:02.890Z srx-edge1 RT_FLOW - RT_FLOW_SESSION_CLOSE [junos@2636.1.1.1.2.129 reason="response received" source-address="10.30.1.21" source-port="60012" destination-address="8.8.8.8" destination-port="53" service-name="junos-dns-udp" protocol-id="17" policy-name="allow-dns" source-zone-name="trust" destination-zone-name="untrust" session-id-32="220012" packets-from-client="1" bytes-from-client="64" packets-from-server="1" bytes-from-server="128" elapsed-time="1" username="jlee" roles="staff" packet-incoming-interface="ge-0/0/1.0"]"#;
    let ev = normalise("juniper_srx", line);
    assert_eq!(s(&ev["activity_name"]), "Close");
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "udp");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "jlee");
    assert_eq!(ev["metrics"]["bytes_in"], 128.0);
    assert_eq!(ev["metrics"]["bytes_out"], 64.0);
    assert_eq!(s(&ev["unmapped"]["reason"]), "response received");

    let line = r#"<14>1 2024-03-15T11:40:05.004Z srx-edge1 RT_FLOW - RT_FLOW_SESSION_DENY [junos@2636.1.1.1.2.129 source-address="2001:db8:66::7" source-port="40112" destination-address="2001:db8:1::30" destination-port="23" service-name="junos-telnet" protocol-id="6" icmp-type="0" policy-name="default-deny" source-zone-name="untrust" destination-zone-name="trust" username="N/A" roles="N/A" packet-incoming-interface="ge-0/0/0.0" reason="policy deny"]"#;
    let ev = normalise("juniper_srx", line);
    assert_eq!(s(&ev["activity_name"]), "Deny");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["disposition"]), "Blocked");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "2001:db8:66::7");
    assert_eq!(ev["dst_endpoint"]["port"], 23);
    assert_eq!(s(&ev["metadata"]["event_code"]), "RT_FLOW_SESSION_DENY");
}

#[test]
fn unstructured_flow_sessions() {
    let line = "<14>Mar 15 11:41:00 srx-branch2 RT_FLOW: RT_FLOW_SESSION_CREATE: session created 192.168.10.14/49822->172.217.16.14/443 0x0 junos-https 203.0.113.210/12001->172.217.16.14/443 0x0 source rule branch-nat N/A N/A 6 internet-out trust untrust 88121 N/A(N/A) ge-0/0/2.0 UNKNOWN UNKNOWN UNKNOWN";
    let ev = normalise("juniper_srx", line);
    assert_eq!(ev["time"], ms("2024-03-15T11:41:00Z"));
    assert_eq!(s(&ev["metadata"]["event_code"]), "RT_FLOW_SESSION_CREATE");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "192.168.10.14");
    assert_eq!(ev["src_endpoint"]["port"], 49822);
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "172.217.16.14");
    assert_eq!(ev["dst_endpoint"]["port"], 443);
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "tcp");
    assert_eq!(s(&ev["unmapped"]["policy"]), "internet-out");
    assert_eq!(s(&ev["unmapped"]["src_zone"]), "trust");
    assert_eq!(s(&ev["unmapped"]["session_id"]), "88121");
    assert_eq!(detect(line).as_deref(), Some("juniper_srx"));

    let ev = normalise("juniper_srx", "<14>Mar 15 11:41:33 srx-branch2 RT_FLOW: RT_FLOW_SESSION_CLOSE: session closed idle Timeout: 192.168.10.31/61022->192.168.20.5/53 0x0 junos-dns-udp 192.168.10.31/61022->192.168.20.5/53 0x0 N/A N/A N/A N/A 17 dns-internal trust servers 88122 1(70) 1(180) 60 UNKNOWN UNKNOWN jlee(staff) ge-0/0/2.0 UNKNOWN ");
    assert_eq!(s(&ev["activity_name"]), "Close");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "jlee");
    assert_eq!(s(&ev["unmapped"]["reason"]), "idle Timeout");
    assert_eq!(ev["metrics"]["bytes_in"], 180.0);
    assert_eq!(s(&ev["unmapped"]["duration"]), "60");

    let ev = normalise("juniper_srx", "<14>Mar 15 11:41:40 srx-branch2 RT_FLOW: RT_FLOW_SESSION_CREATE: session created 2001:db8:10::14/50122->2001:db8:99::5/443 0x0 junos-https 2001:db8:10::14/50122->2001:db8:99::5/443 0x0 N/A N/A N/A N/A 6 v6-web trust untrust 88123 N/A(N/A) ge-0/0/2.0 UNKNOWN UNKNOWN UNKNOWN");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "2001:db8:10::14");
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "2001:db8:99::5");

    let ev = normalise("juniper_srx", "<14>Mar 15 11:41:41 srx-branch2 RT_FLOW: RT_FLOW_SESSION_DENY: session denied 192.168.10.50/0->8.8.4.4/0 0x0 icmp 1(8) block-icmp trust untrust UNKNOWN UNKNOWN N/A(N/A) ge-0/0/2.0 UNKNOWN policy deny");
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "icmp");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["unmapped"]["icmp_type"]), "8");
}

#[test]
fn screens_and_idp() {
    let line = "<11>Mar 15 11:43:00 srx-edge1 RT_IDS: RT_SCREEN_TCP: SYN flood! source: 203.0.113.90:43110, destination: 198.51.100.30:80, zone name: untrust, interface name: ge-0/0/0.0, action: drop";
    let ev = normalise("juniper_srx", line);
    assert_eq!(ev["class_uid"], 2004);
    assert_eq!(s(&ev["metadata"]["event_code"]), "RT_SCREEN_TCP");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "203.0.113.90");
    assert_eq!(ev["src_endpoint"]["port"], 43110);
    assert_eq!(ev["dst_endpoint"]["port"], 80);
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "tcp");
    assert_eq!(s(&ev["unmapped"]["attack"]), "SYN flood");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(ev["severity_id"], 4);
    assert_eq!(detect(line).as_deref(), Some("juniper_srx"));

    let ev = normalise("juniper_srx", "<11>Mar 15 11:43:05 srx-edge1 RT_IDS: RT_SCREEN_UDP: UDP flood! source: 203.0.113.92:5353, destination: 198.51.100.30:5353, zone name: untrust, interface name: ge-0/0/0.0, action: alarm-without-drop");
    assert_eq!(s(&ev["status"]), "Success");
    assert_eq!(s(&ev["disposition"]), "Detected");

    let ev = normalise("juniper_srx", "<28>Mar 15 11:44:00 srx-edge1 RT_IDP: IDP_ATTACK_LOG_EVENT: IDP: at 1710503040, SIG Attack log <203.0.113.66/41200->198.51.100.40/80> for TCP protocol and service SERVICE_IDP application HTTP by rule 3 of rulebase IPS in policy Recommended. attack: id=4421, repeat=0, action=DROP, threat-severity=HIGH, name=HTTP:SQL:INJ:GENERIC, NAT <0.0.0.0:0->0.0.0.0:0>, time-elapsed=0, inbytes=0, outbytes=0, inpackets=0, outpackets=0, intf:untrust:ge-0/0/0.0->dmz:ge-0/0/3.0, packet-log-id: 0, alert=no, username=N/A, roles=N/A and misc-message -");
    assert_eq!(ev["class_uid"], 2004);
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "203.0.113.66");
    assert_eq!(ev["dst_endpoint"]["port"], 80);
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "tcp");
    assert_eq!(s(&ev["unmapped"]["attack"]), "HTTP:SQL:INJ:GENERIC");
    assert_eq!(ev["severity_id"], 4);
    assert_eq!(s(&ev["disposition"]), "Dropped");
}

#[test]
fn logins() {
    let line = "<38>Mar 15 11:45:10 srx-edge1 sshd[4411]: SSHD_LOGIN_FAILED: Login failed for user 'root' from host '203.0.113.45'";
    let ev = normalise("juniper_srx", line);
    assert_eq!(ev["class_uid"], 3002);
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "root");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "203.0.113.45");
    assert_eq!(s(&ev["metadata"]["event_code"]), "SSHD_LOGIN_FAILED");
    assert_eq!(detect(line).as_deref(), Some("juniper_srx"));

    // Structured form with an IPv6 peer.
    let ev = normalise(
        "juniper_srx",
        r#"<38>1 2024-03-15T11:45:15.001Z srx-edge1 sshd 4415 SSHD_LOGIN_FAILED [junos@2636.1.1.1.2.129 username="admin" source-address="2001:db8:66::7"] Login failed for user 'admin' from host '2001:db8:66::7'"#,
    );
    assert_eq!(s(&ev["actor"]["user"]["name"]), "admin");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "2001:db8:66::7");
    assert_eq!(ev["time"], ms("2024-03-15T11:45:15.001Z"));

    let ev = normalise("juniper_srx", "<37>Mar 15 11:46:01 srx-edge1 mgd[4501]: UI_LOGIN_EVENT: User 'netops' login, class 'super-user' [4501], ssh-connection '10.30.9.5 50112 10.30.0.1 22', client-mode 'cli'");
    assert_eq!(s(&ev["status"]), "Success");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "netops");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "10.30.9.5");
    assert_eq!(ev["src_endpoint"]["port"], 50112);
    assert_eq!(ev["dst_endpoint"]["port"], 22);
    assert_eq!(s(&ev["unmapped"]["login_class"]), "super-user");

    let ev = normalise("juniper_srx", "<37>Mar 15 11:46:01 srx-edge1 mgd[4501]: UI_AUTH_EVENT: Authenticated user 'netops' assigned to class 'super-user'");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "netops");
    assert_eq!(s(&ev["status"]), "Success");

    let ev = normalise("juniper_srx", "<38>Mar 15 11:45:12 srx-edge1 sshd[4411]: Failed password for root from 203.0.113.45 port 40222 ssh2");
    assert_eq!(ev["class_uid"], 3002);
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(ev["src_endpoint"]["port"], 40222);
}

#[test]
fn system_and_filter_logs() {
    let line = "<28>Mar 15 11:49:00 srx-edge1 mib2d[1830]: SNMP_TRAP_LINK_DOWN: ifIndex 515, ifAdminStatus up(1), ifOperStatus down(2), ifName ge-0/0/3";
    let ev = normalise("juniper_srx", line);
    assert_eq!(s(&ev["metadata"]["event_code"]), "SNMP_TRAP_LINK_DOWN");
    assert_eq!(s(&ev["unmapped"]["interface"]), "ge-0/0/3");
    assert_eq!(s(&ev["unmapped"]["oper_status"]), "down(2)");
    assert_eq!(ev["severity_id"], 3);
    assert_eq!(detect(line).as_deref(), Some("juniper_srx"));

    let ev = normalise("juniper_srx", "<37>Mar 15 11:47:02 srx-edge1 mgd[4501]: UI_COMMIT: User 'netops' requested 'commit' operation (comment: none)");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "netops");
    assert_eq!(s(&ev["unmapped"]["operation"]), "commit");

    let line = "<158>Mar 15 11:50:01 srx-edge1 kernel: FW: ge-0/0/0.0 D tcp 203.0.113.45 198.51.100.30 40330 22 (1 packets)";
    let ev = normalise("juniper_srx", line);
    assert_eq!(s(&ev["metadata"]["event_code"]), "FW");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "203.0.113.45");
    assert_eq!(ev["dst_endpoint"]["port"], 22);
    assert_eq!(detect(line).as_deref(), Some("juniper_srx"));
    let ev = normalise("juniper_srx", "<158>Mar 15 11:50:02 srx-edge1 fpc0 PFE_FW_SYSLOG_IP: FW: ge-0/0/0.0 A udp 10.30.1.21 8.8.8.8 60100 53 (1 packets)");
    assert_eq!(s(&ev["status"]), "Success");
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "udp");
    assert_eq!(s(&ev["unmapped"]["junos_tag"]), "PFE_FW_SYSLOG_IP");
}

#[test]
fn flow_users_roles_and_nat_rules() {
    // Destination NAT rule and a user with roles (the one-pass fast pattern).
    let ev = normalise("juniper_srx", "<14>Mar 15 11:41:00 srx-1 RT_FLOW: RT_FLOW_SESSION_CREATE: session created 10.0.0.1/1234->8.8.8.8/53 0x0 junos-dns-udp 10.0.0.1/1234->192.168.1.5/53 0x0 N/A N/A destination rule dnat-1 17 dns-in trust untrust 555 jlee(staff,admin) ge-0/0/1.0 UNKNOWN");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "jlee");
    assert_eq!(s(&ev["unmapped"]["roles"]), "staff,admin");
    assert_eq!(
        s(&ev["unmapped"]["nat_rules"]),
        "N/A N/A destination rule dnat-1"
    );
    assert_eq!(s(&ev["unmapped"]["nat_dst_ip"]), "192.168.1.5");
    assert_eq!(s(&ev["unmapped"]["nat_dst_port"]), "53");
    assert_eq!(s(&ev["unmapped"]["interface"]), "ge-0/0/1.0");
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "udp");

    // A text user overrides an `N/A` in the structured data; `N/A(N/A)` is no user.
    let ev = normalise(
        "juniper_srx",
        r#"<14>1 2024-03-15T11:40:01.104Z srx-edge1 RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.129 source-address="10.30.1.20" username="N/A"] session created 10.30.1.20/51544->93.184.216.34/443 0x0 junos-https 198.51.100.30/21544->93.184.216.34/443 0x0 source rule trust-to-untrust N/A N/A 6 allow-web trust untrust 220011 bob(N/A) ge-0/0/1.0 UNKNOWN UNKNOWN UNKNOWN"#,
    );
    assert_eq!(s(&ev["actor"]["user"]["name"]), "bob");
    let ev = normalise(
        "juniper_srx",
        r#"<14>1 2024-03-15T11:40:01.104Z srx-edge1 RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.129 source-address="10.30.1.20" username="unknown"]"#,
    );
    assert!(ev.get("actor").is_none(), "unknown is no user");

    // Close with applications and a user, in the current layout.
    let ev = normalise("juniper_srx", "<14>Mar 15 11:41:00 srx-1 RT_FLOW: RT_FLOW_SESSION_CLOSE: session closed TCP RST: 10.0.0.1/51000->93.184.216.34/443 0x0 junos-https 1.2.3.4/61000->93.184.216.34/443 0x0 source rule r1 N/A N/A 6 allow-web trust untrust 2001 12(1500) 10(9000) 30 junos:HTTPS UNKNOWN bob(r1) ge-0/0/1.0 UNKNOWN");
    assert_eq!(s(&ev["unmapped"]["reason"]), "TCP RST");
    assert_eq!(ev["src_endpoint"]["port"], 51000);
    assert_eq!(ev["metrics"]["packets_out"], 12.0);
    assert_eq!(ev["metrics"]["bytes_in"], 9000.0);
    assert_eq!(s(&ev["unmapped"]["duration"]), "30");
    assert_eq!(s(&ev["unmapped"]["application"]), "junos:HTTPS");
    assert_eq!(s(&ev["unmapped"]["nested_application"]), "UNKNOWN");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "bob");
}

#[test]
fn older_layouts_and_ipv6_screens_take_the_general_patterns() {
    // No connection tags nor NAT rule fields (releases before 12.1X44).
    let ev = normalise("juniper_srx", "<14>Mar 15 11:41:00 srx-1 RT_FLOW: RT_FLOW_SESSION_CREATE: session created 10.0.0.1/1234->8.8.8.8/53 junos-dns-udp 1.2.3.4/5678->8.8.8.8/53 None None 17 allow-dns trust untrust 12345");
    assert_eq!(ev["src_endpoint"]["port"], 1234);
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "udp");
    assert_eq!(s(&ev["unmapped"]["nat_rules"]), "None None");
    assert_eq!(s(&ev["unmapped"]["session_id"]), "12345");
    let ev = normalise("juniper_srx", "<14>Mar 15 11:41:00 srx-1 RT_FLOW: RT_FLOW_SESSION_DENY: session denied 1.2.3.4/1->5.6.7.8/23 junos-telnet 6(0) deny-telnet trust untrust");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(ev["dst_endpoint"]["port"], 23);
    assert_eq!(s(&ev["unmapped"]["dst_zone"]), "untrust");

    // IPv6 peers in a screen.
    let ev = normalise("juniper_srx", "<11>Mar 15 11:43:00 srx-edge1 RT_IDS: RT_SCREEN_TCP: SYN flood! source: 2001:db8::1, destination: 2001:db8::2, zone name: untrust, interface name: ge-0/0/0.0, action: drop");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "2001:db8::1");
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "2001:db8::2");
    assert_eq!(s(&ev["unmapped"]["attack"]), "SYN flood");
    assert_eq!(s(&ev["disposition"]), "Dropped");

    // Structured screen, IPv4 (fast pattern, no id before the attack).
    let ev = normalise(
        "juniper_srx",
        r#"<11>1 2024-03-15T11:43:02.500Z srx-edge1 RT_IDS - RT_SCREEN_IP [junos@2636.1.1.1.2.129 attack-name="IP spoofing!" source-address="10.30.1.99" action="drop"] IP spoofing! source: 10.30.1.99, destination: 198.51.100.30, protocol-id: 17, zone name: untrust, interface name: ge-0/0/0.0, action: drop"#,
    );
    assert_eq!(s(&ev["unmapped"]["attack"]), "IP spoofing");
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "udp");
    assert_eq!(s(&ev["unmapped"]["src_zone"]), "untrust");
    assert_eq!(s(&ev["status"]), "Failure");
}
