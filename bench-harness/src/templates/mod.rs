//! Line templates: realistic log lines of every vendor the engine ships a mapping for, written
//! from the vendors' documented formats, and host metrics as Telegraf JSON.
//!
//! Two ways in:
//! - [`Renderer`] (the pool's): picks one of `devices` simulated devices per line and writes a
//!   complete syslog line (always with a `<PRI>` header; vendors that do not send one, such as
//!   the cloud JSON logs, are relayed behind a collector's RFC 3164 header).
//! - [`render_normal`], [`render_special`], [`render_metric`] (the scenario engine's): one line
//!   of a vendor for an explicit [`Device`], exactly as the vendor writes it (no framing, no
//!   trailing newline; the `<PRI>` header only where the vendor sends one).
//!
//! Every line carries its event time `ts_ms` in the vendor's own timestamp format, and the
//! device's hostname where the vendor's mapping reads `device.hostname`, so the normalised
//! event's `tocsin.entity` is the device's hostname. Exceptions (the mapping names another
//! entity, or the format has no host):
//! - `aws_vpcflow`: the entity is the interface id, `eni-` and 17 hex digits derived from the
//!   hostname ([`vpc_interface_id`]); the format has no host.
//! - `aws_cloudtrail`: the entity is the `eventSource` (the AWS service called).
//! - `azure_activity`: the entity is the lower-cased `resourceId` (the hostname is its last
//!   segment, a virtual machine or resource name).
//! - `gcp_audit`: the entity is the `resourceName` (the hostname is the instance name in it).
//! - `kubernetes_audit`: the entity is `namespace/resource` of the object acted on; the audit
//!   format has no host, so the device does not appear in the line.
//! - `kubernetes_events`: the entity is `namespace/name` of the involved object; the hostname
//!   is the reporting node (`source.host`), so `device.hostname` is the device's.
//!
//! Rendering allocates nothing beyond `out` growing: numbers and addresses are written with
//! `write!` straight into `out`, and choices come from constant tables.

mod cloud;
mod firewalls;
mod fortigate;
mod host;
mod network;

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use rand::rngs::SmallRng;
use rand::Rng;

/// A family of devices whose log format the harness can produce: every vendor mapping the
/// engine ships (`config/vendors/<name>.toml`), named as the engine names it ([`Vendor::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vendor {
    /// `cisco_asa`: Cisco ASA `%ASA-<sev>-<id>:` messages, Cisco timestamp with the year.
    Asa,
    /// `cisco_ios`: Cisco IOS `%FAC-SEV-MNEMONIC:` with sequence number and origin id.
    CiscoIos,
    /// `panw_panos`: Palo Alto PAN-OS TRAFFIC, THREAT, SYSTEM, AUTHENTICATION, GLOBALPROTECT CSV.
    PanOs,
    /// `fortinet_fortigate`: FortiGate key=value logs (no syslog header after the PRI).
    FortiGate,
    /// `checkpoint`: Check Point Log Exporter, RFC 5424 with `[key:"value"; ...]` data.
    Checkpoint,
    /// `juniper_srx`: Junos SRX RT_FLOW, RT_IDS screens, logins, link traps.
    JuniperSrx,
    /// `sophos_xg`: Sophos Firewall (SFOS 18) key=value logs behind an RFC 3164 header with the
    /// device's hostname (the body's `device_name` is not read as the host by the mapping).
    SophosXg,
    /// `pfsense`: pfSense `filterlog` CSV and webConfigurator logins (its sshd lines are left
    /// out: auto-detection gives them to `linux_auth`).
    Pfsense,
    /// `aws_vpcflow`: VPC Flow Logs, version 2 default format.
    AwsVpcFlow,
    /// `aws_cloudtrail`: one CloudTrail record per line.
    AwsCloudTrail,
    /// `azure_activity`: Azure Activity Log records (Azure Monitor export schema).
    AzureActivity,
    /// `gcp_audit`: Google Cloud audit log entries.
    GcpAudit,
    /// `kubernetes_audit`: `audit.k8s.io/v1` events.
    KubernetesAudit,
    /// `kubernetes_events`: `v1` Event objects.
    KubernetesEvents,
    /// `nginx_access`: nginx `combined` + `$request_time` behind nginx's syslog header.
    NginxAccess,
    /// `apache_access`: Apache `combined` + `%D` piped to syslog (`httpd[pid]:`).
    ApacheAccess,
    /// `linux_auth`: sshd, sudo, su, PAM, systemd-logind lines in RFC 3164.
    Sshd,
    /// `generic_json`: application JSON logs with common field names.
    GenericJson,
}

