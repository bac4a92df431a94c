//! The dependency graph between checks.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Which checks depend on which, by index; built once, acyclic.
///
/// Index `i` is the `i`-th check given to [`DependencyGraph::new`]. A check's *parents* are the
/// checks it depends on (a switch for the printers behind it); its *children* depend on it.
///
/// Compact for large schedules: names are shared, the name lookup is a sorted index, and the
/// edges are stored flat (nothing per check when no check has dependencies).
#[derive(Debug, Clone, Default)]
pub struct DependencyGraph {
    names: Vec<Arc<str>>,
    /// Check indices sorted by name, for [`DependencyGraph::index_of`].
    sorted: Vec<u32>,
    parents: Adjacency,
    children: Adjacency,
    /// Every check, parents before children; empty when no check has a dependency (the
    /// checks' own order is then one).
    order: Vec<usize>,
    /// Position of each check in `order` (empty with it).
    rank: Vec<u32>,
}

/// Why a graph could not be built: a name given twice, or an invalid `depends_on`.
#[derive(Debug)]
pub(crate) enum BuildError {
    /// This name is used by more than one check.
    Duplicate(Arc<str>),
    /// An unknown or self dependency, or a cycle.
    Invalid(Error),
}

/// Lists of check indices per check, flattened: check `i`'s are `list[start[i]..start[i + 1]]`.
/// `start` is empty when no check has any.
#[derive(Debug, Clone, Default)]
struct Adjacency {
    start: Vec<u32>,
    list: Vec<usize>,
}

impl Adjacency {
    /// From `(from, to)` pairs sorted by `from`, for `n` checks.
    fn from_sorted(n: usize, pairs: &[(usize, usize)]) -> Self {
        if pairs.is_empty() {
            return Self::default();
        }
        let mut start = Vec::with_capacity(n + 1);
        let mut list = Vec::with_capacity(pairs.len());
        let mut next = pairs.iter().peekable();
        for i in 0..n {
            start.push(list.len() as u32);
            while let Some(&(_, to)) = next.next_if(|(from, _)| *from == i) {
                list.push(to);
            }
        }
        start.push(list.len() as u32);
        Self { start, list }
    }

    fn get(&self, i: usize) -> &[usize] {
        match (self.start.get(i), self.start.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.list[a as usize..b as usize],
            _ => &[],
        }
    }
}

impl DependencyGraph {
    /// Builds the graph from `(check, depends_on)` names. Unknown names and cycles are errors.
    ///
    /// Errors are [`Error::Invalid`] for `depends_on` (or `name` for a check defined twice);
    /// a cycle's message names the whole path, e.g. `dependency cycle: a → b → c → a`.
    pub fn new(checks: &[(String, Vec<String>)]) -> Result<Self> {
        let names = checks.iter().map(|(n, _)| Arc::from(n.as_str())).collect();
        let depends_on: Vec<(usize, Vec<String>)> = checks
            .iter()
            .enumerate()
            .filter(|(_, (_, d))| !d.is_empty())
            .map(|(i, (_, d))| (i, d.clone()))
            .collect();
        Self::for_checks(names, &depends_on).map_err(|e| match e {
            BuildError::Duplicate(name) => {
                Error::invalid("name", format!("check `{name}` is defined more than once"))
            }
            BuildError::Invalid(e) => e,
        })
    }

    /// Builds the graph of checks `names` (shared, not copied) from `(check, depends_on)` of
    /// the checks that have dependencies, in check order.
    pub(crate) fn for_checks(
        names: Vec<Arc<str>>,
        depends_on: &[(usize, Vec<String>)],
    ) -> std::result::Result<Self, BuildError> {
        let n = names.len();
        if u32::try_from(n).is_err() {
            return Err(BuildError::Invalid(Error::invalid(
                "checks",
                "more than 4,294,967,295 checks",
            )));
        }
        let mut sorted: Vec<u32> = (0..n as u32).collect();
        sorted.sort_unstable_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
        if let Some(w) = sorted
            .windows(2)
            .find(|w| names[w[0] as usize] == names[w[1] as usize])
        {
            return Err(BuildError::Duplicate(names[w[0] as usize].clone()));
        }
        let mut graph = Self {
            names,
            sorted,
            ..Self::default()
        };

        // (child, parent) pairs, by child.
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for (i, parents) in depends_on {
            let (i, first) = (*i, edges.len());
            for parent in parents {
                let name = &graph.names[i];
                let Some(p) = graph.index_of(parent) else {
                    return Err(BuildError::Invalid(Error::invalid(
                        "depends_on",
                        format!("check `{name}` depends on `{parent}`, which is not a check"),
                    )));
                };
                if p == i {
                    return Err(BuildError::Invalid(Error::invalid(
                        "depends_on",
                        format!("check `{name}` depends on itself"),
                    )));
                }
                if !edges[first..].iter().any(|&(_, q)| q == p) {
                    edges.push((i, p));
                }
            }
        }
        graph.parents = Adjacency::from_sorted(n, &edges);
        for e in &mut edges {
            *e = (e.1, e.0);
        }
        // Stable: each parent's children stay in check order.
        edges.sort_by_key(|&(p, _)| p);
        graph.children = Adjacency::from_sorted(n, &edges);
        drop(edges);

        if graph.parents.list.is_empty() {
            // No dependencies: any order is one, and nothing is ever sorted by rank.
            return Ok(graph);
        }
        graph.order =
            topological_order(&graph.names, &graph.parents).map_err(BuildError::Invalid)?;
        graph.rank = vec![0; n];
        for (pos, &i) in graph.order.iter().enumerate() {
            graph.rank[i] = pos as u32;
        }
        Ok(graph)
    }

