//! Tests for the `sophos_xg` mapping.
use crate::support::*;

// Lines composed from the Sophos Firewall (SFOS 18 and 19.5+) log file details and syslog
// message structure; addresses from the documentation ranges.
const FW_ALLOW: &str = r#"<30>device="SFW" date=2024-03-01 time=12:00:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=010101600001 log_type="Firewall" log_component="Firewall Rule" log_subtype="Allowed" status="Allow" priority=Information duration=30 fw_rule_id=5 nat_rule_id=2 policy_type=1 user_name="jdoe" user_gp="Staff" iap=0 ips_policy_id=0 appfilter_policy_id=0 application="Secure Socket Layer Protocol" application_risk=1 application_technology="Network Protocol" application_category="Infrastructure" in_interface="Port1" out_interface="Port2" src_mac=00:1a:2b:3c:4d:5e src_ip=10.20.0.15 src_country_code= dst_ip=203.0.113.30 dst_country_code=USA protocol="TCP" src_port=50123 dst_port=443 sent_pkts=12 recv_pkts=14 sent_bytes=1800 recv_bytes=9200 tran_src_ip=198.51.100.20 tran_src_port=50123 tran_dst_ip= tran_dst_port=0 srczonetype="LAN" srczone="LAN" dstzonetype="WAN" dstzone="WAN" dir_disp="" connevent="Stop" connid="1423562" vconnid="" hb_health="No Heartbeat" message="" appresolvedby="Signature" app_is_cloud=0"#;
const FW_DENY_CET: &str = r#"<30>device="SFW" date=2024-03-01 time=13:01:00 timezone="CET" device_name="XG230" device_id=C2300ABCDEF1234 log_id=010102600002 log_type="Firewall" log_component="Firewall Rule" log_subtype="Denied" status="Deny" priority=Information duration=0 fw_rule_id=0 policy_type=0 user_name="" user_gp="" iap=0 ips_policy_id=0 appfilter_policy_id=0 application="" application_risk=0 application_technology="" application_category="" in_interface="Port2" out_interface="" src_mac=00:aa:bb:cc:dd:ee src_ip=198.51.100.77 src_country_code=NLD dst_ip=198.51.100.20 dst_country_code= protocol="TCP" src_port=41000 dst_port=3389 sent_pkts=0 recv_pkts=0 sent_bytes=0 recv_bytes=0 tran_src_ip= tran_src_port=0 tran_dst_ip= tran_dst_port=0 srczonetype="WAN" srczone="WAN" dstzonetype="" dstzone="" dir_disp="" connid="" vconnid="" hb_health="No Heartbeat" message="" appresolvedby="Signature""#;
const FW_DENY6: &str = r#"<30>device="SFW" date=2024-03-01 time=12:02:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=010102600002 log_type="Firewall" log_component="Firewall Rule" log_subtype="Denied" status="Deny" priority=Information fw_rule_id=7 user_name="" in_interface="Port1" out_interface="Port2" src_ip=2001:db8:20::15 dst_ip=2001:db8:ffff::1 protocol="UDP" src_port=5353 dst_port=5353 sent_pkts=0 recv_pkts=0 sent_bytes=0 recv_bytes=0 srczone="LAN" dstzone="WAN" message="""#;
const FW_INVALID: &str = r#"<30>device="SFW" date=2024-03-01 time=12:03:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=010202601001 log_type="Firewall" log_component="Invalid Traffic" log_subtype="Denied" status="Deny" priority=Information fw_rule_id=0 in_interface="Port2" src_ip=192.0.2.99 dst_ip=198.51.100.20 protocol="TCP" src_port=4444 dst_port=80 message="Invalid TCP packet: no SYN""#;
const FW_ICMP: &str = r#"<30>device="SFW" date=2024-03-01 time=12:04:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=010101600001 log_type="Firewall" log_component="Firewall Rule" log_subtype="Allowed" status="Allow" priority=Information fw_rule_id=3 user_name="" in_interface="Port1" out_interface="Port2" src_ip=10.20.0.16 dst_ip=192.0.2.8 protocol="ICMP" icmp_type=8 icmp_code=0 sent_pkts=1 recv_pkts=1 sent_bytes=84 recv_bytes=84 srczone="LAN" dstzone="WAN" connevent="Start" message="""#;
const V19_ALLOW: &str = r#"<30>device_name="SFW" timestamp="2024-03-01T13:05:00+0100" device_model="XGS2100" device_serial_id="X21000ABCDEF123" log_id="010101600001" log_type="Firewall" log_component="Firewall Rule" log_subtype="Allowed" log_version=1 severity="Information" fw_rule_id="5" fw_rule_name="LAN to WAN" fw_rule_section="Local rule" nat_rule_id="2" nat_rule_name="Default SNAT" fw_rule_type="NETWORK" gw_id_request=0 gw_name_request="" user_name="asmith" user_gp="Staff" in_interface="Port1" out_interface="Port2" src_mac="00:1a:2b:3c:4d:5f" src_ip="10.20.0.17" src_country="R1" dst_ip="203.0.113.31" dst_country="USA" protocol="TCP" src_port=50200 dst_port=443 packets_sent=10 packets_received=12 bytes_sent=1500 bytes_received=8000 src_trans_ip="198.51.100.20" src_trans_port=50200 src_zone_type="LAN" src_zone="LAN" dst_zone_type="WAN" dst_zone="WAN" con_event="Start" con_id="2837465" app_name="" app_is_cloud="FALSE" qualifier="New""#;
const V19_DENY: &str = r#"<30>device_name="SFW" timestamp="2024-03-01T12:06:00Z" device_model="XGS2100" device_serial_id="X21000ABCDEF123" log_id="010102600002" log_type="Firewall" log_component="Firewall Rule" log_subtype="Denied" log_version=1 severity="Information" fw_rule_id="0" fw_rule_name="Drop all" fw_rule_section="Local rule" fw_rule_type="NETWORK" user_name="" in_interface="Port2" src_ip="192.0.2.101" dst_ip="198.51.100.20" protocol="UDP" src_port=51820 dst_port=1900 src_zone="WAN" con_event="Start""#;
const IPS_DROP: &str = r#"<28>device="SFW" date=2024-03-01 time=12:10:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=020603401001 log_type="IDP" log_component="Signatures" log_subtype="Drop" priority=Warning idp_policy_id=8 fw_rule_id=9 user_name="" signature_id=58722 signature_msg="SERVER-OTHER Apache Log4j logging remote code execution attempt" classification="Attempted User Privilege Gain" rule_priority=1 src_ip=198.51.100.66 src_country_code=NLD dst_ip=10.20.1.10 dst_country_code=R1 protocol="TCP" src_port=41234 dst_port=8080 platform="Linux" category="Server-Other" target="Server""#;
const IPS_DETECT: &str = r#"<28>device="SFW" date=2024-03-01 time=12:11:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=020603401002 log_type="IDP" log_component="Signatures" log_subtype="Detect" priority=Warning idp_policy_id=8 fw_rule_id=9 user_name="" signature_id=2100498 signature_msg="GPL ATTACK_RESPONSE id check returned root" classification="Potentially Bad Traffic" rule_priority=2 src_ip=203.0.113.90 dst_ip=10.20.0.18 protocol="TCP" src_port=80 dst_port=50300 platform="Unix" category="Attack-Response" target="Client""#;
const WEB_ALLOW: &str = r#"<30>device="SFW" date=2024-03-01 time=12:20:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=050901616001 log_type="Content Filtering" log_component="HTTP" log_subtype="Allowed" status="" priority=Information fw_rule_id=5 user_name="jdoe" user_gp="Staff" iap=13 category="Information Technology" category_type="Acceptable" url="https://docs.example.com/guide/index.html" contenttype="text/html" override_token="" httpresponsecode="" src_ip=10.20.0.15 dst_ip=203.0.113.40 protocol="TCP" src_port=50400 dst_port=443 sent_bytes=900 recv_bytes=40960 domain=docs.example.com exceptions="" activityname="" reason="" user_agent="Mozilla/5.0 (X11; Linux x86_64)" status_code="200" transactionid="" referer="" download_file_name="" download_file_type="" upload_file_name="" upload_file_type="" con_id=3498234 application="" app_is_cloud=0 override_name="" override_authorizer="""#;
const WEB_DENY: &str = r#"<29>device="SFW" date=2024-03-01 time=12:21:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=050902616002 log_type="Content Filtering" log_component="HTTP" log_subtype="Denied" status="" priority=Information fw_rule_id=5 user_name="asmith" user_gp="Staff" iap=13 category="Gambling" category_type="Unacceptable" url="http://casino.example.net/play" contenttype="" httpresponsecode="" src_ip=10.20.0.17 dst_ip=203.0.113.41 protocol="TCP" src_port=50401 dst_port=80 sent_bytes=0 recv_bytes=0 domain=casino.example.net exceptions="" activityname="Deny" reason="" user_agent="curl/8.4.0" status_code="403" con_id=3498235 application="""#;
const AV_VIRUS: &str = r#"<29>device="SFW" date=2024-03-01 time=12:22:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=030906208001 log_type="Anti-Virus" log_component="HTTP" log_subtype="Virus" status="" priority=Critical fw_rule_id=5 user_name="jdoe" iap=13 av_policy_name="default" virus="EICAR-AV-Test" url="http://malware.example.org/eicar.com" domain=malware.example.org src_ip=10.20.0.15 dst_ip=203.0.113.42 protocol="TCP" src_port=50402 dst_port=80 sent_bytes=0 recv_bytes=68 filename="eicar.com" message="Virus EICAR-AV-Test detected in eicar.com""#;
const AUTH_OK: &str = r#"<30>device="SFW" date=2024-03-01 time=12:30:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=062910617701 log_type="Event" log_component="Firewall Authentication" log_subtype="Authentication" status="Successful" priority=Information user_name="jdoe" usergroupname="Staff" auth_client="Clientless" auth_mechanism="AD" reason="" src_ip=10.20.0.15 message="User jdoe of group Staff logged in successfully to Firewall through AD authentication mechanism" name="John Doe" src_mac=00:1a:2b:3c:4d:5e"#;
const AUTH_FAIL6: &str = r#"<29>device="SFW" date=2024-03-01 time=12:31:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=062910617702 log_type="Event" log_component="Firewall Authentication" log_subtype="Authentication" status="Failed" priority=Notification user_name="mallory" usergroupname="" auth_client="CTA" auth_mechanism="Local" reason="Invalid credentials" src_ip=2001:db8:20::99 message="User mallory failed to login to Firewall through Local authentication mechanism because of wrong credentials" name="" src_mac="#;
const AUTH_LOGOUT: &str = r#"<30>device="SFW" date=2024-03-01 time=12:32:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=062910617703 log_type="Event" log_component="Firewall Authentication" log_subtype="Authentication" status="Successful" priority=Information user_name="jdoe" usergroupname="Staff" auth_client="Clientless" auth_mechanism="AD" reason="" src_ip=10.20.0.15 message="User jdoe of group Staff logged out of Firewall" name="John Doe""#;
const SSLVPN_FAIL: &str = r#"<29>device="SFW" date=2024-03-01 time=12:33:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=062710617701 log_type="Event" log_component="SSL VPN Authentication" log_subtype="Authentication" status="Failed" priority=Notification user_name="bob" usergroupname="" auth_client="N/A" auth_mechanism="Local" reason="" src_ip=198.51.100.120 message="User bob failed to login to SSL VPN through Local authentication mechanism because of wrong credentials""#;
const ADMIN_LOGIN: &str = r#"<30>device="SFW" date=2024-03-01 time=12:40:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=062009617502 log_type="Event" log_component="GUI" log_subtype="Admin" status="Successful" priority=Information user_name="admin" src_ip=192.0.2.150 message="User admin logged in successfully to Web Admin from 192.0.2.150""#;
const ADMIN_SSH_FAIL: &str = r#"<29>device="SFW" date=2024-03-01 time=12:41:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=062009617503 log_type="Event" log_component="SSH" log_subtype="Admin" status="Failed" priority=Notification user_name="root" message="User root failed to login to SSH from 198.51.100.99 because of wrong credentials""#;
const ADMIN_CHANGE: &str = r#"<30>device="SFW" date=2024-03-01 time=12:42:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=062009617504 log_type="Event" log_component="GUI" log_subtype="Admin" status="Successful" priority=Information user_name="admin" src_ip=192.0.2.150 message="Firewall Rule 'LAN to WAN' was updated by admin from 192.0.2.150 using GUI""#;
const ADMIN_LOGOUT: &str = r#"<30>device="SFW" date=2024-03-01 time=12:43:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=062009617505 log_type="Event" log_component="GUI" log_subtype="Admin" status="Successful" priority=Information user_name="admin" src_ip=192.0.2.150 message="User admin logged out of Web Admin""#;
const SYS_ERR: &str = r#"<27>device="SFW" date=2024-03-01 time=12:50:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=063411660001 log_type="Event" log_component="Appliance" log_subtype="System" status="" priority=Error message="Failed to connect to update server""#;
const V19_AUTH: &str = r#"<30>device_name="SFW" timestamp="2024-03-01T12:51:00+0000" device_model="XGS2100" device_serial_id="X21000ABCDEF123" log_id="062910617701" log_type="Event" log_component="Firewall Authentication" log_subtype="Authentication" log_version=1 severity="Information" user_name="carol" user_group="Staff" auth_client="Web Client" auth_mechanism="Local" src_ip="10.20.0.19" message="User carol of group Staff logged in successfully to Firewall through Local authentication mechanism" "#;
const NOPRI_ALLOW: &str = r#"Mar  1 12:52:00 sfw-hq device="SFW" date=2024-03-01 time=12:52:00 timezone="UTC" device_name="XG230" device_id=C2300ABCDEF1234 log_id=010101600001 log_type="Firewall" log_component="Firewall Rule" log_subtype="Allowed" status="Allow" priority=Information fw_rule_id=5 src_ip=10.20.0.20 dst_ip=192.0.2.53 protocol="UDP" src_port=53000 dst_port=53 message="""#;

