//! The fast DBSCAN and k-NN (f32 + PCA pruning + float64 re-checks) against brute force in
//! float64, on random data that puts many pairs exactly at eps (integer grids), plus the
//! parameter checks.

use ndarray::Array2;
use proptest::prelude::*;
use topoact_core::dataset::Matrix;
use topoact_core::mapper::testing::{
    dbscan_fast_and_brute, eps_from_join_and_brute, join_pairs_fast_and_brute,
    kth_nn_fast_and_brute,
};
use topoact_core::mapper::{
    compute_mapper, CoverKind, Epsilon, Lens, MapperError, MapperInput, MapperParams,
};

fn matrix_from(values: Vec<i8>, dim: usize, scale: f32, as_f64: bool) -> Matrix {
    let n = values.len() / dim;
    let data: Vec<f32> = values[..n * dim]
        .iter()
        .map(|&v| v as f32 * scale)
        .collect();
    let a = Array2::from_shape_vec((n, dim), data).expect("shape");
    if as_f64 {
        Matrix::F64(a.mapv(|v| v as f64))
    } else {
        Matrix::F32(a.into())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Small-integer points (many exact ties at eps) in 2, 3, 17 or 24 dimensions.
    #[test]
    fn fast_dbscan_equals_brute_force_on_integer_grids(
        dim in prop::sample::select(vec![2usize, 3, 17, 24]),
        values in prop::collection::vec(-3i8..=3, 24..6000),
        eps_sq in 1u32..6,
        min_samples in 1usize..7,
        as_f64 in any::<bool>(),
        two_pass in any::<bool>(),
        n_coords in prop::sample::select(vec![8usize, 24]),
    ) {
        let matrix = matrix_from(values, dim, 1.0, as_f64);
        prop_assume!(matrix.n_rows() >= 1);
        let eps = (eps_sq as f64).sqrt();
        let (fast, brute) = dbscan_fast_and_brute(&matrix, eps, min_samples, two_pass, n_coords).expect("dbscan");
        prop_assert_eq!(fast, brute);
    }

    /// The leaf-by-leaf self-join (tiles of projected coordinates, query blocks that cut
    /// leaves anywhere) finds exactly the pairs within the radius, each once, including
    /// pairs exactly at it and duplicate rows; also with fewer coordinates than a tile stage
    /// and an odd count.
    #[test]
    fn join_pairs_equal_brute_force(
        dim in prop::sample::select(vec![2usize, 5, 17, 40]),
        values in prop::collection::vec(-3i8..=3, 40..9000),
        radius_sq in 1u32..8,
        n_coords in prop::sample::select(vec![3usize, 8, 13, 24]),
        block in prop::sample::select(vec![1usize, 7, 32, 100, 5000]),
    ) {
        let matrix = matrix_from(values, dim, 1.0, false);
        prop_assume!(matrix.n_rows() >= 1);
        let (fast, brute) = join_pairs_fast_and_brute(&matrix, (radius_sq as f64).sqrt(), n_coords, block).expect("join");
        prop_assert_eq!(fast, brute);
    }

    /// Dyadic points (exact arithmetic) with eps a power of two.
    #[test]
    fn fast_dbscan_equals_brute_force_on_dyadic_data(
        values in prop::collection::vec(-8i8..=8, 40..900),
        min_samples in 2usize..6,
    ) {
        let matrix = matrix_from(values, 20, 0.25, false);
        let (fast, brute) = dbscan_fast_and_brute(&matrix, 1.0, min_samples, false, 24).expect("dbscan");
        prop_assert_eq!(fast, brute);
    }

    /// The fixed-epsilon path (one self-join for the quantile and every interval) equals the
    /// per-interval DBSCAN given the same eps explicitly, on integer data full of ties.
    #[test]
    fn join_path_equals_per_interval_dbscan(
        dim in prop::sample::select(vec![2usize, 3, 17]),
        values in prop::collection::vec(-4i8..=4, 200..1500),
        k in 1usize..6,
        min_samples in 1usize..6,
        n_intervals in 1usize..8,
        overlap in prop::sample::select(vec![0.0, 0.3, 0.6]),
    ) {
        let matrix = matrix_from(values, dim, 1.0, false);
        prop_assume!(matrix.n_rows() > k + 1);
        let fixed = MapperParams {
            n_intervals,
            overlap,
            min_samples,
            epsilon: Epsilon::KnnQuantile { k, quantile: 0.5, per_interval: false },
            ..Default::default()
        };
        let Ok(graph) = compute_mapper(MapperInput::new(&matrix), &fixed.clone().validate().expect("valid")) else {
            return Ok(()); // constant lens or zero epsilon: refused, nothing to compare
        };
        let eps = graph.params.eps_global.expect("eps");
        let explicit = MapperParams { epsilon: Epsilon::Explicit(eps), ..fixed };
        let again = compute_mapper(MapperInput::new(&matrix), &explicit.validate().expect("valid")).expect("graph");
        prop_assert_eq!(&graph.nodes, &again.nodes);
        prop_assert_eq!(&graph.edges, &again.edges);
    }

    /// The epsilon quantile from the join's pairs equals the brute-force one whenever the
    /// pairs determine it, and they do when every pair is stored. Integer data (many equal
    /// k-th distances) and real-valued data, radii from below the quantile to twice it.
    #[test]
    fn eps_from_pairs_equals_brute_force(
        values in prop::collection::vec(-100i8..=100, 300..5000),
        dim in prop::sample::select(vec![3usize, 20]),
        scale in prop::sample::select(vec![1.0f32, 0.013]),
        k in 1usize..7,
        quantile in prop::sample::select(vec![0.1, 0.5, 0.73, 0.9]),
        radius_factor in prop::sample::select(vec![0.8, 1.0, 1.000001, 1.05, 2.0]),
    ) {
        let matrix = matrix_from(values, dim, scale, false);
        prop_assume!(matrix.n_rows() > k + 1);
        // A radius beyond every distance: all pairs are stored and settle the quantile.
        let (all, brute) = eps_from_join_and_brute(&matrix, k, quantile, f64::MAX.sqrt() / 4.0, 8).expect("eps");
        prop_assert_eq!(all, Some(brute));
        prop_assume!(brute > 0.0);
        let (from_pairs, _) = eps_from_join_and_brute(&matrix, k, quantile, brute * radius_factor, 8).expect("eps");
        if let Some(eps) = from_pairs {
            prop_assert_eq!(eps, brute);
        }
    }

    /// k-th nearest-neighbour distances, exact, on random real-valued data.
    #[test]
    fn fast_knn_equals_brute_force(
        values in prop::collection::vec(-100i8..=100, 300..8000),
        dim in prop::sample::select(vec![3usize, 20, 40]),
        k in 1usize..7,
        n_coords in prop::sample::select(vec![8usize, 24, 32]),
    ) {
        let matrix = matrix_from(values, dim, 0.013, false);
        prop_assume!(matrix.n_rows() > k);
        let (fast, brute) = kth_nn_fast_and_brute(&matrix, k, n_coords).expect("knn");
        prop_assert_eq!(fast, brute);
    }
}

/// Values so large that the projected pruning limit overflows to infinity in f32: every
/// row is a candidate, and the join must still keep to the queried positions after each
/// query (no pair twice, no position past the last row).
#[test]
fn join_pairs_equal_brute_force_when_the_pruning_limit_overflows() {
    let values: Vec<i8> = (0..17 * 70)
        .map(|v| ((v * 7 + v / 5) % 7) as i8 - 3)
        .collect();
    let matrix = matrix_from(values, 17, 1e18, false);
    for block in [1, 7, 100] {
        let (fast, brute) = join_pairs_fast_and_brute(&matrix, 4e19, 8, block).expect("join");
        assert_eq!(fast.len(), 70 * 69 / 2);
        assert_eq!(fast, brute);
    }
}

#[test]
fn random_real_data_agrees_with_brute_force() {
    // Deterministic pseudo-random Gaussian-ish clouds, 40-d float32.
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
    };
    let (n, dim) = (700, 40);
    let data: Vec<f32> = (0..n * dim)
        .map(|i| ((i / dim) % 7) as f32 * 0.8 + next() as f32)
        .collect();
    let matrix = Matrix::F32(
        Array2::from_shape_vec((n, dim), data)
            .expect("shape")
            .into(),
    );
    for (eps, min_samples) in [(1.2, 4), (1.5, 5), (2.0, 10)] {
        // 24 coordinates: all in the tree; 36: the last 12 only in the per-candidate bound.
        for (two_pass, n_coords) in [(false, 24), (true, 24), (false, 36), (true, 36)] {
            let (fast, brute) =
                dbscan_fast_and_brute(&matrix, eps, min_samples, two_pass, n_coords)
                    .expect("dbscan");
            assert_eq!(
                fast, brute,
                "eps {eps} min_samples {min_samples} two_pass {two_pass} coordinates {n_coords}"
            );
        }
    }
}

