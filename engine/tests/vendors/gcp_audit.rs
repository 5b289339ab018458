//! Tests for the `gcp_audit` mapping.
use crate::support::*;

const INSERT: &str = r#"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","status":{},"authenticationInfo":{"principalEmail":"alice@example.com","principalSubject":"user:alice@example.com"},"requestMetadata":{"callerIp":"203.0.113.5","callerSuppliedUserAgent":"google-cloud-sdk gcloud/467.0.0","requestAttributes":{"time":"2024-03-15T11:58:02.101Z","auth":{}},"destinationAttributes":{}},"serviceName":"compute.googleapis.com","methodName":"v1.compute.instances.insert","authorizationInfo":[{"permission":"compute.instances.create","granted":true,"resourceAttributes":{"service":"compute","name":"projects/demo-proj/zones/europe-west1-b/instances/web-1","type":"compute.instances"}}],"resourceName":"projects/demo-proj/zones/europe-west1-b/instances/web-1","request":{"@type":"type.googleapis.com/compute.instances.insert","name":"web-1"},"resourceLocation":{"currentLocations":["europe-west1-b"]}},"insertId":"-abc123def456","resource":{"type":"gce_instance","labels":{"project_id":"demo-proj","zone":"europe-west1-b","instance_id":"4455667788990011223"}},"timestamp":"2024-03-15T11:58:02.093762Z","severity":"NOTICE","logName":"projects/demo-proj/logs/cloudaudit.googleapis.com%2Factivity","operation":{"id":"operation-1710503882000-abc","producer":"compute.googleapis.com","first":true},"receiveTimestamp":"2024-03-15T11:58:03.120000Z"}"#;

#[test]
fn admin_activity_insert() {
    let v = normalise("gcp_audit", INSERT);
    assert_eq!(v["class_uid"], 6003);
    assert_eq!(v["class_name"], "API Activity");
    assert_eq!(v["activity_name"], "Create");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["severity_id"], 2);
    assert_eq!(v["time"], ms("2024-03-15T11:58:02.093Z"));
    assert_eq!(v["actor"]["user"]["name"], "alice@example.com");
    assert_eq!(v["src_endpoint"]["ip"], "203.0.113.5");
    assert_eq!(v["metadata"]["event_code"], "v1.compute.instances.insert");
    assert_eq!(
        v["message"],
        "compute.googleapis.com: v1.compute.instances.insert"
    );
    assert_eq!(v["metadata"]["uid"], "-abc123def456");
    assert_eq!(v["metadata"]["product"]["vendor_name"], "Google Cloud");
    assert_eq!(v["metadata"]["product"]["name"], "Cloud Audit Logs");
    assert_eq!(v["unmapped"]["serviceName"], "compute.googleapis.com");
    assert_eq!(v["unmapped"]["resource.type"], "gce_instance");
    assert_eq!(v["unmapped"]["resource.labels.project_id"], "demo-proj");
    assert_eq!(v["unmapped"]["logSeverity"], "NOTICE");
    assert_eq!(
        v["tocsin"]["entity"],
        "projects/demo-proj/zones/europe-west1-b/instances/web-1"
    );
    assert_eq!(detect(INSERT).as_deref(), Some("gcp_audit"));
}

#[test]
fn permission_denied_is_a_failure() {
    let line = r#"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","status":{"code":7,"message":"Permission 'storage.buckets.delete' denied on resource (or it may not exist)."},"authenticationInfo":{"principalEmail":"deployer@demo-proj.iam.gserviceaccount.com"},"requestMetadata":{"callerIp":"2001:db8:ab::12","callerSuppliedUserAgent":"Terraform/1.7.0"},"serviceName":"storage.googleapis.com","methodName":"storage.buckets.delete","resourceName":"projects/_/buckets/demo-artifacts"},"insertId":"xyz789","resource":{"type":"gcs_bucket","labels":{"bucket_name":"demo-artifacts","project_id":"demo-proj","location":"eu"}},"timestamp":"2024-03-15T10:01:02Z","severity":"ERROR","logName":"projects/demo-proj/logs/cloudaudit.googleapis.com%2Factivity"}"#;
    let v = normalise("gcp_audit", line);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["severity_id"], 4);
    assert_eq!(v["activity_name"], "Delete");
    assert_eq!(
        v["actor"]["user"]["name"],
        "deployer@demo-proj.iam.gserviceaccount.com"
    );
    assert_eq!(v["src_endpoint"]["ip"], "2001:db8:ab::12");
    assert_eq!(v["time"], ms("2024-03-15T10:01:02Z"));
    assert_eq!(v["unmapped"]["statusCode"], "7");
    assert_eq!(
        v["unmapped"]["statusMessage"],
        "Permission 'storage.buckets.delete' denied on resource (or it may not exist)."
    );
    assert_eq!(detect(line).as_deref(), Some("gcp_audit"));
}

