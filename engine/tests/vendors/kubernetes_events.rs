//! Tests for the `kubernetes_events` mapping.
use crate::support::*;

const BACKOFF: &str = r#"{"metadata":{"name":"cart-7d9f8b6c5-x2x4z.17bc3f3c0a1b2c3d","namespace":"shop","uid":"5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b","resourceVersion":"918273","creationTimestamp":"2024-03-15T11:50:00Z"},"involvedObject":{"kind":"Pod","namespace":"shop","name":"cart-7d9f8b6c5-x2x4z","uid":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","apiVersion":"v1","resourceVersion":"918001","fieldPath":"spec.containers{cart}"},"reason":"BackOff","message":"Back-off restarting failed container cart in pod cart-7d9f8b6c5-x2x4z_shop(0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d)","source":{"component":"kubelet","host":"worker-2"},"firstTimestamp":"2024-03-15T11:50:00Z","lastTimestamp":"2024-03-15T11:58:00Z","count":14,"type":"Warning","eventTime":null,"reportingComponent":"kubelet","reportingInstance":"worker-2"}"#;

#[test]
fn warning_backoff_event() {
    let v = normalise("kubernetes_events", BACKOFF);
    assert_eq!(v["class_uid"], 0);
    assert_eq!(v["severity_id"], 3);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["time"], ms("2024-03-15T11:58:00Z"));
    assert_eq!(v["metadata"]["event_code"], "BackOff");
    assert_eq!(v["metadata"]["uid"], "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b");
    assert_eq!(v["metadata"]["product"]["vendor_name"], "Kubernetes");
    assert_eq!(v["metadata"]["product"]["name"], "Events");
    assert_eq!(
        v["message"],
        "Back-off restarting failed container cart in pod cart-7d9f8b6c5-x2x4z_shop(0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d)"
    );
    assert_eq!(v["device"]["hostname"], "worker-2");
    assert_eq!(v["metrics"]["count"].as_f64(), Some(14.0));
    assert_eq!(v["unmapped"]["kind"], "Pod");
    assert_eq!(v["unmapped"]["name"], "cart-7d9f8b6c5-x2x4z");
    assert_eq!(v["unmapped"]["namespace"], "shop");
    assert_eq!(v["unmapped"]["component"], "kubelet");
    assert_eq!(
        v["unmapped"]["involvedObject.fieldPath"],
        "spec.containers{cart}"
    );
    assert_eq!(v["tocsin"]["entity"], "shop/cart-7d9f8b6c5-x2x4z");
    assert_eq!(detect(BACKOFF).as_deref(), Some("kubernetes_events"));
}

#[test]
fn normal_event_from_a_controller_without_host() {
    let line = r#"{"kind":"Event","apiVersion":"v1","metadata":{"name":"cart.17bc3f3c0a1b0000","namespace":"shop","uid":"u-2"},"involvedObject":{"kind":"Deployment","namespace":"shop","name":"cart","apiVersion":"apps/v1"},"reason":"ScalingReplicaSet","message":"Scaled up replica set cart-7d9f8b6c5 to 3","source":{"component":"deployment-controller"},"firstTimestamp":"2024-03-15T10:00:00Z","lastTimestamp":"2024-03-15T10:00:00Z","count":1,"type":"Normal","reportingComponent":"","reportingInstance":""}"#;
    let v = normalise("kubernetes_events", line);
    assert_eq!(v["severity_id"], 1);
    assert_eq!(v["status"], "Success");
    assert_eq!(v["metadata"]["event_code"], "ScalingReplicaSet");
    assert_eq!(v["message"], "Scaled up replica set cart-7d9f8b6c5 to 3");
    assert!(
        v.get("device").is_none() || v["device"].get("hostname").is_none(),
        "{v}"
    );
    assert_eq!(v["unmapped"]["component"], "deployment-controller");
    assert_eq!(v["tocsin"]["entity"], "shop/cart");
    assert_eq!(v["time"], ms("2024-03-15T10:00:00Z"));
    assert_eq!(detect(line).as_deref(), Some("kubernetes_events"));
}

#[test]
fn node_event_is_about_the_node() {
    let line = r#"{"metadata":{"name":"worker-3.17bc000000000001","namespace":"default","uid":"u-3"},"involvedObject":{"kind":"Node","name":"worker-3","uid":"worker-3"},"reason":"NodeNotReady","message":"Node worker-3 status is now: NodeNotReady","source":{"component":"node-controller"},"firstTimestamp":"2024-03-15T09:00:00Z","lastTimestamp":"2024-03-15T09:00:00Z","count":1,"type":"Normal"}"#;
    let v = normalise("kubernetes_events", line);
    assert_eq!(v["tocsin"]["entity"], "worker-3");
    assert_eq!(v["metadata"]["event_code"], "NodeNotReady");
    assert_eq!(v["unmapped"]["kind"], "Node");
    assert_eq!(detect(line).as_deref(), Some("kubernetes_events"));

    let empty_ns = r#"{"metadata":{"name":"pv-1.1","uid":"u-4"},"involvedObject":{"kind":"PersistentVolume","namespace":"","name":"pv-data-1"},"reason":"VolumeFailedDelete","message":"error deleting volume","source":{"component":"persistentvolume-controller"},"lastTimestamp":"2024-03-15T09:10:00Z","type":"Warning"}"#;
    let v = normalise("kubernetes_events", empty_ns);
    assert_eq!(v["tocsin"]["entity"], "pv-data-1");
    assert_eq!(v["severity_id"], 3);
}

