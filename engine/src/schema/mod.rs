//! The canonical event: one OCSF-aligned shape for every log, metric and event tocsin sees.
//!
//! In memory an [`Event`] is compact: repeated low-cardinality strings (vendor, product, host,
//! event code, source) are interned [`Symbol`]s, free text is a [`Text`] slice of the raw frame
//! where possible, and metrics and unmapped fields sit in small inline vectors.
//! [`json`] writes the OCSF JSON form and reads it back.

mod intern;
pub mod json;
mod text;
mod unmapped;

pub use intern::{interned_count, overflowed_count, Symbol};
pub use text::{offsets_in, Text};
pub use unmapped::{Part, Unmapped};

use smallvec::SmallVec;
use std::net::IpAddr;

/// OCSF class 0: Base Event (anything not yet mapped to a more specific class).
pub const CLASS_BASE_EVENT: u32 = 0;
/// OCSF class 1007: Process Activity.
pub const CLASS_PROCESS_ACTIVITY: u32 = 1007;
/// OCSF class 2004: Detection Finding (tocsin's anomalies).
pub const CLASS_DETECTION_FINDING: u32 = 2004;
/// OCSF class 3002: Authentication.
pub const CLASS_AUTHENTICATION: u32 = 3002;
/// OCSF class 4001: Network Activity.
pub const CLASS_NETWORK_ACTIVITY: u32 = 4001;
/// OCSF class 4002: HTTP Activity.
pub const CLASS_HTTP_ACTIVITY: u32 = 4002;
/// OCSF class 6003: API Activity.
pub const CLASS_API_ACTIVITY: u32 = 6003;
/// tocsin's class for metric samples (OCSF has none); `class_name` is "Metric".
pub const CLASS_METRIC: u32 = 99_001;

/// The OCSF `class_name` for a `class_uid`.
pub fn class_name(class_uid: u32) -> &'static str {
    match class_uid {
        CLASS_BASE_EVENT => "Base Event",
        CLASS_PROCESS_ACTIVITY => "Process Activity",
        CLASS_DETECTION_FINDING => "Detection Finding",
        CLASS_AUTHENTICATION => "Authentication",
        CLASS_NETWORK_ACTIVITY => "Network Activity",
        CLASS_HTTP_ACTIVITY => "HTTP Activity",
        CLASS_API_ACTIVITY => "API Activity",
        CLASS_METRIC => "Metric",
        _ => "Other",
    }
}

/// The OCSF `class_uid` for a `class_name` (the inverse of [`class_name`]).
pub fn class_uid_of(name: &str) -> Option<u32> {
    [
        CLASS_BASE_EVENT,
        CLASS_PROCESS_ACTIVITY,
        CLASS_DETECTION_FINDING,
        CLASS_AUTHENTICATION,
        CLASS_NETWORK_ACTIVITY,
        CLASS_HTTP_ACTIVITY,
        CLASS_API_ACTIVITY,
        CLASS_METRIC,
    ]
    .into_iter()
    .find(|uid| class_name(*uid).eq_ignore_ascii_case(name))
}

/// OCSF `severity_id` values.
pub mod severity {
    /// 0: Unknown.
    pub const UNKNOWN: u8 = 0;
    /// 1: Informational.
    pub const INFORMATIONAL: u8 = 1;
    /// 2: Low.
    pub const LOW: u8 = 2;
    /// 3: Medium.
    pub const MEDIUM: u8 = 3;
    /// 4: High.
    pub const HIGH: u8 = 4;
    /// 5: Critical.
    pub const CRITICAL: u8 = 5;
    /// 6: Fatal.
    pub const FATAL: u8 = 6;

    /// The OCSF `severity` caption for a `severity_id`.
    pub fn name(id: u8) -> &'static str {
        match id {
            1 => "Informational",
            2 => "Low",
            3 => "Medium",
            4 => "High",
            5 => "Critical",
            6 => "Fatal",
            _ => "Unknown",
        }
    }

    /// The `severity_id` for a caption (case-insensitive); `None` for an unknown word.
    pub fn from_name(name: &str) -> Option<u8> {
        (0..=6).find(|id| self::name(*id).eq_ignore_ascii_case(name))
    }

    /// OCSF severity for a syslog severity (0 emerg .. 7 debug).
    pub fn from_syslog(sev: u8) -> u8 {
        match sev {
            0 => FATAL,
            1 | 2 => CRITICAL,
            3 => HIGH,
            4 => MEDIUM,
            5 => LOW,
            6 | 7 => INFORMATIONAL,
            _ => UNKNOWN,
        }
    }
}

/// OCSF `status`: whether the activity the event describes succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Status {
    /// Not known or not applicable.
    #[default]
    Unknown,
    /// The activity succeeded.
    Success,
    /// The activity failed.
    Failure,
}

impl Status {
    /// The OCSF caption.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "Unknown",
            Status::Success => "Success",
            Status::Failure => "Failure",
        }
    }

    /// Parses the OCSF caption (case-insensitive).
    pub fn parse(s: &str) -> Option<Status> {
        [Status::Unknown, Status::Success, Status::Failure]
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }
}

