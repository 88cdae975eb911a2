//! What every AWS caller (the ECS and CodeDeploy clients, the signed caller) shares: the AWS
//! configuration loaded as the AWS CLI loads it, sending with `--verbose` attempt logs, errors
//! worded for people, and response bodies kept exactly as AWS sent them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_ecs::config::interceptors::{
    AfterDeserializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_ecs::config::{ConfigBag, Intercept, Region, RuntimeComponents};
use aws_sdk_ecs::error::{BoxError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use serde_json::Value;

use crate::config::AwsSettings;
use crate::error::{AccessDenied, Hinted};

/// Sends a request made ready with `.customize()` (and any interceptors of its own) from an SDK
/// wrapper with `client`, `explainer` and `verbose`: with `--verbose` each attempt is logged, and
/// an SDK error comes back worded for people. A macro, since each SDK crate has its own
/// operation types.
macro_rules! send {
    ($wrapper:expr, $call:expr, $request:expr) => {{
        let mut request = $request;
        if $wrapper.verbose {
            request = request.interceptor($crate::aws::calls::AttemptLog::new($call.action));
        }
        request
            .send()
            .await
            .map_err(|error| $wrapper.explainer.explain(&error, &$call))
    }};
}
pub(crate) use send;

/// Loads the AWS configuration the way the AWS CLI does (environment, profiles, SSO, container
/// and instance credentials; `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_MAX_ATTEMPTS`,
/// `AWS_RETRY_MODE`), with bgtool's flags on top. Returns it with the Region it names.
///
/// # Errors
/// When no Region is configured anywhere.
pub async fn load(settings: &AwsSettings) -> Result<(aws_config::SdkConfig, String)> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(settings.connect_timeout)
        .operation_timeout(settings.timeout)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(super::http::client())
        .timeout_config(timeouts);
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(attempts) = settings.patient_attempts
        && std::env::var_os("AWS_MAX_ATTEMPTS").is_none()
        && std::env::var_os("AWS_RETRY_MODE").is_none()
    {
        // Standard mode's exponential backoff (with jitter, up to 20 s) rides out a burst of
        // throttling. Adaptive mode was measured here to wait about 10 s a call after two
        // throttled answers, too slow for hundreds of calls.
        loader = loader.retry_config(RetryConfig::standard().with_max_attempts(attempts));
    }
    let shared = loader.load().await;
    let Some(region) = shared.region().map(ToString::to_string) else {
        return Err(Hinted::new(
            "no AWS Region is set",
            "pass `--region`, set `AWS_REGION`, or set `region` in the profile",
        )
        .into());
    };
    Ok((shared, region))
}

impl Explainer {
    /// For messages only: the SDK itself resolves `AWS_ENDPOINT_URL_<SERVICE>` and
    /// `AWS_ENDPOINT_URL`.
    pub(crate) fn new(
        service: &'static str,
        variable: &str,
        host: &str,
        shared: &aws_config::SdkConfig,
        region: &str,
        settings: &AwsSettings,
    ) -> Self {
        let endpoint = std::env::var(variable)
            .ok()
            .or_else(|| shared.endpoint_url().map(ToOwned::to_owned))
            .unwrap_or_else(|| format!("https://{host}.{region}.amazonaws.com"));
        Self {
            service,
            region: region.to_owned(),
            endpoint,
            timeout: settings.timeout,
        }
    }
}

/// Words an SDK error for people: which service, where, and what to do about it.
#[derive(Debug, Clone)]
pub(crate) struct Explainer {
    pub(crate) service: &'static str,
    pub(crate) region: String,
    pub(crate) endpoint: String,
    pub(crate) timeout: Duration,
}

