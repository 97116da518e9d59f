use super::*;
use crate::rng::Stream;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

fn assert_close(a: f64, b: f64, what: &str) {
    assert!(close(a, b), "{what}: {a} vs {b} (diff {})", a - b);
}

fn pts(v: &[&[f64]]) -> Vec<Vec<f64>> {
    v.iter().map(|p| p.to_vec()).collect()
}

/// Exact hypervolume by cell decomposition: the distinct coordinates of each
/// axis cut the box into cells, and a cell is covered iff some point is at or
/// above its upper corner.
fn hv_grid(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let d = reference.len();
    let shifted: Vec<Vec<f64>> = points
        .iter()
        .map(|p| {
            p.iter()
                .zip(reference)
                .map(|(x, r)| x - r)
                .collect::<Vec<f64>>()
        })
        .filter(|q| q.iter().all(|&v| v > 0.0))
        .collect();
    if shifted.is_empty() {
        return 0.0;
    }
    let axes: Vec<Vec<f64>> = (0..d)
        .map(|k| {
            let mut c: Vec<f64> = shifted.iter().map(|p| p[k]).collect();
            c.push(0.0);
            c.sort_by(f64::total_cmp);
            c.dedup();
            c
        })
        .collect();
    let mut idx = vec![1usize; d];
    let mut total = 0.0;
    loop {
        let upper: Vec<f64> = (0..d).map(|k| axes[k][idx[k]]).collect();
        if shifted.iter().any(|p| (0..d).all(|k| p[k] >= upper[k])) {
            total += (0..d)
                .map(|k| axes[k][idx[k]] - axes[k][idx[k] - 1])
                .product::<f64>();
        }
        let mut k = 0;
        loop {
            if k == d {
                return total;
            }
            idx[k] += 1;
            if idx[k] < axes[k].len() {
                break;
            }
            idx[k] = 1;
            k += 1;
        }
    }
}

/// Exact hypervolume by inclusion–exclusion over all subsets (small n).
fn hv_inclusion_exclusion(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let n = points.len();
    assert!(n <= 12);
    let mut total = 0.0;
    for mask in 1u32..(1 << n) {
        let members: Vec<&Vec<f64>> = (0..n)
            .filter(|i| mask >> i & 1 == 1)
            .map(|i| &points[i])
            .collect();
        let vol: f64 = (0..reference.len())
            .map(|k| {
                let m = members.iter().map(|p| p[k]).fold(f64::INFINITY, f64::min);
                (m - reference[k]).max(0.0)
            })
            .product();
        if members.len() % 2 == 1 {
            total += vol;
        } else {
            total -= vol;
        }
    }
    total
}

/// Mutually non-dominated points on the positive unit sphere.
fn sphere_front(s: &mut Stream, n: usize, d: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| {
            let v: Vec<f64> = (0..d).map(|_| s.normal().abs() + 1e-9).collect();
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.iter().map(|x| x / norm).collect()
        })
        .collect()
}

fn uniform_points(s: &mut Stream, n: usize, d: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| (0..d).map(|_| s.uniform()).collect())
        .collect()
}

/// Integer coordinates in `0..5`: many ties, duplicates and points on the
/// reference's faces.
fn integer_points(s: &mut Stream, n: usize, d: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| (0..d).map(|_| s.below(5) as f64).collect())
        .collect()
}

/// Every applicable algorithm against the brute-force ones.
fn check_all(points: &[Vec<f64>], reference: &[f64], what: &str) {
    let d = reference.len();
    let truth = hv_grid(points, reference);
    if points.len() <= 10 {
        assert_close(
            hv_inclusion_exclusion(points, reference),
            truth,
            &format!("{what} incl-excl"),
        );
    }
    assert_close(
        hypervolume(points, reference),
        truth,
        &format!("{what} dispatch"),
    );
    assert_close(
        hypervolume_wfg(points, reference),
        truth,
        &format!("{what} wfg"),
    );
    if d == 2 {
        assert_close(
            hypervolume_2d(points, reference),
            truth,
            &format!("{what} 2d"),
        );
    }
    if d == 3 {
        assert_close(
            hypervolume_3d(points, reference),
            truth,
            &format!("{what} 3d"),
        );
    }
}

