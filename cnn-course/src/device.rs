//! Where tensors live: the CPU by default, a CUDA GPU with the `cuda` feature.

use candle_core::Device;

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
