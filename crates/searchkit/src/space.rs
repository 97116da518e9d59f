//! Search spaces: continuous boxes and categorical vectors.
//!
//! The NAS-Bench-201 cell space is a [`Categorical`] space of 6 edges x 5 ops;
//! its encodings live in [`crate::nasbench::nb201`].

use crate::rng::Stream;

/// A space that can be sampled uniformly.
pub trait Space: Send + Sync {
    /// A point of the space.
    type X: Clone + Send + Sync + std::fmt::Debug;
    /// Number of coordinates.
    fn dim(&self) -> usize;
    /// A uniform random point.
    fn sample(&self, rng: &mut Stream) -> Self::X;
    /// Whether `x` lies in the space.
    fn contains(&self, x: &Self::X) -> bool;
}

/// A space of finitely many points, numbered `0..num_points()` (what sampling
/// without replacement needs).
pub trait FiniteSpace: Space {
    /// Number of points.
    fn num_points(&self) -> usize;
    /// The point numbered `i` (`i < num_points()`).
    fn point(&self, i: usize) -> Self::X;
    /// The number of point `x`, the inverse of [`FiniteSpace::point`].
    fn index_of(&self, x: &Self::X) -> usize;
}

/// A space with a mutation operator: a random neighbour of a point (what
/// evolutionary search needs).
pub trait Mutate: Space {
    fn mutate(&self, x: &Self::X, rng: &mut Stream) -> Self::X;
}

/// An axis-aligned box `[lower_i, upper_i]` in R^d.
#[derive(Clone, Debug, PartialEq)]
pub struct BoxSpace {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

impl BoxSpace {
    /// A box from bounds; panics if they disagree in length or are inverted.
    pub fn new(lower: Vec<f64>, upper: Vec<f64>) -> Self {
        assert_eq!(lower.len(), upper.len(), "BoxSpace bounds differ in length");
        assert!(
            lower.iter().zip(&upper).all(|(l, u)| l < u),
            "BoxSpace needs lower < upper"
        );
        Self { lower, upper }
    }

    /// The cube `[lo, hi]^d`.
    pub fn cube(d: usize, lo: f64, hi: f64) -> Self {
        Self::new(vec![lo; d], vec![hi; d])
    }

    /// Map a point of the unit cube into the box.
    pub fn from_unit(&self, u: &[f64]) -> Vec<f64> {
        u.iter()
            .zip(self.lower.iter().zip(&self.upper))
            .map(|(u, (l, h))| l + u * (h - l))
            .collect()
    }

    /// Map a point of the box into the unit cube.
    pub fn to_unit(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(self.lower.iter().zip(&self.upper))
            .map(|(x, (l, h))| (x - l) / (h - l))
            .collect()
    }

    /// Clip a point into the box.
    pub fn clip(&self, x: &mut [f64]) {
        for (i, v) in x.iter_mut().enumerate() {
            *v = v.clamp(self.lower[i], self.upper[i]);
        }
    }

    /// `n` points of a Latin hypercube, jittered inside each stratum.
    pub fn latin_hypercube(&self, n: usize, rng: &mut Stream) -> Vec<Vec<f64>> {
        let d = self.dim();
        let mut pts = vec![vec![0.0; d]; n];
        for j in 0..d {
            let mut perm: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                perm.swap(i, rng.below(i + 1));
            }
            for i in 0..n {
                pts[i][j] = (perm[i] as f64 + rng.uniform()) / n as f64;
            }
        }
        pts.into_iter().map(|u| self.from_unit(&u)).collect()
    }
}

impl Space for BoxSpace {
    type X = Vec<f64>;
    fn dim(&self) -> usize {
        self.lower.len()
    }
    fn sample(&self, rng: &mut Stream) -> Vec<f64> {
        (0..self.dim())
            .map(|i| self.lower[i] + rng.uniform() * (self.upper[i] - self.lower[i]))
            .collect()
    }
    fn contains(&self, x: &Vec<f64>) -> bool {
        x.len() == self.dim()
            && x.iter()
                .enumerate()
                .all(|(i, v)| *v >= self.lower[i] && *v <= self.upper[i])
    }
}

/// A vector of categorical choices; coordinate `i` takes values `0..cardinalities[i]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Categorical {
    pub cardinalities: Vec<usize>,
}

