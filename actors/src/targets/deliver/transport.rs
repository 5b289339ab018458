//! How a rendered request leaves the process: HTTP (reqwest) or a syslog socket (TCP with
//! octet counting, or UDP), and how the answer is classified.

use futures_util::future::BoxFuture;
use std::time::Duration;
use tocsin_engine::notify::config::SyslogProtocol;
use tocsin_engine::notify::request::Request;
use tocsin_engine::notify::syslog::octet_frame;
use tokio::io::AsyncWriteExt;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted (2xx; written to the socket).
    Delivered,
    /// The receiver answered with a failure worth another try (429, 5xx, 408), after
    /// `retry_after` when it said so. Counts toward `max_attempts`.
    Retry {
        /// Why.
        error: String,
        /// The receiver's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// No answer: the receiver could not be reached (connection refused or reset, no answer
    /// in time). The target is down: the request is tried again (it is the probe that finds
    /// the target back) without counting toward `max_attempts`, and what comes after it
    /// spills, so an outage of any length loses nothing.
    Unreachable {
        /// Why.
        error: String,
    },
    /// The receiver refused it for good (other 4xx): dead-letter at once.
    Reject {
        /// Status and a body excerpt.
        error: String,
    },
}

/// Sends one request; one attempt at a time.
pub trait Transport: Send + std::fmt::Debug + 'static {
    /// One attempt (the caller bounds it with the target's timeout).
    fn send<'a>(&'a mut self, request: &'a Request) -> BoxFuture<'a, Outcome>;
    /// Forgets any connection (after a timeout cut an attempt short).
    fn reset(&mut self) {}
}

/// HTTP delivery.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    /// A client with `timeout` per request.
    pub fn new(timeout: Duration) -> Result<HttpTransport, reqwest::Error> {
        Ok(HttpTransport {
            client: reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .user_agent("tocsin")
                .build()?,
        })
    }
}

/// An error with its causes ("error sending request: ... : Connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Classifies an HTTP answer.
pub fn classify(status: u16, retry_after: Option<&str>, body: &str) -> Outcome {
    let excerpt: String = body.chars().take(200).collect();
    let error = format!("HTTP {status}: {excerpt}");
    match status {
        200..=299 => Outcome::Delivered,
        408 | 429 | 500..=599 => Outcome::Retry {
            error,
            retry_after: retry_after
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        },
        _ => Outcome::Reject { error },
    }
}

impl Transport for HttpTransport {
    fn send<'a>(&'a mut self, r: &'a Request) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let method = match reqwest::Method::from_bytes(r.method.as_bytes()) {
                Ok(m) => m,
                Err(e) => {
                    return Outcome::Reject {
                        error: format!("bad method `{}`: {e}", r.method),
                    }
                }
            };
            let mut req = self.client.request(method, &r.url).body(r.body.clone());
            for (k, v) in &r.headers {
                req = req.header(k, v);
            }
            match req.send().await {
                Err(e) if e.is_builder() => Outcome::Reject {
                    error: e.to_string(),
                },
                Err(e) if e.is_connect() || e.is_timeout() => Outcome::Unreachable {
                    error: error_chain(&e),
                },
                Err(e) => Outcome::Retry {
                    error: error_chain(&e),
                    retry_after: None,
                },
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let body = if (200..300).contains(&status) {
                        String::new()
                    } else {
                        resp.text().await.unwrap_or_default()
                    };
                    classify(status, retry_after.as_deref(), &body)
                }
            }
        })
    }
}

/// Syslog forwarding: TCP (octet counting, reconnecting after a failure) or UDP.
#[derive(Debug)]
pub struct SyslogTransport {
    address: String,
    protocol: SyslogProtocol,
    tcp: Option<tokio::net::TcpStream>,
    udp: Option<tokio::net::UdpSocket>,
    frame: Vec<u8>,
    /// Connections made after the first.
    pub reconnects: u64,
    connected_once: bool,
}

impl SyslogTransport {
    /// Connects lazily on the first send.
    pub fn new(address: &str, protocol: SyslogProtocol) -> SyslogTransport {
        SyslogTransport {
            address: address.to_owned(),
            protocol,
            tcp: None,
            udp: None,
            frame: Vec::new(),
            reconnects: 0,
            connected_once: false,
        }
    }

    async fn send_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        match self.protocol {
            SyslogProtocol::Tcp => {
                if self.tcp.is_none() {
                    let s = tokio::net::TcpStream::connect(&self.address).await?;
                    s.set_nodelay(true)?;
                    if self.connected_once {
                        self.reconnects += 1;
                    }
                    self.connected_once = true;
                    self.tcp = Some(s);
                }
                self.frame.clear();
                octet_frame(line, &mut self.frame);
                let Some(s) = self.tcp.as_mut() else {
                    return Err(std::io::Error::other("not connected"));
                };
                if let Err(e) = s.write_all(&self.frame).await {
                    self.tcp = None;
                    return Err(e);
                }
                Ok(())
            }
            SyslogProtocol::Udp => {
                if self.udp.is_none() {
                    let bind = if self.address.starts_with('[') {
                        "[::]:0"
                    } else {
                        "0.0.0.0:0"
                    };
                    let s = tokio::net::UdpSocket::bind(bind).await?;
                    s.connect(&self.address).await?;
                    self.udp = Some(s);
                }
                let Some(s) = self.udp.as_ref() else {
                    return Err(std::io::Error::other("no socket"));
                };
                if let Err(e) = s.send(line).await {
                    self.udp = None;
                    return Err(e);
                }
                Ok(())
            }
        }
    }
}

impl Transport for SyslogTransport {
    fn send<'a>(&'a mut self, r: &'a Request) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            match self.send_line(r.body.as_bytes()).await {
                Ok(()) => Outcome::Delivered,
                Err(e) => Outcome::Unreachable {
                    error: e.to_string(),
                },
            }
        })
    }

    fn reset(&mut self) {
        self.tcp = None;
        self.udp = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_answers_are_classified() {
        assert_eq!(classify(202, None, ""), Outcome::Delivered);
        assert_eq!(
            classify(429, Some("7"), "slow down"),
            Outcome::Retry {
                error: "HTTP 429: slow down".into(),
                retry_after: Some(Duration::from_secs(7))
            }
        );
        assert!(matches!(
            classify(503, Some("Wed, 21 Oct 2015 07:28:00 GMT"), ""),
            Outcome::Retry {
                retry_after: None,
                ..
            }
        ));
        assert_eq!(
            classify(400, None, "invalid"),
            Outcome::Reject {
                error: "HTTP 400: invalid".into()
            }
        );
        assert!(matches!(classify(404, None, ""), Outcome::Reject { .. }));
    }
}
