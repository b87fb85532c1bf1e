//! Colour scales (from `colorous`): perceptual maps for quantities, a categorical palette
//! for classes.

/// `t` in [0, 1] (clamped; NaN gives the low end) on Viridis, as `#rrggbb`.
pub fn viridis(t: f64) -> String {
    hex(colorous::VIRIDIS.eval_continuous(clamp_unit(t)))
}

/// Link colours: Plasma without its pale yellow end (which vanishes on a light background).
pub fn plasma_links(t: f64) -> String {
    hex(colorous::PLASMA.eval_continuous(clamp_unit(t) * 0.85))
}

/// A distinguishable colour for class `class_idx` (Tableau 10, then grey for the rest).
pub fn class_colour(class_idx: u32) -> String {
    colorous::TABLEAU10
        .get(class_idx as usize)
        .map(|colour| hex(*colour))
        .unwrap_or_else(|| "#9aa0a6".to_string())
}

/// `value` scaled to [0, 1] over `[lo, hi]` (0.5 for an empty range).
pub fn unit(value: f64, [lo, hi]: [f64; 2]) -> f64 {
    if hi > lo {
        ((value - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.5
    }
}

fn clamp_unit(t: f64) -> f64 {
    if t.is_nan() {
        0.0
    } else {
        t.clamp(0.0, 1.0)
    }
}

fn hex(colour: colorous::Color) -> String {
    format!("#{:02x}{:02x}{:02x}", colour.r, colour.g, colour.b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_give_hex_colours_and_clamp() {
        assert_eq!(viridis(-1.0), viridis(0.0));
        assert_eq!(viridis(2.0), viridis(1.0));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        assert!(viridis(0.3).starts_with('#') && viridis(0.3).len() == 7);
        assert_ne!(class_colour(0), class_colour(1));
        assert_eq!(class_colour(40), "#9aa0a6");
    }

    #[test]
    fn unit_scales_into_the_range() {
        assert_eq!(unit(5.0, [0.0, 10.0]), 0.5);
        assert_eq!(unit(-5.0, [0.0, 10.0]), 0.0);
        assert_eq!(unit(3.0, [3.0, 3.0]), 0.5);
    }
}

/// Distinguishable colours for point classes: Tableau 10, then Set 3; classes beyond these
/// are grey ([`OTHER_CLASSES`]).
pub fn point_palette() -> Vec<[u8; 4]> {
    colorous::TABLEAU10
        .iter()
        .chain(colorous::SET3.iter().take(10))
        .map(|c| [c.r, c.g, c.b, 255])
        .collect()
}

/// Colour of classes without a palette slot.
pub const OTHER_CLASSES: [u8; 4] = [154, 160, 166, 255];

/// Which palette slot each class gets: the `priority` classes first (in order), then the
/// rest by descending count (ties: lower index); only the first `n_slots` get one.
pub fn class_slots(counts: &[usize], priority: &[u32], n_slots: usize) -> Vec<Option<usize>> {
    let mut order: Vec<usize> = priority
        .iter()
        .map(|&c| c as usize)
        .filter(|&c| c < counts.len())
        .collect();
    let mut rest: Vec<usize> = (0..counts.len()).filter(|c| !order.contains(c)).collect();
    rest.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    order.extend(rest);
    let mut slots = vec![None; counts.len()];
    for (slot, &class_idx) in order.iter().take(n_slots).enumerate() {
        slots[class_idx] = Some(slot);
    }
    slots
}

/// `t` in [0, 1] on Viridis as RGBA.
pub fn viridis_rgba(t: f64) -> [u8; 4] {
    let c = colorous::VIRIDIS.eval_continuous(clamp_unit(t));
    [c.r, c.g, c.b, 255]
}

#[cfg(test)]
mod palette_tests {
    use super::*;

    #[test]
    fn highlighted_then_frequent_classes_get_slots() {
        let counts = [5, 50, 1, 20];
        assert_eq!(
            class_slots(&counts, &[2], 2),
            vec![None, Some(1), Some(0), None]
        );
        assert_eq!(
            class_slots(&counts, &[], 10),
            vec![Some(2), Some(0), Some(3), Some(1)]
        );
        assert_eq!(point_palette().len(), 20);
    }
}