fn tiny() -> Matrix {
    Matrix::F32(ndarray::ArcArray2::from_shape_fn((30, 3), |(i, c)| {
        (i * (c + 1)) as f32
    }))
}

fn run(params: MapperParams, matrix: &Matrix) -> Result<(), MapperError> {
    compute_mapper(MapperInput::new(matrix), &params.validate()?).map(|_| ())
}

#[test]
fn parameter_errors_are_typed_and_clear() {
    let m = tiny();
    let bad = |p: MapperParams| run(p, &m).expect_err("must fail");
    assert_eq!(
        bad(MapperParams {
            n_intervals: 0,
            ..Default::default()
        }),
        MapperError::ZeroIntervals
    );
    assert_eq!(
        bad(MapperParams {
            overlap: 1.0,
            ..Default::default()
        }),
        MapperError::OverlapOutOfRange(1.0)
    );
    assert_eq!(
        bad(MapperParams {
            overlap: -0.1,
            ..Default::default()
        }),
        MapperError::OverlapOutOfRange(-0.1)
    );
    assert!(matches!(
        bad(MapperParams {
            overlap: f64::NAN,
            ..Default::default()
        }),
        MapperError::OverlapOutOfRange(_)
    ));
    assert_eq!(
        bad(MapperParams {
            epsilon: Epsilon::Explicit(0.0),
            ..Default::default()
        }),
        MapperError::InvalidEpsilon(0.0)
    );
    assert!(matches!(
        bad(MapperParams {
            epsilon: Epsilon::Explicit(f64::NAN),
            ..Default::default()
        }),
        MapperError::InvalidEpsilon(_)
    ));
    assert_eq!(
        bad(MapperParams {
            min_samples: 0,
            ..Default::default()
        }),
        MapperError::ZeroMinSamples
    );
    assert_eq!(
        bad(MapperParams {
            min_intersection: 0,
            ..Default::default()
        }),
        MapperError::ZeroMinIntersection
    );
    assert_eq!(
        bad(MapperParams {
            epsilon: Epsilon::KnnQuantile {
                k: 0,
                quantile: 0.5,
                per_interval: false
            },
            ..Default::default()
        }),
        MapperError::ZeroNeighbours
    );
    assert_eq!(
        bad(MapperParams {
            epsilon: Epsilon::KnnQuantile {
                k: 5,
                quantile: 1.5,
                per_interval: false
            },
            ..Default::default()
        }),
        MapperError::QuantileOutOfRange(1.5)
    );
    let mut nan_lens = vec![0.0; 30];
    nan_lens[7] = f64::NAN;
    assert_eq!(
        bad(MapperParams {
            lens: Lens::Custom {
                name: "x".into(),
                values_by_sample: nan_lens
            },
            ..Default::default()
        }),
        MapperError::NonFiniteLens { sample_idx: 7 }
    );
    assert!(matches!(
        bad(MapperParams {
            lens: Lens::Custom {
                name: "x".into(),
                values_by_sample: vec![2.0; 30]
            },
            ..Default::default()
        }),
        MapperError::ConstantLens { .. }
    ));
    assert!(matches!(
        bad(MapperParams {
            lens: Lens::Custom {
                name: "x".into(),
                values_by_sample: vec![2.0; 3]
            },
            ..Default::default()
        }),
        MapperError::LengthMismatch { .. }
    ));
    let empty = Matrix::F32(Array2::zeros((0, 4)).into());
    assert_eq!(
        run(MapperParams::default(), &empty),
        Err(MapperError::EmptyInput)
    );
    let few = Matrix::F32(ndarray::ArcArray2::from_shape_fn((4, 2), |(i, _)| i as f32));
    assert!(matches!(
        run(MapperParams::default(), &few),
        Err(MapperError::TooFewSamplesForKnn { .. })
    ));
    let dup = Matrix::F32(ndarray::ArcArray2::from_shape_fn((20, 2), |(i, _)| {
        (i / 10) as f32
    }));
    assert!(matches!(
        run(MapperParams::default(), &dup),
        Err(MapperError::ZeroEpsilon { .. })
    ));
    let subset = [3u32, 99];
    let input = MapperInput {
        matrix: &m,
        sample_indices: Some(&subset),
        labels: None,
        class_names: &[],
    };
    let params = MapperParams {
        epsilon: Epsilon::Explicit(1.0),
        ..Default::default()
    }
    .validate()
    .expect("valid");
    assert!(matches!(
        compute_mapper(input, &params),
        Err(MapperError::SampleOutOfRange { sample_idx: 99, .. })
    ));
    // Messages are for people.
    assert!(MapperError::OverlapOutOfRange(1.0)
        .to_string()
        .contains("[0, 1)"));
}