impl Explainer {
    pub(crate) fn explain<E>(&self, error: &SdkError<E>, call: &Call) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = error
            .raw_response()
            .map(|response| response.status().as_u16());
        match error {
            SdkError::ServiceError(context) => {
                let service_error = context.err();
                let code = service_error.code().unwrap_or("an unnamed error");
                let message = service_error.message().unwrap_or("no message");
                self.explain_service_error(code, message, status, call)
            }
            SdkError::TimeoutError(_) => Hinted::new(
                format!(
                    "{}: no complete answer from {} at `{}` within `--timeout` ({} s)",
                    call.subject,
                    self.service,
                    self.endpoint,
                    self.timeout.as_secs_f64()
                ),
                "raise `--timeout`, or check the network path to the endpoint",
            )
            .into(),
            SdkError::DispatchFailure(failure) => {
                let detail = DisplayErrorContext(error).to_string();
                if failure.is_timeout() {
                    Hinted::new(
                        format!("{}: timed out connecting to {} at `{}`", call.subject, self.service, self.endpoint),
                        "raise `--connect-timeout`, or check the network, proxy (HTTPS_PROXY) and AWS_ENDPOINT_URL",
                    )
                    .into()
                } else if mentions_credentials(&detail) {
                    Hinted::new(
                        format!("{}: no usable AWS credentials: {detail}", call.subject),
                        CREDENTIALS_HINT,
                    )
                    .into()
                } else {
                    Hinted::new(
                        format!(
                            "{}: cannot reach {} at `{}`: {detail}",
                            call.subject, self.service, self.endpoint
                        ),
                        "check the network, proxy (HTTPS_PROXY) and AWS_ENDPOINT_URL",
                    )
                    .into()
                }
            }
            SdkError::ResponseError(_) => Hinted::new(
                format!(
                    "{}: {} sent a response that cannot be read: {}",
                    call.subject,
                    self.service,
                    DisplayErrorContext(error)
                ),
                "the response was cut short or altered on the way, often by a proxy; run again",
            )
            .into(),
            _ => {
                let detail = DisplayErrorContext(error).to_string();
                if mentions_credentials(&detail) {
                    Hinted::new(
                        format!("{}: no usable AWS credentials: {detail}", call.subject),
                        CREDENTIALS_HINT,
                    )
                    .into()
                } else {
                    anyhow!("{}: {detail}", call.subject)
                }
            }
        }
    }

    pub(crate) fn explain_service_error(
        &self,
        code: &str,
        message: &str,
        status: Option<u16>,
        call: &Call,
    ) -> anyhow::Error {
        let subject = &call.subject;
        let service = self.service;
        match code {
            "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => AccessDenied(Hinted::new(
                format!("{subject}: access denied: {message}"),
                format!(
                    "allow `{}` in the IAM policy of the identity bgtool runs as (in CodeBuild, the project's service role)",
                    call.action
                ),
            ))
            .into(),
            "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch"
            | "IncompleteSignature"
            | "MissingAuthenticationToken"
            | "ExpiredTokenException"
            | "ExpiredToken" => Hinted::new(
                format!("{subject}: AWS rejected the credentials (`{code}`): {message}"),
                CREDENTIALS_HINT,
            )
            .into(),
            "ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded" => {
                Hinted::new(
                    format!("{subject}: {service} kept throttling the request after the retries: {message}"),
                    "run again later, or allow more retries with `AWS_MAX_ATTEMPTS` and a longer `--timeout`",
                )
                .into()
            }
            "ClientException" | "InvalidParameterException" | "ClusterNotFoundException" | "ServiceNotFoundException" => {
                Hinted::new(format!("{subject}: {service} says: {message}"), call.not_found_hint(&self.region)).into()
            }
            _ if code == "ServerException" || status.is_some_and(|status| status >= 500) => Hinted::new(
                format!(
                    "{subject}: {service} kept failing (`{code}`, HTTP {}) after the retries: {message}",
                    status.map_or_else(|| "status unknown".to_owned(), |status| status.to_string())
                ),
                "the service is having trouble; run again later, or allow more retries with `AWS_MAX_ATTEMPTS`",
            )
            .into(),
            _ => anyhow!("{subject}: {service} answered `{code}`: {message}"),
        }
    }
}

