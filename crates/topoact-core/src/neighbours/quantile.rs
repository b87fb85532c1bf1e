//! numpy's quantile of a sorted sequence (the mapper's epsilon: a quantile of the k-th-NN
//! distances, as KeplerMapper's users compute it with numpy).

/// numpy's `np.median` (sorted input): the middle value, or the mean of the two middle ones.
/// For other `q`: `np.quantile(method="linear")`, including numpy's `lerp` form.
pub(crate) fn numpy_quantile(sorted: &[f64], q: f64) -> f64 {
    numpy_quantile_at(sorted.len(), q, |i| sorted[i])
}

/// [`numpy_quantile`] of a sorted sequence of length `n` given by `value_at` (only the one or
/// two order statistics needed are read; their indices are <= `floor(q (n-1)) + 1`).
pub(crate) fn numpy_quantile_at(n: usize, q: f64, value_at: impl Fn(usize) -> f64) -> f64 {
    if n == 0 {
        return f64::NAN;
    }
    if q == 0.5 {
        let mid = n / 2;
        return if n % 2 == 1 {
            value_at(mid)
        } else {
            (value_at(mid - 1) + value_at(mid)) / 2.0
        };
    }
    let pos = q * (n - 1) as f64;
    let lo = (pos.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let t = pos - lo as f64;
    let (a, b) = (value_at(lo), value_at(hi));
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}
