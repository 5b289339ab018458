//! `--spawn`: the harness starts the engine itself on free loopback ports with a config and data
//! folder of its own, watches its CPU and memory in /proc while the test runs, and stops it
//! with SIGTERM at the end (the engine drains, then exits 0).

use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::engine_api::EngineApi;

/// The name of the engine target that forwards to the harness's listener.
pub const HARNESS_TARGET: &str = "harness";

/// How long the engine may take to answer `/ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long it may take to drain and exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// /proc sampling period.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// What to start.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    /// The `tocsin` binary.
    pub bin: PathBuf,
    /// Folder for the generated config, the engine's data and its log.
    pub dir: PathBuf,
    /// Vendor mappings to use (the repository's `config/vendors`).
    pub vendors: PathBuf,
    /// A file the engine should read in follow mode (the `file` transport).
    pub follow_file: Option<PathBuf>,
    /// Where routed events go: a TCP listener of the harness, or the engine's own file target.
    pub forward_to: Option<SocketAddr>,
    /// Written next to the config for the engine (the scenario's estate).
    pub topology: Option<String>,
    /// The user's engine config to start from (shards, mailboxes, targets, ...); its sources
    /// and API address are replaced by the harness's, its targets kept.
    pub base_config: Option<PathBuf>,
    /// The engine's data folder (default: `data` in the run folder).
    pub data_dir: Option<PathBuf>,
}

/// A running engine started by the harness.
#[derive(Debug)]
pub struct Spawned {
    child: Child,
    pub syslog: SocketAddr,
    pub api: String,
    pub config: PathBuf,
    pub log: PathBuf,
    sampler: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
    pub usage: Arc<Mutex<Usage>>,
}

/// CPU and memory of the engine process, from /proc.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Usage {
    /// Peak resident set (VmHWM), MiB.
    pub peak_rss_mib: f64,
    /// CPU seconds (user + system) used while measured.
    pub cpu_secs: f64,
    /// Wall seconds measured.
    pub wall_secs: f64,
    /// Highest CPU use over one sample period, in cores (2.0 = two cores busy).
    pub peak_cores: f64,
    /// Samples taken.
    pub samples: u32,
    #[serde(skip)]
    first: Option<(Instant, f64)>,
}

impl Usage {
    /// Mean cores busy over the measured time.
    pub fn mean_cores(&self) -> f64 {
        if self.wall_secs > 0.0 {
            self.cpu_secs / self.wall_secs
        } else {
            0.0
        }
    }

    fn record(&mut self, now: Instant, cpu_secs: f64, rss_mib: f64, hwm_mib: f64) {
        let (t0, cpu0) = *self.first.get_or_insert((now, cpu_secs));
        let wall = now.duration_since(t0).as_secs_f64();
        // Cores busy since the previous sample (`cpu_secs` and `wall_secs` are still its).
        let dt = wall - self.wall_secs;
        if self.samples > 0 && dt > 0.0 {
            let cores = (cpu_secs - cpu0 - self.cpu_secs) / dt;
            self.peak_cores = self.peak_cores.max(cores);
        }
        self.samples += 1;
        self.cpu_secs = cpu_secs - cpu0;
        self.wall_secs = wall;
        self.peak_rss_mib = self.peak_rss_mib.max(hwm_mib).max(rss_mib);
    }
}

/// Picks a port free for both TCP and UDP on 127.0.0.1 (syslog listens on both).
fn free_port_pair() -> Result<u16> {
    for _ in 0..50 {
        let tcp = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
        let port = tcp.local_addr()?.port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("found no port free for both TCP and UDP on 127.0.0.1")
}

fn free_tcp_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")
        .context("cannot bind a loopback port")?
        .local_addr()?
        .port())
}

