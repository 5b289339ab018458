//! Tests for the `kubernetes_audit` mapping.
use crate::support::*;

const DELETE_POD: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"6c1a2f3e-0b4d-4e5f-9a8b-7c6d5e4f3a2b","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/pods/cart-7d9f8b6c5-x2x4z","verb":"delete","user":{"username":"alice@example.com","groups":["devs","system:authenticated"]},"sourceIPs":["10.20.30.40","10.0.0.1"],"userAgent":"kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819","objectRef":{"resource":"pods","namespace":"shop","name":"cart-7d9f8b6c5-x2x4z","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2024-03-15T11:58:02.123456Z","stageTimestamp":"2024-03-15T11:58:02.223456Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"devs/shop\" of Role \"dev\" to Group \"devs\""}}"#;

#[test]
fn pod_delete_by_user() {
    let v = normalise("kubernetes_audit", DELETE_POD);
    assert_eq!(v["class_uid"], 6003);
    assert_eq!(v["class_name"], "API Activity");
    assert_eq!(v["activity_name"], "Delete");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["disposition"], "Allowed");
    assert_eq!(v["severity_id"], 1);
    assert_eq!(v["time"], ms("2024-03-15T11:58:02.123Z"));
    assert_eq!(v["actor"]["user"]["name"], "alice@example.com");
    assert_eq!(v["src_endpoint"]["ip"], "10.20.30.40");
    assert_eq!(v["metadata"]["event_code"], "pods.delete");
    assert_eq!(
        v["message"],
        "delete /api/v1/namespaces/shop/pods/cart-7d9f8b6c5-x2x4z"
    );
    assert_eq!(v["metadata"]["uid"], "6c1a2f3e-0b4d-4e5f-9a8b-7c6d5e4f3a2b");
    assert_eq!(v["metadata"]["product"]["vendor_name"], "Kubernetes");
    assert_eq!(v["metadata"]["product"]["name"], "Audit");
    assert_eq!(v["unmapped"]["stage"], "ResponseComplete");
    assert_eq!(v["unmapped"]["verb"], "delete");
    assert_eq!(v["unmapped"]["responseStatus.code"], "200");
    assert_eq!(v["unmapped"]["namespace"], "shop");
    assert_eq!(v["unmapped"]["resource"], "pods");
    assert_eq!(v["unmapped"]["sourceIPs"], r#"["10.20.30.40","10.0.0.1"]"#);
    assert_eq!(v["tocsin"]["entity"], "shop/cart-7d9f8b6c5-x2x4z");
    assert_eq!(detect(DELETE_POD).as_deref(), Some("kubernetes_audit"));
}

#[test]
fn forbidden_secret_read_is_a_blocked_failure() {
    let line = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"0f9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kube-system/secrets/admin-token","verb":"get","user":{"username":"system:serviceaccount:ci:builder","uid":"1234","groups":["system:serviceaccounts","system:serviceaccounts:ci","system:authenticated"]},"sourceIPs":["fd00:10:244::17"],"userAgent":"curl/8.5.0","objectRef":{"resource":"secrets","namespace":"kube-system","name":"admin-token","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","message":"secrets \"admin-token\" is forbidden","reason":"Forbidden","code":403},"requestReceivedTimestamp":"2024-03-15T10:00:00.000001Z","stageTimestamp":"2024-03-15T10:00:00.002000Z","annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""}}"#;
    let v = normalise("kubernetes_audit", line);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["disposition"], "Blocked");
    assert_eq!(v["severity_id"], 2);
    assert_eq!(v["activity_name"], "Read");
    assert_eq!(
        v["actor"]["user"]["name"],
        "system:serviceaccount:ci:builder"
    );
    assert_eq!(v["src_endpoint"]["ip"], "fd00:10:244::17");
    assert_eq!(v["metadata"]["event_code"], "secrets.get");
    assert_eq!(v["unmapped"]["responseStatus.reason"], "Forbidden");
    assert_eq!(v["tocsin"]["entity"], "kube-system/admin-token");
    assert_eq!(detect(line).as_deref(), Some("kubernetes_audit"));
}

