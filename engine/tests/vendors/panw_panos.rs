//! Tests for the `panw_panos` mapping.
use crate::support::*;

// Lines composed from the PAN-OS syslog field descriptions (TRAFFIC, THREAT, SYSTEM,
// AUTHENTICATION, GLOBALPROTECT column orders, 10.x); addresses from the documentation ranges.
const T_END: &str = r#"<14>Mar  1 12:00:05 PA-3220 1,2024/03/01 12:00:04,012801012345,TRAFFIC,end,2561,2024/03/01 12:00:04,10.1.1.20,203.0.113.80,198.51.100.2,203.0.113.80,allow-web,corp\alice,,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,Log-Fwd,2024/03/01 12:00:04,41233,1,52311,443,0,0,0x40001c,tcp,allow,5120,1200,3920,20,2024/03/01 12:00:04,14,computer-and-internet-info,0,7001234,0x0,10.0.0.0-10.255.255.255,United States,0,9,11,tcp-fin,0,0,0,0,,PA-3220,from-policy,,,0,,0,,N/A,0,0,0,0,5e0c1a7e-1b2c-4d3e-9f00-aa11bb22cc33,0,0,,,,,,,,"#;
const T_DENY: &str = r#"<12>Mar  1 12:01:00 PA-3220 1,2024/03/01 12:00:59,012801012345,TRAFFIC,deny,2561,2024/03/01 12:00:59,2001:db8:10::25,2001:db8:ffff::53,,,block-dns-out,,,dns,vsys1,trust,untrust,ethernet1/2,ethernet1/1,Log-Fwd,2024/03/01 12:00:59,41233,1,40123,53,0,0,0x40001c,udp,deny,5120,1200,3920,20,2024/03/01 12:00:59,14,computer-and-internet-info,0,7001234,0x0,10.0.0.0-10.255.255.255,United States,0,9,11,policy-deny,0,0,0,0,,PA-3220,from-policy,,,0,,0,,N/A,0,0,0,0,5e0c1a7e-1b2c-4d3e-9f00-aa11bb22cc33,0,0,,,,,,,,"#;
const T_START: &str = r#"<14>Mar  1 12:02:00 PA-3220 1,2024/03/01 12:01:58,012801012345,TRAFFIC,start,2561,2024/03/01 12:01:58,10.1.1.21,192.0.2.44,,,allow-web,,,ssh,vsys1,trust,untrust,ethernet1/2,ethernet1/1,Log-Fwd,2024/03/01 12:01:58,41233,1,61000,22,0,0,0x40001c,tcp,allow,5120,1200,3920,20,2024/03/01 12:01:58,14,computer-and-internet-info,0,7001234,0x0,10.0.0.0-10.255.255.255,United States,0,9,11,n/a,0,0,0,0,,PA-3220,from-policy,,,0,,0,,N/A,0,0,0,0,5e0c1a7e-1b2c-4d3e-9f00-aa11bb22cc33,0,0,,,,,,,,"#;
const T_DROP: &str = r#"<14>Mar  1 12:03:00 PA-3220 1,2024/03/01 12:02:59,012801012345,TRAFFIC,drop,2561,2024/03/01 12:02:59,192.0.2.200,10.1.1.5,,,interzone-default,,,ping,vsys1,trust,untrust,ethernet1/2,ethernet1/1,Log-Fwd,2024/03/01 12:02:59,41233,1,0,0,0,0,0x40001c,icmp,drop-icmp,5120,1200,3920,20,2024/03/01 12:02:59,14,computer-and-internet-info,0,7001234,0x0,10.0.0.0-10.255.255.255,United States,0,9,11,policy-deny,0,0,0,0,,PA-3220,from-policy,,,0,,0,,N/A,0,0,0,0,5e0c1a7e-1b2c-4d3e-9f00-aa11bb22cc33,0,0,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,2024-03-01T12:02:59.412+01:00"#;
const TH_VULN: &str = r#"<10>Mar  1 12:05:00 PA-3220 1,2024/03/01 12:04:58,012801012345,THREAT,vulnerability,2561,2024/03/01 12:04:58,10.1.1.20,203.0.113.7,198.51.100.2,203.0.113.7,allow-web,corp\bob,,web-browsing,vsys1,trust,untrust,ethernet1/2,ethernet1/1,Log-Fwd,2024/03/01 12:04:58,88213,1,49822,445,31244,445,0x80403000,tcp,reset-both,,"Microsoft Windows SMBv1 Multiple Vulnerabilities, EternalBlue(32424)",any,critical,client-to-server,7002345,0x0,10.0.0.0-10.255.255.255,Germany,0,text/html,0,,,1,Mozilla/5.0 (Windows NT 10.0; Win64; x64),,,,,,,0,0,0,0,0,,PA-3220,,,,get,0,,0,,N/A,any,8802-8530,0x0,0,4294967295,,,5e0c1a7e-1b2c-4d3e-9f00-aa11bb22cc33"#;
const TH_URL: &str = r#"<14>Mar  1 12:06:00 PA-3220 1,2024/03/01 12:05:59,012801012345,THREAT,url,2561,2024/03/01 12:05:59,10.1.1.22,203.0.113.9,198.51.100.2,203.0.113.9,allow-web,,,web-browsing,vsys1,trust,untrust,ethernet1/2,ethernet1/1,Log-Fwd,2024/03/01 12:05:59,88213,1,50111,443,31244,443,0x80403000,tcp,block-url,"gambling.example/poker?a=1,b=2",(9999),gambling,informational,client-to-server,7002345,0x0,10.0.0.0-10.255.255.255,Germany,0,text/html,0,,,1,Mozilla/5.0 (Windows NT 10.0; Win64; x64),,,,,,,0,0,0,0,0,,PA-3220,,,,get,0,,0,,N/A,gambling,8802-8530,0x0,0,4294967295,,,5e0c1a7e-1b2c-4d3e-9f00-aa11bb22cc33"#;
const TH_SPY: &str = r#"<12>Mar  1 12:07:00 PA-3220 1,2024/03/01 12:06:59,012801012345,THREAT,spyware,2561,2024/03/01 12:06:59,10.1.1.23,198.51.100.99,198.51.100.2,198.51.100.99,allow-web,,,web-browsing,vsys1,trust,untrust,ethernet1/2,ethernet1/1,Log-Fwd,2024/03/01 12:06:59,88213,1,53011,80,31244,80,0x80403000,tcp,alert,,Suspicious User-Agent Strings(13627),any,medium,client-to-server,7002345,0x0,10.0.0.0-10.255.255.255,Germany,0,text/html,0,,,1,Mozilla/5.0 (Windows NT 10.0; Win64; x64),,,,,,,0,0,0,0,0,,PA-3220,,,,get,0,,0,,N/A,any,8802-8530,0x0,0,4294967295,,,5e0c1a7e-1b2c-4d3e-9f00-aa11bb22cc33"#;
const TH_VIRUS: &str = r#"<11>Mar  1 12:08:00 PA-3220 1,2024/03/01 12:07:59,012801012345,THREAT,virus,2561,2024/03/01 12:07:59,203.0.113.50,10.1.1.24,198.51.100.2,10.1.1.24,allow-web,,,web-browsing,vsys1,trust,untrust,ethernet1/2,ethernet1/1,Log-Fwd,2024/03/01 12:07:59,88213,1,80,51000,31244,51000,0x80403000,tcp,drop,invoice.exe,Virus/Win32.WGeneric.abcdef(2345678),any,high,server-to-client,7002345,0x0,10.0.0.0-10.255.255.255,Germany,0,text/html,0,,,1,Mozilla/5.0 (Windows NT 10.0; Win64; x64),,,,,,,0,0,0,0,0,,PA-3220,,,,get,0,,0,,N/A,any,8802-8530,0x0,0,4294967295,,,5e0c1a7e-1b2c-4d3e-9f00-aa11bb22cc33"#;
const TH_WF: &str = r#"<14>Mar  1 12:09:00 PA-3220 1,2024/03/01 12:08:59,012801012345,THREAT,wildfire,2561,2024/03/01 12:08:59,10.1.1.25,203.0.113.51,198.51.100.2,203.0.113.51,allow-web,,,web-browsing,vsys1,trust,untrust,ethernet1/2,ethernet1/1,Log-Fwd,2024/03/01 12:08:59,88213,1,51010,443,31244,443,0x80403000,tcp,allow,report.pdf,Windows Executable (EXE)(52020),benign,informational,client-to-server,7002345,0x0,10.0.0.0-10.255.255.255,Germany,0,text/html,0,,,1,Mozilla/5.0 (Windows NT 10.0; Win64; x64),,,,,,,0,0,0,0,0,,PA-3220,,,,get,0,,0,,N/A,benign,8802-8530,0x0,0,4294967295,,,5e0c1a7e-1b2c-4d3e-9f00-aa11bb22cc33"#;
const TH_FILE: &str = r#"<14>Mar  1 12:10:00 PA-3220 1,2024/03/01 12:09:59,012801012345,THREAT,file,2561,2024/03/01 12:09:59,10.1.1.26,203.0.113.52,198.51.100.2,203.0.113.52,allow-web,,,web-browsing,vsys1,trust,untrust,ethernet1/2,ethernet1/1,Log-Fwd,2024/03/01 12:09:59,88213,1,51011,443,31244,443,0x80403000,tcp,alert,setup.msi,Microsoft MSI(52060),any,low,client-to-server,7002345,0x0,10.0.0.0-10.255.255.255,Germany,0,text/html,0,,,1,Mozilla/5.0 (Windows NT 10.0; Win64; x64),,,,,,,0,0,0,0,0,,PA-3220,,,,get,0,,0,,N/A,any,8802-8530,0x0,0,4294967295,,,5e0c1a7e-1b2c-4d3e-9f00-aa11bb22cc33"#;
const SYS_AUTHFAIL: &str = r#"<11>Mar  1 12:11:00 PA-3220 1,2024/03/01 12:10:59,012801012345,SYSTEM,auth,0,2024/03/01 12:10:59,,auth-fail,,0,0,general,medium,failed authentication for user 'admin'.  Reason: Invalid username/password. From: 192.0.2.77.,1253,0x0,0,0,0,0,,PA-3220,0,0,"#;
const SYS_GENERAL: &str = r#"<14>Mar  1 12:12:00 PA-3220 1,2024/03/01 12:11:59,012801012345,SYSTEM,general,0,2024/03/01 12:11:59,,general,,0,0,general,informational,User admin logged in via Web from 192.0.2.78 using https,1253,0x0,0,0,0,0,,PA-3220,0,0,2024-03-01T12:11:59.250+00:00"#;
const SYS_HA: &str = r#"<10>Mar  1 12:13:00 PA-3220 1,2024/03/01 12:12:59,012801012345,SYSTEM,ha,0,2024/03/01 12:12:59,,state-change,,0,0,ha,critical,HA Group 1: Moved from state Active to state Non-Functional,1253,0x0,0,0,0,0,,PA-3220,0,0,"#;
const AUTH_OK: &str = r#"<14>Mar  1 12:14:00 PA-3220 1,2024/03/01 12:13:59,012801012345,AUTHENTICATION,0,2561,2024/03/01 12:13:59,vsys1,10.1.1.40,corp\carol,corp\carol,cp-object,captive-portal-web,1,7311,,Log-Fwd,corp-ldap,mfa-okta,0,auth-success,1,903,0x0,0,0,0,0,,PA-3220,1,PAP,,"#;
const AUTH_FAIL: &str = r#"<14>Mar  1 12:15:00 PA-3220 1,2024/03/01 12:14:59,012801012345,AUTHENTICATION,0,2561,2024/03/01 12:14:59,vsys1,2001:db8:10::40,dave,dave,cp-object,captive-portal-web,1,7311,,Log-Fwd,corp-ldap,,0,auth-fail,1,903,0x0,0,0,0,0,,PA-3220,1,PAP,,2024-03-01T12:14:59.901-05:00"#;
const GP_PRE: &str = r#"<14>Mar  1 12:16:00 PA-3220 1,2024/03/01 12:15:59,012801012345,GLOBALPROTECT,0,2561,2024/03/01 12:15:59,vsys1,portal-prelogin,before-login,,ipsec,,DE,,198.51.100.23,,0.0.0.0,,a1b2c3d4-e5f6,C02XK0AAJG5J,6.1.1,"Microsoft Windows 10 Pro , 64-bit",10.0.19045,1,,,Portal pre-login,success,Frankfurt,0,on-demand,0,corp-portal,4401,0x8000000000000000,2024-03-01T12:15:59.120-05:00,manual,,,,corp-gw,0,0,0,0,,PA-3220,1,"#;
const GP_AUTH_FAIL: &str = r#"<14>Mar  1 12:17:00 PA-3220 1,2024/03/01 12:16:59,012801012345,GLOBALPROTECT,0,2561,2024/03/01 12:16:59,vsys1,gateway-auth,login,LDAP,ipsec,corp\erin,DE,LAPTOP-ERIN,198.51.100.24,,,,a1b2c3d4-e5f6,C02XK0AAJG5J,6.1.1,"Microsoft Windows 10 Pro , 64-bit",10.0.19045,1,,Authentication failed: Invalid username or password,Authentication failed: Invalid username or password,failure,Frankfurt,0,on-demand,-1,corp-portal,4401,0x8000000000000000,,manual,,,,corp-gw,0,0,0,0,,PA-3220,1,"#;
const GP_CONNECTED: &str = r#"<14>Mar  1 12:18:00 PA-3220 1,2024/03/01 12:17:59,012801012345,GLOBALPROTECT,0,2561,2024/03/01 12:17:59,vsys1,gateway-connected,tunnel,LDAP,ipsec,corp\frank,DE,LAPTOP-FRANK,198.51.100.25,,10.8.0.14,,a1b2c3d4-e5f6,C02XK0AAJG5J,6.1.1,"Microsoft Windows 10 Pro , 64-bit",10.0.19045,1,,,,success,Frankfurt,0,on-demand,0,corp-portal,4401,0x8000000000000000,,manual,,,,corp-gw,0,0,0,0,,PA-3220,1,"#;
const GP_LOGOUT: &str = r#"<14>Mar  1 12:19:00 PA-3220 1,2024/03/01 12:18:59,012801012345,GLOBALPROTECT,0,2561,2024/03/01 12:18:59,vsys1,gateway-logout,logout,LDAP,ipsec,corp\frank,DE,LAPTOP-FRANK,198.51.100.25,,10.8.0.14,,a1b2c3d4-e5f6,C02XK0AAJG5J,6.1.1,"Microsoft Windows 10 Pro , 64-bit",10.0.19045,1,,,client logout,success,Frankfurt,0,on-demand,0,corp-portal,4401,0x8000000000000000,,manual,,,,corp-gw,0,0,0,0,,PA-3220,1, "#;

