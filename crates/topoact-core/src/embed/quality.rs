//! Projection quality: 10-NN preservation (to be written).