impl Categorical {
    pub fn new(cardinalities: Vec<usize>) -> Self {
        assert!(
            cardinalities.iter().all(|&c| c > 0),
            "a categorical coordinate needs at least one choice"
        );
        Self { cardinalities }
    }

    /// Number of points in the space.
    pub fn size(&self) -> u128 {
        self.cardinalities.iter().map(|&c| c as u128).product()
    }

    /// Mixed-radix index of a point (first coordinate most significant).
    pub fn index_of(&self, x: &[usize]) -> usize {
        x.iter()
            .zip(&self.cardinalities)
            .fold(0, |acc, (v, c)| acc * c + v)
    }

    /// Point at a mixed-radix index (inverse of [`Categorical::index_of`]).
    pub fn point_at(&self, mut index: usize) -> Vec<usize> {
        let mut x = vec![0; self.cardinalities.len()];
        for i in (0..x.len()).rev() {
            x[i] = index % self.cardinalities[i];
            index /= self.cardinalities[i];
        }
        x
    }

    /// Change one uniformly chosen coordinate to a different value (one-edge
    /// mutation on a cell space). Coordinates with one choice are never picked.
    pub fn mutate_one(&self, x: &[usize], rng: &mut Stream) -> Vec<usize> {
        let free: Vec<usize> = (0..x.len())
            .filter(|&i| self.cardinalities[i] > 1)
            .collect();
        let mut y = x.to_vec();
        if free.is_empty() {
            return y;
        }
        let i = free[rng.below(free.len())];
        let mut v = rng.below(self.cardinalities[i] - 1);
        if v >= x[i] {
            v += 1;
        }
        y[i] = v;
        y
    }
}

impl Space for Categorical {
    type X = Vec<usize>;
    fn dim(&self) -> usize {
        self.cardinalities.len()
    }
    fn sample(&self, rng: &mut Stream) -> Vec<usize> {
        self.cardinalities.iter().map(|&c| rng.below(c)).collect()
    }
    fn contains(&self, x: &Vec<usize>) -> bool {
        x.len() == self.dim() && x.iter().zip(&self.cardinalities).all(|(v, c)| v < c)
    }
}

impl FiniteSpace for Categorical {
    /// Panics if the space has more than `usize::MAX` points.
    fn num_points(&self) -> usize {
        usize::try_from(self.size()).expect("categorical space too large to index")
    }
    fn point(&self, i: usize) -> Vec<usize> {
        self.point_at(i)
    }
    fn index_of(&self, x: &Vec<usize>) -> usize {
        Categorical::index_of(self, x)
    }
}

impl Mutate for Categorical {
    /// [`Categorical::mutate_one`].
    fn mutate(&self, x: &Vec<usize>, rng: &mut Stream) -> Vec<usize> {
        self.mutate_one(x, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categorical_index_roundtrip() {
        let s = Categorical::new(vec![5; 6]);
        assert_eq!(s.size(), 15_625);
        for i in [0, 1, 4, 5, 6111, 15_624] {
            assert_eq!(s.index_of(&s.point_at(i)), i);
        }
    }

    #[test]
    fn mutation_changes_exactly_one() {
        let s = Categorical::new(vec![5; 6]);
        let mut rng = Stream::root("t");
        let x = vec![0, 1, 2, 3, 4, 0];
        for _ in 0..200 {
            let y = s.mutate_one(&x, &mut rng);
            assert_eq!(x.iter().zip(&y).filter(|(a, b)| a != b).count(), 1);
            assert!(s.contains(&y));
        }
    }

    #[test]
    fn lhs_has_one_point_per_stratum() {
        let b = BoxSpace::cube(3, -5.0, 10.0);
        let mut rng = Stream::root("lhs");
        let pts = b.latin_hypercube(10, &mut rng);
        for j in 0..3 {
            let mut strata: Vec<usize> = pts
                .iter()
                .map(|p| ((p[j] + 5.0) / 15.0 * 10.0) as usize)
                .collect();
            strata.sort();
            assert_eq!(strata, (0..10).collect::<Vec<_>>());
        }
        assert!(pts.iter().all(|p| b.contains(p)));
    }
}
