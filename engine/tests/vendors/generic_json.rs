//! Tests for the `generic_json` mapping.
use crate::support::*;

#[test]
fn structured_app_log_with_common_names() {
    let line = r#"{"timestamp":"2024-03-15T11:58:02.250Z","level":"error","message":"payment declined","host":"pay-1","src_ip":"203.0.113.9","src_port":51512,"dst_ip":"10.0.0.5","dst_port":8443,"user":"alice","status":"failure","protocol":"TCP","event_code":"PAY-402","request_id":"req-77","order":{"id":991,"total":12.5}}"#;
    let v = normalise("generic_json", line);
    assert_eq!(v["class_uid"], 0);
    assert_eq!(v["time"], ms("2024-03-15T11:58:02.250Z"));
    assert_eq!(v["severity_id"], 4);
    assert_eq!(v["message"], "payment declined");
    assert_eq!(v["device"]["hostname"], "pay-1");
    assert_eq!(v["src_endpoint"]["ip"], "203.0.113.9");
    assert_eq!(v["src_endpoint"]["port"], 51512);
    assert_eq!(v["dst_endpoint"]["ip"], "10.0.0.5");
    assert_eq!(v["dst_endpoint"]["port"], 8443);
    assert_eq!(v["actor"]["user"]["name"], "alice");
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["connection_info"]["protocol_name"], "tcp");
    assert_eq!(v["metadata"]["event_code"], "PAY-402");
    assert_eq!(v["metadata"]["uid"], "req-77");
    assert_eq!(v["metadata"]["product"]["vendor_name"], "Unknown");
    assert_eq!(v["metadata"]["product"]["name"], "JSON");
    assert_eq!(v["unmapped"]["order.id"], "991");
    assert_eq!(v["unmapped"]["order.total"], "12.5");
    assert_eq!(v["unmapped"]["level"], "error");
    assert_eq!(v["tocsin"]["entity"], "pay-1");
    assert_eq!(detect(line).as_deref(), Some("generic_json"));
}

#[test]
fn ecs_style_nested_objects() {
    let line = r#"{"@timestamp":"2024-03-15T10:00:00+01:00","log":{"level":"WARN","logger":"auth"},"message":"login failed","host":{"name":"web-2","ip":["10.1.1.2"]},"source":{"ip":"2001:db8::77","port":40022},"destination":{"ip":"10.1.1.2","port":22},"user":{"name":"root","id":"0"},"event":{"outcome":"failure","code":"4625","action":"logon"},"network":{"transport":"tcp"},"observer":{"vendor":"Acme","product":"Gatekeeper"}}"#;
    let v = normalise("generic_json", line);
    assert_eq!(v["time"], ms("2024-03-15T09:00:00Z"));
    assert_eq!(v["severity_id"], 3);
    assert_eq!(v["message"], "login failed");
    assert_eq!(v["device"]["hostname"], "web-2");
    assert_eq!(v["src_endpoint"]["ip"], "2001:db8::77");
    assert_eq!(v["src_endpoint"]["port"], 40022);
    assert_eq!(v["dst_endpoint"]["port"], 22);
    assert_eq!(v["actor"]["user"]["name"], "root");
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["metadata"]["event_code"], "4625");
    assert_eq!(v["connection_info"]["protocol_name"], "tcp");
    assert_eq!(v["metadata"]["product"]["vendor_name"], "Acme");
    assert_eq!(v["metadata"]["product"]["name"], "Gatekeeper");
    assert_eq!(v["unmapped"]["user.id"], "0");
    assert_eq!(v["unmapped"]["host.ip"], r#"["10.1.1.2"]"#);
    assert_eq!(detect(line).as_deref(), Some("generic_json"));
}

