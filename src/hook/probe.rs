//! Sends a check's requests and records each answer: the HTTP client the SDK already carries
//! (hyper, rustls with ring), so the checks add no second HTTP stack to the binary.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_smithy_http_client::Connector;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;

use super::checks::{Answer, Check};

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
    /// check's `within`.
    pub async fn answers(&self, check: &Check, url: &str) -> Vec<Answer> {
        let mut answers = Vec::new();
        for _ in 0..check.requests {
            answers.push(self.answer(check, url).await);
        }
        answers
    }

    async fn answer(&self, check: &Check, url: &str) -> Answer {
        let mut request = HttpRequest::new(SdkBody::empty());
        if let Err(error) = request.set_uri(url) {
            return Answer::Unreachable {
                reason: format!("`{url}` is not a valid URL: {error}"),
            };
        }
        if let Err(error) = request.set_method(&check.method) {
            return Answer::Unreachable {
                reason: error.to_string(),
            };
        }
        request.headers_mut().insert("user-agent", "bgtool-hook");
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
        let exchange = async {
            let response = connector.call(request).await.map_err(|error| {
                // The connector's error names the kind ("io error"); the source says what.
                let mut reason = error.to_string();
                let mut source = std::error::Error::source(&error);
                while let Some(cause) = source {
                    reason = cause.to_string();
                    source = cause.source();
                }
                reason
            })?;
            let status = response.status().as_u16();
            let body = ByteStream::new(response.into_body())
                .collect()
                .await
                .map_err(|error| format!("the body could not be read: {error}"))?
                .into_bytes();
            let body_matches = check
                .contains
                .as_ref()
                .is_none_or(|text| String::from_utf8_lossy(&body).contains(text.as_str()));
            Ok::<_, String>((status, body_matches))
        };
        match tokio::time::timeout(check.within, exchange).await {
            Err(_) => Answer::TimedOut {
                after: check.within,
            },
            Ok(Err(reason)) => Answer::Unreachable { reason },
            Ok(Ok((status, body_matches))) => Answer::Response {
                status,
                took: round_to_milliseconds(started.elapsed()),
                body_matches,
            },
        }
    }
}

fn round_to_milliseconds(duration: Duration) -> Duration {
    Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}