impl Vendor {
    pub const ALL: [Vendor; 18] = [
        Vendor::Asa,
        Vendor::CiscoIos,
        Vendor::PanOs,
        Vendor::FortiGate,
        Vendor::Checkpoint,
        Vendor::JuniperSrx,
        Vendor::SophosXg,
        Vendor::Pfsense,
        Vendor::AwsVpcFlow,
        Vendor::AwsCloudTrail,
        Vendor::AzureActivity,
        Vendor::GcpAudit,
        Vendor::KubernetesAudit,
        Vendor::KubernetesEvents,
        Vendor::NginxAccess,
        Vendor::ApacheAccess,
        Vendor::Sshd,
        Vendor::GenericJson,
    ];

    /// The engine's name of the vendor (its mapping file's name).
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Asa => "cisco_asa",
            Vendor::CiscoIos => "cisco_ios",
            Vendor::PanOs => "panw_panos",
            Vendor::FortiGate => "fortinet_fortigate",
            Vendor::Checkpoint => "checkpoint",
            Vendor::JuniperSrx => "juniper_srx",
            Vendor::SophosXg => "sophos_xg",
            Vendor::Pfsense => "pfsense",
            Vendor::AwsVpcFlow => "aws_vpcflow",
            Vendor::AwsCloudTrail => "aws_cloudtrail",
            Vendor::AzureActivity => "azure_activity",
            Vendor::GcpAudit => "gcp_audit",
            Vendor::KubernetesAudit => "kubernetes_audit",
            Vendor::KubernetesEvents => "kubernetes_events",
            Vendor::NginxAccess => "nginx_access",
            Vendor::ApacheAccess => "apache_access",
            Vendor::Sshd => "linux_auth",
            Vendor::GenericJson => "generic_json",
        }
    }

    /// The vendor of an engine name or a short alias (case-insensitive).
    pub fn from_name(name: &str) -> Option<Vendor> {
        let lower = name.to_ascii_lowercase();
        if let Some(v) = Vendor::ALL.into_iter().find(|v| v.name() == lower) {
            return Some(v);
        }
        Some(match lower.as_str() {
            "asa" | "cisco" | "cisco-asa" => Vendor::Asa,
            "ios" | "cisco-ios" => Vendor::CiscoIos,
            "panos" | "pan-os" | "paloalto" => Vendor::PanOs,
            "fortigate" | "forti" | "fortinet" => Vendor::FortiGate,
            "checkpoint" | "check-point" | "cp" => Vendor::Checkpoint,
            "srx" | "juniper" | "junos" => Vendor::JuniperSrx,
            "sophos" | "xg" | "sfos" => Vendor::SophosXg,
            "pfsense" | "opnsense" => Vendor::Pfsense,
            "vpcflow" | "vpc" => Vendor::AwsVpcFlow,
            "cloudtrail" => Vendor::AwsCloudTrail,
            "azure" => Vendor::AzureActivity,
            "gcp" => Vendor::GcpAudit,
            "k8s-audit" | "k8saudit" => Vendor::KubernetesAudit,
            "k8s-events" | "k8sevents" | "k8s" => Vendor::KubernetesEvents,
            "nginx" => Vendor::NginxAccess,
            "apache" | "httpd" => Vendor::ApacheAccess,
            "sshd" | "linux" | "auth" => Vendor::Sshd,
            "json" => Vendor::GenericJson,
            _ => return None,
        })
    }

    /// Hostname prefix of the [`Renderer`]'s simulated devices of this vendor.
    fn host_prefix(self) -> &'static str {
        match self {
            Vendor::Asa => "asa-fw-",
            Vendor::CiscoIos => "ios-rtr-",
            Vendor::PanOs => "pa-fw-",
            Vendor::FortiGate => "FGT-",
            Vendor::Checkpoint => "cp-gw-",
            Vendor::JuniperSrx => "srx-edge-",
            Vendor::SophosXg => "xg-fw-",
            Vendor::Pfsense => "pfsense-",
            Vendor::AwsVpcFlow => "vpc-collector-",
            Vendor::AwsCloudTrail => "aws-acct-",
            Vendor::AzureActivity => "az-vm-",
            Vendor::GcpAudit => "gce-",
            Vendor::KubernetesAudit => "k8s-cp-",
            Vendor::KubernetesEvents => "k8s-node-",
            Vendor::NginxAccess => "web-",
            Vendor::ApacheAccess => "www-",
            Vendor::Sshd => "bastion-",
            Vendor::GenericJson => "app-",
        }
    }

    /// The syslog tag a collector relays this vendor's header-less lines under.
    pub fn relay_tag(self) -> &'static str {
        match self {
            Vendor::AwsVpcFlow => "vpcflow",
            Vendor::AwsCloudTrail => "cloudtrail",
            Vendor::AzureActivity => "azure-activity",
            Vendor::GcpAudit => "gcp-audit",
            Vendor::KubernetesAudit => "kube-apiserver-audit",
            Vendor::KubernetesEvents => "k8s-events",
            _ => "app",
        }
    }
}