const V: &str = "sophos_xg";

fn check_common(e: &serde_json::Value) {
    assert_eq!(e["metadata"]["product"]["vendor_name"], "Sophos");
    assert_eq!(e["metadata"]["product"]["name"], "XG Firewall");
}

#[test]
fn firewall_allowed_with_quoted_values() {
    assert_eq!(detect(FW_ALLOW).as_deref(), Some(V));
    let e = normalise(V, FW_ALLOW);
    check_common(&e);
    assert_eq!(e["time"], ms("2024-03-01T12:00:00Z"));
    assert_eq!(e["class_uid"], 4001);
    assert_eq!(e["activity_name"], "Close");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["disposition"], "Allowed");
    assert_eq!(e["severity_id"], 1);
    assert_eq!(e["src_endpoint"]["ip"], "10.20.0.15");
    assert_eq!(e["src_endpoint"]["port"], 50123);
    assert_eq!(e["dst_endpoint"]["ip"], "203.0.113.30");
    assert_eq!(e["dst_endpoint"]["port"], 443);
    assert_eq!(e["connection_info"]["protocol_name"], "tcp");
    assert_eq!(e["actor"]["user"]["name"], "jdoe");
    assert_eq!(e["metadata"]["event_code"], "010101600001");
    assert_eq!(e["unmapped"]["application"], "Secure Socket Layer Protocol");
    assert_eq!(e["unmapped"]["log_component"], "Firewall Rule");
    assert_eq!(e["unmapped"]["fw_rule_id"], "5");
    assert_eq!(e["metrics"]["bytes_out"], 1800.0);
    // Empty values (src_country_code=, message="") are not kept.
    assert!(e["unmapped"].get("src_country_code").is_none());
}