/// An OCSF network endpoint (`src_endpoint`, `dst_endpoint`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Endpoint {
    /// `ip`
    pub ip: Option<IpAddr>,
    /// `port`
    pub port: Option<u16>,
    /// `hostname`
    pub hostname: Option<Text>,
}

impl Endpoint {
    /// True when no field is set (the endpoint is left out of the JSON form).
    pub fn is_empty(&self) -> bool {
        self.ip.is_none() && self.port.is_none() && self.hostname.is_none()
    }
}

/// The reporting device (OCSF `device`): the default scoring entity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Device {
    /// `device.hostname`
    pub hostname: Option<Symbol>,
    /// `device.ip`
    pub ip: Option<IpAddr>,
}

/// Measurements an event carries (`metrics` in JSON): `cpu_pct`, `latency_ms`, ...
pub type Metrics = SmallVec<[(Symbol, f64); 4]>;
/// The canonical event. Field names follow OCSF; see ARCHITECTURE.md for the JSON form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    /// `time`: event time, ms since the epoch, UTC.
    pub time: i64,
    /// Receive time, ns since the epoch (JSON: `metadata.logged_time` in ms). Sinks measure
    /// end-to-end latency from it.
    pub received_ns: u64,
    /// `severity_id` (see [`severity`]).
    pub severity_id: u8,
    /// `class_uid` (see [`class_name`]).
    pub class_uid: u32,
    /// `activity_name`: Open, Close, Allow, Deny, Logon, ...
    pub activity_name: Option<Symbol>,
    /// `status`
    pub status: Status,
    /// `disposition`: Allowed, Blocked, ... where the device decided.
    pub disposition: Option<Symbol>,
    /// `message`: the human text.
    pub message: Text,
    /// `src_endpoint`
    pub src: Endpoint,
    /// `dst_endpoint`
    pub dst: Endpoint,
    /// `actor.user.name`
    pub user: Option<Text>,
    /// `connection_info.protocol_name`
    pub protocol: Option<Symbol>,
    /// `device`
    pub device: Device,
    /// `metadata.product.vendor_name`
    pub vendor: Option<Symbol>,
    /// `metadata.product.name`
    pub product: Option<Symbol>,
    /// `metadata.event_code`: the vendor's message id.
    pub event_code: Option<Symbol>,
    /// `metadata.uid`
    pub uid: Option<Text>,
    /// `tocsin.source`: the connector the event came in on.
    pub source: Option<Symbol>,
    /// `tocsin.entity`: the topology node the event is about.
    pub entity: Option<Symbol>,
    /// `metrics`
    pub metrics: Metrics,
    /// `unmapped`
    pub unmapped: Unmapped,
    /// `tocsin.score` and `tocsin.detectors`: the entity's score when the event was scored.
    pub score: Option<crate::score::anomaly::EventScore>,
    /// The anomaly a Detection Finding (class 2004) reports: `finding_info` and
    /// `tocsin.anomaly` in JSON. Boxed: only findings carry one.
    pub finding: Option<Box<crate::score::anomaly::Anomaly>>,
    /// The incident a Detection Finding of the correlator reports: `finding_info` and
    /// `tocsin.incident` in JSON. Shared with the correlator's incident store.
    pub incident: Option<std::sync::Arc<crate::correlate::Incident>>,
}

impl Event {
    /// Resets every field to its default (as `*self = Event::default()`), keeping the room
    /// `metrics` and `unmapped` had, so an event reused for the next line allocates nothing
    /// for them again. Field by field in place: assigning a whole new event built it aside
    /// and copied it over.
    pub fn clear(&mut self) {
        // Exhaustive: a field added to `Event` must be reset here too.
        let Event {
            time,
            received_ns,
            severity_id,
            class_uid,
            activity_name,
            status,
            disposition,
            message,
            src,
            dst,
            user,
            protocol,
            device,
            vendor,
            product,
            event_code,
            uid,
            source,
            entity,
            metrics,
            unmapped,
            score,
            finding,
            incident,
        } = self;
        *time = 0;
        *received_ns = 0;
        *severity_id = 0;
        *class_uid = 0;
        *activity_name = None;
        *status = Status::default();
        *disposition = None;
        *message = Text::default();
        *src = Endpoint::default();
        *dst = Endpoint::default();
        *user = None;
        *protocol = None;
        *device = Device::default();
        *vendor = None;
        *product = None;
        *event_code = None;
        *uid = None;
        *source = None;
        *entity = None;
        metrics.clear();
        unmapped.clear();
        *score = None;
        *finding = None;
        *incident = None;
    }

    /// `metadata.logged_time`: the receive time in ms.
    pub fn logged_time_ms(&self) -> i64 {
        (self.received_ns / 1_000_000) as i64
    }

    /// The value of metric `name`, if the event carries it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(k, _)| k.as_str() == name)
            .map(|(_, v)| *v)
    }

    /// The value of unmapped field `key`, if present.
    pub fn unmapped_value(&self, key: &str) -> Option<&str> {
        self.unmapped.get(key)
    }
}
