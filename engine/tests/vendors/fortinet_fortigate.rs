//! Tests for the `fortinet_fortigate` mapping.
use crate::support::*;

// Lines composed from the FortiOS Log Message Reference (traffic, utm, event log fields);
// addresses from the documentation ranges.
const TR_CLOSE: &str = r#"<189>date=2024-03-01 time=12:00:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709294400123456789 tz="+0000" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.10.1.15 srcport=51514 srcintf="port2" srcintfrole="lan" dstip=203.0.113.25 dstport=443 dstintf="port1" dstintfrole="wan" srccountry="Reserved" dstcountry="United States" sessionid=12345678 proto=6 action="close" policyid=5 policytype="policy" poluuid="a1b2c3d4-0000-51ee-1111-222233334444" policyname="LAN to WAN" service="HTTPS" trandisp="snat" transip=198.51.100.10 transport=51514 appcat="unscanned" duration=12 sentbyte=2304 rcvdbyte=10240 sentpkt=14 rcvdpkt=16 user="jdoe" authserver="corp-ldap""#;
const TR_DENY_TZ: &str = r#"<188>date=2024-03-01 time=13:05:10 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709298310000000000 tz="+0100" logid="0000000013" type="traffic" subtype="forward" level="warning" vd="root" srcip=10.10.1.16 srcport=49152 srcintf="port2" srcintfrole="lan" dstip=192.0.2.99 dstport=23 dstintf="port1" dstintfrole="wan" sessionid=12345679 proto=6 action="deny" policyid=0 policytype="policy" service="TELNET" trandisp="noop" duration=0 sentbyte=0 rcvdbyte=0 sentpkt=0 appcat="unscanned" crscore=30 craction=131072 crlevel="high""#;
const TR_LOCAL6: &str = r#"<189>date=2024-03-01 time=12:02:00 devname="FGT-HQ" devid="FG100FTK19000001" logid="0001000014" type="traffic" subtype="local" level="notice" vd="root" srcip=2001:db8:1::5 srcport=546 srcintf="port1" dstip=ff02::1:2 dstport=547 dstintf="root" sessionid=5001 proto=17 action="deny" policyid=0 policytype="local-in-policy6" service="DHCP6" trandisp="noop" app="DHCP6" duration=0 sentbyte=0 rcvdbyte=0 sentpkt=0"#;
const TR_ACCEPT_S: &str = r#"<189>date=2024-03-01 time=12:03:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709294580 logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.10.1.17 srcport=60001 srcintf="port2" dstip=192.0.2.53 dstport=53 dstintf="port1" sessionid=5002 proto=17 action="accept" policyid=5 service="DNS" trandisp="snat" duration=180 sentbyte=64 rcvdbyte=128 sentpkt=1 rcvdpkt=1"#;
const TR_TIMEOUT_US: &str = r#"<189>date=2024-03-01 time=12:04:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709294640000000 logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.10.1.18 srcport=60002 srcintf="port2" dstip=203.0.113.40 dstport=80 dstintf="port1" sessionid=5003 proto=6 action="timeout" policyid=5 service="HTTP" trandisp="snat" duration=3600 sentbyte=0 rcvdbyte=0"#;
const TR_SRV_RST: &str = r#"<189>date=2024-03-01 time=12:05:00 devname="FGT-HQ" devid="FG100FTK19000001" logid="0001000014" type="traffic" subtype="local" level="notice" vd="root" srcip=198.51.100.200 srcport=3478 srcintf="port1" dstip=198.51.100.10 dstport=443 dstintf="root" sessionid=5004 proto=6 action="server-rst" policyid=0 service="HTTPS" trandisp="noop" duration=5 sentbyte=120 rcvdbyte=60"#;
const WF_BLOCK: &str = r#"<188>date=2024-03-01 time=12:10:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709295000000000000 tz="+0000" logid="0316013056" type="utm" subtype="webfilter" eventtype="ftgd_blk" level="warning" vd="root" policyid=5 sessionid=6001 srcip=10.10.1.20 srcport=55100 srcintf="port2" dstip=203.0.113.60 dstport=443 dstintf="port1" proto=6 service="HTTPS" hostname="casino.example.com" profile="default" action="blocked" reqtype="direct" url="https://casino.example.com/" sentbyte=517 rcvdbyte=0 direction="outgoing" msg="URL belongs to a denied category in policy" method="domain" cat=11 catdesc="Gambling" user="asmith" group="Staff""#;
const WF_PASS: &str = r#"<189>date=2024-03-01 time=12:11:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709295060000000000 tz="+0000" logid="0317013312" type="utm" subtype="webfilter" eventtype="ftgd_allow" level="notice" vd="root" policyid=5 sessionid=6002 srcip=10.10.1.21 srcport=55101 dstip=203.0.113.61 dstport=443 proto=6 service="HTTPS" hostname="news.example.org" action="passthrough" url="https://news.example.org/world" msg="URL belongs to an allowed category in policy" cat=36 catdesc="News and Media""#;
const IPS_DROP: &str = r#"<185>date=2024-03-01 time=12:12:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709295120000000000 tz="+0000" logid="0419016384" type="utm" subtype="ips" eventtype="signature" level="alert" vd="root" severity="critical" srcip=198.51.100.66 srccountry="Reserved" dstip=10.10.2.10 srcintf="port1" dstintf="port3" sessionid=6003 action="dropped" proto=6 service="HTTP" policyid=9 attack="Apache.Log4j.Error.Log.Remote.Code.Execution" srcport=41234 dstport=80 direction="outgoing" attackid=51006 profile="protect_http_server" ref="http://www.fortinet.com/ids/VID51006" incidentserialno=123456 msg="applications3: Apache.Log4j.Error.Log.Remote.Code.Execution,""#;
const AV_BLOCK: &str = r#"<185>date=2024-03-01 time=12:13:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709295180000000000 tz="+0000" logid="0211008192" type="utm" subtype="virus" eventtype="infected" level="warning" vd="root" policyid=5 msg="File is infected." action="blocked" service="HTTP" sessionid=6004 srcip=203.0.113.70 dstip=10.10.1.22 srcport=80 dstport=55200 srcintf="port1" dstintf="port2" proto=6 direction="incoming" filename="eicar.com" quarskip="File-was-not-quarantined." virus="EICAR_TEST_FILE" dtype="Virus" ref="http://www.fortinet.com/ve?vn=EICAR_TEST_FILE" virusid=2172 url="http://malware.example.net/eicar.com" profile="default" analyticssubmit="false" crscore=50 crlevel="critical""#;
const APP_PASS: &str = r#"<190>date=2024-03-01 time=12:14:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709295240000000000 tz="+0000" logid="1059028704" type="utm" subtype="app-ctrl" eventtype="signature" level="information" vd="root" appid=40568 srcip=10.10.1.23 dstip=203.0.113.80 srcport=55300 dstport=443 srcintf="port2" dstintf="port1" proto=6 service="HTTPS" policyid=5 sessionid=6005 applist="default" appcat="Collaboration" app="Microsoft.Teams" action="pass" msg="Collaboration: Microsoft.Teams," apprisk="elevated""#;
const APP_BLOCK: &str = r#"<189>date=2024-03-01 time=12:15:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709295300000000000 tz="+0000" logid="1059028705" type="utm" subtype="app-ctrl" eventtype="signature" level="warning" vd="root" appid=16195 srcip=10.10.1.24 dstip=203.0.113.81 srcport=55301 dstport=443 proto=6 service="HTTPS" policyid=5 sessionid=6006 applist="default" appcat="P2P" app="BitTorrent" action="block" msg="P2P: BitTorrent," apprisk="critical""#;
const ADM_OK: &str = r#"<190>date=2024-03-01 time=12:20:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709295600000000000 tz="+0000" logid="0100032001" type="event" subtype="system" level="information" vd="root" logdesc="Admin login successful" sn="1709295600" user="admin" ui="https(192.0.2.150)" method="https" srcip=192.0.2.150 dstip=192.0.2.1 action="login" status="success" reason="none" profile="super_admin" msg="Administrator admin logged in successfully from https(192.0.2.150)""#;
const ADM_FAIL: &str = r#"<185>date=2024-03-01 time=12:21:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709295660000000000 tz="+0000" logid="0100032002" type="event" subtype="system" level="alert" vd="root" logdesc="Admin login failed" sn="0" user="root" ui="ssh(198.51.100.99)" method="ssh" srcip=198.51.100.99 dstip=192.0.2.1 action="login" status="failed" reason="name_invalid" msg="Administrator root login failed from ssh(198.51.100.99) because of invalid user name""#;
const ADM_OUT: &str = r#"<190>date=2024-03-01 time=12:22:00 devname="FGT-HQ" devid="FG100FTK19000001" logid="0100032003" type="event" subtype="system" level="information" vd="root" logdesc="Admin logout successful" sn="1709295600" user="admin" ui="https(192.0.2.150)" action="logout" status="success" duration=120 state="Config-changed" reason="exit" msg="Administrator admin logged out from https(192.0.2.150)""#;
const CFG_EDIT: &str = r#"<189>date=2024-03-01 time=12:23:00 devname="FGT-HQ" devid="FG100FTK19000001" logid="0100044547" type="event" subtype="system" level="notice" vd="root" logdesc="Object attribute configured" user="admin" ui="GUI(192.0.2.150)" action="Edit" cfgtid=1234 cfgpath="firewall.policy" cfgobj="5" cfgattr="status[enable->disable]" msg="Edit firewall.policy 5""#;
const IPSEC_UP: &str = r#"<189>date=2024-03-01 time=12:30:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709296200000000000 tz="+0000" logid="0101037138" type="event" subtype="vpn" level="notice" vd="root" logdesc="IPsec connection status changed" msg="IPsec connection status change" action="tunnel-up" remip=198.51.100.40 locip=198.51.100.10 remport=500 locport=500 outintf="port1" cookies="8a7b6c5d4e3f2a1b/0000000000000000" user="N/A" group="N/A" xauthuser="N/A" xauthgroup="N/A" assignip=N/A vpntunnel="to-branch-1" tunnelip=N/A tunnelid=100 tunneltype="ipsec" duration=0 sentbyte=0 rcvdbyte=0 nextstat=0"#;
const IPSEC_DOWN: &str = r#"<187>date=2024-03-01 time=12:31:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709296260000000000 tz="+0000" logid="0101037141" type="event" subtype="vpn" level="error" vd="root" logdesc="IPsec tunnel down" msg="IPsec tunnel down" action="tunnel-down" remip=198.51.100.40 locip=198.51.100.10 remport=500 locport=500 outintf="port1" cookies="8a7b6c5d4e3f2a1b/1122334455667788" user="N/A" group="N/A" xauthuser="N/A" xauthgroup="N/A" assignip=N/A vpntunnel="to-branch-1" tunnelip=N/A tunnelid=100 tunneltype="ipsec" duration=3540 sentbyte=1048576 rcvdbyte=2097152"#;
const SSL_FAIL: &str = r#"<185>date=2024-03-01 time=12:32:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709296320000000000 tz="+0000" logid="0101039426" type="event" subtype="vpn" level="alert" vd="root" logdesc="SSL VPN login fail" action="ssl-login-fail" tunneltype="ssl-web" tunnelid=0 remip=203.0.113.200 tunnelip=(null) user="mallory" group="N/A" dst_host="N/A" reason="sslvpn_login_permission_denied" msg="SSL user failed to logged in""#;
const SSL_UP: &str = r#"<190>date=2024-03-01 time=12:33:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709296380000000000 tz="+0000" logid="0101039947" type="event" subtype="vpn" level="information" vd="root" logdesc="SSL VPN tunnel up" action="tunnel-up" tunneltype="ssl-tunnel" tunnelid=1234 remip=203.0.113.201 tunnelip=10.212.134.200 user="jdoe" group="vpn-users" dst_host="N/A" reason="tunnel established" msg="SSL tunnel established""#;
const USR_OK: &str = r#"<189>date=2024-03-01 time=12:34:00 devname="FGT-HQ" devid="FG100FTK19000001" logid="0102043008" type="event" subtype="user" level="notice" vd="root" logdesc="Authentication success" srcip=10.10.1.30 dstip=10.10.0.5 policyid=5 interface="port2" user="jdoe" group="Staff" authproto="HTTP(10.10.1.30)" action="authentication" status="success" reason="N/A" msg="User jdoe succeeded in authentication""#;
const USR_FAIL: &str = r#"<189>date=2024-03-01 time=12:35:00 devname="FGT-HQ" devid="FG100FTK19000001" logid="0102043009" type="event" subtype="user" level="notice" vd="root" logdesc="Authentication failed" srcip=10.10.1.31 dstip=10.10.0.5 policyid=5 interface="port2" user="bob" group="N/A" authproto="HTTP(10.10.1.31)" action="authentication" status="failure" reason="N/A" msg="User bob failed in authentication""#;
const SYS_FAIL: &str = r#"<186>date=2024-03-01 time=12:40:00 devname="FGT-HQ" devid="FG100FTK19000001" eventtime=1709296800000000000 tz="+0000" logid="0100020010" type="event" subtype="system" level="critical" vd="root" logdesc="FortiGate update failed" status="failed" msg="Fortigate update failed: connection to update server timed out""#;
const NOPRI_RST: &str = r#"Mar  1 12:41:00 FGT-BRANCH date=2024-03-01 time=12:41:00 devname="FGT-BRANCH" devid="FGT60F0000000002" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.20.1.5 srcport=50000 srcintf="internal" dstip=192.0.2.80 dstport=8080 dstintf="wan1" sessionid=7001 proto=6 action="client-rst" policyid=2 service="tcp/8080" duration=2 sentbyte=60 rcvdbyte=0 "#;