/// The engine config for a harness run.
pub fn engine_config(spec: &SpawnSpec, syslog_port: u16, api_port: u16, data_dir: &Path) -> String {
    let mut c = String::new();
    let _ = write!(
        c,
        "# Written by tocsin-bench --spawn for one run.\n\
         [engine]\n\
         data_dir = {:?}\n\
         vendors_dir = {:?}\n\
         shutdown_timeout_secs = 30\n\n\
         [api]\n\
         listen = \"127.0.0.1:{api_port}\"\n\n\
         [[sources]]\n\
         type = \"syslog_udp\"\n\
         name = \"syslog-udp\"\n\
         listen = \"127.0.0.1:{syslog_port}\"\n\
         vendor = \"auto\"\n\
         recv_buffer_bytes = 8388608\n\n\
         [[sources]]\n\
         type = \"syslog_tcp\"\n\
         name = \"syslog-tcp\"\n\
         listen = \"127.0.0.1:{syslog_port}\"\n\
         vendor = \"auto\"\n\n\
         [[sources]]\n\
         type = \"http\"\n\
         name = \"http\"\n\
         vendor = \"auto\"\n",
        data_dir.display().to_string(),
        spec.vendors.display().to_string(),
    );
    if let Some(path) = &spec.follow_file {
        let _ = write!(
            c,
            "\n[[sources]]\n\
             type = \"file\"\n\
             name = \"capture\"\n\
             path = {:?}\n\
             mode = \"follow\"\n\
             start_at = \"beginning\"\n\
             vendor = \"auto\"\n\
             poll_ms = 50\n",
            path.display().to_string()
        );
    }
    match spec.forward_to {
        Some(addr) => {
            let _ = write!(
                c,
                "\n[[targets]]\ntype = \"tcp\"\nname = \"{HARNESS_TARGET}\"\naddress = \"{addr}\"\n\n\
                 [router]\ndefault_targets = [\"{HARNESS_TARGET}\"]\n"
            );
        }
        None => {
            let _ = write!(
                c,
                "\n[[targets]]\ntype = \"file\"\nname = \"events\"\npath = \"events.ndjson\"\n\n\
                 [router]\ndefault_targets = [\"events\"]\n"
            );
        }
    }
    c
}

/// The harness's config laid over the user's: the harness owns the data and vendors folders
/// (unless the user's config names a vendors folder), the API address and the sources; the
/// user's targets stay and the harness's target is added to the default route.
pub fn merge_config(base: &str, base_dir: &Path, harness: &str) -> Result<String> {
    let mut merged: toml::Table =
        toml::from_str(base).map_err(|e| anyhow::anyhow!("the engine config: {e}"))?;
    let ours: toml::Table = toml::from_str(harness)?;
    let table = |t: &mut toml::Table, key: &str| -> Result<toml::Table> {
        match t.remove(key) {
            None => Ok(toml::Table::new()),
            Some(toml::Value::Table(t)) => Ok(t),
            Some(_) => bail!("the engine config: `{key}` must be a table"),
        }
    };
    let mut engine = table(&mut merged, "engine")?;
    let our_engine = ours["engine"].as_table().cloned().unwrap_or_default();
    match engine.get("vendors_dir").and_then(toml::Value::as_str) {
        // A relative vendors folder is taken against the user's config file.
        Some(dir) if Path::new(dir).is_relative() => {
            let abs = base_dir.join(dir).display().to_string();
            engine.insert("vendors_dir".into(), toml::Value::String(abs));
        }
        Some(_) => {}
        None => {
            engine.insert("vendors_dir".into(), our_engine["vendors_dir"].clone());
        }
    }
    engine.insert("data_dir".into(), our_engine["data_dir"].clone());
    merged.insert("engine".into(), toml::Value::Table(engine));
    let mut api = table(&mut merged, "api")?;
    api.insert("listen".into(), ours["api"]["listen"].clone());
    merged.insert("api".into(), toml::Value::Table(api));
    merged.insert("sources".into(), ours["sources"].clone());
    let our_target = ours["targets"][0].clone();
    let our_name = our_target["name"].clone();
    let mut targets = match merged.remove("targets") {
        Some(toml::Value::Array(a)) => a,
        None => Vec::new(),
        Some(_) => bail!("the engine config: `targets` must be an array of tables"),
    };
    let user_has_targets = !targets.is_empty();
    // The user's file target, when there is one, already stores events: ours is only needed
    // when it is the harness's listener or when the user's config has no target at all.
    let forward = our_target["type"].as_str() == Some("tcp");
    let mut router = table(&mut merged, "router")?;
    if forward || !user_has_targets {
        if targets.iter().any(|t| t.get("name") == Some(&our_name)) {
            bail!("the engine config already has a target named {our_name}");
        }
        targets.push(our_target);
        let mut route = match router.remove("default_targets") {
            Some(toml::Value::Array(a)) => a,
            _ => Vec::new(),
        };
        route.push(our_name);
        router.insert("default_targets".into(), toml::Value::Array(route));
    }
    merged.insert("targets".into(), toml::Value::Array(targets));
    merged.insert("router".into(), toml::Value::Table(router));
    Ok(format!(
        "# Written by tocsin-bench --spawn: {} with the harness's sources, API address and\n\
         # data folder.\n{}",
        base_dir.display(),
        toml::to_string(&merged)?
    ))
}

