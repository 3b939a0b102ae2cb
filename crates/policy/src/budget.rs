//! Integer apportionment of a rank budget in proportion to ER, for `budget_matched` (SPEC §5,
//! Paper 84's budget-matched comparison).
//!
//! # The problem
//! Give `seats` units of K to n layers (every layer costs the same per unit of K, SPEC §1) so that
//!
//! 1. Σ K_l ≤ seats, and Σ K_l is as large as possible (never over budget, as close as possible);
//! 2. `lo ≤ K_l ≤ hi` (the clamps);
//! 3. a layer with higher ER never gets a lower K, and layers with equal ER get equal K;
//! 4. among those, K is as close as possible to the proportional quota q_l = seats · ER_l / ΣER,
//!    measured by Σ (K_l − q_l)².
//!
//! Plain largest-remainder (Hamilton) apportionment can break (3): when several layers tie on
//! ER and fewer seats are left than tied layers, some of them would get one more seat than the
//! others. Dropping those seats instead can leave the total more than one seat short. So we solve
//! the problem exactly: group the layers by equal ER, sort the groups by ER, and run a dynamic
//! programme over (group, its K, seats used so far) that keeps K non-decreasing from group to
//! group. Criterion (1) is primary and (4) secondary; ties between equal costs go to the
//! smaller K of the earlier group (deterministic).
//!
//! # Why the result is exactly on budget for `budget_matched`'s default
//! With K_e = reference_k the layers' share is exactly n · reference_k seats, and "K =
//! reference_k everywhere" satisfies (2) and (3) with that total; the optimum of (1) therefore
//! spends every seat, so the parameter count equals the budget. With another K_e the remainder
//! below one seat cannot be spent; the tests check the result against brute force.

use crate::PolicyError;

/// The largest dynamic-programme size we run (groups × K values × seat totals): about 40 MB of
/// back-pointers. The paper model's worst case (reference_k = 256) needs 4.2 M.
pub const MAX_SEARCH_STATES: usize = 20_000_000;

/// An apportionment and the quotas it approximates.
#[derive(Debug, Clone, PartialEq)]
pub struct Apportionment {
    /// K per layer, in layer order.
    pub k: Vec<usize>,
    /// The proportional quota seats · ER_l / ΣER per layer.
    pub quotas: Vec<f64>,
}

