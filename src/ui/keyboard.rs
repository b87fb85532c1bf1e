//! Moving between graph nodes with the arrow keys: from the focused node to the nearest node
//! in the arrow's direction (pure geometry, tested natively).

/// An arrow key's direction in the graph's world coordinates (y grows downwards, as on
/// screen).
pub fn arrow_direction(key: &str) -> Option<[f64; 2]> {
    match key {
        "ArrowLeft" => Some([-1.0, 0.0]),
        "ArrowRight" => Some([1.0, 0.0]),
        "ArrowUp" => Some([0.0, -1.0]),
        "ArrowDown" => Some([0.0, 1.0]),
        _ => None,
    }
}

/// The node to move to from `from` in `direction`: among the nodes lying within 60 degrees
/// of the direction, the one with the smallest distance, where sideways distance counts
/// double (so a node straight ahead wins over a nearer one off to the side). `None` when no
/// node lies that way. Ties go to the smaller index.
pub fn nearest_in_direction(
    positions: &[[f64; 2]],
    from: usize,
    direction: [f64; 2],
) -> Option<usize> {
    let origin = *positions.get(from)?;
    let mut best: Option<(f64, usize)> = None;
    for (node_idx, position) in positions.iter().enumerate() {
        if node_idx == from {
            continue;
        }
        let offset = [position[0] - origin[0], position[1] - origin[1]];
        let ahead = offset[0] * direction[0] + offset[1] * direction[1];
        let sideways = (offset[0] * direction[1] - offset[1] * direction[0]).abs();
        // Within 60 degrees of the direction: tan(60°) = 1.732.
        if ahead <= 0.0 || sideways > ahead * 1.732 {
            continue;
        }
        let score = ahead + 2.0 * sideways;
        if best.is_none_or(|(best_score, _)| score < best_score) {
            best = Some((score, node_idx));
        }
    }
    best.map(|(_, node_idx)| node_idx)
}

/// The node keyboard focus starts on: the one nearest the top left corner.
pub fn first_node(positions: &[[f64; 2]]) -> Option<usize> {
    positions
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| (a[0] + a[1]).total_cmp(&(b[0] + b[1])))
        .map(|(node_idx, _)| node_idx)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A plus sign around node 0, and a node far off to the upper right.
    const PLUS: [[f64; 2]; 6] = [
        [0.0, 0.0],
        [10.0, 0.0],
        [-10.0, 0.0],
        [0.0, -10.0],
        [0.0, 10.0],
        [30.0, -29.0],
    ];

    #[test]
    fn each_arrow_reaches_the_node_that_way() {
        let go = |key| nearest_in_direction(&PLUS, 0, arrow_direction(key).unwrap());
        assert_eq!(go("ArrowRight"), Some(1));
        assert_eq!(go("ArrowLeft"), Some(2));
        assert_eq!(go("ArrowUp"), Some(3));
        assert_eq!(go("ArrowDown"), Some(4));
        assert_eq!(arrow_direction("Enter"), None);
    }

    #[test]
    fn straight_ahead_beats_nearer_but_sideways_and_nothing_behind_is_chosen() {
        // From the right node, rightwards: only the far upper-right node is within 60 degrees.
        assert_eq!(nearest_in_direction(&PLUS, 1, [1.0, 0.0]), Some(5));
        // From the left node, leftwards: nothing.
        assert_eq!(nearest_in_direction(&PLUS, 2, [-1.0, 0.0]), None);
        // A node 12 ahead beats one 8 ahead and 6 to the side.
        let positions = [[0.0, 0.0], [8.0, 6.0], [12.0, 0.0]];
        assert_eq!(nearest_in_direction(&positions, 0, [1.0, 0.0]), Some(2));
        assert_eq!(nearest_in_direction(&positions, 7, [1.0, 0.0]), None);
    }

    #[test]
    fn focus_starts_at_the_top_left() {
        assert_eq!(first_node(&PLUS), Some(2));
        assert_eq!(first_node(&[]), None);
    }
}
