//! A 2-D camera: `point_in_screen = point_in_world * scale + offset`.

use serde::{Deserialize, Serialize};

/// Zoom limits relative to the fitted view.
pub const MIN_SCALE: f64 = 1e-3;
pub const MAX_SCALE: f64 = 1e3;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Camera {
    pub scale: f64,
    pub offset: [f64; 2],
}

impl Default for Camera {
    fn default() -> Self {
        Self {
            scale: 1.0,
            offset: [0.0, 0.0],
        }
    }
}

impl Camera {
    pub fn screen_from_world(&self, point_in_world: [f64; 2]) -> [f64; 2] {
        [
            point_in_world[0] * self.scale + self.offset[0],
            point_in_world[1] * self.scale + self.offset[1],
        ]
    }

    pub fn world_from_screen(&self, point_in_screen: [f64; 2]) -> [f64; 2] {
        [
            (point_in_screen[0] - self.offset[0]) / self.scale,
            (point_in_screen[1] - self.offset[1]) / self.scale,
        ]
    }

    /// Zooms by `factor` keeping the world point under `anchor_in_screen` fixed.
    pub fn zoom_at(&mut self, anchor_in_screen: [f64; 2], factor: f64) {
        if !factor.is_finite() || factor <= 0.0 {
            return;
        }
        let anchor_in_world = self.world_from_screen(anchor_in_screen);
        self.scale = (self.scale * factor).clamp(MIN_SCALE, MAX_SCALE);
        self.offset = [
            anchor_in_screen[0] - anchor_in_world[0] * self.scale,
            anchor_in_screen[1] - anchor_in_world[1] * self.scale,
        ];
    }

    /// Moves the view by a screen-space delta.
    pub fn pan(&mut self, delta_in_screen: [f64; 2]) {
        self.offset[0] += delta_in_screen[0];
        self.offset[1] += delta_in_screen[1];
    }

    /// The camera that shows world bounds `[[min_x, min_y], [max_x, max_y]]` centred in a
    /// `viewport` (width, height) with `margin` screen units on every side.
    pub fn fit(bounds_in_world: [[f64; 2]; 2], viewport: [f64; 2], margin: f64) -> Self {
        let [[min_x, min_y], [max_x, max_y]] = bounds_in_world;
        let width = (max_x - min_x).max(1e-9);
        let height = (max_y - min_y).max(1e-9);
        let usable = [
            (viewport[0] - 2.0 * margin).max(1.0),
            (viewport[1] - 2.0 * margin).max(1.0),
        ];
        let scale = (usable[0] / width)
            .min(usable[1] / height)
            .clamp(MIN_SCALE, MAX_SCALE);
        let centre_in_world = [(min_x + max_x) / 2.0, (min_y + max_y) / 2.0];
        Self {
            scale,
            offset: [
                viewport[0] / 2.0 - centre_in_world[0] * scale,
                viewport[1] / 2.0 - centre_in_world[1] * scale,
            ],
        }
    }
}

/// Bounds of circles (centre, radius); `None` for no circles.
pub fn bounds_of_circles(circles: impl Iterator<Item = ([f64; 2], f64)>) -> Option<[[f64; 2]; 2]> {
    circles.fold(None, |bounds, ([x, y], radius)| {
        let [[min_x, min_y], [max_x, max_y]] =
            bounds.unwrap_or([[f64::INFINITY; 2], [f64::NEG_INFINITY; 2]]);
        Some([
            [min_x.min(x - radius), min_y.min(y - radius)],
            [max_x.max(x + radius), max_y.max(y + radius)],
        ])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: [f64; 2], b: [f64; 2]) -> bool {
        (a[0] - b[0]).abs() < 1e-9 && (a[1] - b[1]).abs() < 1e-9
    }

    #[test]
    fn world_and_screen_round_trip() {
        let camera = Camera {
            scale: 2.5,
            offset: [10.0, -4.0],
        };
        let point = [3.0, 7.0];
        assert!(close(
            camera.world_from_screen(camera.screen_from_world(point)),
            point
        ));
    }

    #[test]
    fn zoom_keeps_the_point_under_the_pointer() {
        let mut camera = Camera {
            scale: 1.0,
            offset: [5.0, 5.0],
        };
        let anchor = [120.0, 80.0];
        let before = camera.world_from_screen(anchor);
        camera.zoom_at(anchor, 1.7);
        assert!(close(camera.world_from_screen(anchor), before));
        assert!((camera.scale - 1.7).abs() < 1e-12);
    }

    #[test]
    fn zoom_is_clamped_and_ignores_bad_factors() {
        let mut camera = Camera::default();
        camera.zoom_at([0.0, 0.0], 1e9);
        assert_eq!(camera.scale, MAX_SCALE);
        camera.zoom_at([0.0, 0.0], f64::NAN);
        assert_eq!(camera.scale, MAX_SCALE);
    }

    #[test]
    fn fit_centres_the_bounds() {
        let camera = Camera::fit([[-10.0, -5.0], [10.0, 5.0]], [400.0, 300.0], 20.0);
        assert!(close(camera.screen_from_world([0.0, 0.0]), [200.0, 150.0]));
        let corner = camera.screen_from_world([10.0, 5.0]);
        assert!(corner[0] <= 380.0 + 1e-9 && corner[1] <= 280.0 + 1e-9);
    }

    #[test]
    fn bounds_cover_every_circle() {
        let bounds =
            bounds_of_circles([([0.0, 0.0], 1.0), ([5.0, -2.0], 2.0)].into_iter()).unwrap();
        assert_eq!(bounds, [[-1.0, -4.0], [7.0, 1.0]]);
        assert!(bounds_of_circles(std::iter::empty()).is_none());
    }
}