/// Relative weights of the vendors in the generated traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct Mix {
    weights: Vec<(Vendor, u32)>,
    total: u32,
}

impl Mix {
    pub fn new(weights: Vec<(Vendor, u32)>) -> Result<Mix, String> {
        let total = weights.iter().map(|(_, w)| *w).sum::<u32>();
        if total == 0 {
            return Err("the vendor mix needs at least one positive weight".into());
        }
        Ok(Mix { weights, total })
    }

    pub fn pick(&self, rng: &mut SmallRng) -> Vendor {
        let mut x = rng.gen_range(0..self.total);
        for (v, w) in &self.weights {
            if x < *w {
                return *v;
            }
            x -= w;
        }
        self.weights[0].0
    }
}

/// One reporting device: its hostname and management IP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub hostname: String,
    pub ip: Ipv4Addr,
}

// The scenario engine (scenario*.rs, written in parallel) is this API's caller; until it is
// wired in, the binary itself does not call it.
/// A line that carries a fault signal, for [`render_special`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special<'a> {
    /// A failed login from `src_ip` as `user`: linux_auth (sshd Failed password / invalid
    /// user), cisco_asa (113015 AAA user authentication Rejected), fortinet_fortigate (admin
    /// login failed), panw_panos (AUTHENTICATION auth-fail), sophos_xg (Firewall
    /// Authentication Failed), cisco_ios (SEC_LOGIN-4-LOGIN_FAILED), juniper_srx
    /// (SSHD_LOGIN_FAILED), pfsense (webConfigurator authentication error), checkpoint (Mobile
    /// Access Failed Log In).
    AuthFailure { src_ip: Ipv4Addr, user: &'a str },
    /// An access-log line with this status and path, and the request time where the format
    /// has one: nginx_access (`$request_time`), apache_access (`%D`, microseconds).
    HttpStatus {
        status: u16,
        path: &'a str,
        duration_ms: u32,
    },
    /// An interface going down: cisco_ios (%LINK-3-UPDOWN, %LINEPROTO-5-UPDOWN), juniper_srx
    /// (SNMP_TRAP_LINK_DOWN), cisco_asa (105005 failover communications lost on an interface).
    LinkDown { interface: &'a str },
    /// A Warning Kubernetes event (BackOff, Unhealthy, FailedScheduling, ...) about `object`
    /// (e.g. "pod/checkout-7d9f-abcde") in `namespace`: kubernetes_events.
    K8sWarning {
        reason: &'a str,
        namespace: &'a str,
        object: &'a str,
        message: &'a str,
    },
    /// A deployment rollout: kubernetes_events (Normal ScalingReplicaSet) and kubernetes_audit
    /// (patch of apps/v1 deployments by a user, with the new image).
    Rollout {
        namespace: &'a str,
        deployment: &'a str,
        image: &'a str,
    },
}

// The scenario engine (scenario*.rs, written in parallel) is this API's caller; until it is
// wired in, the binary itself does not call it.
/// A host metric, for [`render_metric`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Telegraf `cpu` `usage_active` (percent) -> `metrics.cpu_pct`.
    CpuPct,
    /// Telegraf `mem` `used_percent` -> `metrics.mem_pct`.
    MemPct,
    /// Telegraf `ping` `average_response_ms` -> `metrics.latency_ms`.
    LatencyMs,
}