const V: &str = "panw_panos";

fn check_common(e: &serde_json::Value) {
    assert_eq!(
        e["metadata"]["product"]["vendor_name"],
        "Palo Alto Networks"
    );
    assert_eq!(e["metadata"]["product"]["name"], "PAN-OS");
    assert_eq!(e["device"]["hostname"], "PA-3220");
}

#[test]
fn traffic_end_allow_with_yearless_header_and_domain_user() {
    assert_eq!(detect(T_END).as_deref(), Some(V));
    let e = normalise(V, T_END);
    check_common(&e);
    // Generated Time (device clock), not the syslog header's receive time.
    assert_eq!(e["time"], ms("2024-03-01T12:00:04Z"));
    assert_eq!(e["class_uid"], 4001);
    assert_eq!(e["class_name"], "Network Activity");
    assert_eq!(e["activity_name"], "Close");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["disposition"], "Allowed");
    assert_eq!(e["src_endpoint"]["ip"], "10.1.1.20");
    assert_eq!(e["src_endpoint"]["port"], 52311);
    assert_eq!(e["dst_endpoint"]["ip"], "203.0.113.80");
    assert_eq!(e["dst_endpoint"]["port"], 443);
    assert_eq!(e["connection_info"]["protocol_name"], "tcp");
    assert_eq!(e["actor"]["user"]["name"], "alice");
    assert_eq!(e["unmapped"]["user_domain"], "corp");
    assert_eq!(e["metadata"]["event_code"], "TRAFFIC");
    assert_eq!(e["unmapped"]["subtype"], "end");
    assert_eq!(e["unmapped"]["nat_src_ip"], "198.51.100.2");
    assert_eq!(e["unmapped"]["session_end_reason"], "tcp-fin");
    assert_eq!(e["unmapped"]["rule_name"], "allow-web");
    assert_eq!(e["metrics"]["bytes_out"], 1200.0);
    assert_eq!(e["metrics"]["bytes_in"], 3920.0);
}

