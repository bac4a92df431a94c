//! The `http` probe.

use async_trait::async_trait;
use serde::Deserialize;

use crate::error::Result;
use crate::probe::{CheckContext, Observation, Probe};

/// Configuration of the `http` probe.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {}

impl HttpConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// The `http` probe.
#[derive(Debug)]
pub struct HttpProbe {}

#[async_trait]
impl Probe for HttpProbe {
    async fn check(&self, _cx: &CheckContext) -> Observation {
        todo!()
    }
}

impl HttpConfig {
    /// Builds the probe, taking its client from `clients`.
    pub fn build(&self, _clients: &crate::http_client::HttpClients) -> Result<HttpProbe> {
        todo!()
    }
}