#[test]
fn redacted_caller_and_camel_case_method() {
    let line = r#"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","status":{},"authenticationInfo":{"principalEmail":"admin@example.com"},"requestMetadata":{"callerIp":"private","callerSuppliedUserAgent":"grpc-go/1.60"},"serviceName":"iam.googleapis.com","methodName":"google.iam.admin.v1.CreateServiceAccountKey","resourceName":"projects/-/serviceAccounts/112233445566778899"},"insertId":"k1","resource":{"type":"service_account","labels":{"email_id":"app@demo-proj.iam.gserviceaccount.com","project_id":"demo-proj"}},"timestamp":"2024-03-15T09:00:00.5Z","severity":"NOTICE"}"#;
    let v = normalise("gcp_audit", line);
    assert_eq!(v["activity_name"], "Create");
    assert!(v.get("src_endpoint").is_none(), "{v}");
    assert_eq!(v["unmapped"]["callerIp"], "private");
    assert_eq!(
        v["metadata"]["event_code"],
        "google.iam.admin.v1.CreateServiceAccountKey"
    );
    assert_eq!(v["time"], ms("2024-03-15T09:00:00.5Z"));

    let line = r#"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","status":{"code":0},"authenticationInfo":{"principalEmail":"sec@example.com"},"requestMetadata":{"callerIp":"gce-internal-ip"},"serviceName":"cloudresourcemanager.googleapis.com","methodName":"SetIamPolicy","resourceName":"projects/demo-proj"},"insertId":"k2","resource":{"type":"project","labels":{"project_id":"demo-proj"}},"timestamp":"2024-03-15T09:05:00Z","severity":"NOTICE"}"#;
    let v = normalise("gcp_audit", line);
    assert_eq!(v["activity_name"], "Update");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["unmapped"]["callerIp"], "gce-internal-ip");
    assert_eq!(detect(line).as_deref(), Some("gcp_audit"));
}

#[test]
fn data_access_without_principal_email() {
    // A system-event-like entry: no authenticationInfo email, no caller, only the subject.
    let line = r#"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{"principalSubject":"serviceAccount:svc-reader@demo-proj.iam.gserviceaccount.com"},"serviceName":"bigquery.googleapis.com","methodName":"google.cloud.bigquery.v2.JobService.InsertJob","resourceName":"projects/demo-proj/jobs/job_AbC123"},"insertId":"bq1","resource":{"type":"bigquery_project","labels":{"project_id":"demo-proj","location":"EU"}},"timestamp":"2024-03-15T08:30:00.000001Z","severity":"INFO","logName":"projects/demo-proj/logs/cloudaudit.googleapis.com%2Fdata_access"}"#;
    let v = normalise("gcp_audit", line);
    assert_eq!(
        v["actor"]["user"]["name"],
        "serviceAccount:svc-reader@demo-proj.iam.gserviceaccount.com"
    );
    assert_eq!(v["activity_name"], "Create");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["severity_id"], 1);
    assert_eq!(v["time"], ms("2024-03-15T08:30:00Z"));
    assert_eq!(detect(line).as_deref(), Some("gcp_audit"));
}

#[test]
fn entry_behind_a_syslog_header_with_unicode() {
    let line = r#"<14>Mar 15 12:00:00 log-sink gcp: {"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","status":{},"authenticationInfo":{"principalEmail":"jürgen@example.com"},"requestMetadata":{"callerIp":"192.0.2.33"},"serviceName":"storage.googleapis.com","methodName":"storage.objects.get","resourceName":"projects/_/buckets/berichte/objects/übersicht.pdf"},"insertId":"u1","resource":{"type":"gcs_bucket"},"timestamp":"2024-03-15T11:11:11Z","severity":"INFO"}"#;
    let v = normalise("gcp_audit", line);
    assert_eq!(v["actor"]["user"]["name"], "jürgen@example.com");
    assert_eq!(v["activity_name"], "Read");
    assert_eq!(v["src_endpoint"]["ip"], "192.0.2.33");
    assert_eq!(
        v["tocsin"]["entity"],
        "projects/_/buckets/berichte/objects/übersicht.pdf"
    );
    assert_eq!(v["device"]["hostname"], "log-sink");
    assert_eq!(detect(line).as_deref(), Some("gcp_audit"));
}

#[test]
fn other_google_log_entries_are_not_audit_logs() {
    let line = r#"{"textPayload":"GET /healthz 200","insertId":"t1","resource":{"type":"k8s_container"},"timestamp":"2024-03-15T11:00:00Z","severity":"INFO"}"#;
    assert_ne!(detect(line).as_deref(), Some("gcp_audit"));
}
