//! Tests for the `checkpoint` mapping.
use crate::support::*;

fn s(v: &serde_json::Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

#[test]
fn log_exporter_syslog_accept() {
    let line = r#"<134>1 2024-03-15T11:30:01Z cp-gw1 CheckPoint 24110 - [action:"Accept"; flags:"411908"; ifdir:"outbound"; ifname:"eth1"; logid:"0"; loguid:"{0x65f42a39,0x0,0x1f00a8c0,0xc0000000}"; origin:"192.168.0.31"; sequencenum:"1"; time:"1710502201"; version:"5"; dst:"8.8.8.8"; layer_name:"Network"; rule_name:"DNS out"; product:"VPN-1 & FireWall-1"; proto:"17"; s_port:"53122"; service:"53"; service_id:"domain-udp"; src:"10.40.1.12"]"#;
    let ev = normalise("checkpoint", line);
    assert_eq!(ev["time"], ms("2024-03-15T11:30:01Z"));
    assert_eq!(ev["class_uid"], 4001);
    assert_eq!(s(&ev["activity_name"]), "Allow");
    assert_eq!(s(&ev["status"]), "Success");
    assert_eq!(s(&ev["disposition"]), "Allowed");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "10.40.1.12");
    assert_eq!(ev["src_endpoint"]["port"], 53122);
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "8.8.8.8");
    assert_eq!(ev["dst_endpoint"]["port"], 53);
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "udp");
    assert_eq!(s(&ev["metadata"]["product"]["vendor_name"]), "Check Point");
    assert_eq!(s(&ev["metadata"]["product"]["name"]), "VPN-1 & FireWall-1");
    assert_eq!(
        s(&ev["metadata"]["uid"]),
        "{0x65f42a39,0x0,0x1f00a8c0,0xc0000000}"
    );
    assert_eq!(s(&ev["device"]["ip"]), "192.168.0.31");
    assert_eq!(s(&ev["device"]["hostname"]), "cp-gw1");
    assert_eq!(s(&ev["unmapped"]["rule_name"]), "DNS out");
    assert_eq!(s(&ev["unmapped"]["service_id"]), "domain-udp");
    assert_eq!(ev["severity_id"], 1);
    assert_eq!(detect(line).as_deref(), Some("checkpoint"));
}

#[test]
fn drop_reject_ipv6_and_quoted_separators() {
    let ev = normalise(
        "checkpoint",
        r#"<134>1 2024-03-15T11:30:03Z cp-gw1 CheckPoint 24110 - [action:"Drop"; ifdir:"inbound"; origin:"192.168.0.31"; time:"1710502203"; dst:"198.51.100.31"; rule_name:"Cleanup rule"; product:"VPN-1 & FireWall-1"; proto:"6"; s_port:"41877"; service:"3389"; src:"203.0.113.45"]"#,
    );
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["disposition"]), "Blocked");
    assert_eq!(s(&ev["activity_name"]), "Deny");
    assert_eq!(ev["dst_endpoint"]["port"], 3389);

    let ev = normalise(
        "checkpoint",
        r#"<134>1 2024-03-15T11:30:04Z cp-gw1 CheckPoint 24110 - [action:"Reject"; origin:"192.168.0.31"; dst:"2001:db8:99::5"; product:"VPN-1 & FireWall-1"; proto:"6"; s_port:"50990"; service:"445"; src:"2001:db8:40::12"; rule_name:"Block SMB; \"legacy\" hosts"]"#,
    );
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "2001:db8:40::12");
    assert_eq!(s(&ev["dst_endpoint"]["ip"]), "2001:db8:99::5");
    assert_eq!(ev["dst_endpoint"]["port"], 445);
    assert_eq!(
        s(&ev["unmapped"]["rule_name"]),
        r#"Block SMB; \"legacy\" hosts"#
    );

    // ICMP: no service, no ports.
    let ev = normalise(
        "checkpoint",
        r#"<134>1 2024-03-15T11:30:05Z cp-gw1 CheckPoint 24110 - [action:"Drop"; dst:"198.51.100.31"; product:"VPN-1 & FireWall-1"; proto:"1"; icmp_type:"8"; icmp_code:"0"; src:"203.0.113.90"]"#,
    );
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "icmp");
    assert!(ev["dst_endpoint"].get("port").is_none());
}

