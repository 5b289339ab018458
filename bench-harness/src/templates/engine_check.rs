//! The generated lines through the engine's own mappings (`config/vendors`), with
//! auto-detection, as the engine normalises them: every line is attributed to its vendor and
//! mapped, nothing falls through a vendor's rules, nothing fails to convert.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;

use rand::SeedableRng;
use serde_json::Value;
use tocsin_engine::normalise::mapping::VendorRegistry;
use tocsin_engine::normalise::{Frame, FrameMeta, Normaliser};
use tocsin_engine::schema::{json, Symbol};

use super::*;

const BASE_MS: i64 = 1_714_564_800_000;

fn normaliser() -> Normaliser {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/vendors");
    let reg = VendorRegistry::load_dir(&dir)
        .unwrap_or_else(|e| panic!("shipped mappings must load: {e}"));
    Normaliser::with_vendors(65536, Arc::new(reg))
}

fn devices(v: Vendor) -> Vec<Device> {
    (1..=5u8)
        .map(|i| Device {
            hostname: if i == 5 {
                format!(
                    "{}-{i:02}.dc1.example.net",
                    v.host_prefix().trim_end_matches('-')
                )
            } else {
                format!("{}{i:02}", v.host_prefix())
            },
            ip: Ipv4Addr::new(10, 99, v as u8, i),
        })
        .collect()
}

/// What normalising one line did.
struct Outcome {
    vendor: Option<String>,
    event: Value,
    unmapped: u64,
    parse_errors: u64,
    lines: u64,
}

/// Normalises `line` (event time `ts_ms`, received a second later) with auto-detection.
fn run(n: &Normaliser, line: &str, ts_ms: i64) -> Outcome {
    let meta = FrameMeta {
        source: Symbol::intern("gen-check"),
        received_ns: (ts_ms as u64 + 1000) * 1_000_000,
        peer: None,
        vendor: Some(Symbol::intern("auto")),
    };
    let vendor = n.vendors().detect(line.as_bytes()).map(str::to_owned);
    let frame = Frame::line(bytes::Bytes::copy_from_slice(line.as_bytes()));
    let ev = n
        .normalise(&frame, &meta)
        .unwrap_or_else(|e| panic!("normalise failed ({e}) for {line}"));
    let mut out = Vec::new();
    json::write_event(&ev, &mut out);
    let event: Value = serde_json::from_slice(&out).expect("event JSON");
    let (mut unmapped, mut parse_errors, mut lines) = (0, 0, 0);
    for info in n.vendors().list() {
        unmapped += info.unmapped;
        parse_errors += info.parse_errors;
        lines += info.lines;
    }
    Outcome {
        vendor,
        event,
        unmapped,
        parse_errors,
        lines,
    }
}

/// Event codes whose mapping deliberately makes a Base Event (configuration, interface state,
/// routing, admin audit), per vendor; `*`: the vendor has no other class.
fn base_event_ok(v: Vendor, code: &str, ev: &Value) -> bool {
    match v {
        Vendor::KubernetesEvents | Vendor::GenericJson => true,
        Vendor::CiscoIos => matches!(
            code,
            "CONFIG_I" | "CFGLOG_LOGGEDCMD" | "UPDOWN" | "CHANGED" | "ADJCHG"
        ),
        Vendor::Asa => matches!(code, "111008" | "105005"),
        Vendor::JuniperSrx => matches!(
            code,
            "UI_COMMIT" | "SNMP_TRAP_LINK_UP" | "SNMP_TRAP_LINK_DOWN"
        ),
        // SYSTEM logs: the event id is the code.
        Vendor::PanOs => matches!(code, "general" | "dnsproxy-up"),
        // SmartConsole audit: the product picks the rule, the operation number is the code.
        Vendor::Checkpoint => ev["metadata"]["product"]["name"] == "SmartConsole",
        _ => false,
    }
}

/// Vendors whose lines carry no message id the mapping turns into `metadata.event_code`
/// (Check Point's Log Exporter fields have none; application JSON only sometimes).
fn has_event_code(v: Vendor) -> bool {
    !matches!(v, Vendor::GenericJson | Vendor::Checkpoint)
}

