//! The projection scatter, rasterised in WebAssembly into an RGBA pixel buffer that the
//! canvas blits with `putImageData`: no GPU needed, and 300,000 points cost one pass over the
//! points plus a few pixels each. While something is highlighted the other points are drawn
//! first, faded to a pale grey, and the highlighted ones last, in full colour and larger; the
//! fewer they are the larger they get, with a dark ring and a light halo
//! ([`highlight_style`]), so 5 points among 300,000 are seen at a glance.
//!
//! Also the hover index: a uniform grid over the points in world units, answering "nearest
//! point within r pixels" in O(points per nearby cell).

use super::camera::Camera;

/// RGBA colour packed as `[r, g, b, a]`.
pub type Rgba = [u8; 4];

/// Background of the scatter.
pub const BACKGROUND: Rgba = [250, 250, 248, 255];
/// Points that are not highlighted while something is: one pale grey, mostly transparent.
pub const FADED: Rgba = [205, 205, 205, 255];
const FADED_ALPHA: u32 = 55;
/// The ring around a highlighted point.
pub const RING: Rgba = [29, 31, 35, 255];

/// How highlighted points are drawn (sides in canvas pixels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HighlightStyle {
    /// Side of the square in the point's colour.
    pub size: usize,
    /// A dark one-pixel ring around it.
    pub ring: bool,
    /// A one-pixel halo of the background around the ring, cutting it out of the cloud.
    pub halo: bool,
}

/// The style of `n_highlighted` highlighted points among points drawn `point_size` wide:
/// a few are large, ringed and haloed; thousands get a ring; more are one pixel larger
/// than the rest (rings would merge into a dark blot).
pub fn highlight_style(n_highlighted: usize, point_size: usize) -> HighlightStyle {
    let point_size = point_size.max(1);
    match n_highlighted {
        0..=500 => HighlightStyle {
            size: (point_size + 4).max(7),
            ring: true,
            halo: true,
        },
        501..=5_000 => HighlightStyle {
            size: (point_size + 2).max(4),
            ring: true,
            halo: false,
        },
        _ => HighlightStyle {
            size: point_size + 1,
            ring: false,
            halo: false,
        },
    }
}

/// How one point is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emphasis {
    /// No highlight is active: every point in its colour.
    Normal,
    /// Something is highlighted and this point is not: pale.
    Dimmed,
    /// This point is highlighted.
    Highlighted,
}

/// Pixel buffer of `width x height` RGBA.
pub struct Raster {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Raster {
    pub fn new(width: usize, height: usize) -> Raster {
        Raster {
            width,
            height,
            pixels: vec![0; width * height * 4],
        }
    }

    fn clear(&mut self) {
        for px in self.pixels.chunks_exact_mut(4) {
            px.copy_from_slice(&BACKGROUND);
        }
    }

    /// Fills a `size x size` square centred near `(x, y)`, blending `colour` with `alpha`/255.
    #[inline]
    fn square(&mut self, x: f64, y: f64, size: usize, colour: Rgba, alpha: u32) {
        if !x.is_finite() || !y.is_finite() {
            return;
        }
        let half = (size / 2) as f64;
        let x0 = (x - half).floor();
        let y0 = (y - half).floor();
        if x0 + size as f64 <= 0.0
            || y0 + size as f64 <= 0.0
            || x0 >= self.width as f64
            || y0 >= self.height as f64
        {
            return;
        }
        let (x0, y0) = (x0 as i64, y0 as i64);
        for dy in 0..size as i64 {
            let py = y0 + dy;
            if py < 0 || py >= self.height as i64 {
                continue;
            }
            let row = py as usize * self.width;
            for dx in 0..size as i64 {
                let px = x0 + dx;
                if px < 0 || px >= self.width as i64 {
                    continue;
                }
                let at = (row + px as usize) * 4;
                let p = &mut self.pixels[at..at + 3];
                for c in 0..3 {
                    p[c] = ((colour[c] as u32 * alpha + p[c] as u32 * (255 - alpha)) / 255) as u8;
                }
            }
        }
    }

