//! Where tensors live: the CPU by default, a CUDA GPU with the `cuda` feature.

use candle_core::Device;

/// Tell candle how many threads to use, once, unless the user already did.
///
/// Without `RAYON_NUM_THREADS`, candle works out the number of physical cores on every
/// matrix product by reading `/proc/cpuinfo` — measured at several percent of a training
/// step. The machine's parallelism is read once here instead.
pub fn configure_threads() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("RAYON_NUM_THREADS").is_none() {
            let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
        }
    });
}

/// The device new models are built on.
///
/// Without the `cuda` feature this is always the CPU. With it, the first CUDA GPU when one
/// is present, and the CPU otherwise — a notebook runs unchanged on either.
pub fn default_device() -> Device {
    #[cfg(feature = "cuda")]
    {
        if let Ok(device) = Device::new_cuda(0) {
            return device;
        }
    }
    Device::Cpu
}