#[test]
fn identity_users_and_application_control() {
    let ev = normalise(
        "checkpoint",
        r#"<134>1 2024-03-15T11:30:07Z cp-gw1 CheckPoint 24110 - [action:"Accept"; appi_name:"Dropbox"; dst:"162.125.1.18"; product:"Application Control"; proto:"6"; s_port:"50991"; service:"443"; src:"10.40.1.20"; user:"Omar Haddad (ohaddad)"]"#,
    );
    assert_eq!(ev["class_uid"], 4001);
    assert_eq!(s(&ev["actor"]["user"]["name"]), "ohaddad");
    assert_eq!(s(&ev["unmapped"]["user_full_name"]), "Omar Haddad");
    assert_eq!(s(&ev["metadata"]["product"]["name"]), "Application Control");

    let ev = normalise(
        "checkpoint",
        r#"<134>1 2024-03-15T11:30:14Z cp-gw1 CheckPoint 24110 - [action:"Log In"; auth_method:"Password"; auth_status:"Successful Login"; identity_src:"Captive Portal"; product:"Identity Awareness"; src:"10.40.1.44"; src_user_name:"Ana Costa (acosta)"]"#,
    );
    assert_eq!(ev["class_uid"], 3002);
    assert_eq!(s(&ev["activity_name"]), "Logon");
    assert_eq!(s(&ev["status"]), "Success");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "acosta");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "10.40.1.44");

    let ev = normalise(
        "checkpoint",
        r#"<134>1 2024-03-15T11:30:15Z cp-gw1 CheckPoint 24110 - [action:"Failed Log In"; auth_status:"Failed Login"; product:"Mobile Access"; reason:"Wrong user name or password"; src:"203.0.113.45"; user:"bob"]"#,
    );
    assert_eq!(ev["class_uid"], 3002);
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "bob");
}

#[test]
fn threat_prevention_blades() {
    let line = r#"<132>1 2024-03-15T11:30:09Z cp-gw1 CheckPoint 24110 - [action:"Prevent"; ifdir:"inbound"; attack:"SQL Servers Injection"; dst:"198.51.100.40"; product:"IPS"; protection_name:"SQL Injection"; proto:"6"; s_port:"41200"; service:"80"; severity:"High"; src:"203.0.113.66"]"#;
    let ev = normalise("checkpoint", line);
    assert_eq!(ev["class_uid"], 2004);
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["disposition"]), "Blocked");
    assert_eq!(ev["severity_id"], 4);
    assert_eq!(s(&ev["unmapped"]["protection_name"]), "SQL Injection");
    assert_eq!(ev["dst_endpoint"]["port"], 80);
    assert_eq!(detect(line).as_deref(), Some("checkpoint"));

    let ev = normalise(
        "checkpoint",
        r#"<132>1 2024-03-15T11:30:10Z cp-gw1 CheckPoint 24110 - [action:"Detect"; dst:"203.0.113.250"; malware_action:"Communication with C&C site"; product:"Anti-Bot"; proto:"6"; s_port:"51500"; service:"8080"; severity:"Critical"; src:"10.40.1.33"; src_user_name:"Paul Smith (psmith)"]"#,
    );
    assert_eq!(ev["class_uid"], 2004);
    assert_eq!(s(&ev["disposition"]), "Detected");
    assert_eq!(ev["severity_id"], 5);
    assert_eq!(s(&ev["actor"]["user"]["name"]), "psmith");
}

#[test]
fn vpn_and_management_audit() {
    let ev = normalise(
        "checkpoint",
        r#"<134>1 2024-03-15T11:30:12Z cp-gw1 CheckPoint 24110 - [action:"Key Install"; community:"Branch-VPN"; dst:"198.51.100.31"; ike:"Main Mode completion."; peer_gateway:"203.0.113.17"; product:"VPN-1 & FireWall-1"; scheme:"IKE"; src:"203.0.113.17"]"#,
    );
    assert_eq!(s(&ev["status"]), "Success");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "203.0.113.17");
    assert_eq!(s(&ev["unmapped"]["community"]), "Branch-VPN");

    // Audit: the client is `client_ip`, the user `administrator`, the code `operation_number`.
    let ev = normalise(
        "checkpoint",
        r#"<134>1 2024-03-15T11:30:17Z cp-mgmt CheckPoint 10547 - [action:"Accept"; origin:"192.168.0.10"; time:"1710502217"; additional_info:"Administrator failed to log in: Wrong Password"; administrator:"j.doe@corp.example"; audit_status:"Failure"; client_ip:"203.0.113.45"; operation:"Log In"; operation_number:"11"; product:"SmartConsole"; subject:"Administrator Login"]"#,
    );
    assert_eq!(ev["class_uid"], 3002);
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "j.doe");
    assert_eq!(s(&ev["unmapped"]["user_domain"]), "corp.example");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "203.0.113.45");
    assert_eq!(s(&ev["metadata"]["event_code"]), "11");
    assert!(ev.get("disposition").is_none());

    let ev = normalise(
        "checkpoint",
        r#"<134>1 2024-03-15T11:30:18Z cp-mgmt CheckPoint 10547 - [action:"Accept"; administrator:"secadmin"; client_ip:"10.40.9.5"; operation:"Publish"; operation_number:"4"; product:"SmartConsole"; subject:"Policy Publish"]"#,
    );
    assert_eq!(ev["class_uid"], 0);
    assert_eq!(s(&ev["activity_name"]), "Update");
    assert_eq!(s(&ev["actor"]["user"]["name"]), "secadmin");
}