#[test]
fn firewall_denied_zone_ipv6_icmp() {
    // 13:01 CET is 12:01 UTC.
    let e = normalise(V, FW_DENY_CET);
    assert_eq!(e["time"], ms("2024-03-01T12:01:00Z"));
    assert_eq!(e["activity_name"], "Refuse");
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["disposition"], "Blocked");
    assert_eq!(e["dst_endpoint"]["port"], 3389);
    assert!(e.get("actor").is_none(), "empty user_name: {e}");

    assert_eq!(detect(FW_DENY6).as_deref(), Some(V));
    let e = normalise(V, FW_DENY6);
    assert_eq!(e["src_endpoint"]["ip"], "2001:db8:20::15");
    assert_eq!(e["dst_endpoint"]["ip"], "2001:db8:ffff::1");
    assert_eq!(e["connection_info"]["protocol_name"], "udp");
    assert_eq!(e["status"], "Failure");

    let e = normalise(V, FW_INVALID);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["message"], "Invalid TCP packet: no SYN");
    assert_eq!(e["metadata"]["event_code"], "010202601001");

    let e = normalise(V, FW_ICMP);
    assert_eq!(e["activity_name"], "Open");
    assert_eq!(e["connection_info"]["protocol_name"], "icmp");
    assert_eq!(e["unmapped"]["icmp_type"], "8");
}

