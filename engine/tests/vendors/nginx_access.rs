//! Tests for the `nginx_access` mapping.
use crate::support::*;

fn absent(v: &serde_json::Value, path: &[&str]) -> bool {
    path.iter().try_fold(v, |cur, k| cur.get(*k)).is_none()
}

#[test]
fn combined_line_from_a_file() {
    let line = r#"203.0.113.7 - - [15/Mar/2024:11:59:58 +0000] "GET /index.html?lang=en&page=2 HTTP/1.1" 200 5123 "https://example.org/start" "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0""#;
    let v = normalise("nginx_access", line);
    assert_eq!(v["class_uid"], 4002);
    assert_eq!(v["class_name"], "HTTP Activity");
    assert_eq!(v["activity_name"], "Get");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["severity_id"], 1);
    assert_eq!(v["time"], ms("2024-03-15T11:59:58Z"));
    assert_eq!(v["message"], line);
    assert_eq!(v["src_endpoint"]["ip"], "203.0.113.7");
    assert!(absent(&v, &["src_endpoint", "hostname"]));
    assert!(absent(&v, &["actor"]), "`-` is no user");
    assert_eq!(v["metadata"]["product"]["vendor_name"], "nginx");
    assert_eq!(v["metadata"]["product"]["name"], "nginx");
    assert_eq!(v["metadata"]["event_code"], "200");
    assert_eq!(v["metrics"]["bytes_out"].as_f64(), Some(5123.0));
    let u = &v["unmapped"];
    assert_eq!(u["http_request.http_method"], "GET");
    assert_eq!(u["http_request.url.path"], "/index.html");
    assert_eq!(u["http_request.url.query_string"], "lang=en&page=2");
    assert_eq!(u["http_request.version"], "HTTP/1.1");
    assert_eq!(u["http_request.referrer"], "https://example.org/start");
    assert_eq!(
        u["http_request.user_agent"],
        "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0"
    );
    assert_eq!(u["http_response.code"], "200");
    assert!(u.get("http_request.request_line").is_none());
    assert!(u.get("ident").is_none());
    // The combined format is Apache's too: a plain line is detected as apache_access.
    assert_eq!(detect(line).as_deref(), Some("apache_access"));
}

#[test]
fn behind_a_syslog_header_with_ipv6_client_and_user() {
    let line = r#"<190>Mar 15 12:00:00 web1 nginx: 2001:db8::42 - alice [15/Mar/2024:12:59:59 +0100] "POST /api/v1/login HTTP/2.0" 401 87 "-" "curl/8.5.0""#;
    let v = normalise("nginx_access", line);
    assert_eq!(detect(line).as_deref(), Some("nginx_access"));
    assert_eq!(v["class_uid"], 4002);
    assert_eq!(v["activity_name"], "Post");
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["severity_id"], 2);
    // The access line's own time (with its zone) wins over the syslog header's.
    assert_eq!(v["time"], ms("2024-03-15T11:59:59Z"));
    assert_eq!(v["device"]["hostname"], "web1");
    assert_eq!(v["src_endpoint"]["ip"], "2001:db8::42");
    assert_eq!(v["actor"]["user"]["name"], "alice");
    assert_eq!(v["metadata"]["event_code"], "401");
    assert_eq!(v["metrics"]["bytes_out"].as_f64(), Some(87.0));
    assert_eq!(
        v["message"],
        r#"2001:db8::42 - alice [15/Mar/2024:12:59:59 +0100] "POST /api/v1/login HTTP/2.0" 401 87 "-" "curl/8.5.0""#
    );
    let u = &v["unmapped"];
    assert_eq!(u["http_request.url.path"], "/api/v1/login");
    assert_eq!(u["http_request.version"], "HTTP/2.0");
    assert_eq!(u["http_request.user_agent"], "curl/8.5.0");
    assert!(
        u.get("http_request.referrer").is_none(),
        "`-` referrer is left out"
    );
    assert!(u.get("http_request.url.query_string").is_none());

    // Tagged with a pid, or a custom tag (`access_log syslog:...,tag=nginx_main`).
    let pid = r#"<190>Mar 15 12:00:00 web1 nginx[811]: 10.1.2.3 - - [15/Mar/2024:12:00:00 +0000] "HEAD / HTTP/1.1" 200 0 "-" "check""#;
    assert_eq!(detect(pid).as_deref(), Some("nginx_access"));
    let tag = r#"<190>Mar 15 12:00:00 web1 nginx_main: 10.1.2.3 - - [15/Mar/2024:12:00:00 +0000] "HEAD / HTTP/1.1" 200 0 "-" "check""#;
    assert_eq!(detect(tag).as_deref(), Some("nginx_access"));
    assert_eq!(normalise("auto", tag)["activity_name"], "Head");
}