#[test]
fn dominance_basics() {
    assert!(dominates(&[2.0, 2.0], &[1.0, 2.0]));
    assert!(!dominates(&[1.0, 2.0], &[2.0, 2.0]));
    assert!(!dominates(&[1.0, 2.0], &[1.0, 2.0]), "equal points");
    assert!(!dominates(&[3.0, 1.0], &[1.0, 3.0]));
    assert!(weakly_dominates(&[1.0, 2.0], &[1.0, 2.0]));
    assert_eq!(relation(&[2.0, 2.0], &[1.0, 2.0]), Relation::Dominates);
    assert_eq!(relation(&[1.0, 2.0], &[2.0, 2.0]), Relation::DominatedBy);
    assert_eq!(relation(&[1.0, 2.0], &[1.0, 2.0]), Relation::Incomparable);
    assert_eq!(relation(&[3.0, 1.0], &[1.0, 3.0]), Relation::Incomparable);
}

#[test]
fn sorting_hand_case() {
    let p = pts(&[
        &[1.0, 3.0],
        &[0.0, 0.0],
        &[2.0, 2.0],
        &[1.0, 1.0],
        &[3.0, 1.0],
        &[2.0, 2.0],
    ]);
    assert_eq!(domination_counts(&p), vec![0, 5, 0, 4, 0, 0]);
    assert_eq!(
        non_dominated_sort(&p),
        vec![vec![0, 2, 4, 5], vec![3], vec![1]]
    );
    assert_eq!(pareto_front_indices(&p), vec![0, 2, 4, 5]);
    assert_eq!(pareto_front(&p)[1], vec![2.0, 2.0]);
    assert!(non_dominated_sort(&[]).is_empty());
}

#[test]
fn sorting_against_brute_force() {
    let mut s = Stream::root("pareto-sort");
    for trial in 0..40 {
        let d = 2 + trial % 3;
        let n = 1 + s.below(60);
        let p = if trial % 2 == 0 {
            integer_points(&mut s, n, d)
        } else {
            uniform_points(&mut s, n, d)
        };
        let counts: Vec<usize> = (0..n)
            .map(|i| (0..n).filter(|&j| dominates(&p[j], &p[i])).count())
            .collect();
        assert_eq!(domination_counts(&p), counts);

        // Peel fronts off one at a time.
        let mut left: Vec<usize> = (0..n).collect();
        let mut fronts = Vec::new();
        while !left.is_empty() {
            let front: Vec<usize> = left
                .iter()
                .copied()
                .filter(|&i| !left.iter().any(|&j| dominates(&p[j], &p[i])))
                .collect();
            left.retain(|i| !front.contains(i));
            fronts.push(front);
        }
        let sorted = non_dominated_sort(&p);
        assert_eq!(sorted, fronts);
        assert_eq!(pareto_front_indices(&p), fronts[0]);
    }
}

#[test]
fn hv_2d_hand() {
    let p = pts(&[&[1.0, 3.0], &[2.0, 2.0], &[3.0, 1.0]]);
    // Staircase 3x1 + 2x1 + 1x1.
    assert_close(hypervolume(&p, &[0.0, 0.0]), 6.0, "staircase");
    assert_close(hypervolume_wfg(&p, &[0.0, 0.0]), 6.0, "staircase wfg");
    let mut q = p.clone();
    q.push(vec![1.0, 1.0]); // dominated
    q.push(vec![2.0, 2.0]); // duplicate
    q.push(vec![0.0, 0.0]); // equal to the reference
    q.push(vec![5.0, 0.0]); // on a face of the reference box
    q.push(vec![-1.0, 9.0]); // worse than the reference in one objective
    assert_close(hypervolume(&q, &[0.0, 0.0]), 6.0, "with extras");
    assert_close(hypervolume_2d(&q, &[0.0, 0.0]), 6.0, "with extras 2d");
    // Shifting the reference by (-1, -2) adds the strips below and left:
    // union of [-1,1]x[-2,3], [-1,2]x[-2,2], [-1,3]x[-2,1] = 2*5+1*4+1*3 = 17.
    assert_close(hypervolume(&p, &[-1.0, -2.0]), 17.0, "shifted reference");
    assert_eq!(hypervolume(&[], &[0.0, 0.0]), 0.0);
}

