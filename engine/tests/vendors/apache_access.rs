//! Tests for the `apache_access` mapping.
use crate::support::*;

fn absent(v: &serde_json::Value, path: &[&str]) -> bool {
    path.iter().try_fold(v, |cur, k| cur.get(*k)).is_none()
}

#[test]
fn common_log_format_with_an_authenticated_user() {
    // The example of the mod_log_config documentation.
    let line =
        r#"192.0.2.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#;
    let v = normalise("apache_access", line);
    assert_eq!(v["class_uid"], 4002);
    assert_eq!(v["class_name"], "HTTP Activity");
    assert_eq!(v["activity_name"], "Get");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["time"], ms("2000-10-10T20:55:36Z"));
    assert_eq!(v["src_endpoint"]["ip"], "192.0.2.1");
    assert_eq!(v["actor"]["user"]["name"], "frank");
    assert_eq!(v["metadata"]["product"]["vendor_name"], "Apache");
    assert_eq!(v["metadata"]["product"]["name"], "HTTP Server");
    assert_eq!(v["metadata"]["event_code"], "200");
    assert_eq!(v["metrics"]["bytes_out"].as_f64(), Some(2326.0));
    assert_eq!(v["message"], line);
    let u = &v["unmapped"];
    assert_eq!(u["http_request.http_method"], "GET");
    assert_eq!(u["http_request.url.path"], "/apache_pb.gif");
    assert_eq!(u["http_request.version"], "HTTP/1.0");
    assert_eq!(u["http_response.code"], "200");
    assert!(u.get("http_request.user_agent").is_none());
    assert!(u.get("extra").is_none());
    assert_eq!(detect(line).as_deref(), Some("apache_access"));
    // Detected, it maps the same.
    assert_eq!(normalise("auto", line)["actor"]["user"]["name"], "frank");
}

#[test]
fn combined_log_format_not_found() {
    let line = r#"198.51.100.14 - - [15/Mar/2024:13:00:00 +0100] "GET /wp-login.php?redirect_to=%2Fwp-admin%2F HTTP/1.1" 404 196 "http://www.example.com/" "Mozilla/5.0 (compatible; ExampleBot/2.1; +http://www.example.com/bot.html)""#;
    let v = normalise("apache_access", line);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["severity_id"], 2);
    assert_eq!(v["time"], ms("2024-03-15T12:00:00Z"));
    assert_eq!(v["metadata"]["event_code"], "404");
    assert!(absent(&v, &["actor"]));
    let u = &v["unmapped"];
    assert_eq!(u["http_request.url.path"], "/wp-login.php");
    assert_eq!(
        u["http_request.url.query_string"],
        "redirect_to=%2Fwp-admin%2F"
    );
    assert_eq!(u["http_request.referrer"], "http://www.example.com/");
    assert_eq!(
        u["http_request.user_agent"],
        "Mozilla/5.0 (compatible; ExampleBot/2.1; +http://www.example.com/bot.html)"
    );
    assert_eq!(detect(line).as_deref(), Some("apache_access"));
}

#[test]
fn vhost_combined_and_resolved_client_names() {
    let line = r#"www.example.com:80 client.example.net - - [15/Mar/2024:12:00:00 +0000] "POST /cgi-bin/form.cgi HTTP/1.1" 303 - "http://www.example.com/form.html" "Mozilla/5.0 (Macintosh)""#;
    let v = normalise("apache_access", line);
    assert_eq!(v["dst_endpoint"]["hostname"], "www.example.com");
    assert_eq!(v["dst_endpoint"]["port"], 80);
    assert_eq!(v["src_endpoint"]["hostname"], "client.example.net");
    assert!(absent(&v, &["src_endpoint", "ip"]));
    assert_eq!(v["activity_name"], "Post");
    assert_eq!(v["status"], "Success");
    assert!(
        absent(&v, &["metrics", "bytes_out"]),
        "`-` is an empty body"
    );
    assert_eq!(detect(line).as_deref(), Some("apache_access"));
}

#[test]
fn ipv6_internal_dummy_connection() {
    let line = r#"::1 - - [15/Mar/2024:06:25:01 +0000] "OPTIONS * HTTP/1.0" 200 126 "-" "Apache/2.4.58 (Ubuntu) (internal dummy connection)""#;
    let v = normalise("apache_access", line);
    assert_eq!(v["src_endpoint"]["ip"], "::1");
    assert_eq!(v["activity_name"], "Options");
    assert_eq!(v["time"], ms("2024-03-15T06:25:01Z"));
    assert_eq!(v["unmapped"]["http_request.url.path"], "*");
    assert!(absent(&v, &["unmapped", "http_request.referrer"]));

    let line =
        r#"2001:db8:85a3::8a2e:370:7334 - - [15/Mar/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 45"#;
    let v = normalise("apache_access", line);
    assert_eq!(v["src_endpoint"]["ip"], "2001:db8:85a3::8a2e:370:7334");
    assert!(absent(&v, &["dst_endpoint"]), "no vhost");
}

