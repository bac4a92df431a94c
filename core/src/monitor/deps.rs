//! The dependency graph between checks.

use crate::error::Result;

/// Which checks depend on which, by index; built once, acyclic.
#[derive(Debug, Clone, Default)]
pub struct DependencyGraph {
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
}

impl DependencyGraph {
    /// Builds the graph from `(check, depends_on)` names. Unknown names and cycles are errors.
    pub fn new(_checks: &[(String, Vec<String>)]) -> Result<Self> {
        todo!()
    }
    /// Direct parents of check `i`.
    pub fn parents(&self, i: usize) -> &[usize] {
        &self.parents[i]
    }
    /// Direct children of check `i`.
    pub fn children(&self, i: usize) -> &[usize] {
        &self.children[i]
    }
}
