//! Run-time CPU feature detection for the hot loops (x86-64 only).
//!
//! The neighbour searches are compiled twice: generic (SSE2 on x86-64, scalar or simd128
//! elsewhere) and with AVX2+FMA, chosen once per call by [`has_avx2_fma`]. FMA only
//! tightens the f32 fast path (whose error band assumes separate roundings); the float64
//! decisions are written as separate multiplies and adds, which Rust never contracts.

/// True when the CPU has AVX2 and FMA (cached after the first call).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    static STATE: AtomicU8 = AtomicU8::new(0); // 0 unknown, 1 no, 2 yes
    match STATE.load(Ordering::Relaxed) {
        0 => {
            let yes = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
            STATE.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
        state => state == 2,
    }
}