const V: &str = "fortinet_fortigate";

fn check_common(e: &serde_json::Value) {
    assert_eq!(e["metadata"]["product"]["vendor_name"], "Fortinet");
    assert_eq!(e["metadata"]["product"]["name"], "FortiGate");
}

#[test]
fn traffic_forward_close_with_tz_and_eventtime() {
    assert_eq!(detect(TR_CLOSE).as_deref(), Some(V));
    let e = normalise(V, TR_CLOSE);
    check_common(&e);
    assert_eq!(e["time"], ms("2024-03-01T12:00:00Z"));
    assert_eq!(e["class_uid"], 4001);
    assert_eq!(e["activity_name"], "Close");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["disposition"], "Allowed");
    assert_eq!(e["severity_id"], 2);
    assert_eq!(e["src_endpoint"]["ip"], "10.10.1.15");
    assert_eq!(e["src_endpoint"]["port"], 51514);
    assert_eq!(e["dst_endpoint"]["ip"], "203.0.113.25");
    assert_eq!(e["dst_endpoint"]["port"], 443);
    assert_eq!(e["connection_info"]["protocol_name"], "tcp");
    assert_eq!(e["actor"]["user"]["name"], "jdoe");
    assert_eq!(e["device"]["hostname"], "FGT-HQ");
    assert_eq!(e["metadata"]["event_code"], "0000000013");
    // Quoted value with spaces.
    assert_eq!(e["unmapped"]["policyname"], "LAN to WAN");
    assert_eq!(e["unmapped"]["type"], "traffic");
    assert_eq!(e["unmapped"]["subtype"], "forward");
    assert_eq!(e["metrics"]["bytes_out"], 2304.0);
    assert_eq!(e["metrics"]["bytes_in"], 10240.0);
}

