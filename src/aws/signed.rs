//! One signed caller for the AWS services bgtool only reads from (CloudWatch Logs, Elastic Load
//! Balancing, ECR, Secrets Manager, Systems Manager, IAM): their JSON and Query protocols through
//! the SDK's own orchestrator, so credentials, SigV4, retries, timeouts and the HTTP client are the
//! very ones the ECS and CodeDeploy clients use, without a generated SDK crate per service (each
//! costs 100–400 KB of a binary that must stay within 8 MiB).
//!
//! Answers come back as JSON values: a JSON protocol's body as the service sent it; a Query
//! protocol's XML read into the same shape (see [`xml_to_json`]).

use std::borrow::Cow;
use std::fmt::Write as _;

use aws_runtime::auth::SigV4OperationSigningConfig;
use aws_runtime::auth::sigv4::{SCHEME_ID as SIGV4, SigV4AuthScheme};
use aws_runtime::retries::classifiers::AwsErrorCodeClassifier;
use aws_smithy_runtime::client::orchestrator::operation::{Operation, OperationBuilder};
use aws_smithy_runtime::client::retries::classifiers::{
    HttpStatusCodeClassifier, TransientErrorClassifier,
};
use aws_smithy_runtime_api::client::auth::static_resolver::StaticAuthSchemeOptionResolver;
use aws_smithy_runtime_api::client::auth::{AuthSchemeOptionResolverParams, SharedAuthScheme};
use aws_smithy_runtime_api::client::identity::SharedIdentityResolver;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
use aws_smithy_runtime_api::client::runtime_plugin::StaticRuntimePlugin;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::Layer;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::SigningName;
use aws_types::region::SigningRegion;
use serde_json::{Map, Value};

use super::calls::{AttemptLog, Call, Explainer};
use crate::config::AwsSettings;

/// How a service takes its requests.
#[derive(Debug, Clone, Copy)]
pub enum Protocol {
    /// `awsJson1_1`: a JSON body, the operation in `X-Amz-Target: PREFIX.Operation`.
    Json { target_prefix: &'static str },
    /// `awsQuery`: a form-encoded body with `Action` and `Version`; XML answers.
    Query { version: &'static str },
}

/// One AWS service as this caller reaches it.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// For messages, e.g. "CloudWatch Logs".
    pub name: &'static str,
    /// The service's own endpoint variable, e.g. `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`.
    pub endpoint_variable: &'static str,
    /// The first labels of its Regional host name, e.g. `logs` or `api.ecr`.
    pub host: &'static str,
    /// SigV4's service name.
    pub signing_name: &'static str,
    pub protocol: Protocol,
    /// One endpoint per partition (IAM), signed for the partition's first Region.
    pub global: bool,
}

pub const LOGS: Service = Service {
    name: "CloudWatch Logs",
    endpoint_variable: "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
    host: "logs",
    signing_name: "logs",
    protocol: Protocol::Json {
        target_prefix: "Logs_20140328",
    },
    global: false,
};

pub const LOAD_BALANCING: Service = Service {
    name: "Elastic Load Balancing",
    endpoint_variable: "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
    host: "elasticloadbalancing",
    signing_name: "elasticloadbalancing",
    protocol: Protocol::Query {
        version: "2015-12-01",
    },
    global: false,
};

pub const CLOUDWATCH: Service = Service {
    name: "CloudWatch",
    endpoint_variable: "AWS_ENDPOINT_URL_CLOUDWATCH",
    host: "monitoring",
    signing_name: "monitoring",
    protocol: Protocol::Query {
        version: "2010-08-01",
    },
    global: false,
};

pub const EC2: Service = Service {
    name: "EC2",
    endpoint_variable: "AWS_ENDPOINT_URL_EC2",
    host: "ec2",
    signing_name: "ec2",
    protocol: Protocol::Query {
        version: "2016-11-15",
    },
    global: false,
};

pub const ECR: Service = Service {
    name: "ECR",
    endpoint_variable: "AWS_ENDPOINT_URL_ECR",
    host: "api.ecr",
    signing_name: "ecr",
    protocol: Protocol::Json {
        target_prefix: "AmazonEC2ContainerRegistry_V20150921",
    },
    global: false,
};

pub const SECRETS_MANAGER: Service = Service {
    name: "Secrets Manager",
    endpoint_variable: "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    host: "secretsmanager",
    signing_name: "secretsmanager",
    protocol: Protocol::Json {
        target_prefix: "secretsmanager",
    },
    global: false,
};

pub const SYSTEMS_MANAGER: Service = Service {
    name: "Systems Manager",
    endpoint_variable: "AWS_ENDPOINT_URL_SSM",
    host: "ssm",
    signing_name: "ssm",
    protocol: Protocol::Json {
        target_prefix: "AmazonSSM",
    },
    global: false,
};

pub const IAM: Service = Service {
    name: "IAM",
    endpoint_variable: "AWS_ENDPOINT_URL_IAM",
    host: "iam",
    signing_name: "iam",
    protocol: Protocol::Query {
        version: "2010-05-08",
    },
    global: true,
};

/// A request's parameters: a JSON body, or the Query protocol's flattened `Name.member.1` pairs.
#[derive(Debug, Clone)]
pub enum Parameters {
    Json(Value),
    Query(Vec<(String, String)>),
}

/// An error answer: the service's error code and message.
#[derive(Debug)]
pub struct ServiceError {
    metadata: ErrorMetadata,
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{}: {}",
            self.metadata.code().unwrap_or("an unnamed error"),
            self.metadata.message().unwrap_or("no message")
        )
    }
}