#[test]
fn every_lens_and_cover_runs() {
    let m = Matrix::F32(ndarray::ArcArray2::from_shape_fn((200, 6), |(i, c)| {
        (((i * 7 + c * 13) % 17) as f32 - 5.0).max(0.0) + (i / 50) as f32
    }));
    for lens in [
        Lens::L2Norm,
        Lens::L1Norm,
        Lens::Mean,
        Lens::FractionZeros,
        Lens::FirstPrincipalComponent,
        Lens::KnnDistance { k: 4 },
    ] {
        for cover in [CoverKind::Uniform, CoverKind::Balanced] {
            for per_interval in [false, true] {
                let params = MapperParams {
                    lens: lens.clone(),
                    cover,
                    n_intervals: 8,
                    epsilon: Epsilon::KnnQuantile {
                        k: 3,
                        quantile: 0.5,
                        per_interval,
                    },
                    ..Default::default()
                };
                let graph =
                    compute_mapper(MapperInput::new(&m), &params.validate().expect("valid"))
                        .expect("graph");
                let s = &graph.stats;
                assert_eq!(s.n_nodes, graph.nodes.len());
                assert_eq!(s.n_cycles + s.n_nodes, s.n_edges + s.n_components);
                assert!((0.0..=1.0).contains(&s.fraction_covered));
                for e in &graph.edges {
                    let (a, b) = (&graph.nodes[e.source], &graph.nodes[e.target]);
                    let inter = a
                        .members
                        .iter()
                        .filter(|x| b.members.binary_search(x).is_ok())
                        .count();
                    assert_eq!(inter, e.intersection);
                    assert!(
                        (e.jaccard - inter as f64 / (a.size + b.size - inter) as f64).abs() < 1e-15
                    );
                }
            }
        }
    }
}

