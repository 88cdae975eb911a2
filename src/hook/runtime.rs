//! The Lambda Runtime API, as a custom runtime (`provided.al2023`) speaks it: ask for the next
//! event, answer it or report an error, forever.
//!
//! Four documented HTTP calls on loopback, sent with the client the binary already has: the
//! `lambda_runtime` crate would add 15 crates the binary does not otherwise build, and its
//! start-up requires the AWS_LAMBDA_FUNCTION_* variables, which a shell run does not have.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};
use aws_smithy_http_client::Connector;
use serde_json::{Value, json};

use super::exchange::exchange;

/// One invocation: its ID, its event, and the time left before Lambda stops the function.
#[derive(Debug)]
pub struct Invocation {
    pub request_id: String,
    pub event: Value,
    pub remaining: Duration,
}

/// The Runtime API of the environment the function runs in.
#[derive(Debug)]
pub struct RuntimeApi {
    base: String,
    connector: Connector,
}

impl RuntimeApi {
    /// The API at `address`: `AWS_LAMBDA_RUNTIME_API`, `host:port` in Lambda (an emulator may
    /// give a whole URL).
    #[must_use]
    pub fn new(address: &str) -> Self {
        let address = address.trim_end_matches('/');
        let base = if address.starts_with("http://") {
            format!("{address}/2018-06-01/runtime")
        } else {
            format!("http://{address}/2018-06-01/runtime")
        };
        Self {
            base,
            connector: Connector::builder().build_http(),
        }
    }

    /// Waits for the next event.
    ///
    /// # Errors
    /// The Runtime API cannot be reached or answers something else than an event.
    pub async fn next(&self) -> Result<Invocation> {
        let (status, headers, body) = self
            .send("GET", format!("{}/invocation/next", self.base), None)
            .await?;
        if status != 200 {
            return Err(anyhow!(
                "the Lambda Runtime API answered {status} for the next event: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        let request_id = headers
            .0
            .ok_or_else(|| anyhow!("the next event came without Lambda-Runtime-Aws-Request-Id"))?;
        let event = serde_json::from_slice(&body)
            .with_context(|| format!("the event of invocation `{request_id}` is not JSON"))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let remaining = headers
            .1
            .map_or(Duration::from_mins(15), |deadline| remaining(deadline, now));
        Ok(Invocation {
            request_id,
            event,
            remaining,
        })
    }

    /// Answers invocation `request_id` with `answer`.
    ///
    /// # Errors
    /// The Runtime API refuses it or cannot be reached.
    pub async fn respond(&self, request_id: &str, answer: &Value) -> Result<()> {
        let url = format!("{}/invocation/{request_id}/response", self.base);
        self.post(url, answer).await
    }

    /// Reports that invocation `request_id` failed, with `message`.
    ///
    /// # Errors
    /// The Runtime API refuses it or cannot be reached.
    pub async fn fail(&self, request_id: &str, message: &str) -> Result<()> {
        let url = format!("{}/invocation/{request_id}/error", self.base);
        let body = json!({"errorMessage": message, "errorType": "bgtool.HookError"});
        self.post(url, &body).await
    }

    async fn post(&self, url: String, body: &Value) -> Result<()> {
        let (status, _, answer) = self.send("POST", url.clone(), Some(body)).await?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(anyhow!(
                "the Lambda Runtime API answered {status} to `{url}`: {}",
                String::from_utf8_lossy(&answer)
            ))
        }
    }

    /// One call: the status, the request ID and deadline headers, and the body.
    async fn send(
        &self,
        method: &str,
        url: String,
        body: Option<&Value>,
    ) -> Result<(u16, (Option<String>, Option<u64>), Vec<u8>)> {
        let (headers, payload): (&[(&str, &str)], Vec<u8>) = match body {
            Some(body) => (
                &[("content-type", "application/json")],
                body.to_string().into_bytes(),
            ),
            None => (&[], Vec::new()),
        };
        let answer = exchange(&self.connector, method, &url, headers, payload)
            .await
            .map_err(|reason| {
                anyhow!("the Lambda Runtime API at `{url}` cannot be reached: {reason}")
            })?;
        let request_id = answer
            .headers
            .get("lambda-runtime-aws-request-id")
            .map(str::to_owned);
        let deadline = answer
            .headers
            .get("lambda-runtime-deadline-ms")
            .and_then(|value| value.parse().ok());
        Ok((answer.status, (request_id, deadline), answer.body))
    }
}

/// The time left from `Lambda-Runtime-Deadline-Ms`: milliseconds since the Unix epoch in Lambda.
/// An emulator may send the time left itself (cargo-lambda 1.9 sends `600000`): a deadline
/// before 2001 cannot be a real one, so it is read that way.
fn remaining(deadline_milliseconds: u64, now: Duration) -> Duration {
    const YEAR_2001_IN_MILLISECONDS: u64 = 978_307_200_000;
    let deadline = Duration::from_millis(deadline_milliseconds);
    if deadline_milliseconds < YEAR_2001_IN_MILLISECONDS {
        deadline
    } else {
        deadline.saturating_sub(now)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{RuntimeApi, remaining};

    #[test]
    fn the_deadline_is_read_as_lambda_and_emulators_send_it() {
        let now = Duration::from_millis(1_796_521_208_045);
        assert_eq!(remaining(1_796_521_268_045, now), Duration::from_mins(1));
        assert_eq!(remaining(1_796_521_000_000, now), Duration::ZERO);
        assert_eq!(remaining(600_000, now), Duration::from_mins(10));
    }

    #[test]
    fn the_address_may_be_host_and_port_or_a_url() {
        assert_eq!(
            RuntimeApi::new("127.0.0.1:9001").base,
            "http://127.0.0.1:9001/2018-06-01/runtime"
        );
        assert_eq!(
            RuntimeApi::new("http://127.0.0.1:9000/.rt/").base,
            "http://127.0.0.1:9000/.rt/2018-06-01/runtime"
        );
    }
}