#[test]
fn sfos19_header_with_timestamp_offset() {
    assert_eq!(detect(V19_ALLOW).as_deref(), Some(V));
    let e = normalise(V, V19_ALLOW);
    check_common(&e);
    assert_eq!(e["time"], ms("2024-03-01T12:05:00Z"));
    assert_eq!(e["status"], "Success");
    assert_eq!(e["activity_name"], "Open");
    assert_eq!(e["severity_id"], 1);
    assert_eq!(e["src_endpoint"]["ip"], "10.20.0.17");
    assert_eq!(e["dst_endpoint"]["port"], 443);
    assert_eq!(e["actor"]["user"]["name"], "asmith");
    assert_eq!(e["metadata"]["event_code"], "010101600001");
    assert_eq!(e["unmapped"]["fw_rule_name"], "LAN to WAN");
    assert_eq!(e["metrics"]["bytes_in"], 8000.0);

    let e = normalise(V, V19_DENY);
    assert_eq!(e["time"], ms("2024-03-01T12:06:00Z"));
    assert_eq!(e["activity_name"], "Refuse");
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["disposition"], "Blocked");
}

#[test]
fn ips_and_web_filter_and_antivirus() {
    assert_eq!(detect(IPS_DROP).as_deref(), Some(V));
    let e = normalise(V, IPS_DROP);
    assert_eq!(e["class_uid"], 4001);
    assert_eq!(e["severity_id"], 3);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["disposition"], "Blocked");
    assert_eq!(e["dst_endpoint"]["port"], 8080);
    assert_eq!(e["metadata"]["event_code"], "020603401001");
    assert_eq!(
        e["unmapped"]["signature_msg"],
        "SERVER-OTHER Apache Log4j logging remote code execution attempt"
    );

    let e = normalise(V, IPS_DETECT);
    assert_eq!(e["status"], "Success");
    assert_eq!(e["disposition"], "Allowed");

    let e = normalise(V, WEB_ALLOW);
    assert_eq!(e["status"], "Success");
    assert_eq!(e["actor"]["user"]["name"], "jdoe");
    assert_eq!(e["dst_endpoint"]["hostname"], "docs.example.com");
    assert_eq!(e["unmapped"]["category"], "Information Technology");
    assert_eq!(
        e["unmapped"]["url"],
        "https://docs.example.com/guide/index.html"
    );

    let e = normalise(V, WEB_DENY);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["disposition"], "Blocked");
    assert_eq!(e["dst_endpoint"]["hostname"], "casino.example.net");
    assert_eq!(e["metadata"]["event_code"], "050902616002");

    let e = normalise(V, AV_VIRUS);
    assert_eq!(e["severity_id"], 5);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["message"], "Virus EICAR-AV-Test detected in eicar.com");
}