    /// Draws every point: the others first (faded while something is highlighted), then the
    /// highlighted ones in the [`highlight_style`] for their number: halos, then rings, then
    /// the points, so no point's ring covers another's colour.
    /// `coords[i]` in world units, `colours[i]` its colour, `emphasis[i]` how to draw it.
    /// Cost: O(points * point_size^2) plus, for the highlighted points, O(h * size^2); no
    /// allocation.
    pub fn draw(
        &mut self,
        camera: &Camera,
        coords: &[[f32; 2]],
        colours: &[Rgba],
        emphasis: &[Emphasis],
        point_size: usize,
    ) {
        self.clear();
        let size = point_size.max(1);
        let mut n_highlighted = 0usize;
        for ((point, colour), &e) in coords.iter().zip(colours).zip(emphasis) {
            let (colour, alpha) = match e {
                Emphasis::Highlighted => {
                    n_highlighted += 1;
                    continue;
                }
                Emphasis::Dimmed => (FADED, FADED_ALPHA),
                Emphasis::Normal => (*colour, 200),
            };
            let [x, y] = camera.screen_from_world([point[0] as f64, point[1] as f64]);
            self.square(x, y, size, colour, alpha);
        }
        if n_highlighted == 0 {
            return;
        }
        let style = highlight_style(n_highlighted, size);
        let layers = [
            (style.halo, Some(BACKGROUND), style.size + 4),
            (style.ring, Some(RING), style.size + 2),
            (true, None, style.size),
        ];
        for (shown, fixed_colour, side) in layers {
            if !shown {
                continue;
            }
            for ((point, colour), &e) in coords.iter().zip(colours).zip(emphasis) {
                if e != Emphasis::Highlighted {
                    continue;
                }
                let [x, y] = camera.screen_from_world([point[0] as f64, point[1] as f64]);
                self.square(x, y, side, fixed_colour.unwrap_or(*colour), 255);
            }
        }
    }
}

/// Uniform grid over the points for nearest-point queries (hover).
pub struct PointGrid {
    origin: [f64; 2],
    cell: f64,
    columns: usize,
    rows: usize,
    /// Point indices of cell `c` are `order[starts[c]..starts[c + 1]]`.
    starts: Vec<u32>,
    order: Vec<u32>,
}

impl PointGrid {
    /// About `target_per_cell` points per cell on average. Cost O(n).
    pub fn new(coords: &[[f32; 2]], target_per_cell: usize) -> Option<PointGrid> {
        let bounds = bounds(coords)?;
        let (w, h) = (
            (bounds[1][0] - bounds[0][0]).max(1e-9),
            (bounds[1][1] - bounds[0][1]).max(1e-9),
        );
        let n_cells = (coords.len() / target_per_cell.max(1)).clamp(1, 1 << 20) as f64;
        let cell = ((w * h) / n_cells).sqrt().max(1e-9);
        let columns = ((w / cell).ceil() as usize).max(1);
        let rows = ((h / cell).ceil() as usize).max(1);
        let cell_of = |p: &[f32; 2]| -> usize {
            let cx = (((p[0] as f64 - bounds[0][0]) / cell) as usize).min(columns - 1);
            let cy = (((p[1] as f64 - bounds[0][1]) / cell) as usize).min(rows - 1);
            cy * columns + cx
        };
        let mut counts = vec![0u32; columns * rows + 1];
        for p in coords {
            counts[cell_of(p) + 1] += 1;
        }
        for c in 1..counts.len() {
            counts[c] += counts[c - 1];
        }
        let starts = counts.clone();
        let mut fill = counts;
        let mut order = vec![0u32; coords.len()];
        for (idx, p) in coords.iter().enumerate() {
            let c = cell_of(p);
            order[fill[c] as usize] = idx as u32;
            fill[c] += 1;
        }
        Some(PointGrid {
            origin: bounds[0],
            cell,
            columns,
            rows,
            starts,
            order,
        })
    }

