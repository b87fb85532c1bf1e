//! Small dense linear algebra: the symmetric eigenproblem (cyclic Jacobi) of the few-by-few
//! matrices that Rayleigh-Ritz and Lanczos steps produce, and modified Gram-Schmidt.
//!
//! Users: [`symmetric_eigen`] by the PCA engine's Rayleigh-Ritz step ([`super::pca`]: t-SNE's
//! and UMAP's PCA starts) and UMAP's spectral start (the Lanczos tridiagonal matrix);
//! [`orthonormalise`] by the PCA engine and the mapper's pruning basis.

use super::kernels::dot_f64;

/// Eigen-decomposition of a symmetric `m x m` matrix (row-major) by cyclic Jacobi rotations.
/// Returns the eigenvalues in descending order (ties by original index) and the matching
/// eigenvectors as the columns of a row-major `m x m` matrix (`vectors[row * m + col]`).
///
/// Sweeps rotate every pair `p < q` in order, skipping exact zeros, until the off-diagonal
/// sum of squares is `<= 1e-30` times the whole matrix's (or zero), at most 64 sweeps.
/// Convergence is quadratic: a few sweeps suffice for m <= 200. Cost O(m^3) per sweep.
/// Deterministic (fixed order, only `+ - * / sqrt`).
pub(crate) fn symmetric_eigen(matrix: &[f64], m: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = matrix.to_vec();
    let mut v = vec![0.0; m * m];
    for i in 0..m {
        v[i * m + i] = 1.0;
    }
    for _sweep in 0..64 {
        let off: f64 = (0..m)
            .flat_map(|i| (0..m).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * m + j].powi(2))
            .sum();
        let scale: f64 = a.iter().map(|x| x * x).sum();
        if off <= 1e-30 * scale || off == 0.0 {
            break;
        }
        for p in 0..m {
            for q in p + 1..m {
                let apq = a[p * m + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * m + q] - a[p * m + p]) / (2.0 * apq);
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
    for (col, &source) in order.iter().enumerate() {
        for row in 0..m {
            vectors[row * m + col] = v[row * m + source];
        }
    }
    (values, vectors)
}

/// What [`orthonormalise`] does with a vector that is (numerically) dependent on the ones
/// before it: its norm after projection is not above `1e-10` times its norm before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnDependent {
    /// Replace it by the first axis vector `e_((j + a) % len)`, `a = 0, 1, ...`, whose
    /// projected norm exceeds 1e-6 (projected in turn), so the count stays and the result is
    /// a full orthonormal set (while `count <= len`).
    ReplaceWithAxis,
    /// Leave it out; later vectors move up.
    Drop,
}

/// How [`orthonormalise`] works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GramSchmidt {
    /// Projection passes against the previous vectors: 1 is classic modified Gram-Schmidt;
    /// 2 ("twice is enough") keeps orthogonality to ~1e-15 even under heavy cancellation.
    pub passes: usize,
    pub on_dependent: OnDependent,
}