impl Metric {
    /// The `metrics.<name>` the engine's `telegraf_json` mapping puts the value in.
    #[cfg(test)]
    pub fn field(self) -> &'static str {
        match self {
            Metric::CpuPct => "cpu_pct",
            Metric::MemPct => "mem_pct",
            Metric::LatencyMs => "latency_ms",
        }
    }
}

/// One ordinary line of this vendor for `dev` at event time `ts_ms`: a realistic mix of the
/// vendor's common message types (weights as an MSP sees them), varying IPs, ports, users,
/// paths, ids. No framing, no trailing newline.
pub fn render_normal(v: Vendor, dev: &Device, ts_ms: i64, rng: &mut SmallRng, out: &mut String) {
    let t = Civil::from_unix_ms(ts_ms);
    match v {
        Vendor::Asa => network::asa(rng, dev, &t, out),
        Vendor::CiscoIos => network::ios(rng, dev, &t, out),
        Vendor::PanOs => network::panos(rng, dev, &t, out),
        Vendor::FortiGate => fortigate::fortigate(rng, dev, ts_ms, &t, out),
        Vendor::Checkpoint => firewalls::checkpoint(rng, dev, ts_ms, &t, out),
        Vendor::JuniperSrx => network::srx(rng, dev, &t, out),
        Vendor::SophosXg => firewalls::sophos(rng, dev, &t, out),
        Vendor::Pfsense => firewalls::pfsense(rng, dev, &t, out),
        Vendor::AwsVpcFlow => cloud::vpcflow(rng, dev, ts_ms, out),
        Vendor::AwsCloudTrail => cloud::cloudtrail(rng, dev, &t, out),
        Vendor::AzureActivity => cloud::azure(rng, dev, &t, out),
        Vendor::GcpAudit => cloud::gcp(rng, dev, &t, out),
        Vendor::KubernetesAudit => cloud::k8s_audit(rng, dev, &t, out),
        Vendor::KubernetesEvents => cloud::k8s_event(rng, dev, &t, out),
        Vendor::NginxAccess => host::nginx(rng, dev, &t, out),
        Vendor::ApacheAccess => host::apache(rng, dev, &t, out),
        Vendor::Sshd => host::linux_auth(rng, dev, &t, out),
        Vendor::GenericJson => host::generic_json(rng, dev, &t, out),
    }
}

// The scenario engine (scenario*.rs, written in parallel) is this API's caller; until it is
// wired in, the binary itself does not call it.
/// A line of vendor `v` that carries the fault signal `s`; returns false (and writes nothing)
/// when `v` cannot express it. Which vendors express which signal: see [`Special`].
pub fn render_special(
    v: Vendor,
    s: &Special<'_>,
    dev: &Device,
    ts_ms: i64,
    rng: &mut SmallRng,
    out: &mut String,
) -> bool {
    let t = Civil::from_unix_ms(ts_ms);
    match *s {
        Special::AuthFailure { src_ip, user } => match v {
            Vendor::Sshd => host::linux_auth_failure(rng, dev, &t, src_ip, user, out),
            Vendor::Asa => network::asa_auth_failure(rng, dev, &t, src_ip, user, out),
            Vendor::CiscoIos => network::ios_auth_failure(rng, dev, &t, src_ip, user, out),
            Vendor::PanOs => network::panos_auth_failure(rng, dev, &t, src_ip, user, out),
            Vendor::JuniperSrx => network::srx_auth_failure(rng, dev, &t, src_ip, user, out),
            Vendor::FortiGate => {
                fortigate::admin_login(rng, dev, ts_ms, &t, Some((src_ip, user)), out);
            }
            Vendor::SophosXg => firewalls::sophos_auth(rng, dev, &t, Some((src_ip, user)), out),
            Vendor::Pfsense => firewalls::pfsense_auth_failure(rng, dev, &t, src_ip, user, out),
            Vendor::Checkpoint => {
                firewalls::checkpoint_failed_login(rng, dev, ts_ms, &t, src_ip, user, out);
            }
            _ => return false,
        },
        Special::HttpStatus {
            status,
            path,
            duration_ms,
        } => match v {
            Vendor::NginxAccess => host::nginx_line(rng, dev, &t, status, path, duration_ms, out),
            Vendor::ApacheAccess => {
                host::apache_line(rng, dev, &t, status, path, duration_ms, out);
            }
            _ => return false,
        },
        Special::LinkDown { interface } => match v {
            Vendor::CiscoIos => network::ios_link_down(rng, dev, &t, interface, out),
            Vendor::JuniperSrx => network::srx_link_down(rng, dev, &t, interface, out),
            Vendor::Asa => network::asa_link_down(dev, &t, interface, out),
            _ => return false,
        },
        Special::K8sWarning {
            reason,
            namespace,
            object,
            message,
        } => match v {
            Vendor::KubernetesEvents => cloud::k8s_event_of(
                rng,
                dev,
                &t,
                cloud::K8sEvent {
                    warning: true,
                    reason,
                    namespace,
                    object,
                    message: cloud::Msg::Text(message),
                    component: "kubelet",
                },
                None,
                out,
            ),
            _ => return false,
        },
        Special::Rollout {
            namespace,
            deployment,
            image,
        } => match v {
            Vendor::KubernetesEvents => {
                cloud::k8s_rollout_event(rng, dev, &t, namespace, deployment, out)
            }
            Vendor::KubernetesAudit => {
                cloud::k8s_rollout_audit(rng, dev, &t, namespace, deployment, image, out)
            }
            _ => return false,
        },
    }
    true
}