#[test]
fn traffic_start_deny_and_drop() {
    let e = normalise(V, T_START);
    assert_eq!(e["activity_name"], "Open");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["dst_endpoint"]["port"], 22);
    assert_eq!(e["unmapped"]["application"], "ssh");

    // IPv6 endpoints, UDP, an empty Source User column.
    assert_eq!(detect(T_DENY).as_deref(), Some(V));
    let e = normalise(V, T_DENY);
    check_common(&e);
    assert_eq!(e["time"], ms("2024-03-01T12:00:59Z"));
    assert_eq!(e["activity_name"], "Refuse");
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["disposition"], "Blocked");
    assert_eq!(e["src_endpoint"]["ip"], "2001:db8:10::25");
    assert_eq!(e["src_endpoint"]["port"], 40123);
    assert_eq!(e["dst_endpoint"]["ip"], "2001:db8:ffff::53");
    assert_eq!(e["dst_endpoint"]["port"], 53);
    assert_eq!(e["connection_info"]["protocol_name"], "udp");
    assert!(e.get("actor").is_none(), "no user: {e}");
    assert_eq!(e["unmapped"]["rule_name"], "block-dns-out");

    // drop-icmp; the High Resolution Timestamp (with its zone) is the exact instant.
    assert_eq!(detect(T_DROP).as_deref(), Some(V));
    let e = normalise(V, T_DROP);
    assert_eq!(e["time"], ms("2024-03-01T11:02:59.412Z"));
    assert_eq!(e["activity_name"], "Refuse");
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["disposition"], "Blocked");
    assert_eq!(e["connection_info"]["protocol_name"], "icmp");
    assert_eq!(e["unmapped"]["action"], "drop-icmp");
}

