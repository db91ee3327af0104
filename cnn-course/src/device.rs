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
            std::env::set_var("RAYON_NUM_THREADS", cores().to_string());
        }
    });
}

/// The cores this process may run on (all of the machine's, or those `taskset` or a
/// container allows), read once.
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

/// The device new models are built on.
///
/// Without the `cuda` feature this is always the CPU. With it, the first CUDA GPU when one
/// is present, and the CPU otherwise — a notebook runs unchanged on either.
///
/// Every model gets the same GPU device, with one CUDA stream for all threads. candle's
/// `Device::new_cuda` queues work on each calling thread's own stream instead, and those
/// streams do not wait for each other: the optimizer, which moves weights on several
/// threads, read gradients that the training thread's stream had not finished writing
/// (NaN weights at random steps of the seed convnet at batch 32 on an H100, gone with
/// `CUDA_LAUNCH_BLOCKING=1`). On one stream, work runs in the order it was queued,
/// whichever thread queued it.
pub fn default_device() -> Device {
    #[cfg(feature = "cuda")]
    {
        static GPU: std::sync::OnceLock<Option<Device>> = std::sync::OnceLock::new();
        if let Some(device) = GPU.get_or_init(|| Device::new_cuda_with_stream(0).ok()) {
            return device.clone();
        }
    }
    Device::Cpu
}

/// The GPU behind `device`: its name and its free memory in bytes; `None` on the CPU.
#[cfg(feature = "cuda")]
pub(crate) fn gpu(device: &Device) -> Option<(String, u64)> {
    let context = device.as_cuda_device().ok()?.cuda_stream().context().clone();
    let name = context.name().unwrap_or_else(|_| "CUDA GPU".to_string());
    let free = context.mem_get_info().map(|(free, _)| free as u64).unwrap_or(0);
    Some((name, free))
}

/// The GPU behind `device`: its name and its free memory in bytes; `None` on the CPU.
#[cfg(not(feature = "cuda"))]
pub(crate) fn gpu(_device: &Device) -> Option<(String, u64)> {
    None
}

/// Where `device`'s weights live and the bytes it can still give them: the GPU's free
/// memory, or the system's (Linux's `MemAvailable`, 16 GB where that cannot be read).
pub(crate) fn available_memory(device: &Device) -> (String, u64) {
    if let Some((name, free)) = gpu(device) {
        return (format!("the GPU ({name})"), free);
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let available = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(16_000_000_000);
    ("this machine".to_string(), available)
}

/// `None` when `count` `f32` values (`None`: too many to count) fit in this machine's
/// memory; otherwise how much it has, for the error message ("24.3 GB available").
pub(crate) fn too_many_for_host(count: Option<usize>) -> Option<String> {
    let (_, available) = available_memory(&Device::Cpu);
    let bytes = count.and_then(|c| c.checked_mul(4));
    match bytes.is_some_and(|b| b as u64 <= available) {
        true => None,
        false => Some(format!("{:.1} GB available", available as f64 / 1e9)),
    }
}
