//! A 2-D camera: `point_in_screen = point_in_world * scale + offset`, and the view box of a
//! graph view (the screen units' frame for an element of any size).

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

/// The frame cameras are written in: a graph view's screen units. Every view box contains
/// it, so a camera (a share link's, say) shows the same region in a view of any size.
pub const REFERENCE_VIEW: [f64; 2] = [1000.0, 640.0];
/// Aspect ratios (width / height) outside this range are treated as its ends (a view box
/// for a box of 1 x 1000 pixels is not useful).
const ASPECT_RANGE: (f64, f64) = (0.05, 20.0);

/// The part of screen space a graph view shows (its SVG `viewBox`):
/// `point_in_view = origin + point_in_element_px * size / element_px`.
///
/// A view box has its element's aspect ratio and is the smallest such rectangle that holds
/// the whole [`REFERENCE_VIEW`], centred on it: a wide element shows more on the left and
/// right, a tall one more above and below, never less than the reference frame. So the
/// drawing fills the element (no letterboxing) and any camera keeps its meaning.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ViewBox {
    pub origin: [f64; 2],
    pub size: [f64; 2],
}

impl Default for ViewBox {
    fn default() -> Self {
        Self::REFERENCE
    }
}

impl ViewBox {
    /// The reference frame itself (an element of its aspect, or one not measured yet).
    pub const REFERENCE: ViewBox = ViewBox {
        origin: [0.0, 0.0],
        size: REFERENCE_VIEW,
    };

    /// The view box of an element of `element_px` (width, height in CSS pixels). An element
    /// without area (hidden, not laid out yet) gets [`ViewBox::REFERENCE`].
    pub fn for_element(element_px: [f64; 2]) -> ViewBox {
        let [width, height] = element_px;
        if !(width.is_finite() && height.is_finite() && width > 0.0 && height > 0.0) {
            return Self::REFERENCE;
        }
        let aspect = (width / height).clamp(ASPECT_RANGE.0, ASPECT_RANGE.1);
        let [ref_width, ref_height] = REFERENCE_VIEW;
        let size = if aspect >= ref_width / ref_height {
            [ref_height * aspect, ref_height]
        } else {
            [ref_width, ref_width / aspect]
        };
        ViewBox {
            origin: [(ref_width - size[0]) / 2.0, (ref_height - size[1]) / 2.0],
            size,
        }
    }

    /// The `viewBox` attribute.
    pub fn attribute(&self) -> String {
        format!(
            "{:.3} {:.3} {:.3} {:.3}",
            self.origin[0], self.origin[1], self.size[0], self.size[1]
        )
    }

    pub fn centre(&self) -> [f64; 2] {
        [
            self.origin[0] + self.size[0] / 2.0,
            self.origin[1] + self.size[1] / 2.0,
        ]
    }

    /// Element pixels per view unit, and where the view box starts in the element, as the
    /// SVG default (`preserveAspectRatio="xMidYMid meet"`) places it: exact even when the
    /// element's size has changed and the view box not yet.
    fn placement(&self, element_px: [f64; 2]) -> (f64, [f64; 2]) {
        let px_per_unit = (element_px[0] / self.size[0])
            .min(element_px[1] / self.size[1])
            .max(1e-12);
        let padding = [
            (element_px[0] - self.size[0] * px_per_unit) / 2.0,
            (element_px[1] - self.size[1] * px_per_unit) / 2.0,
        ];
        (px_per_unit, padding)
    }

    /// Element pixels per view unit in an element of `element_px`.
    pub fn px_per_unit(&self, element_px: [f64; 2]) -> f64 {
        self.placement(element_px).0
    }

    /// The view point under `point_in_element_px` (from the element's top-left corner).
    pub fn view_from_element(
        &self,
        point_in_element_px: [f64; 2],
        element_px: [f64; 2],
    ) -> [f64; 2] {
        let (px_per_unit, padding) = self.placement(element_px);
        [
            self.origin[0] + (point_in_element_px[0] - padding[0]) / px_per_unit,
            self.origin[1] + (point_in_element_px[1] - padding[1]) / px_per_unit,
        ]
    }

    /// Where the view point `point_in_view` is in an element of `element_px`.
    pub fn element_from_view(&self, point_in_view: [f64; 2], element_px: [f64; 2]) -> [f64; 2] {
        let (px_per_unit, padding) = self.placement(element_px);
        [
            padding[0] + (point_in_view[0] - self.origin[0]) * px_per_unit,
            padding[1] + (point_in_view[1] - self.origin[1]) * px_per_unit,
        ]
    }

    /// The CSS transform (`translate(t) scale(k)` about the element's top-left corner, in
    /// element pixels) that turns the picture drawn with `committed` into the one `pending`
    /// would draw: a wheel zoom's preview before the SVG is redrawn. Returns `(t, k)`.
    pub fn preview_transform(
        &self,
        committed: &Camera,
        pending: &Camera,
        element_px: [f64; 2],
    ) -> ([f64; 2], f64) {
        let (px_per_unit, padding) = self.placement(element_px);
        let k = pending.scale / committed.scale;
        // In view units: pending_screen = k * committed_screen + shift.
        let shift = [
            pending.offset[0] - k * committed.offset[0],
            pending.offset[1] - k * committed.offset[1],
        ];
        let translate = [0, 1].map(|axis| {
            (1.0 - k) * padding[axis] + (shift[axis] + (k - 1.0) * self.origin[axis]) * px_per_unit
        });
        (translate, k)
    }
}