impl std::error::Error for ServiceError {}

impl ProvideErrorMetadata for ServiceError {
    fn meta(&self) -> &ErrorMetadata {
        &self.metadata
    }
}

/// What a call returns before it is worded for people: callers branch on some codes (a missing
/// log stream, a denied check) and explain the rest with [`Signed::explain`].
pub type Answer = Result<Value, SdkError<ServiceError, HttpResponse>>;

/// The error code of a failed call, if the service answered one.
#[must_use]
pub fn error_code(error: &SdkError<ServiceError, HttpResponse>) -> Option<&str> {
    error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
}

/// The caller: one loaded AWS configuration, any Region.
#[derive(Debug, Clone)]
pub struct Signed {
    shared: aws_config::SdkConfig,
    region: String,
    settings: AwsSettings,
}

impl Signed {
    #[must_use]
    pub fn from_shared(
        shared: &aws_config::SdkConfig,
        region: &str,
        settings: &AwsSettings,
    ) -> Self {
        Self {
            shared: shared.clone(),
            region: region.to_owned(),
            settings: settings.clone(),
        }
    }

    /// The configured Region.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Sends `operation` to `service` in `region` (or the configured one), signed and retried as
    /// every SDK call is; with `--verbose`, each attempt is logged under `action`.
    ///
    /// # Errors
    /// The service's error answer, or the SDK's failure to get one.
    pub async fn send(
        &self,
        service: &Service,
        region: Option<&str>,
        operation: &'static str,
        action: &'static str,
        parameters: Parameters,
    ) -> Answer {
        let region = region.unwrap_or(&self.region);
        let (endpoint, signing_region) = self.endpoint(service, region);
        let request = prepare(service.protocol, operation, parameters);
        let protocol = service.protocol;
        let mut components = RuntimeComponentsBuilder::new("bgtool signed caller")
            .with_auth_scheme(SharedAuthScheme::new(SigV4AuthScheme::new()))
            .with_auth_scheme_option_resolver(Some(StaticAuthSchemeOptionResolver::new(vec![
                SIGV4,
            ])))
            .with_retry_classifier(HttpStatusCodeClassifier::default())
            .with_retry_classifier(TransientErrorClassifier::<ServiceError>::new())
            .with_retry_classifier(AwsErrorCodeClassifier::<ServiceError>::new());
        if let Some(credentials) = self.shared.credentials_provider() {
            components.set_identity_resolver(SIGV4, SharedIdentityResolver::new(credentials));
        }
        if let Some(cache) = self.shared.identity_cache() {
            components.set_identity_cache(Some(cache));
        }
        let mut layer = Layer::new("bgtool signed caller");
        layer.store_put(AuthSchemeOptionResolverParams::new(()));
        layer.store_put(SigV4OperationSigningConfig {
            region: Some(SigningRegion::from(aws_types::region::Region::new(
                signing_region,
            ))),
            name: Some(SigningName::from_static(service.signing_name)),
            ..SigV4OperationSigningConfig::default()
        });
        let builder = self
            .builder(service.signing_name, operation, &endpoint, action)
            .runtime_plugin(
                StaticRuntimePlugin::new()
                    .with_config(layer.freeze())
                    .with_runtime_components(components),
            );
        let operation = builder
            .serializer(move |request: Prepared| request.into_http())
            .deserializer(move |response: &HttpResponse| read_answer(protocol, response))
            .build();
        operation.invoke(request).await
    }

