//! The `host` probe.

use async_trait::async_trait;
use serde::Deserialize;

use crate::error::Result;
use crate::probe::{CheckContext, Observation, Probe};

/// Configuration of the `host` probe.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {}

impl HostConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// The `host` probe.
#[derive(Debug)]
pub struct HostProbe {}

#[async_trait]
impl Probe for HostProbe {
    async fn check(&self, _cx: &CheckContext) -> Observation {
        todo!()
    }
}

impl HostConfig {
    /// Builds the probe.
    pub fn build(&self) -> Result<HostProbe> {
        todo!()
    }
}
