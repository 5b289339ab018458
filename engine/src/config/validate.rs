//! [`Config::validate`]: semantic checks, no I/O.

use super::{Config, ConfigError, SourceConfig, TargetConfig, TcpTarget};
use std::collections::HashMap;
use std::fmt::Display;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

/// Most shards of one kind; a sanity bound, far above any useful count.
const MAX_SHARDS: usize = 1024;
const MAX_MAILBOX: usize = 65536;

/// All semantic errors of `c`, unlocated. `unparsed_targets` are names of target entries that
/// failed to parse (already reported), which the router may name without a further error.
pub(super) fn validate(c: &Config, unparsed_targets: &[String]) -> Vec<ConfigError> {
    let mut v = Checks::default();
    engine(c, &mut v);
    api(c, &mut v);
    sources(c, &mut v);
    targets(c, &mut v);
    router(c, unparsed_targets, &mut v);
    watchdog(c, &mut v);
    dead_letter(c, &mut v);
    score(c, &mut v);
    alerts(c, unparsed_targets, &mut v);
    v.0
}

fn alerts(c: &Config, unparsed_targets: &[String], v: &mut Checks) {
    if c.targets.len() > 64 {
        v.error(
            "targets",
            format!(
                "{} targets declared; routing rules address at most 64",
                c.targets.len()
            ),
        );
    }
    for (field, message) in super::alerts::check(&c.alerts) {
        v.error(field, message);
    }
    for (field, message) in super::correlation::check(&c.correlation) {
        v.error(field, message);
    }
    for (i, name) in c.alerts.default_targets.iter().enumerate() {
        if !c.targets.iter().any(|t| t.name() == name) && !unparsed_targets.contains(name) {
            v.error(
                format!("alerts.default_targets[{i}]"),
                format!("no [[targets]] entry is named `{name}`"),
            );
        }
    }
}

#[derive(Default)]
struct Checks(Vec<ConfigError>);

impl Checks {
    fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigError::unlocated(field, message));
    }

    fn range<T: PartialOrd + Display>(&mut self, field: &str, value: T, lo: T, hi: T) {
        if value < lo || value > hi {
            self.error(
                field,
                format!("{value} is out of range, expected {lo}..={hi}"),
            );
        }
    }

    fn at_least<T: PartialOrd + Display>(&mut self, field: &str, value: T, lo: T) {
        if value < lo {
            self.error(
                field,
                format!("{value} is too small, expected at least {lo}"),
            );
        }
    }

    fn non_empty(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.error(field, "must not be empty");
        }
    }

    /// Parses a listen address, reporting it at `field` when it does not parse.
    fn socket_addr(&mut self, field: &str, listen: &str) -> Option<SocketAddr> {
        match listen.parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                self.error(
                    field,
                    format!(
                        "`{listen}` is not a socket address, expected IP:PORT such as \
                         \"0.0.0.0:5514\" or \"[::]:5514\""
                    ),
                );
                None
            }
        }
    }
}

