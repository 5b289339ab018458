//! Cloud and cluster logs: AWS VPC Flow Logs and CloudTrail, Azure Activity Log, Google Cloud
//! audit logs, Kubernetes audit events and Event objects. One record per line, no syslog header
//! (as the providers' exports and log shippers write them).

use std::fmt::Write as _;

use rand::rngs::SmallRng;
use rand::Rng;

use super::{
    ephemeral_port, fnv, inside_ip, outside_ip, pick, service_port, vpc_interface_id,
    write_json_text, Civil, Device, USERS,
};

/// The 12-digit AWS account (or Azure subscription seed, GCP project number) of a device.
fn account(dev: &Device) -> u64 {
    100_000_000_000 + fnv(&dev.hostname) % 900_000_000_000
}

/// VPC Flow Logs version 2 default format: `version account-id interface-id srcaddr dstaddr
/// srcport dstport protocol packets bytes start end action log-status`; ACCEPT (80%), REJECT
/// (18%), NODATA (2%). The interface id is the device's ([`vpc_interface_id`]).
pub(super) fn vpcflow(rng: &mut SmallRng, dev: &Device, ts_ms: i64, out: &mut String) {
    let end = ts_ms.div_euclid(1000);
    let start = end - rng.gen_range(1..60i64);
    let _ = write!(out, "2 {} ", account(dev));
    vpc_interface_id(dev, out);
    let kind = rng.gen_range(0..100u32);
    if kind >= 98 {
        let _ = write!(out, " - - - - - - - {start} {end} - NODATA");
        return;
    }
    let accept = kind < 80;
    let (src, dst, sport, dport) = if accept {
        (
            inside_ip(rng),
            outside_ip(rng),
            ephemeral_port(rng),
            service_port(rng),
        )
    } else {
        (
            outside_ip(rng),
            inside_ip(rng),
            ephemeral_port(rng),
            service_port(rng),
        )
    };
    let proto = if dport == 53 || dport == 123 { 17 } else { 6 };
    let packets = rng.gen_range(1..2000u32);
    let _ = write!(
        out,
        " {src} {dst} {sport} {dport} {proto} {packets} {} {start} {end} {} OK",
        packets * rng.gen_range(40..1500u32),
        if accept { "ACCEPT" } else { "REJECT" }
    );
}

const AWS_CALLS: [(&str, &str, bool); 8] = [
    ("s3.amazonaws.com", "GetObject", true),
    ("s3.amazonaws.com", "PutObject", false),
    ("ec2.amazonaws.com", "DescribeInstances", true),
    ("ec2.amazonaws.com", "RunInstances", false),
    ("iam.amazonaws.com", "ListRoles", true),
    ("sts.amazonaws.com", "AssumeRole", true),
    ("kms.amazonaws.com", "Decrypt", true),
    ("lambda.amazonaws.com", "Invoke", false),
];
const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"];

fn write_uuid(rng: &mut SmallRng, out: &mut String) {
    let (a, b) = (rng.gen::<u64>(), rng.gen::<u64>());
    let _ = write!(
        out,
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    );
}