// The scenario engine (scenario*.rs, written in parallel) is this API's caller; until it is
// wired in, the binary itself does not call it.
/// One host-metric sample as a Telegraf JSON serializer line (`json_timestamp_units = "1s"`,
/// the default): `{"fields":{...},"name":"cpu","tags":{"cpu":"cpu-total","host":"web-01"},
/// "timestamp":1700000000}`, with `value` in the field the engine's `telegraf_json` mapping
/// reads (see [`Metric`]) and plausible companions.
pub fn render_metric(m: Metric, dev: &Device, ts_ms: i64, value: f64, out: &mut String) {
    let value = if value.is_finite() { value } else { 0.0 };
    let secs = ts_ms.div_euclid(1000);
    match m {
        Metric::CpuPct => {
            let v = value.clamp(0.0, 100.0);
            let _ = write!(
                out,
                "{{\"fields\":{{\"usage_active\":{v},\"usage_idle\":{},\"usage_iowait\":0.1,\"usage_system\":{},\"usage_user\":{}}},\"name\":\"cpu\",\"tags\":{{\"cpu\":\"cpu-total\",\"host\":\"",
                100.0 - v,
                v * 0.25,
                v * 0.75
            );
        }
        Metric::MemPct => {
            let v = value.clamp(0.0, 100.0);
            let total: u64 = 16_777_216 * 1024;
            let used = (total as f64 * v / 100.0) as u64;
            let _ = write!(
                out,
                "{{\"fields\":{{\"available\":{},\"available_percent\":{},\"total\":{total},\"used\":{used},\"used_percent\":{v}}},\"name\":\"mem\",\"tags\":{{\"host\":\"",
                total - used,
                100.0 - v
            );
        }
        Metric::LatencyMs => {
            let v = value.max(0.0);
            let _ = write!(
                out,
                "{{\"fields\":{{\"average_response_ms\":{v},\"maximum_response_ms\":{},\"minimum_response_ms\":{},\"packets_received\":5,\"packets_transmitted\":5,\"percent_packet_loss\":0,\"result_code\":0,\"standard_deviation_ms\":{},\"ttl\":63}},\"name\":\"ping\",\"tags\":{{\"url\":\"{}\",\"host\":\"",
                v * 1.4,
                v * 0.7,
                v * 0.2,
                dev.ip
            );
        }
    }
    write_json_text(&dev.hostname, out);
    let _ = write!(out, "\"}},\"timestamp\":{secs}}}");
}

/// Renders lines for a set of simulated devices.
#[derive(Debug)]
pub struct Renderer {
    rng: SmallRng,
    devices: u32,
    /// The device of the line being rendered (its hostname reused from line to line).
    device: Device,
}

