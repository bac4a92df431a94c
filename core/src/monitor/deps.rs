//! The dependency graph between checks.

use std::collections::{HashMap, VecDeque};

use crate::error::{Error, Result};

/// Which checks depend on which, by index; built once, acyclic.
///
/// Index `i` is the `i`-th check given to [`DependencyGraph::new`]. A check's *parents* are the
/// checks it depends on (a switch for the printers behind it); its *children* depend on it.
#[derive(Debug, Clone, Default)]
pub struct DependencyGraph {
    names: Vec<String>,
    index: HashMap<String, usize>,
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
    /// Every check, parents before children.
    order: Vec<usize>,
    /// Position of each check in `order`.
    rank: Vec<usize>,
}

impl DependencyGraph {
    /// Builds the graph from `(check, depends_on)` names. Unknown names and cycles are errors.
    ///
    /// Errors are [`Error::Invalid`] for `depends_on` (or `name` for a check defined twice);
    /// a cycle's message names the whole path, e.g. `dependency cycle: a → b → c → a`.
    pub fn new(checks: &[(String, Vec<String>)]) -> Result<Self> {
        let mut index = HashMap::with_capacity(checks.len());
        let mut names = Vec::with_capacity(checks.len());
        for (i, (name, _)) in checks.iter().enumerate() {
            if index.insert(name.clone(), i).is_some() {
                return Err(Error::invalid(
                    "name",
                    format!("check `{name}` is defined more than once"),
                ));
            }
            names.push(name.clone());
        }

        let mut parents = vec![Vec::new(); checks.len()];
        let mut children = vec![Vec::new(); checks.len()];
        for (i, (name, depends_on)) in checks.iter().enumerate() {
            for parent in depends_on {
                let Some(&p) = index.get(parent) else {
                    return Err(Error::invalid(
                        "depends_on",
                        format!("check `{name}` depends on `{parent}`, which is not a check"),
                    ));
                };
                if p == i {
                    return Err(Error::invalid(
                        "depends_on",
                        format!("check `{name}` depends on itself"),
                    ));
                }
                if !parents[i].contains(&p) {
                    parents[i].push(p);
                    children[p].push(i);
                }
            }
        }

        let order = topological_order(&names, &parents)?;
        let mut rank = vec![0; order.len()];
        for (pos, &i) in order.iter().enumerate() {
            rank[i] = pos;
        }
        Ok(Self {
            names,
            index,
            parents,
            children,
            order,
            rank,
        })
    }

    /// The checks `i` depends on directly.
    pub fn parents(&self, i: usize) -> &[usize] {
        &self.parents[i]
    }

    /// The checks that depend on `i` directly.
    pub fn children(&self, i: usize) -> &[usize] {
        &self.children[i]
    }

    /// Every check that depends on `i`, directly or not, each once, parents before children
    /// (the order to re-evaluate them in when `i` changes).
    pub fn descendants(&self, i: usize) -> Vec<usize> {
        let mut seen = vec![false; self.len()];
        let mut found = Vec::new();
        let mut queue = VecDeque::from([i]);
        while let Some(n) = queue.pop_front() {
            for &c in &self.children[n] {
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
            for &p in &self.parents[n] {
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
    pub fn topological_order(&self) -> &[usize] {
        &self.order
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
        self.index.get(name).copied()
    }

    /// The name of check `i`.
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }
}

/// Orders checks parents first, or names the first cycle found (following `depends_on`).
fn topological_order(names: &[String], parents: &[Vec<usize>]) -> Result<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
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
            if let Some(&p) = parents[node].get(*next) {
                *next += 1;
                match mark[p] {
                    Mark::Done => {}
                    Mark::New => {
                        mark[p] = Mark::OnPath;
                        path.push((p, 0));
                    }
                    Mark::OnPath => {
                        let from = path.iter().position(|&(n, _)| n == p).unwrap_or(0);
                        let mut cycle: Vec<&str> = path[from..]
                            .iter()
                            .map(|&(n, _)| names[n].as_str())
                            .collect();
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
