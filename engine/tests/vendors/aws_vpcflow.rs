//! Tests for the `aws_vpcflow` mapping.
use crate::support::*;

const ACCEPT_TCP: &str =
    "2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.25 10.0.2.40 49152 443 6 10 840 1710503940 1710504000 ACCEPT OK";

#[test]
fn accepted_tcp_flow_is_allowed_network_activity() {
    let v = normalise("aws_vpcflow", ACCEPT_TCP);
    assert_eq!(v["class_uid"], 4001);
    assert_eq!(v["class_name"], "Network Activity");
    assert_eq!(v["activity_name"], "Traffic");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["disposition"], "Allowed");
    assert_eq!(v["severity_id"], 1);
    // The record is for the capture window start..end: the event time is its end.
    assert_eq!(v["time"], ms("2024-03-15T12:00:00Z"));
    assert_eq!(v["unmapped"]["start"], "1710503940");
    assert_eq!(v["src_endpoint"]["ip"], "10.0.1.25");
    assert_eq!(v["src_endpoint"]["port"], 49152);
    assert_eq!(v["dst_endpoint"]["ip"], "10.0.2.40");
    assert_eq!(v["dst_endpoint"]["port"], 443);
    assert_eq!(v["connection_info"]["protocol_name"], "tcp");
    assert_eq!(v["metrics"]["packets"].as_f64(), Some(10.0));
    assert_eq!(v["metrics"]["bytes"].as_f64(), Some(840.0));
    assert_eq!(
        v["metadata"]["product"]["vendor_name"],
        "Amazon Web Services"
    );
    assert_eq!(v["metadata"]["product"]["name"], "VPC Flow Logs");
    assert_eq!(v["metadata"]["event_code"], "ACCEPT");
    assert_eq!(v["unmapped"]["account_id"], "123456789012");
    assert_eq!(v["unmapped"]["interface_id"], "eni-0a1b2c3d4e5f60718");
    assert_eq!(v["unmapped"]["end"], "1710504000");
    assert_eq!(v["unmapped"]["log_status"], "OK");
    assert_eq!(v["tocsin"]["entity"], "eni-0a1b2c3d4e5f60718");
    assert_eq!(v["message"], ACCEPT_TCP);
    assert_eq!(detect(ACCEPT_TCP).as_deref(), Some("aws_vpcflow"));
}

#[test]
fn rejected_udp_flow_is_blocked_failure() {
    let line = "2 123456789012 eni-0fedcba9876543210 198.51.100.7 10.0.3.9 53211 161 17 1 78 1710500000 1710500055 REJECT OK";
    let v = normalise("aws_vpcflow", line);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["disposition"], "Blocked");
    assert_eq!(v["severity_id"], 2);
    assert_eq!(v["time"], ms("2024-03-15T10:54:15Z"));
    assert_eq!(v["src_endpoint"]["ip"], "198.51.100.7");
    assert_eq!(v["dst_endpoint"]["port"], 161);
    assert_eq!(v["connection_info"]["protocol_name"], "udp");
    assert_eq!(v["metadata"]["event_code"], "REJECT");
    assert_eq!(detect(line).as_deref(), Some("aws_vpcflow"));
}

#[test]
fn ipv6_icmp_and_other_protocol_numbers() {
    let line = "2 123456789012 eni-01234567890abcdef 2001:db8:1::10 2001:db8:2::20 0 0 58 4 320 1710503000 1710503060 ACCEPT OK";
    let v = normalise("aws_vpcflow", line);
    assert_eq!(v["src_endpoint"]["ip"], "2001:db8:1::10");
    assert_eq!(v["dst_endpoint"]["ip"], "2001:db8:2::20");
    assert_eq!(v["src_endpoint"]["port"], 0);
    assert_eq!(v["connection_info"]["protocol_name"], "ipv6-icmp");
    assert_eq!(detect(line).as_deref(), Some("aws_vpcflow"));

    let gre = "2 123456789012 eni-01234567890abcdef 172.16.0.1 172.16.0.2 0 0 47 12 1500 1710503000 1710503060 ACCEPT OK";
    assert_eq!(
        normalise("aws_vpcflow", gre)["connection_info"]["protocol_name"],
        "gre"
    );
    let vrrp = "2 123456789012 eni-01234567890abcdef 172.16.0.1 224.0.0.18 0 0 112 3 120 1710503000 1710503060 ACCEPT OK";
    assert_eq!(
        normalise("aws_vpcflow", vrrp)["connection_info"]["protocol_name"],
        "vrrp"
    );
    let unnamed = "2 123456789012 eni-01234567890abcdef 172.16.0.1 172.16.0.2 0 0 99 3 120 1710503000 1710503060 ACCEPT OK";
    assert_eq!(
        normalise("aws_vpcflow", unnamed)["connection_info"]["protocol_name"],
        "99"
    );
}