#[test]
fn traffic_deny_accept_timeout_and_timestamps() {
    // date + time in +0100.
    let e = normalise(V, TR_DENY_TZ);
    assert_eq!(e["time"], ms("2024-03-01T12:05:10Z"));
    assert_eq!(e["activity_name"], "Refuse");
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["disposition"], "Blocked");
    assert_eq!(e["severity_id"], 3);
    assert_eq!(e["dst_endpoint"]["port"], 23);
    assert!(e.get("actor").is_none());

    // Local-in IPv6, UDP; neither eventtime nor tz: date + time as UTC.
    assert_eq!(detect(TR_LOCAL6).as_deref(), Some(V));
    let e = normalise(V, TR_LOCAL6);
    assert_eq!(e["time"], ms("2024-03-01T12:02:00Z"));
    assert_eq!(e["src_endpoint"]["ip"], "2001:db8:1::5");
    assert_eq!(e["dst_endpoint"]["ip"], "ff02::1:2");
    assert_eq!(e["connection_info"]["protocol_name"], "udp");
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["metadata"]["event_code"], "0001000014");

    // eventtime in seconds (no tz).
    let e = normalise(V, TR_ACCEPT_S);
    assert_eq!(e["time"], ms("2024-03-01T12:03:00Z"));
    assert_eq!(e["activity_name"], "Open");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["connection_info"]["protocol_name"], "udp");

    // eventtime in microseconds.
    let e = normalise(V, TR_TIMEOUT_US);
    assert_eq!(e["time"], ms("2024-03-01T12:04:00Z"));
    assert_eq!(e["activity_name"], "Close");
    assert_eq!(e["status"], "Success");

    let e = normalise(V, TR_SRV_RST);
    assert_eq!(e["activity_name"], "Reset");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["disposition"], "Allowed");
}