#[test]
fn hv_1d() {
    let p = pts(&[&[3.0], &[5.0], &[-1.0]]);
    assert_eq!(hypervolume(&p, &[1.0]), 4.0);
    assert_eq!(hypervolume_wfg(&p, &[1.0]), 4.0);
    assert_eq!(hypervolume(&p, &[6.0]), 0.0);
}

#[test]
fn hv_3d_hand() {
    // A = (2,2,1), B = (1,1,3), C = (3,1,1), reference 0.
    // Boxes 4 + 3 + 3; pairwise overlaps A∩B = 1x1x1, A∩C = 2x1x1,
    // B∩C = 1x1x1; triple overlap 1x1x1: 10 - 4 + 1 = 7.
    // Check by slabs: z in [0,1] the (x,y) staircase of A, B, C has area
    // 3*1 + 2*1 = 5; z in (1,3] only B: 1*1*2 = 2; total 7.
    let p = pts(&[&[2.0, 2.0, 1.0], &[1.0, 1.0, 3.0], &[3.0, 1.0, 1.0]]);
    let r = [0.0, 0.0, 0.0];
    assert_close(hypervolume(&p, &r), 7.0, "3d dispatch");
    assert_close(hypervolume_3d(&p, &r), 7.0, "3d sweep");
    assert_close(hypervolume_wfg(&p, &r), 7.0, "3d wfg");
    // Two unit cubes overlapping in half: [0,1]^2 x [0,1] and offset
    // corners (1, 1, 1) and (1, 1, 1.5) -> nested, volume 1.5; with a
    // third point (1.5, 0.5, 1) the extra is 0.5 x 0.5 x 1 = 0.25.
    let q = pts(&[&[1.0, 1.0, 1.0], &[1.0, 1.0, 1.5], &[1.5, 0.5, 1.0]]);
    assert_close(hypervolume(&q, &r), 1.75, "nested cubes");
    assert_close(hypervolume_wfg(&q, &r), 1.75, "nested cubes wfg");
}

#[test]
fn hv_4d_hand() {
    // Four boxes, each the unit cube stretched to 2 along one axis; any two
    // or more intersect in the unit cube: 4*2 - 6 + 4 - 1 = 5.
    let mut p = Vec::new();
    for k in 0..4 {
        let mut v = vec![1.0; 4];
        v[k] = 2.0;
        p.push(v);
    }
    let r = [0.0; 4];
    assert_close(hypervolume(&p, &r), 5.0, "4d dispatch");
    assert_close(hypervolume_wfg(&p, &r), 5.0, "4d wfg");
    // Same set moved by +10 with the reference moved too.
    let moved: Vec<Vec<f64>> = p
        .iter()
        .map(|v| v.iter().map(|x| x + 10.0).collect())
        .collect();
    assert_close(hypervolume(&moved, &[10.0; 4]), 5.0, "4d moved");
    // A 5-D analogue: 5*2 - 10 + 10 - 5 + 1 = 6.
    let mut p5 = Vec::new();
    for k in 0..5 {
        let mut v = vec![1.0; 5];
        v[k] = 2.0;
        p5.push(v);
    }
    assert_close(hypervolume(&p5, &[0.0; 5]), 6.0, "5d dispatch");
}

