//! The `tcp` probe.

use async_trait::async_trait;
use serde::Deserialize;

use crate::error::Result;
use crate::probe::{CheckContext, Observation, Probe};

/// Configuration of the `tcp` probe.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpConfig {}

impl TcpConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// The `tcp` probe.
#[derive(Debug)]
pub struct TcpProbe {}

#[async_trait]
impl Probe for TcpProbe {
    async fn check(&self, _cx: &CheckContext) -> Observation {
        todo!()
    }
}

impl TcpConfig {
    /// Builds the probe.
    pub fn build(&self) -> Result<TcpProbe> {
        todo!()
    }
}