/// The entity the event must have: the hostname, except where the mapping names another
/// (see the module documentation of `templates`).
fn expected_entity(v: Vendor, dev: &Device) -> Option<String> {
    match v {
        Vendor::AwsVpcFlow => {
            let mut s = String::new();
            vpc_interface_id(dev, &mut s);
            Some(s)
        }
        Vendor::AwsCloudTrail
        | Vendor::AzureActivity
        | Vendor::GcpAudit
        | Vendor::KubernetesAudit
        | Vendor::KubernetesEvents => None,
        _ => Some(dev.hostname.clone()),
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// Checks one line of vendor `v` normalised by `n`; returns the event.
fn check_line(
    n: &Normaliser,
    v: Vendor,
    line: &str,
    ts_ms: i64,
    before: (u64, u64, u64),
) -> Outcome {
    assert!(
        !line.contains('\n') && !line.contains('\r'),
        "{}: line break in {line:?}",
        v.name()
    );
    let o = run(n, line, ts_ms);
    assert_eq!(
        o.vendor.as_deref(),
        Some(v.name()),
        "{}: detected as {:?}: {line}",
        v.name(),
        o.vendor
    );
    assert_eq!(
        o.lines,
        before.2 + 1,
        "{}: not given to a mapping: {line}",
        v.name()
    );
    assert_eq!(
        o.unmapped,
        before.0,
        "{}: the line fell through the mapping's rules (unmapped): {line}\n{}",
        v.name(),
        o.event
    );
    assert_eq!(
        o.parse_errors,
        before.1,
        "{}: a value did not convert: {line}\n{}",
        v.name(),
        o.event
    );
    let ev = &o.event;
    assert!(
        !s(&ev["metadata"]["product"]["vendor_name"]).is_empty(),
        "{}: no product: {line}",
        v.name()
    );
    o
}

#[test]
fn every_vendors_normal_lines_normalise_with_nothing_unmapped() {
    let mut failures = Vec::new();
    for v in Vendor::ALL {
        let n = normaliser();
        let devs = devices(v);
        let mut rng = SmallRng::seed_from_u64(42 + v as u64);
        let mut codes = std::collections::BTreeMap::<String, u32>::new();
        let mut before = (0, 0, 0);
        let failed_before = failures.len();
        for i in 0..2000i64 {
            let dev = &devs[(i % 5) as usize];
            let ts = BASE_MS + i * 7_919;
            let mut line = String::new();
            render_normal(v, dev, ts, &mut rng, &mut line);
            let o = check_line(&n, v, &line, ts, before);
            before = (o.unmapped, o.parse_errors, o.lines);
            let ev = &o.event;
            let code = s(&ev["metadata"]["event_code"]).to_owned();
            if has_event_code(v) && code.is_empty() {
                failures.push(format!("{}: no metadata.event_code: {line}", v.name()));
            }
            if ev["class_uid"] == 0 && !base_event_ok(v, &code, ev) {
                failures.push(format!("{}: Base Event ({code}): {line}", v.name()));
            }
            if let Some(want) = expected_entity(v, dev) {
                if s(&ev["tocsin"]["entity"]) != want {
                    failures.push(format!(
                        "{}: entity {:?}, want {want:?}: {line}",
                        v.name(),
                        ev["tocsin"]["entity"]
                    ));
                }
            } else if s(&ev["tocsin"]["entity"]).is_empty() {
                failures.push(format!("{}: no entity: {line}", v.name()));
            }
            let time = ev["time"].as_i64().unwrap_or(0);
            if !(ts - 999..=ts).contains(&time) {
                failures.push(format!(
                    "{}: time {time}, want {ts} (to the format's precision): {line}",
                    v.name()
                ));
            }
            *codes.entry(code).or_default() += 1;
            if failures.len() > failed_before + 5 {
                break;
            }
        }
        assert!(
            n.vendors().unrecognised().iter().all(|(_, c)| *c == 0),
            "{}: unrecognised lines",
            v.name()
        );
        eprintln!("{}: {codes:?}", v.name());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_renderers_relayed_lines_normalise_too() {
    let n = normaliser();
    let mut r = Renderer::new(SmallRng::seed_from_u64(3), 4);
    let mut before = (0, 0, 0);
    for v in Vendor::ALL {
        for i in 0..200i64 {
            let ts = BASE_MS + i * 1_013;
            let mut line = String::new();
            r.render(v, ts, &mut line);
            assert!(line.starts_with('<'), "{line}");
            let o = check_line(&n, v, &line, ts, before);
            before = (o.unmapped, o.parse_errors, o.lines);
        }
    }
}

/// Every vendor's rendering of `s`: the line and its event time, or none.
fn special_lines(s: &Special<'_>) -> Vec<(Vendor, Option<(String, i64)>)> {
    let mut rng = SmallRng::seed_from_u64(9);
    Vendor::ALL
        .into_iter()
        .map(|v| {
            let dev = devices(v).swap_remove(2);
            let ts = BASE_MS + 123_456;
            let mut out = String::new();
            let ok = render_special(v, s, &dev, ts, &mut rng, &mut out);
            if ok {
                (v, Some((out, ts)))
            } else {
                assert!(out.is_empty(), "{}: wrote {out:?} and said false", v.name());
                (v, None)
            }
        })
        .collect()
}

fn check_special(s: &Special<'_>, must: &[Vendor], check: impl Fn(Vendor, &Value, &str)) {
    let n = normaliser();
    let mut before = (0, 0, 0);
    let mut accepted = Vec::new();
    for (v, rendered) in special_lines(s) {
        let Some((line, ts)) = rendered else {
            continue;
        };
        accepted.push(v);
        let o = check_line(&n, v, &line, ts, before);
        before = (o.unmapped, o.parse_errors, o.lines);
        check(v, &o.event, &line);
    }
    for v in must {
        assert!(accepted.contains(v), "{} must express {s:?}", v.name());
    }
}

#[test]
fn auth_failures_are_failed_authentications() {
    let ip = Ipv4Addr::new(198, 51, 100, 77);
    let sp = Special::AuthFailure {
        src_ip: ip,
        user: "mallory",
    };
    check_special(
        &sp,
        &[
            Vendor::Sshd,
            Vendor::Asa,
            Vendor::FortiGate,
            Vendor::PanOs,
            Vendor::SophosXg,
        ],
        |v, ev, line| {
            assert_eq!(ev["class_uid"], 3002, "{}: {line}\n{ev}", v.name());
            assert_eq!(ev["status"], "Failure", "{}: {line}\n{ev}", v.name());
            assert_eq!(
                ev["src_endpoint"]["ip"],
                "198.51.100.77",
                "{}: {line}",
                v.name()
            );
            assert_eq!(
                ev["actor"]["user"]["name"],
                "mallory",
                "{}: {line}\n{ev}",
                v.name()
            );
        },
    );
}

#[test]
fn http_statuses_carry_code_path_and_time() {
    let sp = Special::HttpStatus {
        status: 503,
        path: "/api/v1/checkout",
        duration_ms: 2_345,
    };
    check_special(
        &sp,
        &[Vendor::NginxAccess, Vendor::ApacheAccess],
        |v, ev, line| {
            let code = if ev["http_response"]["code"].is_null() {
                ev["unmapped"]["http_response.code"].clone()
            } else {
                ev["http_response"]["code"].clone()
            };
            assert!(code == "503" || code == 503, "{}: {line}\n{ev}", v.name());
            assert_eq!(ev["status"], "Failure", "{line}");
            assert!(ev.to_string().contains("/api/v1/checkout"), "{line}\n{ev}");
            if v == Vendor::NginxAccess {
                assert_eq!(
                    ev["metrics"]["request_time_s"].as_f64(),
                    Some(2.345),
                    "{ev}"
                );
            }
        },
    );
}

#[test]
fn link_down_names_the_interface() {
    let sp = Special::LinkDown {
        interface: "GigabitEthernet0/7",
    };
    check_special(
        &sp,
        &[Vendor::CiscoIos, Vendor::JuniperSrx, Vendor::Asa],
        |v, ev, line| {
            assert!(!s(&ev["metadata"]["event_code"]).is_empty(), "{line}");
            let names = s(&ev["message"]).contains("GigabitEthernet0/7")
                || ev["unmapped"]
                    .as_object()
                    .is_some_and(|u| u.values().any(|x| x == "GigabitEthernet0/7"));
            assert!(names, "{}: {line}\n{ev}", v.name());
        },
    );
}

#[test]
fn k8s_warnings_name_reason_and_object() {
    let sp = Special::K8sWarning {
        reason: "BackOff",
        namespace: "shop",
        object: "pod/checkout-7d9f-abcde",
        message: "Back-off restarting failed container \"app\"\nin pod checkout",
    };
    check_special(&sp, &[Vendor::KubernetesEvents], |_, ev, line| {
        assert_eq!(ev["metadata"]["event_code"], "BackOff", "{line}");
        assert_eq!(ev["tocsin"]["entity"], "shop/checkout-7d9f-abcde", "{line}");
        assert_eq!(ev["unmapped"]["kind"], "Pod", "{ev}");
        assert_eq!(ev["status"], "Failure", "{ev}");
        assert!(s(&ev["message"]).contains("\"app\"\nin pod"), "{ev}");
    });
}

#[test]
fn rollouts_name_the_deployment() {
    let sp = Special::Rollout {
        namespace: "shop",
        deployment: "checkout",
        image: "registry.example/checkout:1.4.2",
    };
    check_special(
        &sp,
        &[Vendor::KubernetesEvents, Vendor::KubernetesAudit],
        |v, ev, line| {
            let text = ev.to_string();
            assert!(text.contains("checkout"), "{line}");
            if v == Vendor::KubernetesEvents {
                assert_eq!(ev["metadata"]["event_code"], "ScalingReplicaSet", "{ev}");
                assert_eq!(ev["tocsin"]["entity"], "shop/checkout", "{ev}");
                assert_eq!(ev["unmapped"]["kind"], "Deployment", "{ev}");
            } else {
                assert_eq!(ev["class_uid"], 6003, "{ev}");
                assert!(s(&ev["message"]).contains("deployments/checkout"), "{ev}");
                assert!(text.contains("registry.example/checkout:1.4.2"), "{ev}");
            }
        },
    );
}

#[test]
fn metrics_land_in_their_field_with_the_device_as_entity() {
    let n = normaliser();
    let dev = Device {
        hostname: "web-07".into(),
        ip: Ipv4Addr::new(10, 1, 2, 3),
    };
    for (m, value) in [
        (Metric::CpuPct, 87.5),
        (Metric::MemPct, 42.0),
        (Metric::LatencyMs, 12.75),
    ] {
        let ts = BASE_MS + 4_321;
        let mut line = String::new();
        render_metric(m, &dev, ts, value, &mut line);
        assert!(!line.contains('\n'), "{line}");
        let o = run(&n, &line, ts);
        assert_eq!(o.vendor.as_deref(), Some("telegraf_json"), "{line}");
        assert_eq!(o.unmapped, 0, "{line}");
        assert_eq!(o.parse_errors, 0, "{line}");
        let ev = &o.event;
        assert_eq!(
            ev["metrics"][m.field()].as_f64(),
            Some(value),
            "{line}\n{ev}"
        );
        assert_eq!(ev["tocsin"]["entity"], "web-07", "{ev}");
        assert_eq!(ev["time"], ts / 1000 * 1000, "{ev}");
    }
}

#[test]
fn same_seed_same_lines() {
    let render = |seed| {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut out = String::new();
        for v in Vendor::ALL {
            for dev in devices(v) {
                render_normal(v, &dev, BASE_MS, &mut rng, &mut out);
                out.push('\n');
            }
        }
        out
    };
    assert_eq!(render(5), render(5));
    assert_ne!(render(5), render(6));
}

#[test]
fn specials_with_line_breaks_stay_one_line() {
    let specials = [
        Special::AuthFailure {
            src_ip: Ipv4Addr::new(192, 0, 2, 1),
            user: "evil\nuser\r",
        },
        Special::HttpStatus {
            status: 404,
            path: "/a\nb",
            duration_ms: 1,
        },
        Special::LinkDown {
            interface: "Gi0/1\n",
        },
        Special::K8sWarning {
            reason: "BackOff",
            namespace: "ns\n",
            object: "pod/x\r",
            message: "a\nb",
        },
        Special::Rollout {
            namespace: "n\n",
            deployment: "d\r",
            image: "i\n",
        },
    ];
    for sp in &specials {
        for (v, line) in special_lines(sp) {
            if let Some((line, _)) = line {
                assert!(!line.contains(['\n', '\r']), "{}: {line:?}", v.name());
            }
        }
    }
}