/// Apportions `seats` to layers by `er` (validated positive and finite by the caller) within
/// `[lo, hi]`; the caller guarantees `n · lo ≤ seats` and `1 ≤ lo ≤ hi`.
pub fn apportion(
    er: &[f64],
    seats: usize,
    lo: usize,
    hi: usize,
) -> Result<Apportionment, PolicyError> {
    let n = er.len();
    let total_er: f64 = er.iter().sum();
    let quotas: Vec<f64> = er.iter().map(|&e| seats as f64 * e / total_er).collect();
    if n == 0 {
        return Ok(Apportionment { k: Vec::new(), quotas });
    }
    if lo == 0 || lo > hi || n * lo > seats {
        return Err(PolicyError::Infeasible { seats, n_layers: n, lo, hi });
    }

    // Groups of equal ER, in increasing ER (stable, so ties keep layer order).
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| er[a].total_cmp(&er[b]));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &l in &order {
        match groups.last_mut() {
            Some(g) if er[g[0]] == er[l] => g.push(l),
            _ => groups.push(vec![l]),
        }
    }

    let n_values = hi - lo + 1;
    let width = seats + 1;
    let states = groups.len().saturating_mul(n_values).saturating_mul(width);
    if states > MAX_SEARCH_STATES || n_values > u16::MAX as usize {
        return Err(PolicyError::SearchTooLarge { states, limit: MAX_SEARCH_STATES });
    }

    // cost[v * width + t]: least Σ size·(K − q)² over the groups so far, the last at K = lo + v,
    // using t seats in all. back[g][v * width + t]: the previous group's value index.
    let idx = |v: usize, t: usize| v * width + t;
    let mut cost = vec![f64::INFINITY; n_values * width];
    let mut back: Vec<Vec<u16>> = Vec::with_capacity(groups.len());
    for (gi, group) in groups.iter().enumerate() {
        let size = group.len();
        let q = quotas[group[0]];
        let mut next = vec![f64::INFINITY; n_values * width];
        let mut from = vec![0u16; n_values * width];
        if gi == 0 {
            for v in 0..n_values {
                let used = size * (lo + v);
                if used <= seats {
                    next[idx(v, used)] = size as f64 * (lo as f64 + v as f64 - q).powi(2);
                }
            }
        } else {
            // Running minimum over previous values u ≤ v, per seat total.
            let mut best = vec![f64::INFINITY; width];
            let mut best_u = vec![0u16; width];
            for v in 0..n_values {
                for t in 0..width {
                    if cost[idx(v, t)] < best[t] {
                        best[t] = cost[idx(v, t)];
                        best_u[t] = v as u16;
                    }
                }
                let add = size * (lo + v);
                let own = size as f64 * (lo as f64 + v as f64 - q).powi(2);
                for t in add..width {
                    let prev = best[t - add];
                    if prev.is_finite() {
                        next[idx(v, t)] = prev + own;
                        from[idx(v, t)] = best_u[t - add];
                    }
                }
            }
        }
        cost = next;
        back.push(from);
    }

    // Most seats used first, then least cost, then smallest last K.
    let mut end: Option<(usize, usize)> = None;
    for t in (0..width).rev() {
        let mut best = f64::INFINITY;
        for v in 0..n_values {
            if cost[idx(v, t)] < best {
                best = cost[idx(v, t)];
                end = Some((v, t));
            }
        }
        if best.is_finite() {
            break;
        }
    }
    // K = lo everywhere fits (checked above), so some total is reachable.
    let (mut v, mut t) = end.ok_or(PolicyError::Infeasible { seats, n_layers: n, lo, hi })?;
    let mut k = vec![0usize; n];
    for gi in (0..groups.len()).rev() {
        let value = lo + v;
        for &l in &groups[gi] {
            k[l] = value;
        }
        let prev_v = back[gi][idx(v, t)] as usize;
        t -= groups[gi].len() * value;
        v = prev_v;
    }
    Ok(Apportionment { k, quotas })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Σ size·(K − q)², the secondary criterion.
    fn deviation(k: &[usize], q: &[f64]) -> f64 {
        k.iter().zip(q).map(|(&k, &q)| (k as f64 - q).powi(2)).sum()
    }

    /// Brute force over every K vector in [lo, hi]^n that respects the ER order and ties.
    fn brute(er: &[f64], seats: usize, lo: usize, hi: usize) -> (usize, f64) {
        let n = er.len();
        let total: f64 = er.iter().sum();
        let q: Vec<f64> = er.iter().map(|&e| seats as f64 * e / total).collect();
        let mut best = (0usize, f64::INFINITY);
        let mut k = vec![lo; n];
        loop {
            let ok = (0..n).all(|i| {
                (0..n).all(|j| {
                    let inverted = er[i] < er[j] && k[i] > k[j];
                    let tie_split = er[i] == er[j] && k[i] != k[j];
                    !(inverted || tie_split)
                })
            });
            let sum: usize = k.iter().sum();
            if ok && sum <= seats {
                let d = deviation(&k, &q);
                if sum > best.0 || (sum == best.0 && d < best.1) {
                    best = (sum, d);
                }
            }
            // Next vector in odometer order.
            let mut i = 0;
            loop {
                if i == n {
                    return best;
                }
                if k[i] < hi {
                    k[i] += 1;
                    break;
                }
                k[i] = lo;
                i += 1;
            }
        }
    }

    /// Absolute tolerance for comparing two sums of squared deviations computed in different
    /// orders.
    const TOL: f64 = 1e-9;

    #[test]
    fn matches_brute_force_on_small_cases() {
        let cases: &[(&[f64], usize, usize, usize)] = &[
            (&[1.0, 1.0, 2.0], 6, 1, 6),
            (&[1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0], 21, 1, 5),
            (&[1.0, 1.0, 1.0, 2.0, 2.0], 10, 1, 6),
            (&[3.0, 1.0, 2.0, 2.0], 9, 1, 5),
            (&[5.0, 5.0, 5.0], 7, 1, 4),
            (&[1.0, 9.0], 8, 2, 5),
        ];
        for &(er, seats, lo, hi) in cases {
            let a = apportion(er, seats, lo, hi).expect("feasible case");
            let (sum, dev) = brute(er, seats, lo, hi);
            assert_eq!(a.k.iter().sum::<usize>(), sum, "{er:?} seats {seats}: {:?}", a.k);
            assert!((deviation(&a.k, &a.quotas) - dev).abs() < TOL, "{er:?}: {:?}", a.k);
        }
    }

    #[test]
    fn ties_that_defeat_largest_remainder_still_spend_every_seat() {
        // ER 1,1,1,2,2,2,2 with 21 seats: quotas 21/11 = 1.91 (×3) and 3.82 (×4). Largest
        // remainder gives floors 1,1,1,3,3,3,3 = 15 and six seats to place; the four tied high
        // layers take four, and the three tied low layers cannot share the last two. The exact
        // search finds K = 3 everywhere (21 seats, monotone, ties equal), beating 1,1,1,4,4,4,4 = 19.
        let a = apportion(&[1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0], 21, 1, 8).expect("feasible");
        assert_eq!(a.k.iter().sum::<usize>(), 21);
        assert_eq!(a.k, vec![3; 7]);
    }

    #[test]
    fn search_size_is_bounded() {
        let err = apportion(&vec![1.0; 64], 64 * 10_000, 1, 10_000).expect_err("too large");
        assert!(err.to_string().contains("lower reference_k"), "{err}");
    }
}