/// CloudTrail management and data events (90%) and console sign-ins (10%), one record per
/// line; the account is the device's.
pub(super) fn cloudtrail(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    let acct = account(dev);
    let user = pick(rng, &USERS);
    let region = pick(rng, &REGIONS);
    let console = rng.gen_range(0..10u32) == 0;
    let _ = write!(
        out,
        "{{\"eventVersion\":\"1.09\",\"userIdentity\":{{\"type\":\"IAMUser\",\"principalId\":\"AIDA{:016X}\",\"arn\":\"arn:aws:iam::{acct}:user/{user}\",\"accountId\":\"{acct}\",\"userName\":\"{user}\"}},\"eventTime\":\"",
        fnv(user)
    );
    t.write_rfc3339_secs(out);
    if console {
        let ok = rng.gen_bool(0.8);
        let _ = write!(
            out,
            "\",\"eventSource\":\"signin.amazonaws.com\",\"eventName\":\"ConsoleLogin\",\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"{}\",\"userAgent\":\"Mozilla/5.0\",{}\"requestParameters\":null,\"responseElements\":{{\"ConsoleLogin\":\"{}\"}},\"additionalEventData\":{{\"MFAUsed\":\"{}\"}},\"eventID\":\"",
            outside_ip(rng),
            if ok { "" } else { "\"errorMessage\":\"Failed authentication\"," },
            if ok { "Success" } else { "Failure" },
            if ok { "Yes" } else { "No" }
        );
        write_uuid(rng, out);
        let _ = write!(
            out,
            "\",\"eventType\":\"AwsConsoleSignIn\",\"recipientAccountId\":\"{acct}\"}}"
        );
        return;
    }
    let (source, name, read_only) = AWS_CALLS[rng.gen_range(0..AWS_CALLS.len())];
    let denied = rng.gen_range(0..20u32) == 0;
    let _ = write!(
        out,
        "\",\"eventSource\":\"{source}\",\"eventName\":\"{name}\",\"awsRegion\":\"{region}\",\"sourceIPAddress\":\"{}\",\"userAgent\":\"{}\",",
        outside_ip(rng),
        pick(rng, &["aws-cli/2.15.0", "Boto3/1.34.0", "terraform/1.7.0"])
    );
    if denied {
        out.push_str("\"errorCode\":\"AccessDenied\",\"errorMessage\":\"User is not authorized to perform this operation\",");
    }
    let _ = write!(
        out,
        "\"requestParameters\":{{\"resource\":\"{}-{:04}\"}},\"responseElements\":null,\"requestID\":\"{:016X}\",\"eventID\":\"",
        pick(rng, &["reports", "backups", "web", "batch"]),
        rng.gen_range(0..10_000u32),
        rng.gen::<u64>()
    );
    write_uuid(rng, out);
    let _ = write!(
        out,
        "\",\"readOnly\":{read_only},\"eventType\":\"AwsApiCall\",\"managementEvent\":true,\"recipientAccountId\":\"{acct}\",\"eventCategory\":\"Management\"}}"
    );
}

const AZ_OPS: [(&str, &str); 6] = [
    (
        "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE",
        "Succeeded.Created",
    ),
    (
        "MICROSOFT.COMPUTE/VIRTUALMACHINES/RESTART/ACTION",
        "Succeeded.",
    ),
    (
        "MICROSOFT.COMPUTE/VIRTUALMACHINES/START/ACTION",
        "Succeeded.",
    ),
    (
        "MICROSOFT.COMPUTE/VIRTUALMACHINES/DEALLOCATE/ACTION",
        "Succeeded.",
    ),
    (
        "MICROSOFT.COMPUTE/VIRTUALMACHINES/EXTENSIONS/WRITE",
        "Succeeded.OK",
    ),
    (
        "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE",
        "Succeeded.Created",
    ),
];

/// Azure Activity Log (Azure Monitor export schema): administrative operations on the
/// device's virtual machine, success (88%), start (7%) or failure (5%).
pub(super) fn azure(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    let sub = fnv(&dev.hostname);
    let (op, sig) = AZ_OPS[rng.gen_range(0..AZ_OPS.len())];
    let (result, sig, level) = match rng.gen_range(0..100u32) {
        0..=87 => ("Success", sig, "Information"),
        88..=94 => ("Start", "Started.", "Information"),
        _ => ("Failure", "Failed.Forbidden", "Error"),
    };
    out.push_str("{\"time\":\"");
    t.write_rfc3339_fine(rng, 4, out);
    let _ = write!(
        out,
        "\",\"resourceId\":\"/SUBSCRIPTIONS/{:08X}-{:04X}-{:04X}-{:04X}-{:012X}/RESOURCEGROUPS/RG-PROD/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/",
        sub >> 32,
        (sub >> 16) & 0xffff,
        sub & 0xffff,
        (sub >> 48) & 0xffff,
        sub & 0xffff_ffff_ffff
    );
    for c in dev.hostname.chars() {
        out.push(c.to_ascii_uppercase());
    }
    let user = pick(rng, &USERS);
    let _ = write!(
        out,
        "\",\"operationName\":\"{op}\",\"category\":\"Administrative\",\"resultType\":\"{result}\",\"resultSignature\":\"{sig}\",\"durationMs\":\"{}\",\"callerIpAddress\":\"{}\",\"correlationId\":\"",
        rng.gen_range(10..9000u32),
        outside_ip(rng)
    );
    write_uuid(rng, out);
    let _ = write!(
        out,
        "\",\"identity\":{{\"claims\":{{\"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn\":\"{user}@contoso.example\",\"name\":\"{user}\"}}}},\"level\":\"{level}\",\"location\":\"westeurope\",\"properties\":{{\"statusCode\":\"{}\"}}}}",
        match result {
            "Failure" => "Forbidden",
            "Start" => "Accepted",
            _ => "OK",
        }
    );
}