#[test]
fn utm_webfilter_ips_virus_appctrl() {
    assert_eq!(detect(WF_BLOCK).as_deref(), Some(V));
    let e = normalise(V, WF_BLOCK);
    check_common(&e);
    assert_eq!(e["time"], ms("2024-03-01T12:10:00Z"));
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["disposition"], "Blocked");
    assert_eq!(e["severity_id"], 3);
    assert_eq!(e["actor"]["user"]["name"], "asmith");
    assert_eq!(e["dst_endpoint"]["hostname"], "casino.example.com");
    assert_eq!(e["message"], "URL belongs to a denied category in policy");
    assert_eq!(e["metadata"]["event_code"], "0316013056");
    assert_eq!(e["unmapped"]["catdesc"], "Gambling");

    let e = normalise(V, WF_PASS);
    assert_eq!(e["status"], "Success");
    assert_eq!(e["disposition"], "Allowed");
    assert_eq!(e["unmapped"]["catdesc"], "News and Media");

    let e = normalise(V, IPS_DROP);
    assert_eq!(e["severity_id"], 5);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["src_endpoint"]["ip"], "198.51.100.66");
    assert_eq!(e["dst_endpoint"]["port"], 80);
    assert_eq!(e["metadata"]["event_code"], "0419016384");
    assert_eq!(
        e["unmapped"]["attack"],
        "Apache.Log4j.Error.Log.Remote.Code.Execution"
    );

    let e = normalise(V, AV_BLOCK);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["severity_id"], 5);
    assert_eq!(e["unmapped"]["virus"], "EICAR_TEST_FILE");

    let e = normalise(V, APP_PASS);
    assert_eq!(e["status"], "Success");
    assert_eq!(e["severity_id"], 1);
    let e = normalise(V, APP_BLOCK);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["disposition"], "Blocked");
    assert_eq!(e["unmapped"]["app"], "BitTorrent");
}