#[test]
fn user_authentication_login_failure_logout() {
    assert_eq!(detect(AUTH_OK).as_deref(), Some(V));
    let e = normalise(V, AUTH_OK);
    check_common(&e);
    assert_eq!(e["class_uid"], 3002);
    assert_eq!(e["class_name"], "Authentication");
    assert_eq!(e["activity_name"], "Logon");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["actor"]["user"]["name"], "jdoe");
    assert_eq!(e["src_endpoint"]["ip"], "10.20.0.15");
    assert_eq!(e["metadata"]["event_code"], "062910617701");
    assert_eq!(e["time"], ms("2024-03-01T12:30:00Z"));

    let e = normalise(V, AUTH_FAIL6);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["severity_id"], 2);
    assert_eq!(e["src_endpoint"]["ip"], "2001:db8:20::99");
    assert_eq!(e["actor"]["user"]["name"], "mallory");
    assert_eq!(e["unmapped"]["reason"], "Invalid credentials");

    let e = normalise(V, AUTH_LOGOUT);
    assert_eq!(e["activity_name"], "Logoff");
    assert_eq!(e["status"], "Success");

    let e = normalise(V, SSLVPN_FAIL);
    assert_eq!(e["class_uid"], 3002);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["actor"]["user"]["name"], "bob");

    // SFOS 19.5+: no status field, a trailing space.
    let e = normalise(V, V19_AUTH);
    assert_eq!(e["class_uid"], 3002);
    assert_eq!(e["status"], "Success");
    assert_eq!(e["actor"]["user"]["name"], "carol");
    assert_eq!(e["time"], ms("2024-03-01T12:51:00Z"));
}