impl Camera {
    /// [`Camera::fit`] into a view box: the bounds centred in it, `margin` view units free
    /// on every side.
    pub fn fit_in(bounds_in_world: [[f64; 2]; 2], view_box: ViewBox, margin: f64) -> Self {
        let mut camera = Self::fit(bounds_in_world, view_box.size, margin);
        camera.pan(view_box.origin);
        camera
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

    fn close_to(a: [f64; 2], b: [f64; 2], tolerance: f64) -> bool {
        (a[0] - b[0]).abs() < tolerance && (a[1] - b[1]).abs() < tolerance
    }

    /// (element size, expected view box): wide, tall and reference-shaped elements.
    #[test]
    fn view_box_has_the_element_aspect_and_holds_the_reference_frame() {
        let check = |element: [f64; 2], expected: ViewBox| {
            let view_box = ViewBox::for_element(element);
            assert!(
                close_to(view_box.origin, expected.origin, 1e-9)
                    && close_to(view_box.size, expected.size, 1e-9),
                "{element:?}: {view_box:?}"
            );
            let aspect = view_box.size[0] / view_box.size[1];
            assert!((aspect - element[0] / element[1]).abs() < 1e-9);
            assert!(view_box.origin[0] <= 0.0 && view_box.origin[1] <= 0.0);
            assert!(view_box.origin[0] + view_box.size[0] >= REFERENCE_VIEW[0] - 1e-9);
            assert!(view_box.origin[1] + view_box.size[1] >= REFERENCE_VIEW[1] - 1e-9);
            assert!(close_to(view_box.centre(), [500.0, 320.0], 1e-9));
        };
        check([500.0, 320.0], ViewBox::REFERENCE);
        check([2000.0, 1280.0], ViewBox::REFERENCE);
        // Twice as wide as the reference's aspect: 2000 x 640 units.
        check(
            [1250.0, 400.0],
            ViewBox {
                origin: [-500.0, 0.0],
                size: [2000.0, 640.0],
            },
        );
        // Square: 1000 x 1000 units.
        check(
            [800.0, 800.0],
            ViewBox {
                origin: [0.0, -180.0],
                size: [1000.0, 1000.0],
            },
        );
    }

    #[test]
    fn view_box_of_an_element_without_area_is_the_reference() {
        for element in [
            [0.0, 300.0],
            [300.0, 0.0],
            [-1.0, 5.0],
            [f64::NAN, 1.0],
            [f64::INFINITY, 2.0],
        ] {
            assert_eq!(
                ViewBox::for_element(element),
                ViewBox::REFERENCE,
                "{element:?}"
            );
        }
        let extreme = ViewBox::for_element([10_000.0, 1.0]);
        assert!((extreme.size[0] / extreme.size[1] - 20.0).abs() < 1e-9);
    }

    #[test]
    fn element_and_view_points_round_trip_even_while_the_box_lags_behind() {
        let view_box = ViewBox::for_element([900.0, 700.0]);
        for element in [[900.0, 700.0], [1200.0, 700.0], [900.0, 300.0]] {
            for point in [[0.0, 0.0], [450.0, 350.0], [899.0, 12.5]] {
                let view = view_box.view_from_element(point, element);
                assert!(close_to(
                    view_box.element_from_view(view, element),
                    point,
                    1e-9
                ));
            }
        }
        // When the element has the view box's aspect, its corners are the view box's.
        let element = [900.0, 700.0];
        assert!(close_to(
            view_box.view_from_element([0.0, 0.0], element),
            view_box.origin,
            1e-9
        ));
        let far = view_box.view_from_element(element, element);
        assert!(close_to(
            far,
            [
                view_box.origin[0] + view_box.size[0],
                view_box.origin[1] + view_box.size[1]
            ],
            1e-9
        ));
        assert!((view_box.px_per_unit(element) - 0.9).abs() < 1e-9);
    }

    #[test]
    fn fit_in_a_view_box_centres_the_bounds_in_it() {
        let view_box = ViewBox::for_element([1250.0, 400.0]);
        let camera = Camera::fit_in([[-10.0, -5.0], [10.0, 5.0]], view_box, 20.0);
        assert!(close_to(
            camera.screen_from_world([0.0, 0.0]),
            view_box.centre(),
            1e-9
        ));
        // The height limits: 600 usable units for 10 world units.
        assert!((camera.scale - 60.0).abs() < 1e-9);
        let corner = camera.screen_from_world([10.0, 5.0]);
        assert!(corner[1] <= view_box.origin[1] + view_box.size[1] - 20.0 + 1e-9);
    }

    #[test]
    fn the_wheel_preview_moves_every_point_where_the_pending_camera_draws_it() {
        let committed = Camera {
            scale: 1.3,
            offset: [40.0, -25.0],
        };
        let mut pending = committed;
        pending.zoom_at([610.0, 200.0], 1.8);
        for (view_box, element) in [
            (ViewBox::for_element([800.0, 500.0]), [800.0, 500.0]),
            (ViewBox::for_element([400.0, 900.0]), [400.0, 900.0]),
            // A box not yet remeasured after a resize.
            (ViewBox::for_element([800.0, 500.0]), [800.0, 700.0]),
        ] {
            let (translate, k) = view_box.preview_transform(&committed, &pending, element);
            for world in [[0.0, 0.0], [100.0, 37.0], [-55.0, 410.0]] {
                let before =
                    view_box.element_from_view(committed.screen_from_world(world), element);
                let after = view_box.element_from_view(pending.screen_from_world(world), element);
                let previewed = [k * before[0] + translate[0], k * before[1] + translate[1]];
                assert!(
                    close_to(previewed, after, 1e-6),
                    "{previewed:?} vs {after:?}"
                );
            }
        }
    }
}