#[test]
fn hv_random_against_brute_force() {
    let mut s = Stream::root("pareto-hv-random");
    let sizes: [(usize, usize); 4] = [(2, 40), (3, 18), (4, 9), (5, 6)];
    for &(d, max_n) in &sizes {
        for trial in 0..30 {
            let n = 1 + s.below(max_n);
            let (p, r) = match trial % 3 {
                0 => (sphere_front(&mut s, n, d), vec![0.0; d]),
                1 => (uniform_points(&mut s, n, d), vec![0.2; d]),
                _ => {
                    let r = if trial % 2 == 0 { 0.0 } else { 1.0 };
                    (integer_points(&mut s, n, d), vec![r; d])
                }
            };
            check_all(&p, &r, &format!("d={d} trial={trial} n={n}"));
        }
    }
}

#[test]
fn hv_3d_sweep_matches_wfg_on_larger_fronts() {
    let mut s = Stream::root("pareto-hv-3d-large");
    let p = sphere_front(&mut s, 200, 3);
    let r = [0.0; 3];
    assert_close(
        hypervolume_3d(&p, &r),
        hypervolume_wfg(&p, &r),
        "sphere 200",
    );
    let q = integer_points(&mut s, 300, 3);
    assert_close(hypervolume_3d(&q, &r), hv_grid(&q, &r), "integer 300");
    // A 2-D front lifted to constant height 2 has twice its area.
    let f2 = sphere_front(&mut s, 500, 2);
    let lifted: Vec<Vec<f64>> = f2.iter().map(|v| vec![v[0], v[1], 2.0]).collect();
    assert_close(
        hypervolume(&lifted, &r),
        2.0 * hypervolume(&f2, &[0.0, 0.0]),
        "lifted",
    );
    // The sphere's positive octant holds pi/6 of the unit cube; a dense
    // front approaches it from below.
    let dense = sphere_front(&mut s, 2000, 3);
    let hv = hypervolume(&dense, &r);
    assert!(
        hv < std::f64::consts::PI / 6.0 && hv > 0.45,
        "dense sphere {hv}"
    );
}

#[test]
fn hv_4d_dispatch_matches_wfg() {
    let mut s = Stream::root("pareto-hv-4d");
    let p = sphere_front(&mut s, 40, 4);
    let r = [0.0; 4];
    assert_close(hypervolume(&p, &r), hypervolume_wfg(&p, &r), "sphere 40 4d");
}

#[test]
fn contributions() {
    let p = pts(&[&[1.0, 3.0], &[2.0, 2.0], &[3.0, 1.0], &[1.0, 1.0]]);
    let c = hypervolume_contributions(&p, &[0.0, 0.0]);
    assert_eq!(c.len(), 4);
    for (got, want) in c.iter().zip([1.0, 1.0, 1.0, 0.0]) {
        assert_close(*got, want, "2d contributions");
    }
    // Duplicates share their box, so neither copy contributes.
    let dup = pts(&[&[1.0, 3.0], &[1.0, 3.0], &[3.0, 1.0]]);
    assert_eq!(
        hypervolume_contributions(&dup, &[0.0, 0.0])[..2],
        [0.0, 0.0]
    );

    let mut s = Stream::root("pareto-contrib");
    for d in 2..=4 {
        for trial in 0..6 {
            let p = if trial % 2 == 0 {
                sphere_front(&mut s, 8, d)
            } else {
                integer_points(&mut s, 8, d)
            };
            let r = vec![0.0; d];
            let all = hv_grid(&p, &r);
            let c = hypervolume_contributions(&p, &r);
            for i in 0..p.len() {
                let mut rest = p.clone();
                rest.remove(i);
                let want = all - hv_grid(&rest, &r);
                assert!(
                    (c[i] - want).abs() <= 1e-9 * all.max(1e-12),
                    "d={d} trial={trial} i={i}: {} vs {want}",
                    c[i]
                );
            }
        }
    }
}

#[test]
fn log_difference() {
    assert_close(log_hv_difference(1000.0, 999.0), 0.0, "unit gap");
    assert_close(log_hv_difference(1.0, 0.99), -2.0, "1% gap");
    assert_eq!(log_hv_difference(5.0, 5.0), -12.0);
    assert_eq!(log_hv_difference(5.0, 6.0), -12.0);
}
