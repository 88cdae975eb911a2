//! Sends a check's requests and records each answer: the HTTP client the SDK already carries
//! (hyper, rustls with ring), so the checks add no second HTTP stack to the binary.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_smithy_http_client::Connector;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use super::checks::{Answer, Check};
use super::exchange::exchange;

/// Plain HTTP at once; TLS (and the system's trust roots) only when an `https://` URL needs it.
#[derive(Debug)]
pub struct Prober {
    plain: Connector,
    tls: OnceLock<Connector>,
}

impl Default for Prober {
    fn default() -> Self {
        Self {
            plain: Connector::builder().build_http(),
            tls: OnceLock::new(),
        }
    }
}

impl Prober {
    /// Sends the check's requests to `url` one after the other; each is given up after the
    /// check's `within`. With `host`, `url` names an address and `host` the `Host` header.
    pub async fn answers(&self, check: &Check, url: &str, host: Option<&str>) -> Vec<Answer> {
        let mut answers = Vec::new();
        for _ in 0..check.requests {
            answers.push(self.answer(check, url, host).await);
        }
        answers
    }

    async fn answer(&self, check: &Check, url: &str, host: Option<&str>) -> Answer {
        let connector = if url.starts_with("https://") {
            self.tls.get_or_init(|| {
                Connector::builder()
                    .tls_provider(Provider::Rustls(CryptoMode::Ring))
                    .build()
            })
        } else {
            &self.plain
        };
        let started = Instant::now();
        let mut headers = vec![("user-agent", "bgtool-hook")];
        if let Some(host) = host {
            headers.push(("host", host));
        }
        let sent = exchange(connector, &check.method, url, &headers, Vec::new());
        match tokio::time::timeout(check.within, sent).await {
            Err(_) => Answer::TimedOut {
                after: check.within,
            },
            Ok(Err(reason)) => Answer::Unreachable { reason },
            Ok(Ok(answer)) => Answer::Response {
                status: answer.status,
                took: round_to_milliseconds(started.elapsed()),
                body_matches: check.contains.as_ref().is_none_or(|text| {
                    String::from_utf8_lossy(&answer.body).contains(text.as_str())
                }),
            },
        }
    }
}

fn round_to_milliseconds(duration: Duration) -> Duration {
    Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}