#[test]
fn admin_login_success_failure_logout() {
    assert_eq!(detect(ADM_OK).as_deref(), Some(V));
    let e = normalise(V, ADM_OK);
    check_common(&e);
    assert_eq!(e["class_uid"], 3002);
    assert_eq!(e["activity_name"], "Logon");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["actor"]["user"]["name"], "admin");
    assert_eq!(e["src_endpoint"]["ip"], "192.0.2.150");
    assert_eq!(e["metadata"]["event_code"], "0100032001");
    assert_eq!(e["severity_id"], 1);

    let e = normalise(V, ADM_FAIL);
    assert_eq!(e["class_uid"], 3002);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["severity_id"], 5);
    assert_eq!(e["actor"]["user"]["name"], "root");
    assert_eq!(e["src_endpoint"]["ip"], "198.51.100.99");
    assert_eq!(e["unmapped"]["reason"], "name_invalid");

    // No srcip: the address comes from ui="https(...)".
    let e = normalise(V, ADM_OUT);
    assert_eq!(e["activity_name"], "Logoff");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["src_endpoint"]["ip"], "192.0.2.150");
    assert_eq!(e["time"], ms("2024-03-01T12:22:00Z"));

    let e = normalise(V, CFG_EDIT);
    assert_eq!(e["class_uid"], 0);
    assert_eq!(e["metadata"]["event_code"], "0100044547");
    assert_eq!(e["unmapped"]["cfgattr"], "status[enable->disable]");
}