impl Spawned {
    /// Writes the config, starts `tocsin run` and waits until it is ready.
    pub fn start(spec: &SpawnSpec) -> Result<Spawned> {
        if !spec.bin.is_file() {
            bail!(
                "no engine binary at {} (build it with `make build`, or pass --engine-bin)",
                spec.bin.display()
            );
        }
        fs::create_dir_all(&spec.dir)
            .with_context(|| format!("cannot create {}", spec.dir.display()))?;
        let dir = fs::canonicalize(&spec.dir)?;
        let data = match &spec.data_dir {
            Some(d) => {
                fs::create_dir_all(d)
                    .with_context(|| format!("cannot create the data folder {}", d.display()))?;
                fs::canonicalize(d)?
            }
            None => {
                fs::create_dir_all(dir.join("data"))?;
                dir.join("data")
            }
        };
        if let Some(topology) = &spec.topology {
            fs::write(dir.join("topology.toml"), topology)?;
        }
        let syslog_port = free_port_pair()?;
        let api_port = free_tcp_port()?;
        let config = dir.join("tocsin.toml");
        let ours = engine_config(spec, syslog_port, api_port, &data);
        let text = match &spec.base_config {
            Some(base) => {
                let base_text = fs::read_to_string(base)
                    .with_context(|| format!("cannot read the engine config {}", base.display()))?;
                let base_dir = fs::canonicalize(base)?
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                merge_config(&base_text, &base_dir, &ours)
                    .with_context(|| format!("cannot use {} for --spawn", base.display()))?
            }
            None => ours,
        };
        fs::write(&config, text)?;
        let log = dir.join("engine.log");
        let log_file = fs::File::create(&log)?;
        let child = Command::new(&spec.bin)
            .arg("run")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", spec.bin.display()))?;
        let mut spawned = Spawned {
            child,
            syslog: SocketAddr::from(([127, 0, 0, 1], syslog_port)),
            api: format!("http://127.0.0.1:{api_port}"),
            config,
            log,
            sampler: None,
            usage: Arc::new(Mutex::new(Usage::default())),
        };
        spawned.wait_ready()?;
        spawned.start_sampler();
        Ok(spawned)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let api = EngineApi::new(&self.api);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the engine exited ({status}) before it was ready; its log:\n{}",
                    tail(&self.log, 4000)
                );
            }
            if api.ready() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                bail!(
                    "the engine was not ready after {}s; its log:\n{}",
                    READY_TIMEOUT.as_secs(),
                    tail(&self.log, 4000)
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn start_sampler(&mut self) {
        let pid = self.child.id();
        let stop = Arc::new(AtomicBool::new(false));
        let usage = Arc::clone(&self.usage);
        let flag = Arc::clone(&stop);
        let handle = thread::spawn(move || {
            let tick = clock_ticks();
            while !flag.load(Ordering::Relaxed) {
                if let Some((cpu, rss, hwm)) = read_proc(pid, tick) {
                    if let Ok(mut u) = usage.lock() {
                        u.record(Instant::now(), cpu, rss, hwm);
                    }
                }
                thread::sleep(SAMPLE_EVERY);
            }
        });
        self.sampler = Some((stop, handle));
    }

    /// The figures so far.
    pub fn usage(&self) -> Usage {
        self.usage.lock().map(|u| u.clone()).unwrap_or_default()
    }

    /// SIGTERM, then waits for the drain and exit; returns the final usage and whether it
    /// exited cleanly.
    pub fn stop(mut self) -> Result<(Usage, bool)> {
        // `kill` through the command line keeps this crate free of libc and unsafe code.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break None;
            }
            thread::sleep(Duration::from_millis(50));
        };
        if let Some((stop, handle)) = self.sampler.take() {
            stop.store(true, Ordering::Relaxed);
            let _ = handle.join();
        }
        let clean = status.is_some_and(|s| s.success());
        Ok((self.usage(), clean))
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // An error path must not leave an engine running.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some((stop, _)) = &self.sampler {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

