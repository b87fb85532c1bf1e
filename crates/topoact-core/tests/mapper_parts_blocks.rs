//! The fixed epsilon from row blocks (`mapper::parts`: pilot by `block_knn`, the join of
//! every pair of blocks by `block_pair_kth`, `epsilon_from_bounded_kth`) equals, bit for bit,
//! every row's exact k-th-NN distance and its quantile computed over all rows at once.

use ndarray::{concatenate, Array2, Axis};
use topoact_core::dataset::MatrixView;
use topoact_core::mapper::parts;
use topoact_core::mapper::synth::activation_like;

/// Rows `range` of `x`, then the rows `extra` of `x`.
fn stacked<T: Clone>(x: &Array2<T>, range: std::ops::Range<usize>, extra: &[usize]) -> Array2<T> {
    let first = x.slice(ndarray::s![range, ..]);
    let second = x.select(Axis(0), extra);
    concatenate(Axis(0), &[first, second.view()]).unwrap()
}

/// The k-th smallest of each row's values over the lists (each `rows x k`).
fn merged(lists: &[Vec<f64>], n: usize, k: usize) -> Vec<f64> {
    (0..n)
        .map(|row| {
            let mut all: Vec<f64> = lists
                .iter()
                .flat_map(|l| l[row * k..(row + 1) * k].iter().copied())
                .collect();
            all.sort_by(|a, b| a.total_cmp(b));
            all[k - 1]
        })
        .collect()
}

fn check<T: Clone>(x: &Array2<T>, view: impl Fn(&Array2<T>) -> MatrixView<'_>, k: usize) {
    let n = x.nrows();
    let exact = parts::kth_neighbour_distances(view(x), 0..n, k).unwrap();
    let bounds = [0, n / 5, n / 2 + 3, n];
    let blocks: Vec<std::ops::Range<usize>> = bounds.windows(2).map(|w| w[0]..w[1]).collect();

    // Pilot: its rows against every block, merged.
    let pilot = parts::pilot_rows(n);
    let per_block: Vec<Vec<f64>> = blocks
        .iter()
        .map(|b| {
            let m = stacked(x, b.clone(), &pilot);
            let own: Vec<Option<usize>> = pilot
                .iter()
                .map(|&r| b.contains(&r).then(|| r - b.start))
                .collect();
            parts::block_knn(view(&m), b.len(), &own, k).unwrap()
        })
        .collect();
    let pilot_kth = merged(&per_block, pilot.len(), k);
    for (i, &r) in pilot.iter().enumerate() {
        assert_eq!(pilot_kth[i].to_bits(), exact[r].to_bits(), "pilot row {r}");
    }
    let quantile = 0.5;
    let radius = parts::join_radius(pilot_kth, quantile).unwrap();

    for scale in [1.0, 0.6, 3.0] {
        let radius = radius * scale;
        // Every pair of blocks (and each block with itself): each row's lists.
        let mut lists: Vec<Vec<Vec<f64>>> = blocks.iter().map(|_| Vec::new()).collect();
        for a in 0..blocks.len() {
            for b in a..blocks.len() {
                let (ra, rb) = (blocks[a].clone(), blocks[b].clone());
                let extra: Vec<usize> = if a == b {
                    Vec::new()
                } else {
                    rb.clone().collect()
                };
                let m = stacked(x, ra.clone(), &extra);
                let out = parts::block_pair_kth(view(&m), ra.len(), k, radius).unwrap();
                lists[a].push(out[..ra.len() * k].to_vec());
                if a != b {
                    lists[b].push(out[ra.len() * k..].to_vec());
                }
            }
        }
        let mut kth = Vec::with_capacity(n);
        for (block, block_lists) in blocks.iter().zip(&lists) {
            kth.extend(merged(block_lists, block.len(), k));
        }
        let mut n_known = 0;
        for row in 0..n {
            if kth[row] <= radius {
                n_known += 1;
                assert_eq!(kth[row].to_bits(), exact[row].to_bits(), "row {row}");
            } else {
                assert!(exact[row] > radius, "row {row}: {} <= {radius}", exact[row]);
            }
        }
        assert!(n_known > 0);
        let eps = parts::epsilon_from_kth(exact.clone(), k, quantile).unwrap();
        match parts::epsilon_from_bounded_kth(kth.clone(), radius, k, quantile).unwrap() {
            Some(found) => assert_eq!(found.to_bits(), eps.to_bits(), "scale {scale}"),
            None => assert!(scale < 1.0, "the pilot radius determines the median"),
        }
        // The rows above the radius, searched exactly in every block, complete the values.
        let above: Vec<usize> = (0..n).filter(|&r| kth[r] > radius).collect();
        let per_block: Vec<Vec<f64>> = blocks
            .iter()
            .map(|b| {
                let m = stacked(x, b.clone(), &above);
                let own: Vec<Option<usize>> = above
                    .iter()
                    .map(|&r| b.contains(&r).then(|| r - b.start))
                    .collect();
                parts::block_knn(view(&m), b.len(), &own, k).unwrap()
            })
            .collect();
        for (i, value) in merged(&per_block, above.len(), k).into_iter().enumerate() {
            assert_eq!(value.to_bits(), exact[above[i]].to_bits());
            kth[above[i]] = value;
        }
        let again = parts::epsilon_from_kth(kth, k, quantile).unwrap();
        assert_eq!(again.to_bits(), eps.to_bits());
    }
}

#[test]
fn block_searches_give_the_exact_kth_distances_float32() {
    let (x, _, _) = activation_like(2500, 24, 7);
    check(&x, |m| MatrixView::F32(m.view()), 5);
}

#[test]
fn block_searches_give_the_exact_kth_distances_float64_with_duplicates() {
    let (x, _, _) = activation_like(1800, 20, 3);
    let mut x = x.mapv(|v| v as f64 * 1.000_000_1);
    // Exact duplicates across blocks: distance 0 counts, the row itself does not.
    for i in 0..60 {
        let row = x.row(i * 7).to_owned();
        x.row_mut(1799 - i).assign(&row);
    }
    check(&x, |m| MatrixView::F64(m.view()), 4);
}