const CREDENTIALS_HINT: &str = "check which credentials are in use with `aws sts get-caller-identity`; \
    refresh expired ones (`aws sso login` for SSO), or set AWS_PROFILE or the AWS_ACCESS_KEY_ID pair";

fn mentions_credentials(detail: &str) -> bool {
    let lower = detail.to_ascii_lowercase();
    lower.contains("credential") || lower.contains("identity")
}

/// What a call was for, so its errors can say so.
pub(crate) struct Call {
    /// The IAM action the call needs.
    pub(crate) action: &'static str,
    /// What was asked for, e.g. "task definition `web:3`".
    pub(crate) subject: String,
    pub(crate) lookup: Lookup,
}

pub(crate) enum Lookup {
    /// What to check when the thing asked for is not there.
    Hint(String),
    TaskDefinition {
        reference: String,
    },
    Service {
        cluster: String,
    },
}

impl Call {
    pub(crate) fn not_found_hint(&self, region: &str) -> String {
        match &self.lookup {
            Lookup::Hint(hint) => hint.clone(),
            Lookup::TaskDefinition { reference } => {
                let family = reference
                    .rsplit('/')
                    .next()
                    .and_then(|last| last.split(':').next())
                    .unwrap_or(reference);
                format!(
                    "check that it exists in `{region}`: `aws ecs list-task-definitions --region {region} --family-prefix {family}`"
                )
            }
            Lookup::Service { cluster } => format!(
                "check `--cluster` and `--service` in `{region}`: `aws ecs list-services --region {region} --cluster {cluster}`"
            ),
        }
    }
}

/// With `--verbose`, reports the outcome of each attempt of one call, so retries are visible.
#[derive(Debug)]
pub(crate) struct AttemptLog {
    action: &'static str,
    attempts: AtomicUsize,
}

impl AttemptLog {
    pub(crate) fn new(action: &'static str) -> Self {
        Self {
            action,
            attempts: AtomicUsize::new(0),
        }
    }
}

impl Intercept for AttemptLog {
    fn name(&self) -> &'static str {
        "AttemptLog"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempt = self.attempts.fetch_add(1, Ordering::Relaxed) + 1;
        let outcome = match context.response() {
            Some(response) => {
                let error_type = response
                    .headers()
                    .get("x-amzn-errortype")
                    .map(|kind| format!(" {}", kind.split(':').next().unwrap_or(kind)))
                    .unwrap_or_default();
                format!("HTTP {}{error_type}", response.status().as_u16())
            }
            None => match context.output_or_error() {
                Some(Err(error)) => format!("no response: {}", DisplayErrorContext(error)),
                _ => "no response".to_owned(),
            },
        };
        crate::diagnostics::note(&format!("{} attempt {attempt}: {outcome}", self.action));
        Ok(())
    }
}

/// Keeps the body of the last response the SDK deserialized.
#[derive(Debug, Clone, Default)]
pub(crate) struct BodyCapture {
    body: Arc<Mutex<Option<Vec<u8>>>>,
}

impl BodyCapture {
    pub(crate) fn take(&self) -> Option<Vec<u8>> {
        self.body
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl Intercept for BodyCapture {
    fn name(&self) -> &'static str {
        "BodyCapture"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(bytes) = context.response().body().bytes() {
            *self.body.lock().unwrap_or_else(PoisonError::into_inner) = Some(bytes.to_vec());
        }
        Ok(())
    }
}

pub(crate) fn captured_json(capture: &BodyCapture, subject: &str) -> Result<Value> {
    let body = capture
        .take()
        .ok_or_else(|| anyhow!("{subject}: the ECS response body was not available"))?;
    serde_json::from_slice(&body)
        .with_context(|| format!("{subject}: the ECS response is not JSON"))
}