#[test]
fn threat_vulnerability_with_quoted_threat_name() {
    assert_eq!(detect(TH_VULN).as_deref(), Some(V));
    let e = normalise(V, TH_VULN);
    check_common(&e);
    assert_eq!(e["time"], ms("2024-03-01T12:04:58Z"));
    assert_eq!(e["class_uid"], 4001);
    assert_eq!(e["severity_id"], 5);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["disposition"], "Blocked");
    assert_eq!(e["src_endpoint"]["ip"], "10.1.1.20");
    assert_eq!(e["dst_endpoint"]["ip"], "203.0.113.7");
    assert_eq!(e["dst_endpoint"]["port"], 445);
    assert_eq!(e["actor"]["user"]["name"], "bob");
    // The threat name holds a comma: the CSV column is quoted.
    assert_eq!(
        e["unmapped"]["threat_id"],
        "Microsoft Windows SMBv1 Multiple Vulnerabilities, EternalBlue(32424)"
    );
    assert_eq!(e["metadata"]["event_code"], "32424");
    assert_eq!(e["unmapped"]["subtype"], "vulnerability");
    assert_eq!(e["unmapped"]["action"], "reset-both");
    assert_eq!(e["unmapped"]["direction"], "client-to-server");
}

#[test]
fn threat_url_spyware_virus_wildfire_file() {
    let e = normalise(V, TH_URL);
    assert_eq!(e["severity_id"], 1);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["disposition"], "Blocked");
    assert_eq!(e["metadata"]["event_code"], "url");
    assert_eq!(
        e["unmapped"]["url_or_filename"],
        "gambling.example/poker?a=1,b=2"
    );
    assert_eq!(e["unmapped"]["category"], "gambling");

    let e = normalise(V, TH_SPY);
    assert_eq!(e["severity_id"], 3);
    assert_eq!(e["status"], "Success");
    assert_eq!(e["disposition"], "Allowed");
    assert_eq!(e["metadata"]["event_code"], "13627");
    assert_eq!(
        e["unmapped"]["user_agent"],
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
    );

    let e = normalise(V, TH_VIRUS);
    assert_eq!(e["severity_id"], 4);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["src_endpoint"]["port"], 80);
    assert_eq!(e["dst_endpoint"]["ip"], "10.1.1.24");
    assert_eq!(e["metadata"]["event_code"], "2345678");
    assert_eq!(e["unmapped"]["url_or_filename"], "invoice.exe");

    let e = normalise(V, TH_WF);
    assert_eq!(e["severity_id"], 1);
    assert_eq!(e["status"], "Success");
    assert_eq!(e["unmapped"]["subtype"], "wildfire");
    assert_eq!(e["unmapped"]["category"], "benign");

    let e = normalise(V, TH_FILE);
    assert_eq!(e["severity_id"], 2);
    assert_eq!(e["metadata"]["event_code"], "52060");
    for line in [TH_URL, TH_SPY, TH_VIRUS, TH_WF, TH_FILE] {
        assert_eq!(detect(line).as_deref(), Some(V), "{line}");
    }
}

