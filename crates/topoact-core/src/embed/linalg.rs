//! Small dense linear algebra for the projections: the symmetric eigenproblem (cyclic Jacobi)
//! of the few-by-few matrices that Rayleigh-Ritz and Lanczos steps produce.

/// Eigen-decomposition of a symmetric `m x m` matrix (row-major) by cyclic Jacobi rotations.
/// Returns eigenvalues in descending order and the matching eigenvectors as the columns of
/// a row-major `m x m` matrix (`vectors[row * m + col]`). Cost O(m^3) per sweep, at most 60
/// sweeps (convergence is quadratic; a few sweeps suffice for m <= 200).
pub(crate) fn symmetric_eigen(matrix: &[f64], m: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = matrix.to_vec();
    let mut v = vec![0.0; m * m];
    for i in 0..m {
        v[i * m + i] = 1.0;
    }
    for _sweep in 0..60 {
        let off: f64 = (0..m)
            .flat_map(|i| (0..m).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * m + j].powi(2))
            .sum();
        let diag: f64 = (0..m).map(|i| a[i * m + i].powi(2)).sum();
        if off <= 1e-30 * diag.max(1e-300) {
            break;
        }
        for p in 0..m {
            for q in p + 1..m {
                let apq = a[p * m + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let (app, aqq) = (a[p * m + p], a[q * m + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..m {
                    let (akp, akq) = (a[k * m + p], a[k * m + q]);
                    a[k * m + p] = c * akp - s * akq;
                    a[k * m + q] = s * akp + c * akq;
                }
                for k in 0..m {
                    let (apk, aqk) = (a[p * m + k], a[q * m + k]);
                    a[p * m + k] = c * apk - s * aqk;
                    a[q * m + k] = s * apk + c * aqk;
                }
                for k in 0..m {
                    let (vkp, vkq) = (v[k * m + p], v[k * m + q]);
                    v[k * m + p] = c * vkp - s * vkq;
                    v[k * m + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&x, &y| a[y * m + y].total_cmp(&a[x * m + x]).then(x.cmp(&y)));
    let values = order.iter().map(|&i| a[i * m + i]).collect();
    let mut vectors = vec![0.0; m * m];
    for (col, &src) in order.iter().enumerate() {
        for row in 0..m {
            vectors[row * m + col] = v[row * m + src];
        }
    }
    (values, vectors)
}

/// Modified Gram-Schmidt on `count` vectors of length `len` stored one after another; a
/// vector that becomes (numerically) zero is replaced by a unit basis vector orthogonalised
/// in turn, so the result is always orthonormal.
pub(crate) fn orthonormalise(vectors: &mut [f64], len: usize) {
    let count = vectors.len() / len;
    for i in 0..count {
        for attempt in 0..=len {
            let before = vectors[i * len..(i + 1) * len]
                .iter()
                .map(|x| x * x)
                .sum::<f64>()
                .sqrt();
            // Two projection passes ("twice is enough") keep orthogonality under cancellation.
            for _pass in 0..2 {
                for j in 0..i {
                    let (done, rest) = vectors.split_at_mut(i * len);
                    let basis = &done[j * len..(j + 1) * len];
                    let v = &mut rest[..len];
                    let dot: f64 = basis.iter().zip(v.iter()).map(|(a, b)| a * b).sum();
                    v.iter_mut().zip(basis).for_each(|(x, b)| *x -= dot * b);
                }
            }
            let v = &mut vectors[i * len..(i + 1) * len];
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 1e-10 * before && norm > 1e-300 {
                v.iter_mut().for_each(|x| *x /= norm);
                break;
            }
            // Dependent on the previous vectors: try a unit vector instead.
            v.iter_mut().for_each(|x| *x = 0.0);
            v[attempt % len] = 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_diagonalises_a_symmetric_matrix() {
        let m = 4;
        let a = [
            4.0, 1.0, 0.5, 0.0, 1.0, 3.0, 0.2, 0.1, 0.5, 0.2, 2.0, 0.3, 0.0, 0.1, 0.3, 1.0,
        ];
        let (values, vectors) = symmetric_eigen(&a, m);
        assert!(values.windows(2).all(|w| w[0] >= w[1]));
        for col in 0..m {
            for row in 0..m {
                let av: f64 = (0..m).map(|k| a[row * m + k] * vectors[k * m + col]).sum();
                assert!((av - values[col] * vectors[row * m + col]).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn gram_schmidt_gives_orthonormal_vectors_even_from_duplicates() {
        let mut v = vec![1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 2.0];
        orthonormalise(&mut v, 3);
        for i in 0..3 {
            for j in 0..3 {
                let dot: f64 = (0..3).map(|k| v[i * 3 + k] * v[j * 3 + k]).sum();
                assert!((dot - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }
}