#[test]
fn admin_events() {
    let e = normalise(V, ADMIN_LOGIN);
    assert_eq!(e["class_uid"], 3002);
    assert_eq!(e["activity_name"], "Logon");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["actor"]["user"]["name"], "admin");
    assert_eq!(e["src_endpoint"]["ip"], "192.0.2.150");

    // No src_ip field: the address comes from the message.
    let e = normalise(V, ADMIN_SSH_FAIL);
    assert_eq!(e["class_uid"], 3002);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["actor"]["user"]["name"], "root");
    assert_eq!(e["src_endpoint"]["ip"], "198.51.100.99");

    let e = normalise(V, ADMIN_CHANGE);
    assert_eq!(e["class_uid"], 0);
    assert_eq!(e["status"], "Success");
    assert_eq!(e["actor"]["user"]["name"], "admin");

    let e = normalise(V, ADMIN_LOGOUT);
    assert_eq!(e["activity_name"], "Logoff");

    let e = normalise(V, SYS_ERR);
    assert_eq!(e["class_uid"], 0);
    assert_eq!(e["severity_id"], 4);
    assert_eq!(e["message"], "Failed to connect to update server");
    for line in [ADMIN_LOGIN, ADMIN_SSH_FAIL, ADMIN_CHANGE, SYS_ERR] {
        assert_eq!(detect(line).as_deref(), Some(V), "{line}");
    }
}

#[test]
fn line_without_pri_behind_a_yearless_prefix() {
    assert_eq!(detect(NOPRI_ALLOW).as_deref(), Some(V));
    let e = normalise("auto", NOPRI_ALLOW);
    check_common(&e);
    assert_eq!(e["time"], ms("2024-03-01T12:52:00Z"));
    assert_eq!(e["status"], "Success");
    assert_eq!(e["dst_endpoint"]["port"], 53);
    assert_eq!(e["connection_info"]["protocol_name"], "udp");
}
