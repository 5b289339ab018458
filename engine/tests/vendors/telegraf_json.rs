//! Tests for the `telegraf_json` mapping: Telegraf's JSON serializer output, one metric per line
//! (`{"fields":{...},"name":"...","tags":{...},"timestamp":...}`, keys in the order Telegraf
//! writes them; the timestamp in seconds unless `json_timestamp_units` says otherwise).
use crate::support::*;

const CPU: &str = r#"{"fields":{"usage_active":12.5,"usage_guest":0,"usage_idle":87.5,"usage_iowait":0.25,"usage_system":3.15,"usage_user":9},"name":"cpu","tags":{"cpu":"cpu-total","host":"web-01"},"timestamp":1710504000}"#;

#[test]
fn cpu_usage_is_cpu_pct_with_the_host_as_device_and_entity() {
    assert_eq!(detect(CPU).as_deref(), Some("telegraf_json"));
    let v = normalise("auto", CPU);
    assert_eq!(v["metadata"]["product"]["vendor_name"], "InfluxData");
    assert_eq!(v["metadata"]["product"]["name"], "Telegraf");
    assert_eq!(v["metadata"]["event_code"], "cpu");
    assert_eq!(v["time"], ms("2024-03-15T12:00:00Z"));
    assert_eq!(v["device"]["hostname"], "web-01");
    assert_eq!(v["tocsin"]["entity"], "web-01");
    assert_eq!(v["metrics"]["cpu_pct"].as_f64(), Some(12.5));
    // An integer value is a number as well as a float one.
    assert_eq!(v["metrics"]["usage_user"].as_f64(), Some(9.0));
    assert_eq!(v["metrics"]["usage_system"].as_f64(), Some(3.15));
    assert_eq!(v["unmapped"]["fields.usage_idle"], "87.5");
    assert_eq!(v["unmapped"]["tags.cpu"], "cpu-total");
    assert_eq!(v["severity_id"], 1);
    assert_eq!(v["class_uid"], 0);
    assert_eq!(v["message"], "cpu");
}

#[test]
fn mem_used_percent_is_mem_pct_and_extra_tags_are_kept() {
    let line = r#"{"fields":{"available":419430400,"available_percent":2.44,"total":17179869184,"used":16760438784,"used_percent":97},"name":"mem","tags":{"dc":"fra1","host":"db-02","role":"postgres"},"timestamp":1710504010}"#;
    assert_eq!(detect(line).as_deref(), Some("telegraf_json"));
    let v = normalise("telegraf_json", line);
    assert_eq!(v["metrics"]["mem_pct"].as_f64(), Some(97.0));
    assert_eq!(v["metadata"]["event_code"], "mem");
    assert_eq!(v["tocsin"]["entity"], "db-02");
    assert_eq!(v["unmapped"]["tags.dc"], "fra1");
    assert_eq!(v["unmapped"]["tags.role"], "postgres");
    assert_eq!(v["unmapped"]["fields.total"], "17179869184");
    assert_eq!(v["time"], ms("2024-03-15T12:00:10Z"));
}

#[test]
fn ping_average_is_latency_and_loss_is_kept_as_a_metric() {
    let line = r#"{"fields":{"average_response_ms":250.5,"maximum_response_ms":310,"minimum_response_ms":201,"packets_received":3,"packets_transmitted":5,"percent_packet_loss":40,"result_code":0,"ttl":55},"name":"ping","tags":{"host":"probe-1","url":"gw.example.net"},"timestamp":1710504005}"#;
    let v = normalise("auto", line);
    assert_eq!(v["metrics"]["latency_ms"].as_f64(), Some(250.5));
    assert_eq!(v["metrics"]["packet_loss_pct"].as_f64(), Some(40.0));
    assert_eq!(v["unmapped"]["tags.url"], "gw.example.net");
    assert_eq!(v["unmapped"]["fields.maximum_response_ms"], "310");
    assert_eq!(v["tocsin"]["entity"], "probe-1");

    // A host that does not answer: no response times, all packets lost.
    let lost = r#"{"fields":{"packets_received":0,"packets_transmitted":5,"percent_packet_loss":100,"result_code":1},"name":"ping","tags":{"host":"probe-2","url":"192.0.2.10"},"timestamp":1710504005}"#;
    let v = normalise("auto", lost);
    assert!(v["metrics"].get("latency_ms").is_none(), "{v}");
    assert_eq!(v["metrics"]["packet_loss_pct"].as_f64(), Some(100.0));
}

#[test]
fn missing_host_tag_leaves_no_device_and_no_entity() {
    let line = r#"{"fields":{"usage_active":7.5,"usage_idle":92.5},"name":"cpu","tags":{"cpu":"cpu-total"},"timestamp":1710504030}"#;
    let v = normalise("auto", line);
    assert_eq!(v["metadata"]["product"]["name"], "Telegraf");
    assert_eq!(v["metrics"]["cpu_pct"].as_f64(), Some(7.5));
    assert!(
        v.get("device").is_none() || v["device"].get("hostname").is_none(),
        "{v}"
    );
    assert!(v["tocsin"].get("entity").is_none(), "{v}");
}

#[test]
fn millisecond_and_nanosecond_timestamps_by_magnitude() {
    for (ts, want) in [
        ("1710504000123", "2024-03-15T12:00:00.123Z"),
        ("1710504000123456789", "2024-03-15T12:00:00.123Z"),
    ] {
        let line = format!(
            r#"{{"fields":{{"usage_active":55.5}},"name":"cpu","tags":{{"host":"app-03"}},"timestamp":{ts}}}"#
        );
        let v = normalise("auto", &line);
        assert_eq!(v["time"], ms(want), "{line}");
    }
}

#[test]
fn other_measurements_keep_their_fields_unmapped() {
    let line = r#"{"fields":{"free":52428800000,"total":104857600000,"used":52428800000,"used_percent":50},"name":"disk","tags":{"device":"sda1","fstype":"ext4","host":"web-01","path":"/"},"timestamp":1710504000}"#;
    let v = normalise("auto", line);
    assert_eq!(v["metadata"]["event_code"], "disk");
    // disk's used_percent is not memory.
    assert!(
        v.get("metrics").is_none() || v["metrics"].get("mem_pct").is_none(),
        "{v}"
    );
    assert_eq!(v["unmapped"]["fields.used_percent"], "50");
    assert_eq!(v["unmapped"]["tags.path"], "/");
    assert_eq!(v["tocsin"]["entity"], "web-01");
}

#[test]
fn plain_json_logs_stay_generic() {
    // Telegraf's serializer sorts its keys, so a metric object starts with `{"fields":{`; other
    // objects, even with the same keys (a Beats event's custom `fields`), are not metrics.
    let line =
        r#"{"timestamp":"2024-03-15T12:00:00Z","name":"cpu","host":"web-01","message":"hot"}"#;
    assert_eq!(detect(line).as_deref(), Some("generic_json"));
    let beats = r#"{"@timestamp":"2024-03-15T12:00:00Z","fields":{"env":"prod"},"tags":{"a":"b"},"message":"x"}"#;
    assert_eq!(detect(beats).as_deref(), Some("generic_json"));
}
