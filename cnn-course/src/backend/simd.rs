//! Compiling the element-wise loops for the processor's vector width.
//!
//! A Rust crate is compiled for the baseline x86-64 processor unless told otherwise, so
//! LLVM vectorizes loops 4 floats wide and without blend instructions — which the selects
//! in max pooling and relu need. [`vectorized`] runs a piece of work compiled for AVX2 and
//! FMA when the processor has them (checked at run time; every x86 laptop of the last ten
//! years does), and as usual otherwise. Measured on max pooling the seed convnet's first
//! layer: 0.98 ms with the baseline, 0.38 ms with AVX2.

/// Run `work`, compiled for AVX2 + FMA where the processor supports them. Pass the
/// closure as `vectorized(#[inline(always)] || …)`, and mark the functions it calls
/// `#[inline(always)]`: only code inlined into the AVX2 function is compiled for AVX2.
#[inline(always)]
pub(crate) fn vectorized<R>(work: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        #[target_feature(enable = "avx2,fma")]
        fn with_avx2<R>(work: impl FnOnce() -> R) -> R {
            work()
        }
        // SAFETY: the processor supports the features `with_avx2` is compiled for.
        return unsafe { with_avx2(work) };
    }
    work()
}