#[test]
fn events_k8s_io_v1_with_event_time_and_series() {
    let line = r#"{"kind":"Event","apiVersion":"events.k8s.io/v1","metadata":{"name":"web-0.17bc11","namespace":"shop","uid":"u-5"},"eventTime":"2024-03-15T11:45:00.123456Z","series":{"count":5,"lastObservedTime":"2024-03-15T11:55:30.000000Z"},"reportingController":"default-scheduler","reportingInstance":"default-scheduler-cp-1","action":"Scheduling","reason":"FailedScheduling","regarding":{"kind":"Pod","namespace":"shop","name":"web-0","uid":"p-1","apiVersion":"v1"},"note":"0/3 nodes are available: 3 Insufficient memory.","type":"Warning","deprecatedSource":{},"deprecatedFirstTimestamp":null,"deprecatedLastTimestamp":null,"deprecatedCount":0}"#;
    let v = normalise("kubernetes_events", line);
    assert_eq!(v["time"], ms("2024-03-15T11:55:30Z"));
    assert_eq!(
        v["message"],
        "0/3 nodes are available: 3 Insufficient memory."
    );
    assert_eq!(v["metadata"]["event_code"], "FailedScheduling");
    assert_eq!(v["metrics"]["count"].as_f64(), Some(5.0));
    assert_eq!(v["tocsin"]["entity"], "shop/web-0");
    assert_eq!(v["unmapped"]["component"], "default-scheduler");
    assert_eq!(v["unmapped"]["reportingInstance"], "default-scheduler-cp-1");
    assert_eq!(v["status"], "Failure");
    assert_eq!(detect(line).as_deref(), Some("kubernetes_events"));
}

#[test]
fn event_behind_a_syslog_header_with_unicode_and_only_event_time() {
    let line = r#"<14>Mar 15 12:00:00 exporter-0 k8s-events: {"metadata":{"name":"cafe.1","namespace":"café","uid":"u-6"},"involvedObject":{"kind":"Pod","namespace":"café","name":"crème-brûlée-0"},"reason":"Pulled","message":"Successfully pulled image \"registry.example/crème:1.0\" in 1.2s","source":{"component":"kubelet","host":"worker-1"},"eventTime":"2024-03-15T11:59:59.5Z","type":"Normal"}"#;
    let v = normalise("kubernetes_events", line);
    assert_eq!(v["time"], ms("2024-03-15T11:59:59.5Z"));
    assert_eq!(
        v["message"],
        "Successfully pulled image \"registry.example/crème:1.0\" in 1.2s"
    );
    assert_eq!(v["tocsin"]["entity"], "café/crème-brûlée-0");
    assert_eq!(v["device"]["hostname"], "worker-1");
    assert_eq!(detect(line).as_deref(), Some("kubernetes_events"));
}

#[test]
fn no_timestamps_keeps_the_receive_time() {
    let line = r#"{"involvedObject":{"kind":"Pod","namespace":"shop","name":"cart-1"},"reason":"Killing","message":"Stopping container cart","type":"Normal","firstTimestamp":null,"lastTimestamp":null}"#;
    let v = normalise("kubernetes_events", line);
    assert_eq!(v["time"], ms("2024-03-15T12:00:00Z"));
    assert_eq!(v["metadata"]["event_code"], "Killing");
    assert_eq!(detect(line).as_deref(), Some("kubernetes_events"));
}

#[test]
fn eventrouter_wrapped_event() {
    let line = r#"{"verb":"UPDATED","event":{"metadata":{"name":"cart-0.17bc22","namespace":"shop","uid":"u-7"},"involvedObject":{"kind":"Pod","namespace":"shop","name":"cart-0"},"reason":"Unhealthy","message":"Liveness probe failed: connection refused","source":{"component":"kubelet","host":"worker-2"},"firstTimestamp":"2024-03-15T11:00:00Z","lastTimestamp":"2024-03-15T11:20:00Z","count":9,"type":"Warning"},"old_event":{"metadata":{"name":"cart-0.17bc22","namespace":"shop","uid":"u-7"},"involvedObject":{"kind":"Pod","namespace":"shop","name":"cart-0"},"reason":"Unhealthy","message":"Liveness probe failed: connection refused","count":8,"type":"Warning"}}"#;
    let v = normalise("kubernetes_events", line);
    assert_eq!(v["metadata"]["event_code"], "Unhealthy");
    assert_eq!(v["message"], "Liveness probe failed: connection refused");
    assert_eq!(v["time"], ms("2024-03-15T11:20:00Z"));
    assert_eq!(v["severity_id"], 3);
    assert_eq!(v["metrics"]["count"].as_f64(), Some(9.0));
    assert_eq!(v["device"]["hostname"], "worker-2");
    assert_eq!(v["tocsin"]["entity"], "shop/cart-0");
    assert_eq!(v["unmapped"]["eventrouter_verb"], "UPDATED");
    assert_eq!(detect(line).as_deref(), Some("kubernetes_events"));
}