#[test]
fn system_auth_fail_and_high_res_timestamp() {
    assert_eq!(detect(SYS_AUTHFAIL).as_deref(), Some(V));
    let e = normalise(V, SYS_AUTHFAIL);
    check_common(&e);
    assert_eq!(e["time"], ms("2024-03-01T12:10:59Z"));
    assert_eq!(e["class_uid"], 3002);
    assert_eq!(e["activity_name"], "Logon");
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["severity_id"], 3);
    assert_eq!(e["actor"]["user"]["name"], "admin");
    assert_eq!(e["src_endpoint"]["ip"], "192.0.2.77");
    assert_eq!(e["metadata"]["event_code"], "auth-fail");
    assert_eq!(
        e["message"],
        "failed authentication for user 'admin'.  Reason: Invalid username/password. From: 192.0.2.77."
    );

    let e = normalise(V, SYS_GENERAL);
    assert_eq!(e["class_uid"], 0);
    assert_eq!(e["time"], ms("2024-03-01T12:11:59.250Z"));
    assert_eq!(e["actor"]["user"]["name"], "admin");
    assert_eq!(e["src_endpoint"]["ip"], "192.0.2.78");
    assert_eq!(e["metadata"]["event_code"], "general");

    let e = normalise(V, SYS_HA);
    assert_eq!(e["severity_id"], 5);
    assert_eq!(e["metadata"]["event_code"], "state-change");
    assert_eq!(e["unmapped"]["module"], "ha");
    assert_eq!(detect(SYS_HA).as_deref(), Some(V));
}

