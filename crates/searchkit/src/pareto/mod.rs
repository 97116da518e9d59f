//! Pareto tools under the workspace's maximisation convention (every
//! objective is maximised): dominance tests, LaMOO's dominance numbers, Deb's
//! fast non-dominated sort, Pareto-front extraction, exact hypervolume (with
//! fast 2-D and 3-D paths and the WFG algorithm for four or more objectives),
//! exclusive hypervolume contributions and the log hypervolume difference
//! used to report multi-objective results.
//!
//! Points are plain `&[f64]` slices (or `Vec<Vec<f64>>` sets); all points of a
//! set must have the same number of objectives.

pub mod boxes;
mod hypervolume;

pub use boxes::BoxDecomposition;

pub use hypervolume::{
    hypervolume, hypervolume_2d, hypervolume_3d, hypervolume_contributions, hypervolume_wfg,
    log_hv_difference, LOG_HV_MIN_DIFFERENCE,
};

#[cfg(test)]
mod tests;

/// `a` dominates `b`: `a >= b` in every objective and `a > b` in at least one.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    let mut strictly = false;
    for (x, y) in a.iter().zip(b) {
        if x < y {
            return false;
        }
        if x > y {
            strictly = true;
        }
    }
    strictly
}

/// `a` weakly dominates `b`: `a >= b` in every objective (equal points
/// weakly dominate each other).
pub fn weakly_dominates(a: &[f64], b: &[f64]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    a.iter().zip(b).all(|(x, y)| x >= y)
}

/// Dominance relation between two points, found in one pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// The first point dominates the second.
    Dominates,
    /// The second point dominates the first.
    DominatedBy,
    /// Neither dominates the other (this includes equal points).
    Incomparable,
}

/// How `a` and `b` relate under dominance.
pub fn relation(a: &[f64], b: &[f64]) -> Relation {
    debug_assert_eq!(a.len(), b.len());
    let (mut better, mut worse) = (false, false);
    for (x, y) in a.iter().zip(b) {
        if x > y {
            better = true;
        } else if x < y {
            worse = true;
        }
        if better && worse {
            return Relation::Incomparable;
        }
    }
    match (better, worse) {
        (true, false) => Relation::Dominates,
        (false, true) => Relation::DominatedBy,
        _ => Relation::Incomparable,
    }
}

/// For each point, how many points of the set dominate it (LaMOO's
/// "dominance number"; 0 on the Pareto front). Equal points do not count.
pub fn domination_counts(points: &[Vec<f64>]) -> Vec<usize> {
    let n = points.len();
    let mut counts = vec![0usize; n];
    for i in 0..n {
        for j in i + 1..n {
            match relation(&points[i], &points[j]) {
                Relation::Dominates => counts[j] += 1,
                Relation::DominatedBy => counts[i] += 1,
                Relation::Incomparable => {}
            }
        }
    }
    counts
}

/// Fast non-dominated sort (Deb et al., NSGA-II): fronts of indices, front 0
/// being the non-dominated points, each front in ascending index order.
/// Equal points land in the same front. `O(n^2 m)` time.
pub fn non_dominated_sort(points: &[Vec<f64>]) -> Vec<Vec<usize>> {
    let n = points.len();
    let mut dominated_by_me: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut count = vec![0usize; n];
    for i in 0..n {
        for j in i + 1..n {
            match relation(&points[i], &points[j]) {
                Relation::Dominates => {
                    dominated_by_me[i].push(j);
                    count[j] += 1;
                }
                Relation::DominatedBy => {
                    dominated_by_me[j].push(i);
                    count[i] += 1;
                }
                Relation::Incomparable => {}
            }
        }
    }
    let mut fronts = Vec::new();
    let mut current: Vec<usize> = (0..n).filter(|&i| count[i] == 0).collect();
    while !current.is_empty() {
        let mut next = Vec::new();
        for &i in &current {
            for &j in &dominated_by_me[i] {
                count[j] -= 1;
                if count[j] == 0 {
                    next.push(j);
                }
            }
        }
        next.sort_unstable();
        fronts.push(std::mem::replace(&mut current, next));
    }
    fronts
}

/// Indices (ascending) of the points no other point dominates.
pub fn pareto_front_indices(points: &[Vec<f64>]) -> Vec<usize> {
    (0..points.len())
        .filter(|&i| !points.iter().any(|q| dominates(q, &points[i])))
        .collect()
}

/// The non-dominated points, in their original order (duplicates kept).
pub fn pareto_front(points: &[Vec<f64>]) -> Vec<Vec<f64>> {
    pareto_front_indices(points)
        .into_iter()
        .map(|i| points[i].clone())
        .collect()
}
