//! Packing of component bounding boxes: skyline bottom-left placement, and separation of
//! boxes that keep their warm-start place.

/// An axis-aligned box: `min` corner and size, in drawing units (y grows downwards).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rect {
    pub(crate) min: [f64; 2],
    pub(crate) size: [f64; 2],
}

impl Rect {
    fn max(&self) -> [f64; 2] {
        [self.min[0] + self.size[0], self.min[1] + self.size[1]]
    }

    /// True when the boxes, each grown by `gap / 2` on every side, intersect.
    fn overlaps(&self, other: &Rect, gap: f64) -> bool {
        let (a_max, b_max) = (self.max(), other.max());
        self.min[0] < b_max[0] + gap
            && other.min[0] < a_max[0] + gap
            && self.min[1] < b_max[1] + gap
            && other.min[1] < a_max[1] + gap
    }
}

/// Skyline bottom-left packing (Burke, Kendall & Whitwell, *A new placement heuristic for the
/// orthogonal stock-cutting problem*, Operations Research 2004, without their reordering).
///
/// Boxes are placed in the given order (callers sort them largest first) into a strip of
/// width `max(widest box, sqrt(total area * aspect_ratio))` starting at `origin`: each goes
/// where its top edge would be highest (smallest y), ties to the left. With a dominant first
/// box the strip is a little wider than it, so the small ones line up beside it, then
/// below. Returns each box's new `min` corner. `gap` is kept between boxes.
///
/// Cost: O(B S) time where S <= 2 B is the number of skyline segments; O(B) space.
pub(crate) fn skyline_pack(
    sizes: &[[f64; 2]],
    gap: f64,
    aspect_ratio: f64,
    origin: [f64; 2],
) -> Vec<[f64; 2]> {
    let padded: Vec<[f64; 2]> = sizes.iter().map(|&[w, h]| [w + gap, h + gap]).collect();
    let total_area: f64 = padded.iter().map(|[w, h]| w * h).sum();
    let widest = padded.iter().map(|size| size[0]).fold(0.0, f64::max);
    let strip_width = widest.max((total_area * aspect_ratio).sqrt());
    // Skyline segments (x start, y level), x ascending, covering [0, strip_width).
    let mut skyline: Vec<(f64, f64)> = vec![(0.0, 0.0)];
    let segment_end = |skyline: &[(f64, f64)], segment_idx: usize| {
        skyline
            .get(segment_idx + 1)
            .map_or(strip_width, |segment| segment.0)
    };
    let mut corners = Vec::with_capacity(sizes.len());
    for &[width, height] in &padded {
        let mut best: Option<(f64, f64, usize)> = None; // (y, x, first segment)
        for start_idx in 0..skyline.len() {
            let x = skyline[start_idx].0;
            if x + width > strip_width && x > 0.0 {
                break;
            }
            let mut level: f64 = 0.0;
            let mut segment_idx = start_idx;
            while segment_idx < skyline.len() && skyline[segment_idx].0 < x + width {
                level = level.max(skyline[segment_idx].1);
                segment_idx += 1;
            }
            if best.is_none_or(|(best_y, _, _)| level < best_y) {
                best = Some((level, x, start_idx));
            }
        }
        let (y, x, start_idx) = best.unwrap_or((0.0, 0.0, 0));
        corners.push([origin[0] + x, origin[1] + y]);
        // Replace the covered part of the skyline by the box's top... (its bottom: y grows down).
        let right = x + width;
        let mut end_idx = start_idx;
        while end_idx < skyline.len() && segment_end(&skyline, end_idx) <= right {
            end_idx += 1;
        }
        // Segments start_idx..end_idx are fully covered; segment end_idx (if any) is cut at `right`.
        let remainder = if end_idx < skyline.len() && skyline[end_idx].0 < right {
            Some((right, skyline[end_idx].1))
        } else {
            None
        };
        let replace_to = if remainder.is_some() {
            end_idx + 1
        } else {
            end_idx
        };
        let mut replacement = vec![(x, y + height)];
        replacement.extend(remainder);
        skyline.splice(start_idx..replace_to.min(skyline.len()), replacement);
        // Merge neighbouring segments at the same level.
        skyline.dedup_by(|later, earlier| later.1 == earlier.1);
    }
    corners
}

