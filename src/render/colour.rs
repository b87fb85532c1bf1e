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
    colorous::TABLEAU10.get(class_idx as usize).map(|colour| hex(*colour)).unwrap_or_else(|| "#9aa0a6".to_string())
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
