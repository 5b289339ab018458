//! The comparison peer: rsyslog from Debian, started by the harness on a free loopback port
//! with a minimal configuration (TCP in, one file out, the raw message per line), so the same
//! workload's figure for a well-known syslog daemon comes from the same run on the same box.

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A running rsyslogd.
#[derive(Debug)]
pub struct Rsyslog {
    child: Child,
    pub addr: SocketAddr,
    /// The file its omfile action appends to: one line per message received.
    pub out: PathBuf,
    pub version: String,
}

/// Where rsyslogd is: on the PATH or in /usr/sbin (Debian's package puts it there).
pub fn find_rsyslogd() -> Option<PathBuf> {
    let in_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("rsyslogd"))
            .find(|p| p.is_file())
    });
    in_path.or_else(|| {
        let p = PathBuf::from("/usr/sbin/rsyslogd");
        p.is_file().then_some(p)
    })
}

/// The minimal configuration: imtcp on loopback with its own ruleset (so rsyslogd's own
/// messages never reach the counted file), one omfile action writing the raw message.
pub fn config(work: &Path, port: u16, out: &Path) -> String {
    format!(
        "global(workDirectory=\"{work}\" maxMessageSize=\"64k\")\n\
         module(load=\"imtcp\" maxSessions=\"1024\")\n\
         template(name=\"rawline\" type=\"string\" string=\"%rawmsg%\\n\")\n\
         ruleset(name=\"bench\") {{\n    \
             action(type=\"omfile\" file=\"{out}\" template=\"rawline\")\n\
         }}\n\
         input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\" ruleset=\"bench\")\n",
        work = work.display(),
        out = out.display(),
    )
}

impl Rsyslog {
    /// Writes the config under `dir`, checks it with `rsyslogd -N1`, starts rsyslogd in the
    /// foreground and waits until its port accepts connections.
    pub fn start(dir: &Path) -> Result<Rsyslog> {
        let bin = find_rsyslogd().context(
            "rsyslogd is not installed; install Debian's package (`apt-get install -y rsyslog`) \
             or leave out --peer",
        )?;
        let work = dir.join("rsyslog");
        let spool = work.join("spool");
        fs::create_dir_all(&spool)?;
        let work = fs::canonicalize(&work)?;
        let out = work.join("out.log");
        let _ = fs::remove_file(&out);
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let conf = work.join("rsyslog.conf");
        fs::write(&conf, config(&work.join("spool"), port, &out))?;
        let check = Command::new(&bin)
            .arg("-N1")
            .arg("-f")
            .arg(&conf)
            .output()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        if !check.status.success() {
            bail!(
                "rsyslogd refused the config {}: {}",
                conf.display(),
                String::from_utf8_lossy(&check.stderr).trim()
            );
        }
        let version = Command::new(&bin)
            .arg("-v")
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout).lines().next().map(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .unwrap_or("")
                        .trim_end_matches(',')
                        .to_string()
                })
            })
            .unwrap_or_default();
        let log = fs::File::create(work.join("rsyslogd.log"))?;
        let child = Command::new(&bin)
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(work.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut peer = Rsyslog {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            out,
            version,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = peer.child.try_wait()? {
                bail!(
                    "rsyslogd exited ({status}) before listening; see {}",
                    work.join("rsyslogd.log").display()
                );
            }
            if TcpStream::connect_timeout(&peer.addr, Duration::from_millis(200)).is_ok() {
                return Ok(peer);
            }
            if Instant::now() > deadline {
                bail!("rsyslogd did not open {} within 20 s", peer.addr);
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM and wait.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_listens_on_loopback_and_writes_raw_lines() {
        let c = config(Path::new("/w/spool"), 10514, Path::new("/w/out.log"));
        assert!(
            c.contains(
                "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"10514\" ruleset=\"bench\")"
            ),
            "{c}"
        );
        assert!(
            c.contains("action(type=\"omfile\" file=\"/w/out.log\" template=\"rawline\")"),
            "{c}"
        );
        assert!(c.contains("string=\"%rawmsg%\\n\""), "{c}");
        assert!(c.contains("workDirectory=\"/w/spool\""), "{c}");
    }
}