const GCP_CALLS: [(&str, &str); 6] = [
    ("compute.googleapis.com", "v1.compute.instances.get"),
    ("compute.googleapis.com", "v1.compute.instances.setMetadata"),
    ("compute.googleapis.com", "v1.compute.instances.stop"),
    ("compute.googleapis.com", "v1.compute.instances.start"),
    ("compute.googleapis.com", "v1.compute.instances.reset"),
    ("compute.googleapis.com", "v1.compute.disks.createSnapshot"),
];

/// Google Cloud audit log entries (admin activity, data access) about the device's Compute
/// Engine instance; 5% denied (status code 7).
pub(super) fn gcp(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    let (service, method) = GCP_CALLS[rng.gen_range(0..GCP_CALLS.len())];
    let denied = rng.gen_range(0..20u32) == 0;
    let project = pick(rng, &["shop-prod", "shop-stage"]);
    out.push_str(
        "{\"protoPayload\":{\"@type\":\"type.googleapis.com/google.cloud.audit.AuditLog\",\"status\":{",
    );
    if denied {
        let _ = write!(
            out,
            "\"code\":7,\"message\":\"Permission '{}' denied on resource\"",
            method.trim_start_matches("v1.")
        );
    }
    let _ = write!(
        out,
        "}},\"authenticationInfo\":{{\"principalEmail\":\"{}@example.com\"}},\"requestMetadata\":{{\"callerIp\":\"{}\",\"callerSuppliedUserAgent\":\"google-cloud-sdk gcloud/467.0.0\"}},\"serviceName\":\"{service}\",\"methodName\":\"{method}\",\"resourceName\":\"projects/{project}/zones/europe-west1-b/instances/",
        pick(rng, &USERS),
        outside_ip(rng)
    );
    write_json_text(&dev.hostname, out);
    let _ = write!(
        out,
        "\"}},\"insertId\":\"{:012x}\",\"resource\":{{\"type\":\"gce_instance\",\"labels\":{{\"instance_id\":\"{}\",\"project_id\":\"{project}\",\"zone\":\"europe-west1-b\"}}}},\"timestamp\":\"",
        rng.gen::<u64>() & 0xffff_ffff_ffff,
        fnv(&dev.hostname) % 10_000_000_000_000_000_000
    );
    t.write_rfc3339_fine(rng, 6, out);
    let _ = write!(
        out,
        "\",\"severity\":\"{}\",\"logName\":\"projects/{project}/logs/cloudaudit.googleapis.com%2F{}\"}}",
        if denied { "ERROR" } else { "NOTICE" },
        if method.ends_with(".get") {
            "data_access"
        } else {
            "activity"
        }
    );
}

const NAMESPACES: [&str; 4] = ["shop", "payments", "monitoring", "default"];
const DEPLOYMENTS: [&str; 5] = ["checkout", "cart", "api", "web", "worker"];

/// `{"kind":"Event","apiVersion":"audit.k8s.io/v1",...` up to and including `"user":{...},`;
/// the request URI is `prefix` `ns` `mid` `name` (`ns` and `name` escaped).
fn audit_head(
    rng: &mut SmallRng,
    level: &str,
    uri: (&str, &str, &str, &str),
    verb: &str,
    user: &str,
    out: &mut String,
) {
    let _ = write!(
        out,
        "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"{level}\",\"auditID\":\""
    );
    write_uuid(rng, out);
    let (prefix, ns, mid, name) = uri;
    out.push_str("\",\"stage\":\"ResponseComplete\",\"requestURI\":\"");
    out.push_str(prefix);
    write_json_text(ns, out);
    out.push_str(mid);
    write_json_text(name, out);
    let _ = write!(out, "\",\"verb\":\"{verb}\",\"user\":{{\"username\":\"");
    write_json_text(user, out);
    out.push_str("\",\"groups\":[\"system:authenticated\"]},");
}