impl Renderer {
    pub fn new(rng: SmallRng, devices: u32) -> Renderer {
        Renderer {
            rng,
            devices: devices.max(1),
            device: Device {
                hostname: String::with_capacity(32),
                ip: Ipv4Addr::UNSPECIFIED,
            },
        }
    }

    pub fn rng(&mut self) -> &mut SmallRng {
        &mut self.rng
    }

    /// Appends one line (PRI header included, no framing) for `vendor` at `ts_ms` to `out`,
    /// from one of the renderer's devices of that vendor. Vendors whose own lines have no
    /// `<PRI>` (cloud JSON, VPC flow logs, application JSON) come relayed behind a collector's
    /// RFC 3164 header, tagged per vendor, as a syslog transport carries them.
    pub fn render(&mut self, vendor: Vendor, ts_ms: i64, out: &mut String) {
        let index = self.rng.gen_range(0..self.devices);
        let slot = Vendor::ALL.iter().position(|v| *v == vendor).unwrap_or(0) as u32;
        self.device.hostname.clear();
        let _ = write!(
            self.device.hostname,
            "{}{:02}",
            vendor.host_prefix(),
            index + 1
        );
        self.device.ip = Ipv4Addr::from(0x0a00_0000 | (100 + slot) << 16 | (index + 1) & 0xffff);
        let start = out.len();
        render_normal(vendor, &self.device, ts_ms, &mut self.rng, out);
        relay_bare(vendor.relay_tag(), &self.device.hostname, ts_ms, out, start);
    }
}

/// Puts a collector's RFC 3164 header (`<14>`, the time, `host`, `tag:`) before the line written
/// at `out[start..]` when it has no `<PRI>` of its own (cloud JSON, VPC flow logs, application
/// JSON, metrics), as a syslog relay carries such lines. Without it a syslog receiver may take
/// a line that starts with digits (a VPC flow record) for an RFC 6587 octet count.
pub fn relay_bare(tag: &str, host: &str, ts_ms: i64, out: &mut String, start: usize) {
    if out[start..].starts_with('<') {
        return;
    }
    let mut header = [0u8; 160];
    let mut w = SliceWriter {
        buf: &mut header,
        len: 0,
    };
    // `<14>` and the 15-byte time always fit; the host name may not.
    let _ = write!(w, "<14>");
    Civil::from_unix_ms(ts_ms).write_3164(&mut w);
    let fits = write!(w, " {host} {tag}: ").is_ok();
    let n = w.len;
    match (fits, std::str::from_utf8(&header[..n])) {
        (true, Ok(h)) => out.insert_str(start, h),
        _ => {
            // A host name too long for the stack buffer: the same header, allocated.
            let mut h = String::from("<14>");
            Civil::from_unix_ms(ts_ms).write_3164(&mut h);
            let _ = write!(h, " {host} {tag}: ");
            out.insert_str(start, &h);
        }
    }
}

/// A fixed buffer as a `fmt::Write` (the relay header is built without allocating).
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl std::fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// A UTC calendar time broken into fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    milli: u32,
    /// Days since 1970-01-01.
    days: i64,
}

