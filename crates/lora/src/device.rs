//! Device choice and threads (SPEC §9): the one place that asks libtorch for CUDA.

use std::str::FromStr;

use tch::Device;

use crate::{LoraError, Result};

/// Which device the caller wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// CUDA device 0 if libtorch sees one, else the CPU.
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device 0; an error if there is none.
    Cuda,
}

impl FromStr for DeviceChoice {
    type Err = LoraError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda),
            _ => Err(LoraError::UnknownDevice(s.to_string())),
        }
    }
}

/// Resolves a [`DeviceChoice`] to a `tch::Device`, erroring when CUDA is requested but absent.
pub fn pick_device(choice: DeviceChoice) -> Result<Device> {
    let found = Device::cuda_if_available();
    match choice {
        DeviceChoice::Auto => Ok(found),
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda if found.is_cuda() => Ok(found),
        DeviceChoice::Cuda => Err(LoraError::CudaUnavailable),
    }
}

/// Sets libtorch's intra-op CPU thread count (at least 1).
pub fn set_threads(n: usize) {
    tch::set_num_threads(n.clamp(1, i32::MAX as usize) as i32);
}