/// Kubernetes audit events (level Metadata): get/list/watch (70%), create/patch/delete (25%)
/// of core and apps objects, forbidden requests (5%). `stageTimestamp` is the event time. The
/// audit format has no host: the device does not appear in the line.
pub(super) fn k8s_audit(rng: &mut SmallRng, _dev: &Device, t: &Civil, out: &mut String) {
    let ns = pick(rng, &NAMESPACES);
    let deploy = pick(rng, &DEPLOYMENTS);
    let kind = rng.gen_range(0..100u32);
    let (verb, resource, group) = match kind {
        0..=39 => ("get", "pods", "v1"),
        40..=59 => ("list", "configmaps", "v1"),
        60..=69 => ("watch", "endpoints", "v1"),
        70..=79 => ("patch", "deployments", "apps/v1"),
        80..=89 => ("create", "pods", "v1"),
        90..=94 => ("delete", "pods", "v1"),
        _ => ("get", "secrets", "v1"),
    };
    let forbidden = kind >= 95;
    let user = if forbidden {
        "system:serviceaccount:ci:builder"
    } else if kind < 70 {
        "system:serviceaccount:monitoring:prometheus"
    } else {
        pick(rng, &["alice@example.com", "bob@example.com", "deploy-bot"])
    };
    let prefix = if group == "v1" {
        "/api/v1/namespaces/"
    } else {
        "/apis/apps/v1/namespaces/"
    };
    let pod_suffix = rng.gen::<u32>() & 0xfffff;
    let _ = write!(
        out,
        "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\""
    );
    write_uuid(rng, out);
    let _ = write!(
        out,
        "\",\"stage\":\"ResponseComplete\",\"requestURI\":\"{prefix}{ns}/{resource}/{deploy}-{pod_suffix:05x}\",\"verb\":\"{verb}\",\"user\":{{\"username\":\"{user}\",\"groups\":[\"system:authenticated\"]}},\"sourceIPs\":[\"{}\"],\"userAgent\":\"{}\",\"objectRef\":{{\"resource\":\"{resource}\",\"namespace\":\"{ns}\",\"name\":\"{deploy}-{pod_suffix:05x}\",\"apiVersion\":\"{}\"}},\"responseStatus\":{{\"metadata\":{{}},",
        inside_ip(rng),
        pick(rng, &["kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819", "prometheus/2.51.0", "argocd-application-controller/v2.10.0"]),
        if group == "v1" { "v1" } else { "apps/v1" }
    );
    if forbidden {
        let _ = write!(
            out,
            "\"status\":\"Failure\",\"message\":\"{resource} is forbidden\",\"reason\":\"Forbidden\",\"code\":403}},"
        );
    } else {
        let code = match verb {
            "create" => 201,
            _ => 200,
        };
        let _ = write!(out, "\"code\":{code}}},");
    }
    audit_tail(rng, t, if forbidden { "forbid" } else { "allow" }, out);
}

/// `"requestReceivedTimestamp":...,"stageTimestamp":...,"annotations":{...}}`.
fn audit_tail(rng: &mut SmallRng, t: &Civil, decision: &str, out: &mut String) {
    out.push_str("\"requestReceivedTimestamp\":\"");
    t.write_rfc3339_fine(rng, 3, out);
    out.push_str("\",\"stageTimestamp\":\"");
    t.write_rfc3339_fine(rng, 3, out);
    let _ = write!(
        out,
        "\",\"annotations\":{{\"authorization.k8s.io/decision\":\"{decision}\",\"authorization.k8s.io/reason\":\"\"}}}}"
    );
}