#[test]
fn splunk_pipe_and_key_value_forms() {
    let line = r"time=1710502222|hostname=cp-gw2|product=Firewall|layer_name=Network|action=Drop|ifdir=inbound|ifname=eth0|origin=192.168.0.32|originsicname=cn\=cp_mgmt,o\=cp-gw2..a1b2c3|dst=198.51.100.32|proto=6|s_port=40500|service=22|service_id=ssh|src=203.0.113.45|";
    let ev = normalise("checkpoint", line);
    assert_eq!(ev["time"], ms("2024-03-15T11:30:22Z"));
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "203.0.113.45");
    assert_eq!(ev["src_endpoint"]["port"], 40500);
    assert_eq!(ev["dst_endpoint"]["port"], 22);
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "tcp");
    assert_eq!(s(&ev["metadata"]["product"]["name"]), "Firewall");
    assert_eq!(
        s(&ev["unmapped"]["originsicname"]),
        r"cn\=cp_mgmt,o\=cp-gw2..a1b2c3"
    );
    assert_eq!(detect(line).as_deref(), Some("checkpoint"));

    // Year-less BSD header, space-separated pairs, a trailing space.
    let line = r#"<134>Mar 15 11:30:24 cp-gw3 CheckPoint[4410]: action="Drop" ifdir="inbound" origin="192.168.0.33" product="VPN-1 & FireWall-1" src="203.0.113.77" dst="198.51.100.33" proto="17" s_port="5060" service="5060" rule_name="Cleanup rule" "#;
    let ev = normalise("checkpoint", line);
    assert_eq!(ev["time"], ms("2024-03-15T11:30:24Z"));
    assert_eq!(s(&ev["device"]["hostname"]), "cp-gw3");
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "udp");
    assert_eq!(ev["dst_endpoint"]["port"], 5060);
    assert_eq!(s(&ev["unmapped"]["rule_name"]), "Cleanup rule");
    assert_eq!(detect(line).as_deref(), Some("checkpoint"));

    // Service by name.
    let ev = normalise(
        "checkpoint",
        r#"action="Accept" product="VPN-1 & FireWall-1" src="10.42.1.7" dst="151.101.1.69" proto="6" service="https""#,
    );
    assert_eq!(ev["dst_endpoint"]["port"], 443);
}

#[test]
fn rfc5424_fields_element() {
    let line = r#"<134>1 2024-03-15T11:31:00+01:00 cp-gw4 CP-GW - Log [Fields@1.3.6.1.4.1.2620 action="Drop" inzone="External" outzone="Local" service_id="echo-request" src="203.0.113.91" dst="198.51.100.34" proto="1" product="VPN-1 & FireWall-1" user=""]"#;
    let ev = normalise("checkpoint", line);
    assert_eq!(ev["time"], ms("2024-03-15T10:31:00Z"));
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "203.0.113.91");
    assert_eq!(s(&ev["connection_info"]["protocol_name"]), "icmp");
    assert!(ev.get("actor").is_none());
    assert_eq!(detect(line).as_deref(), Some("checkpoint"));
}

#[test]
fn pairs_found_past_a_first_bracket_or_before_trailing_spaces() {
    // The tag's `[pid]` comes first: the pairs are the later `[...]`.
    let ev = normalise(
        "checkpoint",
        r#"<134>Mar 15 11:30:25 cp-gw3 CheckPoint[4410]: [action:"Drop"; product:"VPN-1 & FireWall-1"; src:"203.0.113.77"; dst:"198.51.100.33"; proto:"17"; s_port:"5060"; service:"5060"]"#,
    );
    assert_eq!(s(&ev["status"]), "Failure");
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "203.0.113.77");
    assert_eq!(ev["dst_endpoint"]["port"], 5060);

    // Spaces after the closing `]`, and a last value without quotes.
    let ev = normalise(
        "checkpoint",
        r#"<134>1 2024-03-15T11:30:02Z cp-gw1 CheckPoint 24110 - [action:"Accept"; product:"VPN-1 & FireWall-1"; src:"10.40.1.12"; dst:"93.184.216.34"; proto:"6"; service:"443"]  "#,
    );
    assert_eq!(s(&ev["status"]), "Success");
    assert_eq!(ev["dst_endpoint"]["port"], 443);
    let ev = normalise(
        "checkpoint",
        r#"<134>1 2024-03-15T11:30:02Z cp-gw1 CheckPoint 24110 - [action:"Accept"; product:"VPN-1 & FireWall-1"; src:"10.40.1.12"; service:443]"#,
    );
    assert_eq!(ev["dst_endpoint"]["port"], 443);
    assert_eq!(s(&ev["src_endpoint"]["ip"]), "10.40.1.12");

    // A line cut before its `]` holds no pairs: a Base Event.
    let ev = normalise(
        "checkpoint",
        r#"<134>Mar 15 11:30:23 cp-gw3 CheckPoint[4410]: [action:"Accept"; product:"VPN-1 & FireWall-1"; src:"10.40"#,
    );
    assert_eq!(ev["class_uid"], 0);
    let ev = normalise("checkpoint", "<134>Mar 15 11:30:23 cp-gw3 CheckPoint[4410]");
    assert_eq!(ev["class_uid"], 0);
}