    /// The point nearest to `at` (world units) within `radius`, if any (ties: lower index).
    pub fn nearest(&self, coords: &[[f32; 2]], at: [f64; 2], radius: f64) -> Option<usize> {
        let span = (radius / self.cell).ceil() as i64;
        let cx = ((at[0] - self.origin[0]) / self.cell).floor() as i64;
        let cy = ((at[1] - self.origin[1]) / self.cell).floor() as i64;
        let mut best: Option<(f64, usize)> = None;
        for y in (cy - span).max(0)..=(cy + span).min(self.rows as i64 - 1) {
            for x in (cx - span).max(0)..=(cx + span).min(self.columns as i64 - 1) {
                let c = y as usize * self.columns + x as usize;
                for &idx in &self.order[self.starts[c] as usize..self.starts[c + 1] as usize] {
                    let p = coords[idx as usize];
                    let d = (p[0] as f64 - at[0]).powi(2) + (p[1] as f64 - at[1]).powi(2);
                    if d <= radius * radius
                        && best.is_none_or(|(bd, bi)| d < bd || (d == bd && (idx as usize) < bi))
                    {
                        best = Some((d, idx as usize));
                    }
                }
            }
        }
        best.map(|(_, idx)| idx)
    }
}

/// `[[min_x, min_y], [max_x, max_y]]` of the finite points.
pub fn bounds(coords: &[[f32; 2]]) -> Option<[[f64; 2]; 2]> {
    let mut b: Option<[[f64; 2]; 2]> = None;
    for p in coords
        .iter()
        .filter(|p| p[0].is_finite() && p[1].is_finite())
    {
        let (x, y) = (p[0] as f64, p[1] as f64);
        b = Some(match b {
            None => [[x, y], [x, y]],
            Some([[x0, y0], [x1, y1]]) => [[x0.min(x), y0.min(y)], [x1.max(x), y1.max(y)]],
        });
    }
    b
}

/// Whether `point` is inside the polygon `polygon` (even-odd rule).
pub fn inside_polygon(point: [f64; 2], polygon: &[[f64; 2]]) -> bool {
    let mut inside = false;
    let n = polygon.len();
    if n < 3 {
        return false;
    }
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (polygon[i], polygon[j]);
        if (a[1] > point[1]) != (b[1] > point[1]) {
            let x_cross = a[0] + (point[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
            if point[0] < x_cross {
                inside = !inside;
            }
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera() -> Camera {
        Camera::fit([[0.0, 0.0], [10.0, 10.0]], [100.0, 100.0], 0.0)
    }

    #[test]
    fn highlighted_points_are_drawn_over_dimmed_ones() {
        let mut raster = Raster::new(100, 100);
        let coords = [[5.0f32, 5.0], [5.0, 5.0]];
        let red = [255, 0, 0, 255];
        let blue = [0, 0, 255, 255];
        raster.draw(
            &camera(),
            &coords,
            &[red, blue],
            &[Emphasis::Highlighted, Emphasis::Dimmed],
            2,
        );
        let at = |x: usize, y: usize| &raster.pixels[(y * 100 + x) * 4..(y * 100 + x) * 4 + 3];
        assert_eq!(at(50, 50), &[255, 0, 0], "the highlighted point wins");
        assert_eq!(at(5, 5), &BACKGROUND[..3]);
    }

    #[test]
    fn a_few_highlighted_points_among_many_stand_out() {
        // 5 highlighted points in a dense cloud of 20,000 faded ones.
        let mut raster = Raster::new(100, 100);
        let mut coords = Vec::new();
        for i in 0..20_000u32 {
            coords.push([(i % 141) as f32 * 0.071, (i / 141) as f32 * 0.071]);
        }
        let picked = [
            (2.0f32, 2.0f32),
            (5.0, 5.0),
            (8.0, 3.0),
            (3.0, 8.0),
            (7.5, 7.5),
        ];
        coords.extend(picked.iter().map(|&(x, y)| [x, y]));
        let colours = vec![[40, 120, 200, 255]; coords.len()];
        let mut emphasis = vec![Emphasis::Dimmed; 20_000];
        emphasis.extend([Emphasis::Highlighted; 5]);
        raster.draw(&camera(), &coords, &colours, &emphasis, 1);
        let at = |x: usize, y: usize| {
            let i = (y * 100 + x) * 4;
            [raster.pixels[i], raster.pixels[i + 1], raster.pixels[i + 2]]
        };
        let style = highlight_style(5, 1);
        assert!(style.ring && style.halo && style.size >= 7);
        for &(x, y) in &picked {
            let (px, py) = ((x * 10.0) as usize, (y * 10.0) as usize);
            assert_eq!(
                at(px, py),
                [40, 120, 200],
                "the point at ({x}, {y}) in full colour"
            );
            let ring = at(px - style.size / 2 - 1, py);
            assert_eq!(ring, [RING[0], RING[1], RING[2]], "its ring");
        }
        // Everything else is the faded cloud: grey, lighter than the ring.
        let coloured = raster
            .pixels
            .chunks_exact(4)
            .filter(|p| p[0] == 40 && p[1] == 120 && p[2] == 200)
            .count();
        assert_eq!(coloured, 5 * style.size * style.size);
        let cloud = at(50, 20);
        assert!(cloud.iter().all(|&c| c > 200), "{cloud:?}");
        assert!(cloud[0].abs_diff(cloud[2]) <= 3, "grey: {cloud:?}");
    }

    #[test]
    fn the_fewer_highlighted_points_the_larger_they_are() {
        let sizes: Vec<usize> = [1, 500, 501, 5_000, 5_001, 300_000]
            .iter()
            .map(|&n| highlight_style(n, 1).size)
            .collect();
        assert!(sizes.windows(2).all(|pair| pair[0] >= pair[1]), "{sizes:?}");
        assert!(
            highlight_style(300_000, 3).size > 3,
            "always larger than the rest"
        );
        assert!(!highlight_style(300_000, 1).ring);
    }

    #[test]
    fn points_outside_the_view_are_skipped_without_panicking() {
        let mut raster = Raster::new(10, 10);
        let coords = [[-1e9f32, 3.0], [f32::NAN, 1.0], [1e9, 1e9]];
        raster.draw(
            &camera(),
            &coords,
            &[[0, 0, 0, 255]; 3],
            &[Emphasis::Normal; 3],
            3,
        );
        assert!(raster
            .pixels
            .chunks_exact(4)
            .all(|p| p[..3] == BACKGROUND[..3]));
    }

    #[test]
    fn grid_nearest_agrees_with_brute_force() {
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 40) as f32 / (1u64 << 24) as f32 * 100.0
        };
        let coords: Vec<[f32; 2]> = (0..5000).map(|_| [next(), next()]).collect();
        let grid = PointGrid::new(&coords, 8).expect("grid");
        for q in 0..200 {
            let at = [(q * 37 % 100) as f64 + 0.3, (q * 53 % 100) as f64 + 0.7];
            let radius = 2.5;
            let brute = coords
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    (
                        (p[0] as f64 - at[0]).powi(2) + (p[1] as f64 - at[1]).powi(2),
                        i,
                    )
                })
                .filter(|(d, _)| *d <= radius * radius)
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                .map(|(_, i)| i);
            assert_eq!(grid.nearest(&coords, at, radius), brute, "query {q}");
        }
    }

    #[test]
    fn polygon_containment() {
        let square = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        assert!(inside_polygon([5.0, 5.0], &square));
        assert!(!inside_polygon([15.0, 5.0], &square));
        assert!(!inside_polygon([5.0, 5.0], &square[..2]));
    }
}