#[test]
fn nodata_and_skipdata_records_have_no_endpoints() {
    let nodata =
        "2 123456789012 eni-0a1b2c3d4e5f60718 - - - - - - - 1710503940 1710504000 - NODATA";
    let v = normalise("aws_vpcflow", nodata);
    assert_eq!(v["class_uid"], 4001);
    assert_eq!(v["status"], "Unknown");
    assert_eq!(v["time"], ms("2024-03-15T12:00:00Z"));
    assert_eq!(v["metadata"]["event_code"], "NODATA");
    assert!(v.get("src_endpoint").is_none(), "{v}");
    assert!(v.get("dst_endpoint").is_none(), "{v}");
    assert!(v.get("disposition").is_none(), "{v}");
    assert!(v.get("metrics").is_none(), "{v}");
    assert!(v.get("connection_info").is_none(), "{v}");
    assert_eq!(v["unmapped"]["log_status"], "NODATA");
    assert_eq!(v["tocsin"]["entity"], "eni-0a1b2c3d4e5f60718");
    assert_eq!(detect(nodata).as_deref(), Some("aws_vpcflow"));

    let skip =
        "2 123456789012 eni-0a1b2c3d4e5f60718 - - - - - - - 1710503940 1710504000 - SKIPDATA";
    let v = normalise("aws_vpcflow", skip);
    assert_eq!(v["status"], "Unknown");
    assert_eq!(v["metadata"]["event_code"], "SKIPDATA");
    assert!(v.get("src_endpoint").is_none(), "{v}");
    assert_eq!(detect(skip).as_deref(), Some("aws_vpcflow"));
}

#[test]
fn flow_behind_a_syslog_header_and_with_extra_fields() {
    let line = "<14>Mar 15 12:00:00 collector vpcflow: 2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.25 10.0.2.40 49152 443 6 10 840 1710503940 1710504000 ACCEPT OK";
    let v = normalise("aws_vpcflow", line);
    assert_eq!(v["time"], ms("2024-03-15T12:00:00Z"));
    assert_eq!(v["device"]["hostname"], "collector");
    assert_eq!(v["src_endpoint"]["ip"], "10.0.1.25");
    assert_eq!(v["status"], "Success");
    assert_eq!(detect(line).as_deref(), Some("aws_vpcflow"));

    // A custom format that keeps the default fields first and appends others.
    let extra = "5 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.25 10.0.2.40 49152 443 6 10 840 1710503940 1710504000 ACCEPT OK vpc-0abc1234 subnet-0def5678";
    let v = normalise("aws_vpcflow", extra);
    assert_eq!(v["dst_endpoint"]["port"], 443);
    assert_eq!(v["unmapped"]["version"], "5");
    assert_eq!(v["unmapped"]["extra"], "vpc-0abc1234 subnet-0def5678");
}

#[test]
fn other_lines_are_not_vpc_flow_logs() {
    assert_eq!(
        detect("<134>Mar 15 12:00:00 host app: interface eni-1 state ACCEPTED"),
        None
    );
    // A custom format's header line cannot be mapped: still an event, keeping the text.
    let v = normalise(
        "aws_vpcflow",
        "version account-id interface-id srcaddr dstaddr",
    );
    assert!(v.get("src_endpoint").is_none());
    assert_eq!(
        v["message"],
        "version account-id interface-id srcaddr dstaddr"
    );
}