/// Clock ticks per second for /proc/PID/stat times (`getconf CLK_TCK`, 100 on Linux).
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// (CPU seconds, RSS MiB, peak RSS MiB) of a process.
fn read_proc(pid: u32, ticks: f64) -> Option<(f64, f64, f64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let cpu = parse_stat_cpu(&stat)? / ticks;
    let kib = |key: &str| parse_status_kib(&status, key).map(|k| k / 1024.0);
    Some((cpu, kib("VmRSS:")?, kib("VmHWM:").unwrap_or(0.0)))
}

/// utime + stime (fields 14 and 15) in clock ticks; the command name may hold spaces and
/// parentheses, so fields are counted after its last `)`.
pub fn parse_stat_cpu(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name, field 3 (state) is index 0, so utime (14) is index 11.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A `Key:   123 kB` line of /proc/PID/status, in KiB.
pub fn parse_status_kib(status: &str, key: &str) -> Option<f64> {
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The last `max` bytes of a file, for error messages.
fn tail(path: &Path, max: usize) -> String {
    let mut s = String::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let cut = s.len().saturating_sub(max);
    let cut = (cut..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len());
    s[cut..].to_string()
}

/// The `tocsin` binary next to this one (both are built into the same target folder).
pub fn default_engine_bin() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("tocsin")))
        .unwrap_or_else(|| PathBuf::from("target/release/tocsin"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_survives_odd_command_names() {
        let stat = "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 500 0 0 0 1500 250 0 0 20 0 9 0 100 1000000 2000 18446744073709551615";
        assert_eq!(parse_stat_cpu(stat), Some(1750.0));
        assert_eq!(parse_stat_cpu("garbage"), None);
    }

    #[test]
    fn status_reads_kib_lines() {
        let status = "Name:\ttocsin\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM:"), Some(204_800.0));
        assert_eq!(parse_status_kib(status, "VmRSS:"), Some(102_400.0));
        assert_eq!(parse_status_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn usage_tracks_cores_and_peak() {
        let mut u = Usage::default();
        let t = Instant::now();
        u.record(t, 10.0, 50.0, 60.0);
        u.record(t + Duration::from_secs(1), 11.5, 70.0, 80.0);
        u.record(t + Duration::from_secs(2), 12.0, 65.0, 80.0);
        assert!((u.cpu_secs - 2.0).abs() < 1e-9);
        assert!((u.peak_cores - 1.5).abs() < 1e-9);
        assert!((u.mean_cores() - 1.0).abs() < 1e-9);
        assert_eq!(u.peak_rss_mib, 80.0);
        assert_eq!(u.samples, 3);
    }

    #[test]
    fn a_users_config_keeps_its_settings_and_targets_but_gets_our_sources() {
        let spec = SpawnSpec {
            bin: PathBuf::from("tocsin"),
            dir: PathBuf::from("/tmp/x"),
            vendors: PathBuf::from("/repo/config/vendors"),
            follow_file: None,
            forward_to: Some("127.0.0.1:7000".parse().unwrap()),
            topology: None,
            base_config: None,
            data_dir: None,
        };
        let ours = engine_config(&spec, 5600, 8600, Path::new("/tmp/x/data"));
        let base = r#"
[engine]
data_dir = "/var/lib/tocsin"
vendors_dir = "my-vendors"
normaliser_shards = 3
[engine.mailbox]
normaliser = 8
[api]
listen = "0.0.0.0:8080"
workers = 1
[[sources]]
type = "syslog_udp"
name = "prod-udp"
listen = "0.0.0.0:514"
[[targets]]
type = "file"
name = "archive"
path = "archive.ndjson"
[router]
default_targets = ["archive"]
"#;
        let merged = merge_config(base, Path::new("/etc/tocsin"), &ours).unwrap();
        let v: toml::Value = toml::from_str(&merged).unwrap();
        assert_eq!(v["engine"]["normaliser_shards"].as_integer(), Some(3));
        assert_eq!(v["engine"]["mailbox"]["normaliser"].as_integer(), Some(8));
        assert_eq!(v["engine"]["data_dir"].as_str(), Some("/tmp/x/data"));
        assert_eq!(
            v["engine"]["vendors_dir"].as_str(),
            Some("/etc/tocsin/my-vendors")
        );
        assert_eq!(v["api"]["listen"].as_str(), Some("127.0.0.1:8600"));
        assert_eq!(v["api"]["workers"].as_integer(), Some(1));
        let sources = v["sources"].as_array().unwrap();
        assert!(sources
            .iter()
            .all(|s| s["name"].as_str() != Some("prod-udp")));
        assert_eq!(sources[1]["listen"].as_str(), Some("127.0.0.1:5600"));
        let names: Vec<&str> = v["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["archive", "harness"]);
        let route: Vec<&str> = v["router"]["default_targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(route, ["archive", "harness"]);
        // Without the listener (saturation), the user's own targets are all there is.
        let spec = SpawnSpec {
            forward_to: None,
            ..spec
        };
        let ours = engine_config(&spec, 5600, 8600, Path::new("/tmp/x/data"));
        let v: toml::Value =
            toml::from_str(&merge_config(base, Path::new("/etc/tocsin"), &ours).unwrap()).unwrap();
        assert_eq!(v["targets"].as_array().unwrap().len(), 1);
        assert_eq!(v["router"]["default_targets"].as_array().unwrap().len(), 1);
        assert!(merge_config("[engine", Path::new("/"), &ours).is_err());
    }

    #[test]
    fn config_names_the_ports_and_the_forward_target() {
        let spec = SpawnSpec {
            bin: PathBuf::from("tocsin"),
            dir: PathBuf::from("/tmp/x"),
            vendors: PathBuf::from("/repo/config/vendors"),
            follow_file: Some(PathBuf::from("/tmp/x/capture.log")),
            forward_to: Some("127.0.0.1:7000".parse().unwrap()),
            topology: None,
            base_config: None,
            data_dir: None,
        };
        let c = engine_config(&spec, 5600, 8600, Path::new("/tmp/x/data"));
        let v: toml::Value = toml::from_str(&c).unwrap();
        assert_eq!(v["api"]["listen"].as_str(), Some("127.0.0.1:8600"));
        let sources = v["sources"].as_array().unwrap();
        assert_eq!(sources.len(), 4);
        assert_eq!(sources[1]["listen"].as_str(), Some("127.0.0.1:5600"));
        assert_eq!(sources[3]["path"].as_str(), Some("/tmp/x/capture.log"));
        assert_eq!(v["targets"][0]["type"].as_str(), Some("tcp"));
        assert_eq!(v["targets"][0]["address"].as_str(), Some("127.0.0.1:7000"));
        assert_eq!(v["router"]["default_targets"][0].as_str(), Some("harness"));
        assert_eq!(
            v["engine"]["vendors_dir"].as_str(),
            Some("/repo/config/vendors")
        );
    }
}
