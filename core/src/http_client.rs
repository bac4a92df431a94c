//! Shared HTTP clients: one connection pool per distinct set of client options, so thousands of
//! HTTP checks share a handful of pools.

use std::collections::HashMap;
use std::sync::{Arc, Once};
use std::time::Duration;

use parking_lot::Mutex;

use crate::error::{Error, Result};

pub(crate) mod h1;

/// Installs the process-wide rustls crypto provider (ring) once.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another library may have installed one first; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Options that need a client of their own (reqwest sets them per client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ClientOptions {
    /// Follow at most this many redirects (0: none).
    pub max_redirects: u8,
    /// Accept invalid TLS certificates (self-signed lab gear). Expiry is still reported.
    pub insecure: bool,
}

/// A cache of clients by [`ClientOptions`], and the lean keep-alive transport the `http` probe
/// shares.
#[derive(Debug, Clone, Default)]
pub struct HttpClients {
    clients: Arc<Mutex<HashMap<ClientOptions, reqwest::Client>>>,
    probes: Arc<h1::H1Client>,
}

impl HttpClients {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The transport of the `http` probe: one pool of keep-alive connections per origin.
    pub(crate) fn probe_transport(&self) -> Arc<h1::H1Client> {
        self.probes.clone()
    }

    /// The client for `options`, built on first use.
    pub fn get(&self, options: ClientOptions) -> Result<reqwest::Client> {
        let mut map = self.clients.lock();
        if let Some(c) = map.get(&options) {
            return Ok(c.clone());
        }
        let client = build(options)?;
        map.insert(options, client.clone());
        Ok(client)
    }
}

fn build(options: ClientOptions) -> Result<reqwest::Client> {
    install_crypto_provider();
    let redirect = if options.max_redirects == 0 {
        reqwest::redirect::Policy::none()
    } else {
        reqwest::redirect::Policy::limited(options.max_redirects as usize)
    };
    reqwest::Client::builder()
        .user_agent(concat!("forewarn/", env!("CARGO_PKG_VERSION")))
        .redirect(redirect)
        .tls_info(true)
        .tls_danger_accept_invalid_certs(options.insecure)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(4)
        .tcp_nodelay(true)
        .no_proxy()
        .build()
        .map_err(|e| Error::invalid("http client", e.to_string()))
}

/// The default client: no redirects followed, certificates verified.
pub fn default_client() -> reqwest::Client {
    build(ClientOptions::default()).expect("the default HTTP client builds")
}

/// Accepts any server certificate while still checking that the handshake was signed by the
/// certificate's key: for `insecure` HTTP checks of self-signed lab gear, and for PostgreSQL's
/// `prefer`/`require` modes (encryption without verification, as libpq does).
#[derive(Debug)]
pub(crate) struct AcceptAnyCertificate(rustls::crypto::WebPkiSupportedAlgorithms);

impl AcceptAnyCertificate {
    /// The verifier, checking signatures with `provider`'s algorithms.
    pub(crate) fn new(provider: &rustls::crypto::CryptoProvider) -> Self {
        Self(provider.signature_verification_algorithms)
    }
}

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}