/// Moves boxes that must keep (roughly) their place so that none overlaps an earlier one.
/// Two boxes keep the larger of their `gaps` between them (so single nodes may sit closer
/// to each other than components). Each box, in order, is shifted by the smallest
/// axis-aligned move that clears the first earlier box it overlaps, up to 64 times; if it
/// still overlaps it goes below all of them. Returns each box's new `min` corner.
/// Cost: O(B^2) time in the worst case.
pub(crate) fn separate_anchored(boxes: &[Rect], gaps: &[f64]) -> Vec<[f64; 2]> {
    let mut placed: Vec<(Rect, f64)> = Vec::with_capacity(boxes.len());
    for (box_idx, &original) in boxes.iter().enumerate() {
        let own_gap = gaps.get(box_idx).copied().unwrap_or(0.0);
        let mut rect = original;
        let mut cleared = false;
        for _ in 0..64 {
            let Some((blocker, gap)) = placed
                .iter()
                .map(|&(other, other_gap)| (other, own_gap.max(other_gap)))
                .find(|(other, gap)| rect.overlaps(other, *gap))
            else {
                cleared = true;
                break;
            };
            let (rect_max, blocker_max) = (rect.max(), blocker.max());
            let moves = [
                [blocker_max[0] + gap - rect.min[0], 0.0], // right
                [0.0, blocker_max[1] + gap - rect.min[1]], // down
                [blocker.min[0] - gap - rect_max[0], 0.0], // left
                [0.0, blocker.min[1] - gap - rect_max[1]], // up
            ];
            let magnitude = |m: &[f64; 2]| m[0].abs() + m[1].abs();
            let mut best_move = moves[0];
            for candidate in &moves[1..] {
                if magnitude(candidate) < magnitude(&best_move) {
                    best_move = *candidate;
                }
            }
            rect.min[0] += best_move[0];
            rect.min[1] += best_move[1];
        }
        if !cleared {
            let bottom = placed
                .iter()
                .map(|(other, _)| other.max()[1])
                .fold(f64::NEG_INFINITY, f64::max);
            let left = placed
                .iter()
                .map(|(other, _)| other.min[0])
                .fold(f64::INFINITY, f64::min);
            let widest_gap = placed.iter().map(|&(_, gap)| gap).fold(own_gap, f64::max);
            rect.min = [left, bottom + widest_gap];
        }
        placed.push((rect, own_gap));
    }
    placed.iter().map(|(rect, _)| rect.min).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_disjoint(rects: &[Rect], gap: f64) {
        for (a_idx, a) in rects.iter().enumerate() {
            for b in &rects[a_idx + 1..] {
                assert!(!a.overlaps(b, gap * 0.999), "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn skyline_places_boxes_disjointly_beside_the_first() {
        let sizes = [
            [100.0, 80.0],
            [20.0, 10.0],
            [15.0, 15.0],
            [30.0, 5.0],
            [10.0, 40.0],
            [5.0, 5.0],
        ];
        let corners = skyline_pack(&sizes, 2.0, 1.5, [0.0, 0.0]);
        let rects: Vec<Rect> = corners
            .iter()
            .zip(&sizes)
            .map(|(&min, &size)| Rect { min, size })
            .collect();
        assert_disjoint(&rects, 2.0);
        assert_eq!(corners[0], [0.0, 0.0]);
        let beside_the_first = corners[1..]
            .iter()
            .filter(|corner| corner[0] >= 100.0 && corner[1] < 80.0)
            .count();
        assert!(
            beside_the_first >= 2,
            "small boxes go beside the first: {corners:?}"
        );
    }

    #[test]
    fn separation_moves_only_what_overlaps() {
        let boxes = [
            Rect {
                min: [0.0, 0.0],
                size: [10.0, 10.0],
            },
            Rect {
                min: [5.0, 1.0],
                size: [10.0, 10.0],
            },
            Rect {
                min: [100.0, 100.0],
                size: [1.0, 1.0],
            },
        ];
        let corners = separate_anchored(&boxes, &[1.0; 3]);
        assert_eq!(corners[0], [0.0, 0.0]);
        assert_eq!(corners[2], [100.0, 100.0]);
        let rects: Vec<Rect> = corners
            .iter()
            .zip(&boxes)
            .map(|(&min, b)| Rect { min, size: b.size })
            .collect();
        assert_disjoint(&rects, 1.0);
    }
}
