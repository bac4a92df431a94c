//! The dependency graph between checks.

use crate::error::Result;

/// Which checks depend on which, by index; built once, acyclic.
#[derive(Debug, Clone, Default)]
pub struct DependencyGraph {}

impl DependencyGraph {
    /// Builds the graph from `(check, depends_on)` names. Unknown names and cycles are errors.
    pub fn new(_checks: &[(String, Vec<String>)]) -> Result<Self> {
        todo!()
    }
}