#[test]
fn forwarded_for_list_in_place_of_the_client() {
    // LogFormat "%{X-Forwarded-For}i %l %u %t \"%r\" %>s %b ...": the client is the rightmost
    // address that is not one of the site's private proxies.
    let line = r#"203.0.113.50, 10.1.0.7, 192.168.4.2 - - [15/Mar/2024:12:00:00 +0000] "GET /a HTTP/1.1" 200 12 "-" "curl/8.0""#;
    let v = normalise("apache_access", line);
    assert_eq!(v["src_endpoint"]["ip"], "203.0.113.50");
    assert_eq!(
        v["unmapped"]["http_request.x_forwarded_for"],
        "203.0.113.50, 10.1.0.7, 192.168.4.2"
    );
    assert_eq!(v["status"], "Success");

    let line =
        r#"198.51.100.1, 203.0.113.9 - - [15/Mar/2024:12:00:00 +0000] "GET /a HTTP/1.1" 200 12"#;
    assert_eq!(
        normalise("apache_access", line)["src_endpoint"]["ip"],
        "203.0.113.9"
    );
    let line = r#"10.0.0.8, 10.0.0.1 - - [15/Mar/2024:12:00:00 +0000] "GET /a HTTP/1.1" 200 12"#;
    assert_eq!(
        normalise("apache_access", line)["src_endpoint"]["ip"],
        "10.0.0.8"
    );
}

#[test]
fn escaped_quotes_in_request_and_user_agent() {
    let line = r#"192.0.2.77 - - [15/Mar/2024:12:00:00 +0000] "GET /q?s=\"x y\" HTTP/1.1" 200 512 "-" "Mozilla/5.0 \"Test\" Agent""#;
    let v = normalise("apache_access", line);
    let u = &v["unmapped"];
    assert_eq!(u["http_request.http_method"], "GET");
    assert_eq!(u["http_request.url.path"], "/q");
    assert_eq!(u["http_request.url.query_string"], r#"s=\"x y\""#);
    assert_eq!(u["http_request.version"], "HTTP/1.1");
    assert_eq!(
        u["http_request.user_agent"],
        r#"Mozilla/5.0 \"Test\" Agent"#
    );
    assert_eq!(v["metrics"]["bytes_out"].as_f64(), Some(512.0));
}

#[test]
fn request_timeout_without_a_request_line() {
    // mod_reqtimeout closing an idle connection: "-" request, 408.
    let line = r#"127.0.0.1 - - [15/Mar/2024:13:00:00 +0100] "-" 408 - "-" "-""#;
    let v = normalise("apache_access", line);
    assert_eq!(v["class_uid"], 4002);
    assert_eq!(v["activity_name"], "Other");
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["time"], ms("2024-03-15T12:00:00Z"));
    assert_eq!(v["metadata"]["event_code"], "408");
    assert_eq!(v["src_endpoint"]["ip"], "127.0.0.1");
    assert!(absent(&v, &["unmapped", "http_request.http_method"]));
    assert_eq!(detect(line).as_deref(), Some("apache_access"));

    // Binary junk (a TLS ClientHello on port 80), escaped by Apache as \xHH.
    let line = r#"203.0.113.3 - - [15/Mar/2024:12:00:00 +0000] "\x16\x03\x01\x02" 400 226 "-" "-""#;
    let v = normalise("apache_access", line);
    assert_eq!(v["status"], "Failure");
    assert_eq!(
        v["unmapped"]["http_request.request_line"],
        r#"\x16\x03\x01\x02"#
    );
    assert_eq!(detect(line).as_deref(), Some("apache_access"));
}