impl Civil {
    /// Days-to-civil conversion (H. Hinnant's algorithm), UTC.
    fn from_unix_ms(ms: i64) -> Civil {
        let secs = ms.div_euclid(1000);
        let milli = ms.rem_euclid(1000) as u32;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: sod / 3600,
            min: sod / 60 % 60,
            sec: sod % 60,
            milli,
            days,
        }
    }

    fn mon(&self) -> &'static str {
        MONTHS[(self.month as usize).saturating_sub(1) % 12]
    }

    fn weekday(&self) -> &'static str {
        WEEKDAYS[self.days.rem_euclid(7) as usize]
    }

    /// `May  1 12:00:00` (RFC 3164).
    fn write_3164(&self, out: &mut impl std::fmt::Write) {
        let _ = write!(
            out,
            "{} {:>2} {:02}:{:02}:{:02}",
            self.mon(),
            self.day,
            self.hour,
            self.min,
            self.sec
        );
    }

    /// `May 01 2024 12:00:00` (Cisco with `logging timestamp` and year).
    fn write_cisco(&self, out: &mut String) {
        let _ = write!(
            out,
            "{} {:02} {} {:02}:{:02}:{:02}",
            self.mon(),
            self.day,
            self.year,
            self.hour,
            self.min,
            self.sec
        );
    }

    /// `*May  1 12:00:00.123 UTC` (IOS `service timestamps log datetime msec show-timezone`).
    fn write_ios(&self, out: &mut String) {
        let _ = write!(
            out,
            "*{} {:>2} {:02}:{:02}:{:02}.{:03} UTC",
            self.mon(),
            self.day,
            self.hour,
            self.min,
            self.sec,
            self.milli
        );
    }

    /// `2024-05-01T12:00:00.123Z` (RFC 5424 / RFC 3339).
    fn write_rfc3339(&self, out: &mut String) {
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.year, self.month, self.day, self.hour, self.min, self.sec, self.milli
        );
    }

    /// `2024-05-01T12:00:00.123` then `extra` more fraction digits from `rng`, then `Z`.
    fn write_rfc3339_fine(&self, rng: &mut SmallRng, extra: u32, out: &mut String) {
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
            self.year, self.month, self.day, self.hour, self.min, self.sec, self.milli
        );
        for _ in 0..extra {
            out.push(char::from(b'0' + rng.gen_range(0..10u8)));
        }
        out.push('Z');
    }

    /// `2024-05-01T12:00:00Z` (whole seconds).
    fn write_rfc3339_secs(&self, out: &mut String) {
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.min, self.sec
        );
    }

    /// `01/May/2024:12:00:00 +0000` (Apache/nginx `%t` / `$time_local`).
    fn write_clf(&self, out: &mut String) {
        let _ = write!(
            out,
            "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
            self.day,
            self.mon(),
            self.year,
            self.hour,
            self.min,
            self.sec
        );
    }

    /// `2024/05/01` (PAN-OS), with `sep` between the date parts.
    fn write_date(&self, sep: char, out: &mut String) {
        let _ = write!(
            out,
            "{:04}{sep}{:02}{sep}{:02}",
            self.year, self.month, self.day
        );
    }

    fn write_time(&self, out: &mut String) {
        let _ = write!(out, "{:02}:{:02}:{:02}", self.hour, self.min, self.sec);
    }
}

/// `<PRI>` for a facility and severity (RFC 5424 section 6.2.1).
fn write_pri(facility: u8, severity: u8, out: &mut String) {
    let _ = write!(out, "<{}>", u32::from(facility) * 8 + u32::from(severity));
}

/// `text` inside a JSON string: `"`, `\` and control characters escaped.
fn write_json_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// `text` in a syslog line: line breaks and other control characters become spaces; with
/// `no_space`, so do spaces (a value the format delimits by spaces); `"` becomes `'` when
/// `no_quote` (a value inside quotes).
fn write_clean(text: &str, no_space: bool, no_quote: bool, out: &mut String) {
    for c in text.chars() {
        let c = if c.is_control() || (no_space && c == ' ') {
            '_'
        } else if no_quote && (c == '"' || c == '\\') {
            '\''
        } else {
            c
        };
        out.push(c);
    }
}

/// A FNV-1a hash of `text` (stable ids derived from a hostname).
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The VPC flow log interface id (`eni-` and 17 hex digits) of a device: the event's entity.
pub fn vpc_interface_id(dev: &Device, out: &mut String) {
    let _ = write!(out, "eni-0{:016x}", fnv(&dev.hostname));
}

const USERS: [&str; 16] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "oscar", "peggy", "trent", "victor", "walter",
];
const BAD_USERS: [&str; 10] = [
    "admin", "test", "oracle", "ubuntu", "guest", "user", "postgres", "git", "pi", "support",
];
const PUBLIC_FIRST_OCTETS: [u8; 14] = [
    23, 31, 45, 52, 66, 81, 91, 104, 142, 151, 176, 185, 203, 212,
];
const SERVICE_PORTS: [u16; 12] = [22, 25, 53, 80, 123, 389, 443, 445, 993, 3389, 8080, 8443];

fn pick<'a>(rng: &mut SmallRng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

/// An RFC 1918 address in 10.0.0.0/11.
fn inside_ip(rng: &mut SmallRng) -> Ipv4Addr {
    Ipv4Addr::new(
        10,
        rng.gen_range(0..32u8),
        rng.gen_range(0..=255u8),
        rng.gen_range(1..255u8),
    )
}

