//! The SDK's HTTP client: TLS (rustls with ring, the system's trust roots) for `https://`, plain
//! HTTP for `http://`, and the trust roots read only when the first HTTPS request is made.
//!
//! The SDK's own client reads and parses every certificate of the system store when a client is
//! built, whatever the endpoint: most of the instructions bgtool ran for one call to an HTTP
//! endpoint on loopback (the tests' moto, a local stand-in) went there. With an HTTPS endpoint,
//! as on AWS, the roots are read once, at the first request, as before.

use std::sync::{Arc, OnceLock};

use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;

/// The client to give the SDK.
#[must_use]
pub fn client() -> SharedHttpClient {
    ByScheme {
        plain: aws_smithy_http_client::Builder::new().build_http(),
        tls: aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https(),
    }
    .into_shared()
}

/// Two clients, one chosen per request by the URI's scheme.
#[derive(Debug)]
struct ByScheme {
    plain: SharedHttpClient,
    tls: SharedHttpClient,
}

impl HttpClient for ByScheme {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SchemeConnector {
            plain: self.plain.http_connector(settings, components),
            tls: Arc::new(OnceLock::new()),
            tls_client: self.tls.clone(),
            settings: settings.clone(),
            components: components.clone(),
        }
        .into_shared()
    }

    // Not the TLS client's `validate_base_client_config`: that one loads the trust roots at once,
    // which is what this client puts off.

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.tls.connector_metadata()
    }
}

/// The plain connector, and the TLS one once an HTTPS request needs it.
#[derive(Debug)]
struct SchemeConnector {
    plain: SharedHttpConnector,
    tls: Arc<OnceLock<SharedHttpConnector>>,
    tls_client: SharedHttpClient,
    settings: HttpConnectorSettings,
    components: RuntimeComponents,
}

impl HttpConnector for SchemeConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        if is_plain_http(request.uri()) {
            self.plain.call(request)
        } else {
            self.tls
                .get_or_init(|| {
                    self.tls_client
                        .http_connector(&self.settings, &self.components)
                })
                .call(request)
        }
    }
}

/// `http://` URIs go without TLS; everything else (`https://`) through it.
fn is_plain_http(uri: &str) -> bool {
    uri.get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
}

#[cfg(test)]
mod tests {
    use super::is_plain_http;

    #[test]
    fn only_http_uris_skip_tls() {
        assert!(is_plain_http("http://127.0.0.1:5000/"));
        assert!(is_plain_http("HTTP://localhost/"));
        assert!(!is_plain_http("https://ecs.us-east-1.amazonaws.com/"));
        assert!(!is_plain_http("http"));
        assert!(!is_plain_http(""));
    }
}