#[test]
fn main_format_with_forwarded_for_and_timings() {
    // log_format main + $request_time $upstream_response_time; `-` bytes; trailing space.
    let line = r#"198.51.100.23 - - [15/Mar/2024:12:00:00 +0000] "GET /healthz HTTP/1.1" 204 - "-" "kube-probe/1.29" "10.0.0.1, 10.0.0.2" 0.003 0.002 "#;
    let v = normalise("nginx_access", line);
    assert_eq!(v["status"], "Success");
    assert_eq!(v["metadata"]["event_code"], "204");
    assert_eq!(v["time"], ms("2024-03-15T12:00:00Z"));
    assert!(
        absent(&v, &["metrics", "bytes_out"]),
        "`-` size is no metric"
    );
    assert_eq!(v["metrics"]["request_time_s"].as_f64(), Some(0.003));
    let u = &v["unmapped"];
    assert_eq!(u["http_request.x_forwarded_for"], "10.0.0.1, 10.0.0.2");
    assert_eq!(u["http_request.user_agent"], "kube-probe/1.29");
    assert_eq!(u["extra"], r#""10.0.0.1, 10.0.0.2" 0.003 0.002"#);
}

#[test]
fn key_value_timings_are_kept_and_request_time_is_a_metric() {
    let line = r#"192.0.2.44 - bob [15/Mar/2024:11:00:00 -0000] "PUT /v2/blobs/sha256:ab12 HTTP/1.1" 201 0 "-" "docker/25.0.3" rt=0.250 uct="0.001" uht="0.240" urt="0.245""#;
    let v = normalise("nginx_access", line);
    assert_eq!(v["activity_name"], "Put");
    assert_eq!(v["actor"]["user"]["name"], "bob");
    assert_eq!(v["time"], ms("2024-03-15T11:00:00Z"));
    assert_eq!(v["metrics"]["request_time_s"].as_f64(), Some(0.25));
    assert_eq!(v["metrics"]["bytes_out"].as_f64(), Some(0.0));
    let u = &v["unmapped"];
    assert_eq!(u["urt"], "0.245");
    assert_eq!(u["uct"], "0.001");
    assert_eq!(u["http_request.url.path"], "/v2/blobs/sha256:ab12");
}

#[test]
fn virtual_host_prefix_and_resolved_client_name() {
    let line = r#"shop.example.com:443 client-7.isp.example.net - - [15/Mar/2024:12:00:01 +0000] "GET /cart HTTP/1.1" 302 0 "https://shop.example.com/" "Mozilla/5.0""#;
    let v = normalise("nginx_access", line);
    assert_eq!(v["src_endpoint"]["hostname"], "client-7.isp.example.net");
    assert!(absent(&v, &["src_endpoint", "ip"]));
    assert_eq!(v["dst_endpoint"]["hostname"], "shop.example.com");
    assert_eq!(v["dst_endpoint"]["port"], 443);
    assert_eq!(v["status"], "Success");
    assert_eq!(v["metadata"]["event_code"], "302");
    assert_eq!(v["time"], ms("2024-03-15T12:00:01Z"));

    // `$host` without a port.
    let line = r#"api.example.com 10.20.30.40 - - [15/Mar/2024:12:00:01 +0000] "DELETE /v1/items/7 HTTP/1.1" 204 0 "-" "svc/1.0""#;
    let v = normalise("nginx_access", line);
    assert_eq!(v["dst_endpoint"]["hostname"], "api.example.com");
    assert!(absent(&v, &["dst_endpoint", "port"]));
    assert_eq!(v["src_endpoint"]["ip"], "10.20.30.40");
    assert_eq!(v["activity_name"], "Delete");
    assert!(absent(&v, &["actor"]));
}

#[test]
fn malformed_request_lines_are_still_events() {
    // A TLS handshake sent to the plain-HTTP port, escaped by nginx as \xHH.
    let line = r#"192.0.2.9 - - [15/Mar/2024:12:00:02 +0000] "\x16\x03\x01\x00\xA5\x01\x00\x00\xA1\x03\x03" 400 157 "-" "-""#;
    let v = normalise("nginx_access", line);
    assert_eq!(v["class_uid"], 4002);
    assert_eq!(v["activity_name"], "Other");
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["metadata"]["event_code"], "400");
    assert_eq!(v["src_endpoint"]["ip"], "192.0.2.9");
    assert_eq!(v["metrics"]["bytes_out"].as_f64(), Some(157.0));
    assert_eq!(
        v["unmapped"]["http_request.request_line"],
        r#"\x16\x03\x01\x00\xA5\x01\x00\x00\xA1\x03\x03"#
    );
    assert!(v["unmapped"].get("http_request.http_method").is_none());
    assert!(v["unmapped"].get("http_request.user_agent").is_none());

    // A connection closed before any request: "-" (or an empty "").
    for line in [
        r#"192.0.2.10 - - [15/Mar/2024:12:00:03 +0000] "-" 408 0 "-" "-""#,
        r#"192.0.2.10 - - [15/Mar/2024:12:00:03 +0000] "" 400 0 "-" "-""#,
    ] {
        let v = normalise("nginx_access", line);
        assert_eq!(v["class_uid"], 4002, "{line}");
        assert_eq!(v["status"], "Failure");
        assert_eq!(v["time"], ms("2024-03-15T12:00:03Z"));
        assert_eq!(v["src_endpoint"]["ip"], "192.0.2.10");
        assert!(absent(&v, &["unmapped", "http_request.request_line"]));
        assert_eq!(detect(line).as_deref(), Some("apache_access"));
    }
}