/// `patch` of `apps/v1` `deployments/<deployment>` in `namespace` by a user, at level Request
/// with the new container image in `requestObject`.
pub(super) fn k8s_rollout_audit(
    rng: &mut SmallRng,
    _dev: &Device,
    t: &Civil,
    namespace: &str,
    deployment: &str,
    image: &str,
    out: &mut String,
) {
    let user = pick(rng, &["alice@example.com", "bob@example.com", "deploy-bot"]);
    audit_head(
        rng,
        "Request",
        (
            "/apis/apps/v1/namespaces/",
            namespace,
            "/deployments/",
            deployment,
        ),
        "patch",
        user,
        out,
    );
    let _ = write!(
        out,
        "\"sourceIPs\":[\"{}\"],\"userAgent\":\"kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819\",\"objectRef\":{{\"resource\":\"deployments\",\"namespace\":\"",
        inside_ip(rng)
    );
    write_json_text(namespace, out);
    out.push_str("\",\"name\":\"");
    write_json_text(deployment, out);
    out.push_str("\",\"apiGroup\":\"apps\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":200},\"requestObject\":{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"");
    write_json_text(deployment, out);
    out.push_str("\",\"image\":\"");
    write_json_text(image, out);
    out.push_str("\"}]}}}},");
    audit_tail(rng, t, "allow", out);
}

/// What a Kubernetes Event says.
#[derive(Debug, Clone, Copy)]
pub(super) struct K8sEvent<'a> {
    pub warning: bool,
    pub reason: &'a str,
    pub namespace: &'a str,
    /// `kind/name` (`pod/checkout-7d9f-abcde`), or a bare name (a Pod).
    pub object: &'a str,
    pub message: Msg<'a>,
    pub component: &'a str,
}

/// An Event's message.
#[derive(Debug, Clone, Copy)]
pub(super) enum Msg<'a> {
    Text(&'a str),
    /// `Scaled up replica set <deployment>-<hash> to <replicas>`.
    ScaledUp {
        deployment: &'a str,
        hash: u32,
        replicas: u32,
    },
}

/// The `kind` of an object reference's lower-case kind (`pod` -> `Pod`, `replicaset` ->
/// `ReplicaSet`).
fn kind_of(kind: &str, out: &mut String) {
    let known = [
        ("pod", "Pod"),
        ("deployment", "Deployment"),
        ("replicaset", "ReplicaSet"),
        ("statefulset", "StatefulSet"),
        ("daemonset", "DaemonSet"),
        ("node", "Node"),
        ("service", "Service"),
        ("job", "Job"),
        ("cronjob", "CronJob"),
        ("persistentvolumeclaim", "PersistentVolumeClaim"),
        ("horizontalpodautoscaler", "HorizontalPodAutoscaler"),
    ];
    let lower = kind.trim();
    if let Some((_, k)) = known.iter().find(|(l, _)| l.eq_ignore_ascii_case(lower)) {
        out.push_str(k);
        return;
    }
    let mut first = true;
    for c in lower.chars() {
        if first {
            out.push(c.to_ascii_uppercase());
            first = false;
        } else {
            out.push(c);
        }
    }
}

