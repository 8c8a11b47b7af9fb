//! Why a package is installed: asked for by name, or pulled in by another's dependencies, and
//! then whether only a Recommends edge pulled it (what `apt-get install` does unless told
//! `--no-install-recommends`).

use std::collections::VecDeque;

use serde::Serialize;

use super::{bounded_chain, MAX_CHAIN};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Asked for by name (apt's manual mark, apk's world file, pip's `REQUESTED`, the project's
    /// package.json).
    Manual,
    /// Required (Depends, Pre-Depends, apk `D:`) by a package asked for, directly or not.
    Dependency,
    /// Reached from the packages asked for only through a Recommends: installed because apt
    /// installs Recommends unless `--no-install-recommends`.
    Recommended,
    /// Marked as installed automatically, but nothing installed depends on it or recommends it
    /// (`apt-get autoremove` would remove it).
    Auto,
}

/// A dependency graph: `hard` edges (must have) and `soft` ones (Recommends).
pub(crate) struct Graph<'a> {
    pub names: Vec<&'a str>,
    pub manual: Vec<bool>,
    /// Manual packages to credit first when several pull the same package equally (those asked
    /// for in the layer being explained).
    pub preferred: Vec<bool>,
    pub hard: Vec<Vec<usize>>,
    pub soft: Vec<Vec<usize>>,
}

impl<'a> Graph<'a> {
    pub fn new(names: Vec<&'a str>, manual: Vec<bool>) -> Self {
        let n = names.len();
        Graph { names, manual, preferred: vec![false; n], hard: vec![Vec::new(); n], soft: vec![Vec::new(); n] }
    }

    /// Each package's reason and the chain that pulled it in. Breadth-first from the manual
    /// packages over the hard edges; the packages left are then reached one Recommends edge
    /// further per round. Each package is visited once (cycles are harmless), and its chain is
    /// one of the shortest with the fewest Recommends.
    pub fn classify(&self) -> Vec<(Reason, Vec<String>)> {
        let n = self.names.len();
        let mut cost = vec![usize::MAX; n];
        let mut parent = vec![usize::MAX; n];
        let mut root = vec![usize::MAX; n];
        let mut seeds: Vec<usize> = (0..n).filter(|&v| self.manual[v]).collect();
        seeds.sort_by_key(|&v| !self.preferred[v]);
        for &v in &seeds {
            cost[v] = 0;
            root[v] = v;
        }
        let mut round = 0;
        while !seeds.is_empty() {
            let mut level: Vec<usize> = Vec::new();
            let mut queue: VecDeque<usize> = seeds.drain(..).collect();
            while let Some(u) = queue.pop_front() {
                level.push(u);
                for &v in &self.hard[u] {
                    if cost[v] == usize::MAX {
                        (cost[v], parent[v], root[v]) = (round, u, root[u]);
                        queue.push_back(v);
                    }
                }
            }
            round += 1;
            for u in level {
                for &v in &self.soft[u] {
                    if cost[v] == usize::MAX {
                        (cost[v], parent[v], root[v]) = (round, u, root[u]);
                        seeds.push(v);
                    }
                }
            }
        }
        (0..n)
            .map(|v| {
                if self.manual[v] {
                    return (Reason::Manual, Vec::new());
                }
                if cost[v] == usize::MAX {
                    return (Reason::Auto, Vec::new());
                }
                let reason = if cost[v] == 0 { Reason::Dependency } else { Reason::Recommended };
                (reason, self.chain(v, &parent, root[v]))
            })
            .collect()
    }

    /// From the root to `v`'s parent: at most [`MAX_CHAIN`] steps are walked.
    fn chain(&self, v: usize, parent: &[usize], root: usize) -> Vec<String> {
        let mut back = Vec::new();
        let mut at = parent[v];
        while at != usize::MAX && back.len() < MAX_CHAIN {
            back.push(self.names[at].to_string());
            if at == root {
                break;
            }
            at = parent[at];
        }
        if back.last().map(String::as_str) != Some(self.names[root]) {
            back.push("…".into());
            back.push(self.names[root].to_string());
        }
        back.reverse();
        bounded_chain(back)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recommends_and_cycles() {
        // app → lib (Depends), lib → extra (Recommends), extra → helper (Depends),
        // helper → extra (Depends: a cycle), orphan (auto, nothing needs it).
        let mut g = Graph::new(vec!["app", "lib", "extra", "helper", "orphan"], vec![true, false, false, false, false]);
        g.hard[0].push(1);
        g.soft[1].push(2);
        g.hard[2].push(3);
        g.hard[3].push(2);
        let r = g.classify();
        assert_eq!(r[0], (Reason::Manual, vec![]));
        assert_eq!(r[1], (Reason::Dependency, vec!["app".to_string()]));
        assert_eq!(r[2], (Reason::Recommended, vec!["app".to_string(), "lib".to_string()]));
        assert_eq!(r[3].0, Reason::Recommended);
        assert_eq!(r[3].1, ["app", "lib", "extra"]);
        assert_eq!(r[4], (Reason::Auto, vec![]));
    }

    #[test]
    fn a_dependency_beats_a_recommendation() {
        let mut g = Graph::new(vec!["a", "b", "c"], vec![true, false, false]);
        g.soft[0].push(2);
        g.hard[0].push(1);
        g.hard[1].push(2);
        assert_eq!(g.classify()[2], (Reason::Dependency, vec!["a".to_string(), "b".to_string()]));
    }

    #[test]
    fn a_long_chain_is_bounded() {
        let n = 100_000;
        let names: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
        let mut g = Graph::new(names.iter().map(String::as_str).collect(), (0..n).map(|i| i == 0).collect());
        for i in 0..n - 1 {
            g.hard[i].push(i + 1);
        }
        g.hard[n - 1].push(0);
        let r = g.classify();
        assert_eq!(r[n - 1].0, Reason::Dependency);
        assert_eq!(r[n - 1].1.first().map(String::as_str), Some("p0"));
        assert!(r[n - 1].1.len() <= MAX_CHAIN, "{:?}", r[n - 1].1);
    }
}