/// A constant lens (here: every row the same, so the L2 norm is constant) is refused before
/// the neighbour search starts, not after it: identical rows make k-NN search its slowest.
#[test]
fn a_constant_lens_fails_before_the_neighbour_search() {
    use topoact_core::job::run_to_end;
    use topoact_core::mapper::MapperJob;
    let identical = Matrix::F32(Array2::from_elem((3_000, 16), 0.25).into());
    let params = MapperParams::default()
        .validate()
        .expect("default parameters are valid");
    let mut job = MapperJob::new(MapperInput::new(&identical), &params).expect("the job starts");
    let mut stages = Vec::new();
    let result = run_to_end(&mut job, |progress| stages.push(progress.stage.clone()));
    assert!(matches!(result, Err(MapperError::ConstantLens { .. })));
    assert!(
        stages
            .iter()
            .all(|stage| !stage.contains("NN") && !stage.contains("join")),
        "{stages:?}"
    );
}

/// A NaN or an infinity in the rows in use is refused with the first such sample, in every
/// precision (the rows are copied in parallel blocks; the lowest row must still be named).
#[test]
fn non_finite_rows_are_refused_with_the_first_sample() {
    let n = 3000;
    let mut data: Vec<f64> = (0..n * 4).map(|i| ((i * 37) % 11) as f64 - 5.0).collect();
    data[2100 * 4 + 1] = f64::INFINITY;
    data[2500 * 4 + 2] = f64::NAN;
    let a = Array2::from_shape_vec((n, 4), data).expect("shape");
    let params = MapperParams::default().validate().expect("valid");
    for matrix in [
        Matrix::F64(a.clone()),
        Matrix::F32(a.mapv(|v| v as f32).into()),
        Matrix::F16(a.mapv(half::f16::from_f64)),
    ] {
        let all = compute_mapper(MapperInput::new(&matrix), &params).map(|_| ());
        assert_eq!(all, Err(MapperError::NonFiniteData { sample_idx: 2100 }));
        // A subsample without sample 2100, in another order: the first bad row in use.
        let samples: Vec<u32> = (0..n as u32).rev().filter(|&s| s != 2100).collect();
        let input = MapperInput {
            sample_indices: Some(&samples),
            ..MapperInput::new(&matrix)
        };
        let some = compute_mapper(input, &params).map(|_| ());
        assert_eq!(some, Err(MapperError::NonFiniteData { sample_idx: 2500 }));
    }
}

