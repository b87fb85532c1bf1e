//! UMAP (to be written).