    /// An operation on the loaded configuration's HTTP client, retries, timeouts, sleep and clock,
    /// with `--verbose` attempt logs.
    fn builder(
        &self,
        service_name: &'static str,
        operation: &'static str,
        endpoint: &str,
        action: &'static str,
    ) -> OperationBuilder {
        let mut builder = Operation::builder()
            .service_name(service_name)
            .operation_name(operation)
            .endpoint_url(endpoint)
            .standard_retry(
                &self
                    .shared
                    .retry_config()
                    .cloned()
                    .unwrap_or_else(aws_smithy_types::retry::RetryConfig::standard),
            )
            .timeout_config(
                self.shared
                    .timeout_config()
                    .cloned()
                    .unwrap_or_else(aws_smithy_types::timeout::TimeoutConfig::disabled),
            );
        if let Some(client) = self.shared.http_client() {
            builder = builder.http_client(client);
        }
        if let Some(sleep) = self.shared.sleep_impl() {
            builder = builder.sleep_impl(sleep);
        }
        if let Some(time) = self.shared.time_source() {
            builder = builder.time_source(time);
        }
        if self.settings.verbose {
            builder = builder.interceptor(AttemptLog::new(action));
        }
        builder
    }

    /// GET of a presigned URL (where ECR keeps an image's config blob) with nothing signed by
    /// bgtool: the URL carries its own signature. The answer must be JSON.
    ///
    /// # Errors
    /// Why no JSON came back, in words.
    pub async fn fetch_json(&self, url: &str, action: &'static str) -> Result<Value, String> {
        let (origin, path) =
            split_url(url).ok_or_else(|| format!("`{url}` is not an http(s) URL"))?;
        let path = path.to_owned();
        let operation = self
            .builder("s3", "GetObject", origin, action)
            .no_auth()
            .retry_classifier(HttpStatusCodeClassifier::default())
            .serializer(move |(): ()| {
                let mut request = HttpRequest::new(SdkBody::empty());
                request.set_method("GET")?;
                request.set_uri(path.clone())?;
                Ok(request)
            })
            .deserializer(|response: &HttpResponse| {
                let status = response.status().as_u16();
                let body = response.body().bytes().unwrap_or_default();
                if !(200..300).contains(&status) {
                    return Err(OrchestratorError::operation(ServiceError {
                        metadata: ErrorMetadata::builder()
                            .code(format!("HTTP {status}"))
                            .build(),
                    }));
                }
                serde_json::from_slice::<Value>(body)
                    .map_err(|error| OrchestratorError::other(format!("not JSON: {error}")))
            })
            .build();
        operation.invoke(()).await.map_err(|error| {
            aws_smithy_types::error::display::DisplayErrorContext(&error).to_string()
        })
    }

    /// Words a failed call for people, as every SDK call's errors are.
    #[must_use]
    pub(crate) fn explain(
        &self,
        service: &Service,
        region: Option<&str>,
        error: &SdkError<ServiceError, HttpResponse>,
        call: &Call,
    ) -> anyhow::Error {
        let region = region.unwrap_or(&self.region);
        let (endpoint, _) = self.endpoint(service, region);
        Explainer {
            service: service.name,
            region: region.to_owned(),
            endpoint,
            timeout: self.settings.timeout,
        }
        .explain(error, call)
    }

    /// `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL` (or the profile's `endpoint_url`),
    /// then AWS's own host name for the Region's partition. Returns it with the Region to sign for.
    fn endpoint(&self, service: &Service, region: &str) -> (String, String) {
        let partition = Partition::of(region);
        let signing_region = if service.global {
            partition.global_region.to_owned()
        } else {
            region.to_owned()
        };
        if let Some(url) = std::env::var(service.endpoint_variable)
            .ok()
            .filter(|url| !url.is_empty())
            .or_else(|| self.shared.endpoint_url().map(ToOwned::to_owned))
        {
            return (url, signing_region);
        }
        let fips = if self.shared.use_fips() == Some(true) {
            "-fips"
        } else {
            ""
        };
        let host = if service.global {
            format!("{}{fips}.{}", service.host, partition.global_host)
        } else {
            format!("{}{fips}.{region}.{}", service.host, partition.suffix)
        };
        (format!("https://{host}"), signing_region)
    }
}