/// A float32 layer's own values (shared, read in dataset order) give the same graph as the
/// copy stored in the tree's order: all rows and a shuffled subset, the join (global eps),
/// per-interval eps and the k-NN lens, sequential steps, threaded steps and whole stages.
#[test]
fn shared_rows_give_the_same_graph_as_the_copy() {
    use topoact_core::job::run_to_end;
    use topoact_core::mapper::synth::activation_like;
    use topoact_core::mapper::MapperJob;
    let (array, labels, class_names) = activation_like(3000, 48, 5);
    let matrix = Matrix::F32(array.into());
    let subset: Vec<u32> = (0..3000u32).rev().filter(|s| s % 3 != 1).collect();
    for sample_indices in [None, Some(subset.as_slice())] {
        let input = MapperInput {
            matrix: &matrix,
            sample_indices,
            labels: Some(&labels),
            class_names: &class_names,
        };
        for (lens, per_interval) in [
            (Lens::L2Norm, false),
            (Lens::L2Norm, true),
            (Lens::KnnDistance { k: 4 }, false),
        ] {
            let params = MapperParams {
                lens,
                epsilon: Epsilon::KnnQuantile {
                    k: 5,
                    quantile: 0.5,
                    per_interval,
                },
                ..MapperParams::default()
            }
            .validate()
            .expect("valid");
            let graph = |share_above: usize, threads: Option<usize>| {
                let job = MapperJob::new_sharing_above(input, &params, share_above).expect("job");
                assert_eq!(job.shares_rows(), share_above == 0);
                let mut job = match threads {
                    Some(threads) => job.with_step_threads(threads),
                    None => job.with_whole_stages(),
                };
                run_to_end(&mut job, |_| {}).expect("graph")
            };
            let copied = graph(usize::MAX, Some(1));
            assert!(copied.nodes.len() > 5, "{} nodes", copied.nodes.len());
            for threads in [Some(1), Some(2), None] {
                assert_eq!(graph(0, threads), copied, "threads {threads:?}");
            }
        }
    }
}