#[test]
fn vpn_ipsec_tunnel_and_ssl_login_fail() {
    assert_eq!(detect(IPSEC_UP).as_deref(), Some(V));
    let e = normalise(V, IPSEC_UP);
    assert_eq!(e["class_uid"], 4001);
    assert_eq!(e["activity_name"], "Open");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["src_endpoint"]["ip"], "198.51.100.40");
    assert_eq!(e["src_endpoint"]["port"], 500);
    assert_eq!(e["dst_endpoint"]["ip"], "198.51.100.10");
    assert_eq!(e["unmapped"]["vpntunnel"], "to-branch-1");
    // user="N/A" is no user.
    assert!(e.get("actor").is_none(), "{e}");

    let e = normalise(V, IPSEC_DOWN);
    assert_eq!(e["activity_name"], "Close");
    assert_eq!(e["severity_id"], 4);
    assert_eq!(e["metadata"]["event_code"], "0101037141");

    let e = normalise(V, SSL_FAIL);
    assert_eq!(e["class_uid"], 3002);
    assert_eq!(e["activity_name"], "Logon");
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["actor"]["user"]["name"], "mallory");
    assert_eq!(e["src_endpoint"]["ip"], "203.0.113.200");
    assert_eq!(e["metadata"]["event_code"], "0101039426");
    assert_eq!(e["message"], "SSL user failed to logged in");

    let e = normalise(V, SSL_UP);
    assert_eq!(e["status"], "Success");
    assert_eq!(e["actor"]["user"]["name"], "jdoe");
}

#[test]
fn user_auth_system_event_and_line_without_pri() {
    let e = normalise(V, USR_OK);
    assert_eq!(e["class_uid"], 3002);
    assert_eq!(e["status"], "Success");
    assert_eq!(e["actor"]["user"]["name"], "jdoe");
    assert_eq!(e["src_endpoint"]["ip"], "10.10.1.30");
    let e = normalise(V, USR_FAIL);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["actor"]["user"]["name"], "bob");

    let e = normalise(V, SYS_FAIL);
    assert_eq!(e["class_uid"], 0);
    assert_eq!(e["severity_id"], 5);
    assert_eq!(e["status"], "Failure");
    assert_eq!(
        e["message"],
        "Fortigate update failed: connection to update server timed out"
    );

    // A relay's year-less BSD prefix without PRI, and a trailing space.
    assert_eq!(detect(NOPRI_RST).as_deref(), Some(V));
    let e = normalise(V, NOPRI_RST);
    check_common(&e);
    assert_eq!(e["time"], ms("2024-03-01T12:41:00Z"));
    assert_eq!(e["device"]["hostname"], "FGT-BRANCH");
    assert_eq!(e["activity_name"], "Reset");
    assert_eq!(e["dst_endpoint"]["port"], 8080);
    assert_eq!(e["unmapped"]["service"], "tcp/8080");
}

#[test]
fn unquoted_devid_detects() {
    let line = "date=2024-03-01 time=12:50:00 devname=FGT-LAB devid=FGT40F0000000003 logid=0000000013 type=traffic subtype=forward level=notice srcip=10.30.0.2 srcport=40000 dstip=192.0.2.9 dstport=443 proto=6 action=accept";
    assert_eq!(detect(line).as_deref(), Some(V));
    let e = normalise("auto", line);
    assert_eq!(e["metadata"]["product"]["name"], "FortiGate");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["device"]["hostname"], "FGT-LAB");
    assert_eq!(e["time"], ms("2024-03-01T12:50:00Z"));
}
