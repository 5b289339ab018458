//! Running an allow-listed program: no shell, stdin closed, output captured, killed at the
//! timeout or when the run is dropped.
//!
//! Built on `std::process` plus Tokio's async unix pipes, because the workspace's Tokio does
//! not enable its `process` feature: stdout and stderr are read asynchronously in arrival
//! order, and the exit is observed with `try_wait` once both pipes have closed (backing off
//! from 1 ms to 50 ms, so a run ends within 50 ms of the program's exit). With
//! `tokio/process` enabled, [`run`] could move to `tokio::process::Command` unchanged in
//! behaviour.

use super::output::{with_output, Capture};
use super::{Finished, PreparedCommand};
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;

/// `PATH` of the program's otherwise empty environment, so the engine's own variables (API
/// tokens, credentials) never reach a remediation script.
const COMMAND_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// How long to wait for a killed child to be reaped before leaving that to a thread.
const REAP_AFTER_KILL: Duration = Duration::from_secs(2);
const READ_CHUNK: usize = 8192;

/// Runs `c` to completion or its timeout. Must be polled on a Tokio runtime with IO and time
/// enabled (actix's runtime is).
pub(super) async fn run(c: PreparedCommand) -> Finished {
    let spawned = Command::new(&c.program)
        .args(&c.args)
        .env_clear()
        .env("PATH", COMMAND_PATH)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => ChildGuard::new(child),
        Err(e) => return Finished::failed(format!("spawn failed: {}: {e}", c.program)),
    };
    let (out, err) = match child.output_pipes() {
        Ok(pipes) => pipes,
        Err(e) => {
            child.kill_and_reap().await;
            return Finished::failed(format!("spawn failed: cannot read the output: {e}"));
        }
    };

    let mut capture = Capture::new(c.max_output_bytes);
    let limit = Duration::from_millis(c.timeout_ms);
    let ran = tokio::time::timeout(limit, async {
        read_both(out, err, &mut capture).await;
        child.wait_exit().await
    })
    .await;
    match ran {
        Ok(Ok(status)) => from_status(status, capture),
        Ok(Err(e)) => {
            child.kill_and_reap().await;
            Finished::failed(with_output(
                format!("wait failed: {e}"),
                capture.into_text(),
            ))
        }
        Err(_elapsed) => {
            child.kill_and_reap().await;
            Finished::failed(with_output(
                format!("timed out after {} ms; killed", c.timeout_ms),
                capture.into_text(),
            ))
        }
    }
}

fn from_status(status: ExitStatus, capture: Capture) -> Finished {
    match status.code() {
        Some(code) => Finished {
            ok: code == 0,
            exit_code: Some(code),
            output: capture.into_text(),
        },
        None => {
            let how = match status.signal() {
                Some(sig) => format!("terminated by signal {sig}"),
                None => format!("ended without an exit code: {status}"),
            };
            Finished::failed(with_output(how, capture.into_text()))
        }
    }
}

/// Reads stdout and stderr until both close, into `capture` in arrival order. A read error
/// ends that stream and is noted in the output.
async fn read_both(mut out: pipe::Receiver, mut err: pipe::Receiver, capture: &mut Capture) {
    let mut out_buf = vec![0u8; READ_CHUNK];
    let mut err_buf = vec![0u8; READ_CHUNK];
    let (mut out_open, mut err_open) = (true, true);
    while out_open || err_open {
        tokio::select! {
            r = out.read(&mut out_buf), if out_open => {
                out_open = take_read(r, &out_buf, "stdout", capture);
            }
            r = err.read(&mut err_buf), if err_open => {
                err_open = take_read(r, &err_buf, "stderr", capture);
            }
            else => break,
        }
    }
}

/// Adds a read's bytes to `capture`; whether the stream is still open.
fn take_read(r: std::io::Result<usize>, buf: &[u8], name: &str, capture: &mut Capture) -> bool {
    match r {
        Ok(0) => false,
        Ok(n) => {
            capture.push(&buf[..n.min(buf.len())]);
            true
        }
        Err(e) => {
            capture.push(format!("\n[{name} read failed: {e}]\n").as_bytes());
            false
        }
    }
}

/// Owns the child until it is reaped; kills it when dropped before that, so a cancelled run
/// leaves no program behind.
#[derive(Debug)]
struct ChildGuard {
    /// `None` once reaped.
    child: Option<Child>,
}

impl ChildGuard {
    fn new(child: Child) -> ChildGuard {
        ChildGuard { child: Some(child) }
    }

    fn output_pipes(&mut self) -> std::io::Result<(pipe::Receiver, pipe::Receiver)> {
        let missing = || std::io::Error::other("the pipe was not set up");
        let child = self.child.as_mut().ok_or_else(missing)?;
        let out = child.stdout.take().ok_or_else(missing)?;
        let err = child.stderr.take().ok_or_else(missing)?;
        Ok((
            pipe::Receiver::from_owned_fd(OwnedFd::from(out))?,
            pipe::Receiver::from_owned_fd(OwnedFd::from(err))?,
        ))
    }

    /// Waits for the exit without blocking the runtime's thread, then forgets the child.
    async fn wait_exit(&mut self) -> std::io::Result<ExitStatus> {
        let mut pause = Duration::from_millis(1);
        loop {
            let child = self
                .child
                .as_mut()
                .ok_or_else(|| std::io::Error::other("the child was already reaped"))?;
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(status);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Kills the child (SIGKILL) and reaps it if it goes within [`REAP_AFTER_KILL`]; if not,
    /// dropping the guard leaves the reaping to a thread.
    async fn kill_and_reap(&mut self) {
        if let Some(child) = self.child.as_mut() {
            // An error means the child already exited; reaping below handles both cases.
            let _ = child.kill();
            let _ = tokio::time::timeout(REAP_AFTER_KILL, self.wait_exit()).await;
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = child.kill();
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        // Not gone yet: reap it off the runtime so it does not stay a zombie.
        let _ = std::thread::Builder::new()
            .name(format!("reap-{}", child.id()))
            .spawn(move || {
                let _ = child.wait();
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The state letter of `pid` from `/proc`, `None` once it is gone.
    fn proc_state(pid: u32) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Format: `pid (comm) S ...`; comm may hold spaces, so read after the last `)`.
        stat.rsplit_once(')')?.1.trim_start().chars().next()
    }

    #[test]
    fn dropping_an_unreaped_child_kills_it() {
        let child = match Command::new("/bin/sleep").arg("30").spawn() {
            Ok(c) => c,
            Err(e) => panic!("spawn /bin/sleep: {e}"),
        };
        let pid = child.id();
        assert_eq!(proc_state(pid).map(|s| s != 'Z'), Some(true));
        drop(ChildGuard::new(child));
        // SIGKILL was sent; wait (bounded) for the kernel to finish the process. This waits
        // for a state, it does not assert a duration.
        let mut gone = false;
        for _ in 0..1000 {
            if matches!(proc_state(pid), None | Some('Z')) {
                gone = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(gone, "pid {pid} still running after the guard was dropped");
    }
}