/// `https://host:port/path?query` → (`https://host:port`, `/path?query`).
fn split_url(url: &str) -> Option<(&str, &str)> {
    let scheme_end = url.find("://")? + 3;
    if !url[..scheme_end].eq_ignore_ascii_case("https://")
        && !url[..scheme_end].eq_ignore_ascii_case("http://")
    {
        return None;
    }
    Some(match url[scheme_end..].find('/') {
        Some(slash) => url.split_at(scheme_end + slash),
        None => (url, "/"),
    })
}

/// What differs between AWS partitions for the endpoints this caller builds.
#[derive(Debug, PartialEq, Eq)]
struct Partition {
    suffix: &'static str,
    /// Where a global service (IAM) lives, and the Region its requests are signed for.
    global_host: &'static str,
    global_region: &'static str,
}

impl Partition {
    fn of(region: &str) -> Self {
        if region.starts_with("cn-") {
            Self {
                suffix: "amazonaws.com.cn",
                global_host: "cn-north-1.amazonaws.com.cn",
                global_region: "cn-north-1",
            }
        } else if region.starts_with("us-gov-") {
            Self {
                suffix: "amazonaws.com",
                global_host: "us-gov.amazonaws.com",
                global_region: "us-gov-west-1",
            }
        } else if region.starts_with("us-isob-") {
            Self {
                suffix: "sc2s.sgov.gov",
                global_host: "us-isob-east-1.sc2s.sgov.gov",
                global_region: "us-isob-east-1",
            }
        } else if region.starts_with("us-iso-") {
            Self {
                suffix: "c2s.ic.gov",
                global_host: "us-iso-east-1.c2s.ic.gov",
                global_region: "us-iso-east-1",
            }
        } else if region.starts_with("eusc-") {
            Self {
                suffix: "amazonaws.eu",
                global_host: "eusc-de-east-1.amazonaws.eu",
                global_region: "eusc-de-east-1",
            }
        } else {
            Self {
                suffix: "amazonaws.com",
                global_host: "amazonaws.com",
                global_region: "us-east-1",
            }
        }
    }
}

/// A request ready for the wire, before the endpoint and the signature are added.
#[derive(Debug)]
struct Prepared {
    content_type: &'static str,
    target: Option<String>,
    body: Vec<u8>,
}

fn prepare(protocol: Protocol, operation: &str, parameters: Parameters) -> Prepared {
    match (protocol, parameters) {
        (Protocol::Json { target_prefix }, parameters) => {
            let body = match parameters {
                Parameters::Json(value) => value,
                Parameters::Query(pairs) => Value::Object(
                    pairs
                        .into_iter()
                        .map(|(key, value)| (key, Value::String(value)))
                        .collect(),
                ),
            };
            Prepared {
                content_type: "application/x-amz-json-1.1",
                target: Some(format!("{target_prefix}.{operation}")),
                body: body.to_string().into_bytes(),
            }
        }
        (Protocol::Query { version }, parameters) => {
            let mut form = format!("Action={operation}&Version={version}");
            if let Parameters::Query(pairs) = parameters {
                for (key, value) in pairs {
                    form.push('&');
                    form.push_str(&form_encode(&key));
                    form.push('=');
                    form.push_str(&form_encode(&value));
                }
            }
            Prepared {
                content_type: "application/x-www-form-urlencoded",
                target: None,
                body: form.into_bytes(),
            }
        }
    }
}

impl Prepared {
    fn into_http(self) -> Result<HttpRequest, aws_smithy_runtime_api::box_error::BoxError> {
        let mut request = HttpRequest::new(SdkBody::from(self.body));
        request.set_method("POST")?;
        request.set_uri("/")?;
        let headers = request.headers_mut();
        headers.insert("content-type", self.content_type);
        if let Some(target) = self.target {
            headers.insert("x-amz-target", target);
        }
        Ok(request)
    }
}

/// `application/x-www-form-urlencoded` for one key or value: unreserved characters stay.
fn form_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

