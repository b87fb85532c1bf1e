//! Activation file formats (npy, npz, safetensors) and label side files.