#[test]
fn epoch_times_pino_levels_and_http_status_codes() {
    // pino: epoch ms in `time`, numeric level, `msg`, `hostname`.
    let line = r#"{"level":30,"time":1710503999123,"pid":4242,"hostname":"api-7f9c","msg":"request completed","req":{"method":"GET","url":"/v1/items"},"remote_addr":"198.51.100.4:61000","status":200,"responseTime":12}"#;
    let v = normalise("generic_json", line);
    assert_eq!(v["time"], 1_710_503_999_123_i64);
    assert_eq!(v["severity_id"], 1);
    assert_eq!(v["message"], "request completed");
    assert_eq!(v["device"]["hostname"], "api-7f9c");
    assert_eq!(v["src_endpoint"]["ip"], "198.51.100.4");
    assert_eq!(v["src_endpoint"]["port"], 61000);
    assert_eq!(v["status"], "Success");
    assert_eq!(v["unmapped"]["status_text"], "200");
    assert_eq!(v["unmapped"]["req.url"], "/v1/items");
    assert_eq!(detect(line).as_deref(), Some("generic_json"));

    // A bracketed IPv6 address with a port.
    let line =
        r#"{"msg":"tls handshake","remote_addr":"[2001:db8::5]:8443","dest_ip":"2001:db8::1"}"#;
    let v = normalise("generic_json", line);
    assert_eq!(v["src_endpoint"]["ip"], "2001:db8::5");
    assert_eq!(v["src_endpoint"]["port"], 8443);
    assert_eq!(v["dst_endpoint"]["ip"], "2001:db8::1");

    // Epoch seconds with a fraction in `ts`, a 5xx status; no host: the service is the entity.
    let line = r#"{"ts":1710504000.5,"lvl":"crit","msg":"upstream down","status":502,"service":"checkout"}"#;
    let v = normalise("generic_json", line);
    assert_eq!(v["tocsin"]["entity"], "checkout");
    assert_eq!(v["metadata"]["product"]["name"], "JSON");
    assert_eq!(v["time"], ms("2024-03-15T12:00:00.5Z"));
    assert_eq!(v["severity_id"], 5);
    assert_eq!(v["status"], "Failure");
}

#[test]
fn vendor_named_by_the_line_and_names_instead_of_addresses() {
    let line = r#"{"time":"2024-03-15 11:00:00","vendor":"Contoso","product":"Widget Gateway","severity":"notice","msg":"config reloaded","client_ip":"gw.internal.example","username":"svc-deploy","outcome":"success"}"#;
    let v = normalise("generic_json", line);
    assert_eq!(v["metadata"]["product"]["vendor_name"], "Contoso");
    assert_eq!(v["metadata"]["product"]["name"], "Widget Gateway");
    assert_eq!(v["time"], ms("2024-03-15T11:00:00Z"));
    assert_eq!(v["severity_id"], 2);
    assert_eq!(v["src_endpoint"]["hostname"], "gw.internal.example");
    assert!(v["src_endpoint"].get("ip").is_none());
    assert_eq!(v["actor"]["user"]["name"], "svc-deploy");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["unmapped"]["severity_text"], "notice");
    assert_eq!(detect(line).as_deref(), Some("generic_json"));
}

#[test]
fn json_behind_a_syslog_header_with_unicode() {
    let line = r#"<11>Mar 15 12:00:00 edge-1 orders: {"level":"error","message":"Bestellung fehlgeschlagen: Größe ungültig ✗","user":"jürgen","ip":"192.0.2.55"}"#;
    let v = normalise("generic_json", line);
    assert_eq!(v["message"], "Bestellung fehlgeschlagen: Größe ungültig ✗");
    assert_eq!(v["actor"]["user"]["name"], "jürgen");
    assert_eq!(v["src_endpoint"]["ip"], "192.0.2.55");
    assert_eq!(v["severity_id"], 4);
    // No time in the object: the header's.
    assert_eq!(v["time"], ms("2024-03-15T12:00:00Z"));
    assert_eq!(v["device"]["hostname"], "edge-1");
    assert_eq!(detect(line).as_deref(), Some("generic_json"));
}

#[test]
fn docker_json_log_and_sparse_objects() {
    let line =
        r#"{"log":"GET /healthz 200\n","stream":"stdout","time":"2024-03-15T11:59:58.123456789Z"}"#;
    let v = normalise("generic_json", line);
    assert_eq!(v["message"], "GET /healthz 200\n");
    assert_eq!(v["time"], ms("2024-03-15T11:59:58.123Z"));
    assert_eq!(v["unmapped"]["stream"], "stdout");

    // Nothing recognisable: everything unmapped, the line's text kept as the message.
    let line = r#"{"a":1,"b":{"c":[1,2]}}"#;
    let v = normalise("generic_json", line);
    assert_eq!(v["message"], line);
    assert_eq!(v["time"], ms("2024-03-15T12:00:00Z"));
    assert_eq!(v["unmapped"]["a"], "1");
    assert_eq!(v["unmapped"]["b.c"], "[1,2]");
    assert_eq!(detect(line).as_deref(), Some("generic_json"));
}

#[test]
fn specific_vendors_win_over_generic_json_and_text_is_not_json() {
    let trail = r#"{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2024-03-15T11:00:00Z"}"#;
    assert_eq!(detect(trail).as_deref(), Some("aws_cloudtrail"));
    assert_eq!(detect("plain text with {braces} inside"), None);
    assert_eq!(detect("[1,2,3]"), None);
}
