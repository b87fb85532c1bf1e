//! Rendering helpers: the camera (world <-> screen) and colour scales. Rendering reads
//! state and never writes it.

pub mod camera;
pub mod charts;
pub mod colour;
pub mod image;
pub mod scatter;
