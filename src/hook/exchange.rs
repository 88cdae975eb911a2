//! One HTTP exchange over the client the binary already has (aws-smithy-http-client's hyper
//! connector): the smoke checks' requests and the Lambda Runtime API's calls both go through it.

use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::http::Headers;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;

/// What came back: the status, the headers and the whole body.
#[derive(Debug)]
pub struct Exchanged {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// Sends `method` to `url` with `headers` and `body`, and reads the whole answer.
///
/// # Errors
/// A URL or method the client cannot send, or the reason the exchange failed, as its innermost
/// cause says it (the connector's own error only names the kind, e.g. "io error").
pub async fn exchange(
    connector: &Connector,
    method: &str,
    url: &str,
    headers: &[(&'static str, &str)],
    body: Vec<u8>,
) -> Result<Exchanged, String> {
    let mut request = HttpRequest::new(SdkBody::from(body));
    request
        .set_uri(url)
        .map_err(|error| format!("`{url}` is not a valid URL: {error}"))?;
    request
        .set_method(method)
        .map_err(|error| error.to_string())?;
    for (name, value) in headers {
        request.headers_mut().insert(*name, (*value).to_owned());
    }
    let response = connector.call(request).await.map_err(|error| {
        let mut reason = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            reason = cause.to_string();
            source = cause.source();
        }
        reason
    })?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = ByteStream::new(response.into_body())
        .collect()
        .await
        .map_err(|error| format!("the body could not be read: {error}"))?
        .into_bytes()
        .to_vec();
    Ok(Exchanged {
        status,
        headers,
        body,
    })
}