#[test]
fn behind_a_syslog_header_with_trailing_fields() {
    // Piped to logger; the format appends %{X-Forwarded-For}i and %D.
    let line = r#"<134>Mar 15 12:00:00 web2 httpd[2201]: 10.8.0.4 - - [15/Mar/2024:11:59:59 +0000] "DELETE /api/session HTTP/1.1" 500 - "-" "okhttp/4.12.0" "198.51.100.200" 1532 "#;
    let v = normalise("apache_access", line);
    assert_eq!(detect(line).as_deref(), Some("apache_access"));
    assert_eq!(v["device"]["hostname"], "web2");
    assert_eq!(v["time"], ms("2024-03-15T11:59:59Z"));
    assert_eq!(v["activity_name"], "Delete");
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["severity_id"], 3);
    assert_eq!(v["src_endpoint"]["ip"], "10.8.0.4");
    assert_eq!(
        v["unmapped"]["http_request.x_forwarded_for"],
        "198.51.100.200"
    );
    assert_eq!(v["unmapped"]["extra"], r#""198.51.100.200" 1532"#);
    // The same line named as nginx is mapped the same, with nginx's product.
    let n = normalise("nginx_access", line);
    assert_eq!(n["metadata"]["product"]["vendor_name"], "nginx");
    assert_eq!(n["src_endpoint"], v["src_endpoint"]);
    assert_eq!(n["status"], v["status"]);
}

#[test]
fn plain_lines_map_as_the_general_pattern_maps_them() {
    // A leading space keeps a line out of the plain (one-pass) shape, so the general pattern
    // reads the same line: both must extract the same fields.
    for line in [
        r#"192.0.2.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
        r#"198.51.100.14 - - [15/Mar/2024:13:00:00 +0100] "GET /a/b?x=1&y=2 HTTP/1.1" 404 - "-" "Mozilla/5.0 (X11)""#,
        r#"www.example.com:443 2001:db8::7 - alice [15/Mar/2024:12:00:00 +0000] "POST /api HTTP/2.0" 201 52 "https://www.example.com/" "curl/8.5.0" "203.0.113.99" 5512"#,
        r#"intranet.example.org - - - [15/Mar/2024:12:00:00 +0000] "HEAD / HTTP/1.1" 200 0"#,
        r#"web.example.com:80 client.example.net jdoe - [15/Mar/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 1"#,
        r#"192.0.2.9 - - [15/Mar/2024:12:00:00 +0000] "-" 408 - "-" "-""#,
        r#"192.0.2.9 - - [15/Mar/2024:12:00:00 +0000] "" 400 0 "-" "-""#,
        r#"192.0.2.9 - - [15/Mar/2024:12:00:00 +0000] "\x16\x03\x01\x02" 400 226 "-" "-""#,
        r#"192.0.2.9 - - [15/Mar/2024:12:00:00 +0000] "PROPFIND /dav/ HTTP/1.1" 207 9 "" "a \"q\" \\ b" "-" 12"#,
        r#"999.1.2.3 - - [15/Mar/2024:12:00:00 +0000] "GET /x HTTP/1.1" 302 9"#,
    ] {
        let plain = normalise_without_message("apache_access", line);
        assert_eq!(plain["class_uid"], 4002, "{line}");
        assert!(plain.get("activity_name").is_some(), "{line}");
        assert_eq!(
            plain,
            normalise_without_message("apache_access", &format!(" {line}")),
            "{line}"
        );
    }
}

#[test]
fn four_tokens_with_an_identity_and_a_user() {
    let line = r#"www.example.com:8443 192.0.2.5 ident1 carol [15/Mar/2024:12:00:00 +0000] "GET /x HTTP/1.1" 200 5"#;
    let v = normalise("apache_access", line);
    assert_eq!(v["dst_endpoint"]["hostname"], "www.example.com");
    assert_eq!(v["dst_endpoint"]["port"], 8443);
    assert_eq!(v["src_endpoint"]["ip"], "192.0.2.5");
    assert_eq!(v["actor"]["user"]["name"], "carol");
    assert_eq!(v["unmapped"]["ident"], "ident1");
    // A virtual host with more colons: the port is the digits after the last one.
    let line = r#"a:b:8080 192.0.2.5 - - [15/Mar/2024:12:00:00 +0000] "GET /x HTTP/1.1" 200 5"#;
    let v = normalise("apache_access", line);
    assert_eq!(v["dst_endpoint"]["hostname"], "a:b");
    assert_eq!(v["dst_endpoint"]["port"], 8080);
    assert!(absent(&v, &["actor"]));
}

#[test]
fn bracketed_addresses_and_lines_that_are_not_access_lines() {
    let line = r#"[2001:db8::9] - - [15/Mar/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 5"#;
    let v = normalise("apache_access", line);
    assert_eq!(v["src_endpoint"]["ip"], "2001:db8::9");
    assert!(absent(&v, &["src_endpoint", "hostname"]));

    // Not an access line: a Base Event with its message, nothing extracted.
    let v = normalise("apache_access", "not an access line at all");
    assert_eq!(v["class_name"], "Base Event");
    assert!(absent(&v, &["activity_name"]));
    assert!(absent(&v, &["src_endpoint"]));
    assert!(absent(&v, &["unmapped"]));
}