/// Two sockets of the same protocol cannot both bind these addresses.
fn addrs_conflict(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

fn engine(c: &Config, v: &mut Checks) {
    let e = &c.engine;
    if e.data_dir.as_os_str().is_empty() {
        v.error("engine.data_dir", "must not be empty");
    }
    v.range("engine.batch_size", e.batch_size, 1, 65536);
    v.range(
        "engine.normaliser_shards",
        e.normaliser_shards,
        0,
        MAX_SHARDS,
    );
    v.range("engine.router_shards", e.router_shards, 0, MAX_SHARDS);
    v.range(
        "engine.max_line_bytes",
        e.max_line_bytes,
        64,
        16 * 1024 * 1024,
    );
    v.range(
        "engine.mailbox.normaliser",
        e.mailbox.normaliser,
        1,
        MAX_MAILBOX,
    );
    v.range("engine.mailbox.router", e.mailbox.router, 1, MAX_MAILBOX);
    v.range("engine.mailbox.target", e.mailbox.target, 1, MAX_MAILBOX);
    v.range("engine.mailbox.scorer", e.mailbox.scorer, 1, MAX_MAILBOX);
}

fn api(c: &Config, v: &mut Checks) {
    v.socket_addr("api.listen", &c.api.listen);
    v.at_least("api.workers", c.api.workers, 1);
    v.at_least("api.ingest_max_body_bytes", c.api.ingest_max_body_bytes, 1);
}

fn sources(c: &Config, v: &mut Checks) {
    let api_addr = c.api.listen.parse::<SocketAddr>().ok();
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut tcp: Vec<(SocketAddr, usize)> = Vec::new();
    let mut udp: Vec<(SocketAddr, usize)> = Vec::new();

    for (i, s) in c.sources.iter().enumerate() {
        let name = s.name();
        if name.trim().is_empty() {
            v.error(format!("sources[{i}].name"), "must not be empty");
        } else if let Some(first) = names.get(name) {
            v.error(
                format!("sources[{i}].name"),
                format!("duplicate source name `{name}` (also sources[{first}])"),
            );
        } else {
            names.insert(name, i);
        }
        v.non_empty(&format!("sources[{i}].vendor"), s.vendor());

        let listen_field = format!("sources[{i}].listen");
        match s {
            SourceConfig::SyslogUdp(u) => {
                if let Some(addr) = v.socket_addr(&listen_field, &u.listen) {
                    if let Some((_, j)) = udp.iter().find(|(a, _)| addrs_conflict(*a, addr)) {
                        v.error(
                            &listen_field,
                            format!("UDP address `{}` is also used by sources[{j}]", u.listen),
                        );
                    }
                    udp.push((addr, i));
                }
                if u.recv_buffer_bytes == Some(0) {
                    v.error(
                        format!("sources[{i}].recv_buffer_bytes"),
                        "must be at least 1 (leave it out to keep the OS default)",
                    );
                }
            }
            SourceConfig::SyslogTcp(t) => {
                if let Some(addr) = v.socket_addr(&listen_field, &t.listen) {
                    if let Some((_, j)) = tcp.iter().find(|(a, _)| addrs_conflict(*a, addr)) {
                        v.error(
                            &listen_field,
                            format!("TCP address `{}` is also used by sources[{j}]", t.listen),
                        );
                    }
                    if api_addr.is_some_and(|api| addrs_conflict(api, addr)) {
                        v.error(
                            &listen_field,
                            format!(
                                "TCP address `{}` is also used by the API (api.listen = `{}`)",
                                t.listen, c.api.listen
                            ),
                        );
                    }
                    tcp.push((addr, i));
                }
                v.at_least(
                    &format!("sources[{i}].max_connections"),
                    t.max_connections,
                    1,
                );
            }
            SourceConfig::Http(h) => {
                let ok = h
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if !h.name.is_empty() && !ok {
                    v.error(
                        format!("sources[{i}].name"),
                        format!(
                            "http source name `{}` is used in the URL /api/v1/ingest/{{name}}; \
                             only A-Z, a-z, 0-9, `_` and `-` are allowed",
                            h.name
                        ),
                    );
                }
            }
            SourceConfig::File(f) => {
                if f.path.as_os_str().is_empty() {
                    v.error(format!("sources[{i}].path"), "must not be empty");
                }
                v.at_least(&format!("sources[{i}].poll_ms"), f.poll_ms, 1);
            }
        }
    }
}

fn targets(c: &Config, v: &mut Checks) {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut files: HashMap<PathBuf, usize> = HashMap::new();
    for (i, t) in c.targets.iter().enumerate() {
        let name = t.name();
        if name.trim().is_empty() {
            v.error(format!("targets[{i}].name"), "must not be empty");
        } else if let Some(first) = names.get(name) {
            v.error(
                format!("targets[{i}].name"),
                format!("duplicate target name `{name}` (also targets[{first}])"),
            );
        } else {
            names.insert(name, i);
        }
        if let TargetConfig::Tcp(tcp) = t {
            tcp_target(c, i, tcp, v);
        }
        let base = format!("targets[{i}]");
        let delivery = match t {
            TargetConfig::Webhook(w) => w.validate(&base),
            TargetConfig::Pagerduty(p) => p.validate(&base),
            TargetConfig::Slack(s) => s.validate(&base),
            TargetConfig::Syslog(s) => s.validate(&base),
            _ => Vec::new(),
        };
        v.0.extend(delivery);
        if let TargetConfig::File(f) = t {
            let path_field = format!("targets[{i}].path");
            if f.path.as_os_str().is_empty() {
                v.error(&path_field, "must not be empty");
            } else {
                let resolved = c.data_path(&f.path);
                if resolved == c.data_path(&c.dead_letter.path) {
                    v.error(
                        &path_field,
                        format!("`{}` is also the dead-letter file", resolved.display()),
                    );
                }
                if let Some(j) = files.get(&resolved) {
                    v.error(
                        &path_field,
                        format!("`{}` is also written by targets[{j}]", resolved.display()),
                    );
                } else {
                    files.insert(resolved, i);
                }
            }
            v.at_least(&format!("targets[{i}].max_bytes"), f.max_bytes, 1);
        }
    }
}

/// A `tcp` target: its address, timeouts and backoff.
fn tcp_target(c: &Config, i: usize, t: &TcpTarget, v: &mut Checks) {
    let field = format!("targets[{i}].address");
    match host_port(&t.address) {
        Err(why) => v.error(
            &field,
            format!(
                "`{}` is not a HOST:PORT address ({why}), expected e.g. \"127.0.0.1:6000\", \
                 \"[::1]:6000\" or \"collector.example.net:6000\"",
                t.address
            ),
        ),
        Ok(HostPort::Ip(addr)) => {
            // Sending to one of our own syslog listeners would feed every event back in.
            let own = c.sources.iter().enumerate().find_map(|(j, s)| match s {
                SourceConfig::SyslogTcp(src) => src
                    .listen
                    .parse::<SocketAddr>()
                    .ok()
                    .filter(|l| loops_back(*l, addr))
                    .map(|_| j),
                _ => None,
            });
            if let Some(j) = own {
                v.error(
                    &field,
                    format!(
                        "`{}` is this engine's own syslog listener (sources[{j}]): every event \
                         would come back in, forever",
                        t.address
                    ),
                );
            }
        }
        Ok(HostPort::Name) => {}
    }
    v.at_least(
        &format!("targets[{i}].connect_timeout_ms"),
        t.connect_timeout_ms,
        1,
    );
    v.at_least(
        &format!("targets[{i}].write_timeout_ms"),
        t.write_timeout_ms,
        1,
    );
    v.at_least(
        &format!("targets[{i}].reconnect_backoff_ms"),
        t.reconnect_backoff_ms,
        1,
    );
    if t.reconnect_backoff_max_ms < t.reconnect_backoff_ms {
        v.error(
            format!("targets[{i}].reconnect_backoff_max_ms"),
            format!(
                "{} is smaller than reconnect_backoff_ms ({})",
                t.reconnect_backoff_max_ms, t.reconnect_backoff_ms
            ),
        );
    }
}

/// What a target address names.
enum HostPort {
    /// An IP address and port, used as they are.
    Ip(SocketAddr),
    /// A host name and port, resolved when the target connects.
    Name,
}

/// Checks the form of a `HOST:PORT` address without resolving it.
fn host_port(address: &str) -> Result<HostPort, String> {
    if let Ok(addr) = address.parse::<SocketAddr>() {
        return if addr.port() == 0 {
            Err("port 0 cannot be connected to".to_owned())
        } else {
            Ok(HostPort::Ip(addr))
        };
    }
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err("no `:PORT`".to_owned());
    };
    let bad_port = || format!("`{port}` is not a port, expected 1..=65535");
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return Err(match inner.parse::<Ipv6Addr>() {
            Ok(_) => bad_port(),
            Err(_) => format!("`{inner}` is not an IPv6 address"),
        });
    }
    if host.starts_with('[') || host.contains(':') {
        return Err("an IPv6 address goes in brackets: `[::1]:6000`".to_owned());
    }
    if host.parse::<IpAddr>().is_ok() {
        // An IPv4 address whose port did not parse.
        return Err(bad_port());
    }
    if host.is_empty() {
        return Err("no host".to_owned());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.len() > 253 || !host.trim_end_matches('.').split('.').all(label_ok) {
        return Err(format!("`{host}` is not a valid host name"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(HostPort::Name),
        _ => Err(bad_port()),
    }
}

/// True when connecting to `target` reaches a socket listening on `listen` on this machine.
fn loops_back(listen: SocketAddr, target: SocketAddr) -> bool {
    listen.port() == target.port()
        && (listen.ip() == target.ip()
            || (listen.ip().is_unspecified()
                && (target.ip().is_loopback() || target.ip().is_unspecified())))
}

fn router(c: &Config, unparsed_targets: &[String], v: &mut Checks) {
    for (i, name) in c.router.default_targets.iter().enumerate() {
        let field = format!("router.default_targets[{i}]");
        if c.router.default_targets[..i].contains(name) {
            v.error(field, format!("target `{name}` is listed twice"));
        } else if !c.targets.iter().any(|t| t.name() == name) && !unparsed_targets.contains(name) {
            let declared: Vec<String> = c
                .targets
                .iter()
                .map(|t| format!("`{}`", t.name()))
                .collect();
            let declared = if declared.is_empty() {
                "none are declared".to_owned()
            } else {
                format!("declared: {}", declared.join(", "))
            };
            v.error(
                field,
                format!("no [[targets]] entry is named `{name}` ({declared})"),
            );
        }
    }
}

fn watchdog(c: &Config, v: &mut Checks) {
    let w = &c.watchdog;
    v.at_least("watchdog.interval_ms", w.interval_ms, 1);
    if w.stall_after_ms <= w.interval_ms {
        v.error(
            "watchdog.stall_after_ms",
            format!(
                "{} must be greater than watchdog.interval_ms ({})",
                w.stall_after_ms, w.interval_ms
            ),
        );
    }
}

fn dead_letter(c: &Config, v: &mut Checks) {
    if c.dead_letter.path.as_os_str().is_empty() {
        v.error("dead_letter.path", "must not be empty");
    }
    v.at_least("dead_letter.max_bytes", c.dead_letter.max_bytes, 1);
}

fn score(c: &Config, v: &mut Checks) {
    let s = &c.score;
    v.range("score.shards", s.shards, 0, MAX_SHARDS);
    v.range("score.window_ms", s.window_ms, 100, 3_600_000);
    v.range("score.lateness_ms", s.lateness_ms, 0, 3_600_000);
    v.at_least("score.max_entities", s.max_entities, 1);
    v.at_least("score.idle_expiry_secs", s.idle_expiry_secs, 1);
    if !(0.01..=1.0).contains(&s.threshold) {
        v.error(
            "score.threshold",
            format!("{} is out of range, expected 0.01..=1", s.threshold),
        );
    }
    v.range("score.refractory_windows", s.refractory_windows, 0, 10_000);
    v.range("score.warmup_windows", s.warmup_windows, 0, 10_000);
    if s.detectors_file
        .as_ref()
        .is_some_and(|f| f.as_os_str().is_empty())
    {
        v.error("score.detectors_file", "must not be empty");
    }
    v.at_least("score.anomalies_kept", s.anomalies_kept, 1);
    let w = &s.weights;
    for (name, value) in [
        ("statistics", w.statistics),
        ("rules", w.rules),
        ("forest", w.forest),
        ("lstm", w.lstm),
        ("rare_codes", w.rare_codes),
    ] {
        if !(0.0..=1.0).contains(&value) {
            v.error(
                format!("score.weights.{name}"),
                format!("{value} is out of range, expected 0..=1"),
            );
        }
    }
    v.at_least("score.trainer.min_samples", s.trainer.min_samples, 2);
    v.range("score.trainer.reservoir", s.trainer.reservoir, 2, 1_000_000);
}