/// Modified Gram-Schmidt on the vectors of length `len` stored one after another in
/// `vectors`, in order, with float64 dot products of four partial sums
/// ([`dot_f64`]). Returns how many vectors remain (with [`OnDependent::Drop`] the vector is
/// truncated to them). Cost O(count^2 * len * passes).
pub(crate) fn orthonormalise(vectors: &mut Vec<f64>, len: usize, how: GramSchmidt) -> usize {
    if len == 0 {
        vectors.clear();
        return 0;
    }
    let count = vectors.len() / len;
    let mut kept = 0;
    for source in 0..count {
        if source != kept {
            vectors.copy_within(source * len..(source + 1) * len, kept * len);
        }
        let (done, rest) = vectors.split_at_mut(kept * len);
        let current = &mut rest[..len];
        let project_out_previous = |current: &mut [f64]| {
            for _pass in 0..how.passes {
                for previous in done.chunks_exact(len) {
                    let projection = dot_f64(current, previous);
                    for (c, &p) in current.iter_mut().zip(previous) {
                        *c -= projection * p;
                    }
                }
            }
        };
        let original_norm = dot_f64(current, current).sqrt();
        project_out_previous(current);
        let mut norm = dot_f64(current, current).sqrt();
        let independent = norm > 1e-10 * original_norm.max(f64::MIN_POSITIVE) && norm != 0.0;
        if !independent {
            match how.on_dependent {
                OnDependent::Drop => continue,
                OnDependent::ReplaceWithAxis => {
                    for axis in 0..len {
                        current.fill(0.0);
                        current[(axis + kept) % len] = 1.0;
                        project_out_previous(current);
                        norm = dot_f64(current, current).sqrt();
                        if norm > 1e-6 {
                            break;
                        }
                    }
                }
            }
        }
        if norm > 0.0 {
            current.iter_mut().for_each(|v| *v /= norm);
        }
        kept += 1;
    }
    vectors.truncate(kept * len);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `A v = lambda v` for every returned pair, eigenvalues descending, vectors orthonormal.
    fn check_eigen(a: &[f64], m: usize, tolerance: f64) {
        let (values, vectors) = symmetric_eigen(a, m);
        assert_eq!(values.len(), m);
        assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
        let scale = a.iter().map(|x| x.abs()).fold(1.0, f64::max);
        for col in 0..m {
            for row in 0..m {
                let av: f64 = (0..m).map(|k| a[row * m + k] * vectors[k * m + col]).sum();
                let lv = values[col] * vectors[row * m + col];
                assert!(
                    (av - lv).abs() <= tolerance * scale,
                    "m {m} col {col}: {av} vs {lv}"
                );
            }
            for other in 0..m {
                let dot: f64 = (0..m)
                    .map(|k| vectors[k * m + col] * vectors[k * m + other])
                    .sum();
                let expected = if col == other { 1.0 } else { 0.0 };
                assert!(
                    (dot - expected).abs() < 1e-12,
                    "m {m}: columns {col}, {other}"
                );
            }
        }
        // The trace is kept.
        let trace: f64 = (0..m).map(|i| a[i * m + i]).sum();
        assert!((values.iter().sum::<f64>() - trace).abs() <= 1e-12 * scale * m as f64);
    }

    #[test]
    fn jacobi_diagonalises_a_symmetric_matrix() {
        let a = [
            4.0, 1.0, 0.5, 0.0, 1.0, 3.0, 0.2, 0.1, 0.5, 0.2, 2.0, 0.3, 0.0, 0.1, 0.3, 1.0,
        ];
        check_eigen(&a, 4, 1e-12);
    }

    #[test]
    fn jacobi_on_random_symmetric_matrices_and_edge_cases() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for m in [1usize, 2, 3, 5, 6, 8, 17, 40] {
            let mut a = vec![0.0; m * m];
            for i in 0..m {
                for j in i..m {
                    let x = rng.random_range(-1.0..1.0) * 10f64.powi(rng.random_range(-3..3));
                    a[i * m + j] = x;
                    a[j * m + i] = x;
                }
            }
            check_eigen(&a, m, 1e-11);
        }
        // Already diagonal (no rotation), zero, and a repeated eigenvalue.
        check_eigen(&[3.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 2.0], 3, 0.0);
        check_eigen(&[0.0; 9], 3, 0.0);
        check_eigen(&[2.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 2.0], 3, 1e-12);
        let (values, _) = symmetric_eigen(&[], 0);
        assert!(values.is_empty());
    }

    fn check_orthonormal(v: &[f64], len: usize) {
        let count = v.len() / len;
        for i in 0..count {
            for j in 0..count {
                let dot: f64 = (0..len).map(|k| v[i * len + k] * v[j * len + k]).sum();
                let expected = if i == j { 1.0 } else { 0.0 };
                assert!((dot - expected).abs() < 1e-12, "{i}, {j}: {dot}");
            }
        }
    }

    #[test]
    fn gram_schmidt_gives_orthonormal_vectors_even_from_duplicates() {
        for passes in [1, 2] {
            let how = GramSchmidt {
                passes,
                on_dependent: OnDependent::ReplaceWithAxis,
            };
            let mut v = vec![1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 2.0];
            assert_eq!(orthonormalise(&mut v, 3, how), 3);
            check_orthonormal(&v, 3);
            // A zero vector is replaced too.
            let mut v = vec![0.0, 0.0, 0.0, 0.0, 2.0, 0.0];
            assert_eq!(orthonormalise(&mut v, 3, how), 2);
            check_orthonormal(&v, 3);
        }
    }

    #[test]
    fn gram_schmidt_drops_dependent_vectors_when_asked() {
        let how = GramSchmidt {
            passes: 2,
            on_dependent: OnDependent::Drop,
        };
        let mut v = vec![1.0, 1.0, 0.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0];
        assert_eq!(orthonormalise(&mut v, 3, how), 2);
        assert_eq!(v.len(), 6);
        check_orthonormal(&v, 3);
        assert!((v[5] - 1.0).abs() < 1e-15);
    }

    #[test]
    fn gram_schmidt_on_random_nearly_dependent_vectors() {
        // Vectors close to one direction: heavy cancellation, which two passes absorb.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for (len, count) in [(5usize, 3usize), (33, 6), (200, 24)] {
            let base: Vec<f64> = (0..len).map(|_| rng.random_range(-1.0..1.0)).collect();
            let original: Vec<f64> = (0..count * len)
                .map(|i| base[i % len] + 1e-6 * rng.random_range(-1.0..1.0))
                .collect();
            let mut v = original.clone();
            let how = GramSchmidt {
                passes: 2,
                on_dependent: OnDependent::Drop,
            };
            assert_eq!(orthonormalise(&mut v, len, how), count);
            check_orthonormal(&v, len);
            // The span is kept: the first vector is the normalised first input.
            let norm = original[..len].iter().map(|x| x * x).sum::<f64>().sqrt();
            for k in 0..len {
                assert!((v[k] - original[k] / norm).abs() < 1e-14);
            }
        }
    }
}