#[test]
fn escaped_quotes_and_spaces_inside_quoted_values() {
    let line = r#"198.51.100.5 - - [15/Mar/2024:12:00:04 +0000] "GET /search?q=\x22a b\x22 HTTP/1.1" 200 10 "-" "Agent \"quoted\" 1.0 (compatible)""#;
    let v = normalise("nginx_access", line);
    let u = &v["unmapped"];
    assert_eq!(u["http_request.url.path"], "/search");
    assert_eq!(u["http_request.url.query_string"], r#"q=\x22a b\x22"#);
    assert_eq!(u["http_request.version"], "HTTP/1.1");
    assert_eq!(
        u["http_request.user_agent"],
        r#"Agent \"quoted\" 1.0 (compatible)"#
    );
    assert_eq!(v["status"], "Success");
}

#[test]
fn server_errors_are_failures_of_higher_severity() {
    let line = r#"203.0.113.80 - - [15/Mar/2024:12:00:05 +0000] "PATCH /api/orders/12 HTTP/1.1" 502 552 "-" "python-requests/2.31.0" "-""#;
    let v = normalise("nginx_access", line);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["severity_id"], 3);
    assert_eq!(v["activity_name"], "Patch");
    assert_eq!(v["metadata"]["event_code"], "502");
    assert!(
        absent(&v, &["unmapped", "http_request.x_forwarded_for"]),
        "`-` X-Forwarded-For"
    );

    let line = r#"203.0.113.81 - - [15/Mar/2024:12:00:05 +0000] "GET /old HTTP/1.0" 301 169"#;
    let v = normalise("nginx_access", line);
    assert_eq!(v["status"], "Success");
    assert_eq!(v["metadata"]["event_code"], "301");
    assert!(absent(&v, &["unmapped", "http_request.user_agent"]));
}

#[test]
fn plain_lines_map_as_the_general_pattern_maps_them() {
    // A leading space keeps a line out of the plain (one-pass) shape, so the general pattern
    // reads the same line: both must extract the same fields.
    for line in [
        r#"203.0.113.7 - - [15/Mar/2024:11:59:58 +0000] "GET /index.html?lang=en HTTP/1.1" 200 5123 "https://example.org/" "Mozilla/5.0""#,
        r#"198.51.100.5 - bob [15/Mar/2024:11:00:12 +0000] "GET / HTTP/1.1" 200 427 "-" "kube-probe/1.29" "-""#,
        r#"198.51.100.5 - - [15/Mar/2024:11:00:19 +0000] "GET /app.js HTTP/2.0" 200 58544 "-" "curl/8.5.0" rt=0.607 uct="0.000" urt="0.070""#,
        r#"api.example.com:443 203.0.113.7 - - [15/Mar/2024:11:00:33 +0000] "POST /login HTTP/1.1" 401 159 "-" "svc/1.0" 0.726 0.053"#,
        r#"shop.example.com ::1 - - [15/Mar/2024:11:01:57 +0000] "GET /slow HTTP/1.1" 504 620 "-" "-" "10.0.0.1, 10.0.0.2" 0.384"#,
        r#"192.0.2.9 - - [15/Mar/2024:12:00:02 +0000] "\x16\x03\x01\x00\xA5" 400 157 "-" "-""#,
        r#"192.0.2.10 - - [15/Mar/2024:12:00:03 +0000] "" 400 0 "-" "-""#,
        r#"192.0.2.10 - - [15/Mar/2024:12:00:03 +0000] "-" 408 0 "-" "-""#,
        r#"crawler-4.search.example.net - - [15/Mar/2024:11:01:22 +0000] "HEAD /healthz HTTP/1.1" 200 5666"#,
    ] {
        let plain = normalise_without_message("nginx_access", line);
        assert_eq!(plain["class_uid"], 4002, "{line}");
        assert!(plain.get("activity_name").is_some(), "{line}");
        assert_eq!(
            plain,
            normalise_without_message("nginx_access", &format!(" {line}")),
            "{line}"
        );
    }
}

#[test]
fn four_tokens_with_a_user() {
    let line = r#"shop.example.com:8443 client-7.isp.example.net - dave [15/Mar/2024:12:00:01 +0000] "GET /cart HTTP/1.1" 200 0 "-" "Mozilla/5.0" rt=0.010"#;
    let v = normalise("nginx_access", line);
    assert_eq!(v["dst_endpoint"]["hostname"], "shop.example.com");
    assert_eq!(v["dst_endpoint"]["port"], 8443);
    assert_eq!(v["src_endpoint"]["hostname"], "client-7.isp.example.net");
    assert_eq!(v["actor"]["user"]["name"], "dave");
    assert_eq!(v["metrics"]["request_time_s"].as_f64(), Some(0.01));
    assert!(absent(&v, &["unmapped", "ident"]));
}