fn read_answer(
    protocol: Protocol,
    response: &HttpResponse,
) -> Result<Value, OrchestratorError<ServiceError>> {
    let status = response.status().as_u16();
    let body = response.body().bytes().unwrap_or_default();
    let text = std::str::from_utf8(body)
        .map_err(|_| OrchestratorError::other("the response is not UTF-8"))?;
    let parsed = match protocol {
        Protocol::Json { .. } if text.trim().is_empty() => Ok(Value::Object(Map::new())),
        Protocol::Json { .. } => serde_json::from_str(text).map_err(|error| error.to_string()),
        Protocol::Query { .. } => xml_to_json(text),
    };
    if (200..300).contains(&status) {
        return parsed.map_err(|error| {
            OrchestratorError::other(format!("the response cannot be read: {error}"))
        });
    }
    let header_code = response
        .headers()
        .get("x-amzn-errortype")
        .map(ToOwned::to_owned);
    let (code, message) = match (protocol, parsed) {
        (Protocol::Json { .. }, Ok(body)) => (
            body.get("__type")
                .and_then(Value::as_str)
                .map(ToOwned::to_owned)
                .or(header_code),
            body.get("message")
                .or_else(|| body.get("Message"))
                .and_then(Value::as_str)
                .map(ToOwned::to_owned),
        ),
        (Protocol::Query { .. }, Ok(body)) => {
            let error = body
                .pointer("/ErrorResponse/Error")
                .or_else(|| body.pointer("/Response/Errors/Error"));
            let field = |name: &str| {
                error
                    .and_then(|error| error.get(name))
                    .and_then(Value::as_str)
                    .map(ToOwned::to_owned)
            };
            (field("Code").or(header_code), field("Message"))
        }
        (_, Err(_)) => (header_code, None),
    };
    let code = code.map(|code| short_code(&code).to_owned());
    let mut metadata = ErrorMetadata::builder();
    if let Some(code) = code {
        metadata = metadata.code(code);
    } else {
        metadata = metadata.code(format!("HTTP {status}"));
    }
    if let Some(message) = message {
        metadata = metadata.message(message);
    }
    Err(OrchestratorError::operation(ServiceError {
        metadata: metadata.build(),
    }))
}

/// `com.amazonaws.logs#ResourceNotFoundException` and `ResourceNotFoundException:http://…` are
/// both `ResourceNotFoundException`.
fn short_code(code: &str) -> &str {
    let code = code.rsplit('#').next().unwrap_or(code);
    code.split(':').next().unwrap_or(code)
}

/// Reads a Query protocol answer into JSON: an element holding only text becomes a string, one
/// holding elements an object of them. A name that repeats becomes an array, and `member`
/// (the protocol's list item) is always one, so a list of one reads like a list of many.
///
/// # Errors
/// When the XML is not well formed.
pub fn xml_to_json(text: &str) -> Result<Value, String> {
    use xmlparser::{ElementEnd, Token};
    // Each open element: its name, its children so far, its text so far.
    let mut open: Vec<(String, Map<String, Value>, String)> = Vec::new();
    let mut root = None;
    for token in xmlparser::Tokenizer::from(text) {
        match token.map_err(|error| error.to_string())? {
            Token::ElementStart { local, .. } => {
                if root.is_some() {
                    return Err("content after the root element".to_owned());
                }
                open.push((local.as_str().to_owned(), Map::new(), String::new()));
            }
            Token::Text { text } | Token::Cdata { text, .. } => {
                if let Some((_, _, content)) = open.last_mut() {
                    content.push_str(&unescape(text.as_str())?);
                }
            }
            Token::ElementEnd {
                end: ElementEnd::Open,
                ..
            } => {}
            Token::ElementEnd { end, .. } => {
                let (name, children, content) = open.pop().ok_or("an unopened element ends")?;
                if let ElementEnd::Close(_, closing) = end
                    && closing.as_str() != name
                {
                    return Err(format!("`<{name}>` is closed by `</{}>`", closing.as_str()));
                }
                let value = if children.is_empty() {
                    Value::String(content)
                } else {
                    Value::Object(children)
                };
                if let Some((_, parent, _)) = open.last_mut() {
                    add_child(parent, name, value);
                } else {
                    let mut object = Map::new();
                    object.insert(name, value);
                    root = Some(Value::Object(object));
                }
            }
            _ => {}
        }
    }
    root.ok_or_else(|| "the document ends before its root element does".to_owned())
}

fn add_child(parent: &mut Map<String, Value>, name: String, value: Value) {
    match parent.get_mut(&name) {
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        None if name == "member" => {
            parent.insert(name, Value::Array(vec![value]));
        }
        None => {
            parent.insert(name, value);
        }
    }
}

/// XML's five named entities and numeric character references.
fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').ok_or("an entity without `;`")? + at;
        let entity = &rest[at + 1..end];
        let character = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => entity
                .strip_prefix("#x")
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32)
                .ok_or_else(|| format!("an unknown entity `&{entity};`"))?,
        };
        out.push(character);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The items of a Query protocol list: `list.member`, or nothing for an empty or absent list.
