//! t-SNE (to be written).
