//! TLS for the PostgreSQL store's connections: the `postgres` probe's rustls hook, made per
//! connection for deadpool's manager.

use std::sync::Arc;

use tokio_postgres::Socket;
use tokio_postgres::tls::MakeTlsConnect;

use crate::error::Result;
use crate::probe::postgres::{RustlsConnect, RustlsStream, tls_config};

/// Encrypts without verifying the certificate, as libpq's `sslmode=prefer` and `require` do.
#[derive(Clone)]
pub(super) struct MakeRustls {
    config: Arc<rustls::ClientConfig>,
}

impl MakeRustls {
    pub(super) fn new() -> Result<Self> {
        Ok(Self {
            config: tls_config(false, None)?,
        })
    }
}

impl MakeTlsConnect<Socket> for MakeRustls {
    type Stream = RustlsStream<Socket>;
    type TlsConnect = RustlsConnect;
    type Error = std::io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> std::io::Result<RustlsConnect> {
        Ok(RustlsConnect {
            config: self.config.clone(),
            host: domain.to_owned(),
        })
    }
}