/// A public-looking address.
fn outside_ip(rng: &mut SmallRng) -> Ipv4Addr {
    Ipv4Addr::new(
        PUBLIC_FIRST_OCTETS[rng.gen_range(0..PUBLIC_FIRST_OCTETS.len())],
        rng.gen_range(0..=255u8),
        rng.gen_range(0..=255u8),
        rng.gen_range(1..255u8),
    )
}

fn ephemeral_port(rng: &mut SmallRng) -> u16 {
    rng.gen_range(1024..=65535)
}

fn service_port(rng: &mut SmallRng) -> u16 {
    SERVICE_PORTS[rng.gen_range(0..SERVICE_PORTS.len())]
}

#[cfg(test)]
mod engine_check;

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Parses `<PRI>` at the start of a line; returns (pri, rest).
    pub(crate) fn split_pri(line: &str) -> (u32, &str) {
        let rest = line.strip_prefix('<').expect("line starts with <");
        let end = rest.find('>').expect("PRI is closed by >");
        assert!((1..=3).contains(&end), "PRI has 1-3 digits: {line}");
        let pri: u32 = rest[..end].parse().expect("PRI is numeric");
        assert!(pri <= 191, "PRI within 0..=191: {line}");
        (pri, &rest[end + 1..])
    }

    fn lines(vendor: Vendor, n: usize) -> Vec<String> {
        let mut r = Renderer::new(SmallRng::seed_from_u64(7), 5);
        (0..n)
            .map(|i| {
                let mut s = String::new();
                r.render(vendor, 1_714_564_800_000 + i as i64, &mut s);
                s
            })
            .collect()
    }

    #[test]
    fn civil_time_matches_known_dates() {
        let t = Civil::from_unix_ms(1_714_564_800_123); // 2024-05-01T12:00:00.123Z
        assert_eq!((t.year, t.month, t.day), (2024, 5, 1));
        assert_eq!((t.hour, t.min, t.sec, t.milli), (12, 0, 0, 123));
        assert_eq!(t.weekday(), "Wed");
        let t = Civil::from_unix_ms(951_782_400_000); // 2000-02-29T00:00:00Z
        assert_eq!((t.year, t.month, t.day), (2000, 2, 29));
        assert_eq!(t.weekday(), "Tue");
        let mut s = String::new();
        Civil::from_unix_ms(1_714_564_800_123).write_3164(&mut s);
        assert_eq!(s, "May  1 12:00:00");
    }

    #[test]
    fn every_vendor_renders_valid_pri_and_no_newline() {
        for v in Vendor::ALL {
            for line in lines(v, 500) {
                split_pri(&line);
                assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
            }
        }
    }

    #[test]
    fn names_round_trip_and_old_aliases_still_parse() {
        for v in Vendor::ALL {
            assert_eq!(Vendor::from_name(v.name()), Some(v));
            assert_eq!(Vendor::from_name(&v.name().to_uppercase()), Some(v));
        }
        for (alias, v) in [
            ("asa", Vendor::Asa),
            ("panos", Vendor::PanOs),
            ("fortigate", Vendor::FortiGate),
            ("sshd", Vendor::Sshd),
            ("linux", Vendor::Sshd),
            ("pan-os", Vendor::PanOs),
        ] {
            assert_eq!(Vendor::from_name(alias), Some(v), "{alias}");
        }
        assert_eq!(Vendor::from_name("rfc5424"), None);
        assert_eq!(Vendor::from_name("acme"), None);
    }

    #[test]
    fn mix_picks_only_weighted_vendors() {
        let mix = Mix::new(vec![(Vendor::Asa, 0), (Vendor::Sshd, 3)]).unwrap();
        let mut rng = SmallRng::seed_from_u64(1);
        assert!((0..1000).all(|_| mix.pick(&mut rng) == Vendor::Sshd));
    }

    #[test]
    fn json_text_is_escaped() {
        let mut s = String::new();
        write_json_text("a\"b\\c\nd\u{1}", &mut s);
        assert_eq!(s, "a\\\"b\\\\c\\nd\\u0001");
    }

    pub(crate) fn render_all(vendor: Vendor) -> Vec<String> {
        lines(vendor, 2000)
    }
}