    /// The checks `i` depends on directly.
    pub fn parents(&self, i: usize) -> &[usize] {
        self.parents.get(i)
    }

    /// The checks that depend on `i` directly.
    pub fn children(&self, i: usize) -> &[usize] {
        self.children.get(i)
    }

    /// Every check that depends on `i`, directly or not, each once, parents before children
    /// (the order to re-evaluate them in when `i` changes).
    pub fn descendants(&self, i: usize) -> Vec<usize> {
        let mut seen = vec![false; self.len()];
        let mut found = Vec::new();
        let mut queue = VecDeque::from([i]);
        while let Some(n) = queue.pop_front() {
            for &c in self.children(n) {
                if !seen[c] {
                    seen[c] = true;
                    found.push(c);
                    queue.push_back(c);
                }
            }
        }
        found.sort_unstable_by_key(|&c| self.rank[c]);
        found
    }

    /// Every check `i` depends on, directly or not, each once, nearest first.
    pub fn ancestors(&self, i: usize) -> Vec<usize> {
        let mut seen = vec![false; self.len()];
        let mut found = Vec::new();
        let mut queue = VecDeque::from([i]);
        while let Some(n) = queue.pop_front() {
            for &p in self.parents(n) {
                if !seen[p] {
                    seen[p] = true;
                    found.push(p);
                    queue.push_back(p);
                }
            }
        }
        found
    }

    /// Every check, parents before children.
    pub fn topological_order(&self) -> Cow<'_, [usize]> {
        if self.order.is_empty() {
            Cow::Owned((0..self.len()).collect())
        } else {
            Cow::Borrowed(&self.order)
        }
    }

    /// How many checks there are.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no checks.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of the check called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.sorted
            .binary_search_by(|&i| (*self.names[i as usize]).cmp(name))
            .ok()
            .map(|k| self.sorted[k] as usize)
    }

    /// The name of check `i`.
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }
}

