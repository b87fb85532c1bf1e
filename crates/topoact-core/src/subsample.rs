//! Seeded, class-stratified, nested subsamples.
