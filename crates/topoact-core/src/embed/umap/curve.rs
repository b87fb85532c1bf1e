//! UMAP's output kernel `1 / (1 + a d^(2b))`, fitted to the target curve set by `min_dist`
//! and `spread` (umap-learn's `find_ab_params`: least squares on 300 points of
//! `[0, 3 spread]`, target 1 below `min_dist` and `exp(-(d - min_dist) / spread)` above).
//!
//! umap-learn fits with scipy's `curve_fit` (Levenberg-Marquardt from `a = b = 1`); this is a
//! Levenberg-Marquardt of our own on the same residuals, which reaches the same minimum
//! (checked against scipy's values in the tests: min_dist 0.01 -> a = 1.89561,
//! b = 0.80064).

const SAMPLES: usize = 300;

fn model(x: f64, a: f64, b: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        1.0 / (1.0 + a * x.powf(2.0 * b))
    }
}

/// `(a, b)` for the given `spread > 0` and `0 <= min_dist`.
pub(crate) fn find_ab_params(spread: f64, min_dist: f64) -> (f64, f64) {
    let xs: Vec<f64> = (0..SAMPLES)
        .map(|i| 3.0 * spread * i as f64 / (SAMPLES - 1) as f64)
        .collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|&x| {
            if x < min_dist {
                1.0
            } else {
                (-(x - min_dist) / spread).exp()
            }
        })
        .collect();
    let cost = |a: f64, b: f64| {
        xs.iter()
            .zip(&ys)
            .map(|(&x, &y)| (model(x, a, b) - y).powi(2))
            .sum::<f64>()
    };
    let (mut a, mut b) = (1.0f64, 1.0f64);
    let mut lambda = 1e-3;
    let mut current = cost(a, b);
    for _ in 0..500 {
        // Normal equations J^T J delta = -J^T r.
        let (mut jaa, mut jab, mut jbb, mut ga, mut gb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&x, &y) in xs.iter().zip(&ys) {
            if x == 0.0 {
                continue;
            }
            let p = x.powf(2.0 * b);
            let denom = 1.0 + a * p;
            let f = 1.0 / denom;
            let r = f - y;
            let da = -p / (denom * denom);
            let db = -a * p * 2.0 * x.ln() / (denom * denom);
            jaa += da * da;
            jab += da * db;
            jbb += db * db;
            ga += da * r;
            gb += db * r;
        }
        let mut improved = false;
        for _ in 0..30 {
            let (maa, mbb) = (jaa * (1.0 + lambda), jbb * (1.0 + lambda));
            let det = maa * mbb - jab * jab;
            if det.abs() < 1e-300 {
                lambda *= 10.0;
                continue;
            }
            let step_a = -(mbb * ga - jab * gb) / det;
            let step_b = -(maa * gb - jab * ga) / det;
            let trial = cost(a + step_a, b + step_b);
            if trial.is_finite() && trial < current {
                let converged = (current - trial) <= 1e-15 * current.max(1e-300);
                a += step_a;
                b += step_b;
                current = trial;
                lambda = (lambda / 10.0).max(1e-12);
                improved = !converged;
                break;
            }
            lambda *= 10.0;
        }
        if !improved {
            break;
        }
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values from umap-learn 0.5.12 `find_ab_params` (scipy 1.17.1).
    #[test]
    fn matches_umap_learn() {
        for (min_dist, a_ref, b_ref) in [
            (0.01, 1.8956058659984905, 0.8006378442240341),
            (0.1, 1.57694346046584, 0.8950608779639974),
            (0.5, 0.5830300203968329, 1.3341669926352966),
        ] {
            let (a, b) = find_ab_params(1.0, min_dist);
            assert!(
                (a - a_ref).abs() < 1e-4 * a_ref,
                "min_dist {min_dist}: a {a} vs {a_ref}"
            );
            assert!(
                (b - b_ref).abs() < 1e-4 * b_ref,
                "min_dist {min_dist}: b {b} vs {b_ref}"
            );
        }
    }
}