/// Orders checks parents first, or names the first cycle found (following `depends_on`).
fn topological_order(names: &[Arc<str>], parents: &Adjacency) -> Result<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    if parents.start.is_empty() {
        // No dependencies at all: definition order will do.
        return Ok((0..names.len()).collect());
    }
    let mut mark = vec![Mark::New; names.len()];
    let mut order = Vec::with_capacity(names.len());
    // Iterative depth-first search: (node, next parent to visit). Deep chains cannot overflow
    // the stack.
    let mut path: Vec<(usize, usize)> = Vec::new();
    for start in 0..names.len() {
        if mark[start] != Mark::New {
            continue;
        }
        mark[start] = Mark::OnPath;
        path.push((start, 0));
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            if let Some(&p) = parents.get(node).get(*next) {
                *next += 1;
                match mark[p] {
                    Mark::Done => {}
                    Mark::New => {
                        mark[p] = Mark::OnPath;
                        path.push((p, 0));
                    }
                    Mark::OnPath => {
                        let from = path.iter().position(|&(n, _)| n == p).unwrap_or(0);
                        let mut cycle: Vec<&str> =
                            path[from..].iter().map(|&(n, _)| &*names[n]).collect();
                        cycle.push(&names[p]);
                        return Err(Error::invalid(
                            "depends_on",
                            format!("dependency cycle: {}", cycle.join(" → ")),
                        ));
                    }
                }
            } else {
                mark[node] = Mark::Done;
                order.push(node);
                path.pop();
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(spec: &[(&str, &[&str])]) -> Result<DependencyGraph> {
        let checks: Vec<(String, Vec<String>)> = spec
            .iter()
            .map(|(n, deps)| (n.to_string(), deps.iter().map(|d| d.to_string()).collect()))
            .collect();
        DependencyGraph::new(&checks)
    }

    fn message(e: Error) -> (String, String) {
        match e {
            Error::Invalid { what, message } => (what, message),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn empty_graph() {
        let g = graph(&[]).unwrap();
        assert!(g.is_empty());
        assert_eq!(g.len(), 0);
        assert_eq!(g.index_of("a"), None);
        assert!(g.topological_order().is_empty());
    }

    #[test]
    fn a_graph_without_dependencies_keeps_no_order() {
        let g = graph(&[("a", &[]), ("b", &[]), ("c", &[])]).unwrap();
        assert_eq!(&*g.topological_order(), &[0, 1, 2]);
        assert!(g.order.is_empty() && g.rank.is_empty());
        assert!(g.descendants(1).is_empty() && g.ancestors(1).is_empty());
    }

    #[test]
    fn parents_children_and_names() {
        let g = graph(&[
            ("printer", &["switch"]),
            ("switch", &["router"]),
            ("router", &[]),
            ("nas", &["switch", "router"]),
        ])
        .unwrap();
        assert_eq!(g.len(), 4);
        assert!(!g.is_empty());
        assert_eq!(g.index_of("switch"), Some(1));
        assert_eq!(g.index_of("nope"), None);
        assert_eq!(g.name(3), "nas");
        assert_eq!(g.parents(0), &[1]);
        assert_eq!(g.parents(2), &[] as &[usize]);
        assert_eq!(g.parents(3), &[1, 2]);
        assert_eq!(g.children(1), &[0, 3]);
        assert_eq!(g.children(2), &[1, 3]);
        assert_eq!(g.children(0), &[] as &[usize]);
        assert_eq!(g.descendants(2), vec![1, 0, 3]);
        assert_eq!(g.descendants(1), vec![0, 3]);
        assert!(g.descendants(0).is_empty());
        assert_eq!(g.ancestors(0), vec![1, 2]);
        assert_eq!(g.ancestors(3), vec![1, 2]);
    }

    #[test]
    fn topological_order_puts_parents_first() {
        let g = graph(&[
            ("a", &["b", "c"]),
            ("b", &["d"]),
            ("c", &["d"]),
            ("d", &[]),
            ("e", &["a"]),
        ])
        .unwrap();
        let order = g.topological_order();
        assert_eq!(order.len(), 5);
        let pos = |i: usize| order.iter().position(|&x| x == i).unwrap();
        for i in 0..g.len() {
            for &p in g.parents(i) {
                assert!(pos(p) < pos(i), "{} before {}", g.name(p), g.name(i));
            }
        }
        // Descendants come in the same order: a after both b and c.
        let d = g.descendants(3);
        assert_eq!(d.len(), 4);
        let at = |i: usize| d.iter().position(|&x| x == i).unwrap();
        assert!(at(1) < at(0) && at(2) < at(0) && at(0) < at(4));
    }

    #[test]
    fn diamonds_are_not_cycles() {
        // top ← left, right ← bottom: two paths to the same parent.
        let g = graph(&[
            ("bottom", &["left", "right"]),
            ("left", &["top"]),
            ("right", &["top"]),
            ("top", &[]),
        ])
        .unwrap();
        let mut d = g.descendants(3);
        d.sort_unstable();
        assert_eq!(d, vec![0, 1, 2], "bottom counted once");
        assert_eq!(*g.descendants(3).last().unwrap(), 0);
        assert_eq!(g.ancestors(0), vec![1, 2, 3]);
    }

    #[test]
    fn repeated_dependencies_count_once() {
        let g = graph(&[("a", &["b", "b"]), ("b", &[])]).unwrap();
        assert_eq!(g.parents(0), &[1]);
        assert_eq!(g.children(1), &[0]);
    }

    #[test]
    fn unknown_name() {
        let (what, msg) = message(graph(&[("a", &["x"]), ("b", &[])]).unwrap_err());
        assert_eq!(what, "depends_on");
        assert_eq!(msg, "check `a` depends on `x`, which is not a check");
    }

    #[test]
    fn self_dependency() {
        let (what, msg) = message(graph(&[("a", &[]), ("b", &["b"])]).unwrap_err());
        assert_eq!(what, "depends_on");
        assert_eq!(msg, "check `b` depends on itself");
    }

    #[test]
    fn duplicate_check_names() {
        let (what, msg) = message(graph(&[("a", &[]), ("a", &[])]).unwrap_err());
        assert_eq!(what, "name");
        assert!(msg.contains("`a`"), "{msg}");
    }

    #[test]
    fn cycle_names_the_whole_path() {
        let e = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"])]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid depends_on: dependency cycle: a → b → c → a"
        );
    }

    #[test]
    fn cycle_behind_an_acyclic_prefix() {
        // `x` leads into the cycle but is not part of it.
        let (_, msg) = message(
            graph(&[
                ("x", &["b"]),
                ("ok", &[]),
                ("b", &["ok", "c"]),
                ("c", &["d"]),
                ("d", &["b"]),
            ])
            .unwrap_err(),
        );
        assert_eq!(msg, "dependency cycle: b → c → d → b");
    }

    #[test]
    fn two_check_cycle() {
        let (_, msg) = message(graph(&[("a", &["b"]), ("b", &["a"])]).unwrap_err());
        assert_eq!(msg, "dependency cycle: a → b → a");
    }

    #[test]
    fn long_chain_does_not_overflow() {
        let n = 50_000;
        let checks: Vec<(String, Vec<String>)> = (0..n)
            .map(|i| {
                let deps = if i + 1 < n {
                    vec![format!("c{}", i + 1)]
                } else {
                    vec![]
                };
                (format!("c{i}"), deps)
            })
            .collect();
        let g = DependencyGraph::new(&checks).unwrap();
        assert_eq!(g.topological_order()[0], n - 1);
        assert_eq!(g.descendants(n - 1).len(), n - 1);
        assert_eq!(g.descendants(n - 1)[0], n - 2);
    }
}