#[test]
fn subresource_list_and_cluster_scoped_objects() {
    let exec = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"a1","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/shop/pods/cart-0/exec?command=sh&stdin=true","verb":"create","user":{"username":"bob"},"sourceIPs":["192.0.2.8"],"objectRef":{"resource":"pods","namespace":"shop","name":"cart-0","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"2024-03-15T09:00:00Z","stageTimestamp":"2024-03-15T09:00:01Z"}"#;
    let v = normalise("kubernetes_audit", exec);
    assert_eq!(v["metadata"]["event_code"], "pods/exec.create");
    assert_eq!(v["activity_name"], "Create");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["tocsin"]["entity"], "shop/cart-0");
    assert_eq!(detect(exec).as_deref(), Some("kubernetes_audit"));

    let list = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a2","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/configmaps?limit=500","verb":"list","user":{"username":"system:kube-controller-manager"},"sourceIPs":["10.0.0.10"],"objectRef":{"resource":"configmaps","namespace":"shop","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2024-03-15T09:01:00Z","stageTimestamp":"2024-03-15T09:01:00Z"}"#;
    let v = normalise("kubernetes_audit", list);
    assert_eq!(v["metadata"]["event_code"], "configmaps.list");
    assert_eq!(v["tocsin"]["entity"], "shop/configmaps");

    let node = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a3","stage":"ResponseComplete","requestURI":"/api/v1/nodes/worker-3","verb":"patch","user":{"username":"system:node:worker-3"},"sourceIPs":["10.0.0.13"],"objectRef":{"resource":"nodes","name":"worker-3","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2024-03-15T09:02:00Z","stageTimestamp":"2024-03-15T09:02:00Z"}"#;
    let v = normalise("kubernetes_audit", node);
    assert_eq!(v["activity_name"], "Update");
    assert_eq!(v["tocsin"]["entity"], "worker-3");
}

#[test]
fn request_received_stage_and_non_resource_url() {
    let line = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"b1","stage":"RequestReceived","requestURI":"/healthz","verb":"get","user":{"username":"system:anonymous","groups":["system:unauthenticated"]},"sourceIPs":["203.0.113.99"],"userAgent":"kube-probe/1.29","stageTimestamp":"2024-03-15T08:00:00.5Z"}"#;
    let v = normalise("kubernetes_audit", line);
    assert_eq!(v["status"], "Unknown");
    assert_eq!(v["metadata"]["event_code"], "get");
    assert_eq!(v["time"], ms("2024-03-15T08:00:00.5Z"));
    assert_eq!(v["unmapped"]["requestURI"], "/healthz");
    assert!(v["tocsin"].get("entity").is_none(), "{v}");
    assert_eq!(detect(line).as_deref(), Some("kubernetes_audit"));

    let err = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","level":"Metadata","auditID":"b2","stage":"ResponseComplete","requestURI":"/apis/apps/v1/namespaces/shop/deployments/cart","verb":"update","user":{"username":"argocd"},"sourceIPs":["10.0.0.50"],"objectRef":{"resource":"deployments","namespace":"shop","name":"cart","apiGroup":"apps","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":500},"requestReceivedTimestamp":"2024-03-15T08:05:00Z","stageTimestamp":"2024-03-15T08:05:02Z"}"#;
    let v = normalise("kubernetes_audit", err);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["activity_name"], "Update");
    assert_eq!(v["time"], ms("2024-03-15T08:05:00Z"));
}

#[test]
fn audit_event_behind_a_syslog_header_with_unicode() {
    let line = r#"<14>Mar 15 12:00:00 cp-1 kube-apiserver-audit: {"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"c1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/équipe/configmaps/réglages","verb":"update","user":{"username":"zoë@example.com"},"sourceIPs":["10.1.2.3"],"objectRef":{"resource":"configmaps","namespace":"équipe","name":"réglages","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2024-03-15T11:30:00Z","stageTimestamp":"2024-03-15T11:30:00.01Z"}"#;
    let v = normalise("kubernetes_audit", line);
    assert_eq!(v["actor"]["user"]["name"], "zoë@example.com");
    assert_eq!(v["tocsin"]["entity"], "équipe/réglages");
    assert_eq!(v["device"]["hostname"], "cp-1");
    assert_eq!(v["time"], ms("2024-03-15T11:30:00Z"));
    assert_eq!(detect(line).as_deref(), Some("kubernetes_audit"));
}

#[test]
fn audit_of_an_event_object_is_still_audit() {
    // The request body of an Event creation names `involvedObject`: audit wins over events.
    let line = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"d1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/events","verb":"create","user":{"username":"system:node:worker-1"},"sourceIPs":["10.0.0.11"],"objectRef":{"resource":"events","namespace":"shop","apiVersion":"v1"},"requestObject":{"kind":"Event","apiVersion":"v1","reason":"Pulled","involvedObject":{"kind":"Pod","name":"cart-0","namespace":"shop"}},"responseStatus":{"metadata":{},"code":201},"requestReceivedTimestamp":"2024-03-15T11:40:00Z","stageTimestamp":"2024-03-15T11:40:00Z"}"#;
    assert_eq!(detect(line).as_deref(), Some("kubernetes_audit"));
    let v = normalise("auto", line);
    assert_eq!(v["metadata"]["event_code"], "events.create");
    assert_eq!(v["status"], "Success");
}