#[test]
fn authentication_log_success_and_failure() {
    assert_eq!(detect(AUTH_OK).as_deref(), Some(V));
    let e = normalise(V, AUTH_OK);
    check_common(&e);
    assert_eq!(e["class_uid"], 3002);
    assert_eq!(e["class_name"], "Authentication");
    assert_eq!(e["activity_name"], "Logon");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["time"], ms("2024-03-01T12:13:59Z"));
    assert_eq!(e["src_endpoint"]["ip"], "10.1.1.40");
    assert_eq!(e["actor"]["user"]["name"], "carol");
    assert_eq!(e["metadata"]["event_code"], "AUTHENTICATION");
    assert_eq!(e["unmapped"]["auth_policy"], "captive-portal-web");
    assert_eq!(e["unmapped"]["server_profile"], "corp-ldap");

    // IPv6 source, an empty Description column, a high-resolution time with a -05:00 zone.
    let e = normalise(V, AUTH_FAIL);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["src_endpoint"]["ip"], "2001:db8:10::40");
    assert_eq!(e["actor"]["user"]["name"], "dave");
    assert_eq!(e["time"], ms("2024-03-01T17:14:59.901Z"));
    assert!(e["unmapped"].get("description").is_none());
}

#[test]
fn globalprotect_events() {
    assert_eq!(detect(GP_PRE).as_deref(), Some(V));
    let e = normalise(V, GP_PRE);
    check_common(&e);
    assert_eq!(e["class_uid"], 3002);
    assert_eq!(e["status"], "Success");
    assert_eq!(e["metadata"]["event_code"], "portal-prelogin");
    // Private IP 0.0.0.0 (unknown): the public address is the source.
    assert_eq!(e["src_endpoint"]["ip"], "198.51.100.23");
    assert_eq!(e["time"], ms("2024-03-01T17:15:59.120Z"));
    assert!(e.get("actor").is_none());

    let e = normalise(V, GP_AUTH_FAIL);
    assert_eq!(e["status"], "Failure");
    assert_eq!(e["activity_name"], "Logon");
    assert_eq!(e["metadata"]["event_code"], "gateway-auth");
    assert_eq!(e["actor"]["user"]["name"], "erin");
    assert_eq!(e["src_endpoint"]["ip"], "198.51.100.24");
    assert_eq!(e["src_endpoint"]["hostname"], "LAPTOP-ERIN");
    assert_eq!(
        e["unmapped"]["error"],
        "Authentication failed: Invalid username or password"
    );
    assert_eq!(
        e["unmapped"]["client_os"],
        "Microsoft Windows 10 Pro , 64-bit"
    );
    assert_eq!(e["time"], ms("2024-03-01T12:16:59Z"));

    let e = normalise(V, GP_CONNECTED);
    assert_eq!(e["src_endpoint"]["ip"], "10.8.0.14");
    assert_eq!(e["unmapped"]["public_ip"], "198.51.100.25");
    assert_eq!(e["metadata"]["event_code"], "gateway-connected");

    // Trailing space after the last column.
    assert_eq!(detect(GP_LOGOUT).as_deref(), Some(V));
    let e = normalise(V, GP_LOGOUT);
    assert_eq!(e["activity_name"], "Logoff");
    assert_eq!(e["status"], "Success");
    assert_eq!(e["actor"]["user"]["name"], "frank");
    assert_eq!(e["device"]["hostname"], "PA-3220");
}

#[test]
fn rfc5424_header_and_auto_vendor() {
    let line = "<14>1 2024-03-01T12:30:00+01:00 PA-VM - - - - 1,2024/03/01 12:30:00,007200001056,TRAFFIC,end,2561,2024/03/01 12:29:58,10.0.0.9,192.0.2.10,0.0.0.0,0.0.0.0,rule1,,,dns,vsys1,trust,untrust,ethernet1/1,ethernet1/2,fwd,2024/03/01 12:29:58,777,1,5353,53,0,0,0x19,udp,allow,180,90,90,2";
    assert_eq!(detect(line).as_deref(), Some(V));
    let e = normalise("auto", line);
    assert_eq!(e["metadata"]["product"]["name"], "PAN-OS");
    assert_eq!(e["time"], ms("2024-03-01T12:29:58Z"));
    assert_eq!(e["device"]["hostname"], "PA-VM");
    assert_eq!(e["src_endpoint"]["ip"], "10.0.0.9");
    assert_eq!(e["dst_endpoint"]["port"], 53);
    assert_eq!(e["status"], "Success");
    assert!(e.get("actor").is_none());
    assert_eq!(e["unmapped"]["nat_src_ip"], "0.0.0.0");
}