/// A `v1` Event object as `kubectl get events -o json` / event exporters write it; the
/// reporting node (`source.host`) is the device.
/// With `deployment`, the involved object is that Deployment (and `e.object` is not read).
pub(super) fn k8s_event_of(
    rng: &mut SmallRng,
    dev: &Device,
    t: &Civil,
    e: K8sEvent<'_>,
    deployment: Option<&str>,
    out: &mut String,
) {
    let (kind, name) = match (deployment, e.object.split_once('/')) {
        (Some(d), _) => ("deployment", d),
        (None, Some((k, n))) => (k, n),
        (None, None) => ("pod", e.object),
    };
    out.push_str("{\"kind\":\"Event\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"");
    write_json_text(name, out);
    let _ = write!(out, ".{:016x}\",\"namespace\":\"", rng.gen::<u64>());
    write_json_text(e.namespace, out);
    out.push_str("\",\"uid\":\"");
    write_uuid(rng, out);
    out.push_str("\"},\"involvedObject\":{\"kind\":\"");
    kind_of(kind, out);
    out.push_str("\",\"namespace\":\"");
    write_json_text(e.namespace, out);
    out.push_str("\",\"name\":\"");
    write_json_text(name, out);
    out.push_str("\"},\"reason\":\"");
    write_json_text(e.reason, out);
    out.push_str("\",\"message\":\"");
    match e.message {
        Msg::Text(text) => write_json_text(text, out),
        Msg::ScaledUp {
            deployment,
            hash,
            replicas,
        } => {
            out.push_str("Scaled up replica set ");
            write_json_text(deployment, out);
            let _ = write!(out, "-{hash:07x} to {replicas}");
        }
    }
    let _ = write!(
        out,
        "\",\"source\":{{\"component\":\"{}\",\"host\":\"",
        e.component
    );
    write_json_text(&dev.hostname, out);
    out.push_str("\"},\"firstTimestamp\":\"");
    t.write_rfc3339_secs(out);
    out.push_str("\",\"lastTimestamp\":\"");
    t.write_rfc3339_secs(out);
    let _ =
        write!(
        out,
        "\",\"count\":{},\"type\":\"{}\",\"reportingComponent\":\"{}\",\"reportingInstance\":\"",
        if e.warning { rng.gen_range(1..30u32) } else { 1 },
        if e.warning { "Warning" } else { "Normal" },
        e.component
    );
    write_json_text(&dev.hostname, out);
    out.push_str("\"}");
}

/// Normal `ScalingReplicaSet` of the deployment-controller about `deployment`.
pub(super) fn k8s_rollout_event(
    rng: &mut SmallRng,
    dev: &Device,
    t: &Civil,
    namespace: &str,
    deployment: &str,
    out: &mut String,
) {
    let hash = rng.gen::<u32>() & 0xfff_ffff;
    let replicas = rng.gen_range(1..6u32);
    k8s_event_of(
        rng,
        dev,
        t,
        K8sEvent {
            warning: false,
            reason: "ScalingReplicaSet",
            namespace,
            object: "",
            message: Msg::ScaledUp {
                deployment,
                hash,
                replicas,
            },
            component: "deployment-controller",
        },
        Some(deployment),
        out,
    );
}

const WARNINGS: [(&str, &str); 4] = [
    ("BackOff", "Back-off restarting failed container"),
    (
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 503",
    ),
    (
        "FailedScheduling",
        "0/6 nodes are available: 6 Insufficient memory.",
    ),
    (
        "FailedMount",
        "MountVolume.SetUp failed for volume \"config\" : configmap \"app-config\" not found",
    ),
];
const NORMALS: [(&str, &str); 5] = [
    ("Scheduled", "Successfully assigned pod to node"),
    ("Pulled", "Container image already present on machine"),
    ("Created", "Created container app"),
    ("Started", "Started container app"),
    ("Killing", "Stopping container app"),
];

/// Kubernetes Event objects: pod lifecycle (Scheduled, Pulled, Created, Started, Killing:
/// 85%) and warnings (BackOff, Unhealthy, FailedScheduling, FailedMount: 15%).
pub(super) fn k8s_event(rng: &mut SmallRng, dev: &Device, t: &Civil, out: &mut String) {
    let warning = rng.gen_range(0..100u32) < 15;
    let (reason, message) = if warning {
        WARNINGS[rng.gen_range(0..WARNINGS.len())]
    } else {
        NORMALS[rng.gen_range(0..NORMALS.len())]
    };
    let mut name = [0u8; 48];
    let mut w = super::SliceWriter {
        buf: &mut name,
        len: 0,
    };
    let _ = write!(
        w,
        "pod/{}-{:08x}-{:05x}",
        pick(rng, &DEPLOYMENTS),
        rng.gen::<u32>(),
        rng.gen::<u32>() & 0xfffff
    );
    let n = w.len;
    let object = std::str::from_utf8(&name[..n]).unwrap_or("pod/app-0");
    let component = if reason == "Scheduled" || reason == "FailedScheduling" {
        "default-scheduler"
    } else {
        "kubelet"
    };
    let namespace = pick(rng, &NAMESPACES);
    k8s_event_of(
        rng,
        dev,
        t,
        K8sEvent {
            warning,
            reason,
            namespace,
            object,
            message: Msg::Text(message),
            component,
        },
        None,
        out,
    );
}