#[must_use]
pub fn members(list: Option<&Value>) -> Cow<'_, [Value]> {
    match list.and_then(|list| list.get("member")) {
        Some(Value::Array(items)) => Cow::Borrowed(items),
        Some(item) => Cow::Owned(vec![item.clone()]),
        None => Cow::Borrowed(&[]),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn query_answers_read_as_json_with_lists_always_arrays() {
        let xml = r#"<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
  <DescribeTargetHealthResult>
    <TargetHealthDescriptions>
      <member>
        <Target><Id>10.0.1.5</Id><Port>8080</Port></Target>
        <TargetHealth><State>unhealthy</State><Reason>Target.ResponseCodeMismatch</Reason><Description>Health checks failed with these codes: [500]</Description></TargetHealth>
      </member>
    </TargetHealthDescriptions>
  </DescribeTargetHealthResult>
  <ResponseMetadata><RequestId>abc</RequestId></ResponseMetadata>
</DescribeTargetHealthResponse>"#;
        let value = xml_to_json(xml).unwrap();
        let list = value.pointer(
            "/DescribeTargetHealthResponse/DescribeTargetHealthResult/TargetHealthDescriptions",
        );
        let items = members(list);
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0]["Target"],
            json!({"Id": "10.0.1.5", "Port": "8080"})
        );
        assert_eq!(
            items[0]["TargetHealth"]["Description"],
            "Health checks failed with these codes: [500]"
        );
    }

    #[test]
    fn repeated_names_become_arrays_and_entities_are_decoded() {
        let value =
            xml_to_json("<?xml version=\"1.0\"?><a><b>1 &amp; 2 &#x41;&#66;</b><b>3</b><c/></a>")
                .unwrap();
        assert_eq!(value, json!({"a": {"b": ["1 & 2 AB", "3"], "c": ""}}));
        assert!(members(value.pointer("/a/c")).is_empty());
        assert!(xml_to_json("<a><b></a>").is_err());
        assert!(xml_to_json("<a><b>").is_err());
        assert!(xml_to_json("<a>&bogus;</a>").is_err());
    }

    #[test]
    fn error_codes_lose_their_namespace_and_suffix() {
        assert_eq!(
            short_code("com.amazonaws.logs#ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            short_code("ThrottlingException:http://internal"),
            "ThrottlingException"
        );
        assert_eq!(short_code("AccessDenied"), "AccessDenied");
    }

    #[test]
    fn query_parameters_are_form_encoded() {
        let request = prepare(
            Protocol::Query {
                version: "2010-05-08",
            },
            "SimulatePrincipalPolicy",
            Parameters::Query(vec![
                (
                    "PolicySourceArn".to_owned(),
                    "arn:aws:iam::1:role/a b".to_owned(),
                ),
                ("ActionNames.member.1".to_owned(), "kms:Decrypt".to_owned()),
            ]),
        );
        assert_eq!(
            String::from_utf8(request.body).unwrap(),
            "Action=SimulatePrincipalPolicy&Version=2010-05-08&PolicySourceArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa%20b&ActionNames.member.1=kms%3ADecrypt"
        );
        assert_eq!(request.content_type, "application/x-www-form-urlencoded");
        assert!(request.target.is_none());
    }

    #[test]
    fn presigned_urls_split_into_origin_and_path() {
        assert_eq!(
            split_url("https://bucket.s3.amazonaws.com/sha256:abc?X-Amz-Signature=1&a=b"),
            Some((
                "https://bucket.s3.amazonaws.com",
                "/sha256:abc?X-Amz-Signature=1&a=b"
            ))
        );
        assert_eq!(
            split_url("http://127.0.0.1:5000"),
            Some(("http://127.0.0.1:5000", "/"))
        );
        assert_eq!(split_url("file:///etc/passwd"), None);
        assert_eq!(split_url("no scheme"), None);
    }

    #[test]
    fn partitions_name_their_hosts_and_global_regions() {
        assert_eq!(Partition::of("eu-west-1").suffix, "amazonaws.com");
        assert_eq!(Partition::of("cn-northwest-1").suffix, "amazonaws.com.cn");
        assert_eq!(
            Partition::of("us-gov-east-1").global_region,
            "us-gov-west-1"
        );
        assert_eq!(Partition::of("ap-southeast-5").global_host, "amazonaws.com");
    }
}
