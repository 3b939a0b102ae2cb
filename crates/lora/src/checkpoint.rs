//! Checkpoints (SPEC §5: one cached base shared by every run): the tensors as safetensors
//! (readable by Python's `safetensors`), the configuration as JSON beside them (`x.safetensors` →
//! `x.json`). Both files are written atomically: a temporary file in the same directory, then a
//! rename, tensors first, so a reader never sees half a checkpoint.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use modelspec::{AdapterConfig, Architecture};
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use crate::model::{BaseModel, LoraModel};
use crate::{LoraError, Result};

/// What a checkpoint holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckpointKind {
    /// A base model only.
    Base,
    /// A base model and adapters.
    Lora,
}

/// The JSON written beside the tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointMeta {
    /// Format version (1).
    pub format: u32,
    /// Base or adapted.
    pub kind: CheckpointKind,
    /// The base architecture.
    pub arch: Architecture,
    /// Adapter configuration (current ranks), for `lora` checkpoints.
    pub adapter: Option<AdapterConfig>,
    /// Seed of the base weights' initialisation.
    pub base_seed: u64,
    /// Seed of the adapters (for `lora`).
    pub adapter_seed: Option<u64>,
    /// Surgeries performed so far (chooses the random stream of the next grow).
    pub surgeries: u64,
}

/// The JSON path beside a tensor file.
pub fn meta_path(path: &Path) -> PathBuf {
    path.with_extension("json")
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LoraError + '_ {
    move |source| LoraError::Io { path: path.to_path_buf(), source }
}

fn temp_beside(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn write_atomic(tensors: &[(String, &Tensor)], meta: &CheckpointMeta, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let tmp = temp_beside(path);
    let host: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| (n.clone(), t.detach().to_device(Device::Cpu).contiguous()))
        .collect();
    Tensor::write_safetensors(&host, &tmp).map_err(|source| LoraError::Torch {
        context: format!("writing {}", tmp.display()),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(io_err(path))?;
    let mpath = meta_path(path);
    let mtmp = temp_beside(&mpath);
    let text = serde_json::to_string_pretty(meta).map_err(|e| LoraError::Checkpoint {
        path: mpath.clone(),
        problem: format!("cannot serialise the configuration: {e}"),
    })?;
    std::fs::write(&mtmp, text).map_err(io_err(&mtmp))?;
    std::fs::rename(&mtmp, &mpath).map_err(io_err(&mpath))?;
    Ok(())
}

fn read_meta(path: &Path) -> Result<CheckpointMeta> {
    let mpath = meta_path(path);
    let text = std::fs::read_to_string(&mpath).map_err(io_err(&mpath))?;
    let meta: CheckpointMeta = serde_json::from_str(&text).map_err(|e| LoraError::Checkpoint {
        path: mpath.clone(),
        problem: format!("bad configuration JSON ({e}); re-save the checkpoint with this version"),
    })?;
    if meta.format != 1 {
        return Err(LoraError::Checkpoint {
            path: mpath,
            problem: format!("format {} is not supported (expected 1)", meta.format),
        });
    }
    Ok(meta)
}

fn read_tensors(path: &Path) -> Result<HashMap<String, Tensor>> {
    let list = Tensor::read_safetensors(path).map_err(|source| LoraError::Torch {
        context: format!("reading {}", path.display()),
        source,
    })?;
    Ok(list.into_iter().collect())
}

/// Copies each named file tensor into the model tensor of the same name, checking shapes.
fn fill(
    path: &Path,
    file: &HashMap<String, Tensor>,
    targets: Vec<(String, &Tensor)>,
) -> Result<()> {
    tch::no_grad(|| {
        for (name, t) in targets {
            let src = file.get(&name).ok_or_else(|| LoraError::Checkpoint {
                path: path.to_path_buf(),
                problem: format!(
                    "tensor `{name}` is missing; the file does not match its JSON configuration"
                ),
            })?;
            if src.size() != t.size() {
                return Err(LoraError::Checkpoint {
                    path: path.to_path_buf(),
                    problem: format!(
                        "tensor `{name}` has shape {:?} but the configuration implies {:?}",
                        src.size(),
                        t.size()
                    ),
                });
            }
            let mut dst = t.shallow_clone();
            dst.f_copy_(src).map_err(|source| LoraError::Torch {
                context: format!("loading `{name}`"),
                source,
            })?;
        }
        Ok(())
    })
}

impl BaseModel {
    /// Saves the base to `path` (safetensors) and its configuration beside it.
    pub fn save(&self, path: &Path) -> Result<()> {
        let meta = CheckpointMeta {
            format: 1,
            kind: CheckpointKind::Base,
            arch: self.arch.clone(),
            adapter: None,
            base_seed: self.seed,
            adapter_seed: None,
            surgeries: 0,
        };
        write_atomic(&self.named_tensors(), &meta, path)
    }
}

impl LoraModel {
    /// Saves base and adapters to `path` (safetensors) and the configuration beside it.
    pub fn save(&self, path: &Path) -> Result<()> {
        let meta = CheckpointMeta {
            format: 1,
            kind: CheckpointKind::Lora,
            arch: self.base.arch.clone(),
            adapter: Some(self.config.clone()),
            base_seed: self.base.seed,
            adapter_seed: Some(self.seed),
            surgeries: self.surgeries,
        };
        let tensors: Vec<(String, &Tensor)> =
            self.base.named_tensors().into_iter().chain(self.adapter_tensors()).collect();
        write_atomic(&tensors, &meta, path)
    }
}

/// Loads a base model (from a base or a LoRA checkpoint; the adapters are ignored), trainable.
pub fn load_base(path: &Path, device: Device) -> Result<BaseModel> {
    let meta = read_meta(path)?;
    let file = read_tensors(path)?;
    base_from(path, &meta, &file, device)
}

fn base_from(
    path: &Path,
    meta: &CheckpointMeta,
    file: &HashMap<String, Tensor>,
    device: Device,
) -> Result<BaseModel> {
    let base = BaseModel::new(&meta.arch, device, meta.base_seed)?;
    fill(path, file, base.named_tensors())?;
    Ok(base)
}

/// Loads a LoRA checkpoint: frozen base plus adapters at their saved ranks.
pub fn load_lora(path: &Path, device: Device) -> Result<LoraModel> {
    let meta = read_meta(path)?;
    let (Some(adapter), Some(seed)) = (meta.adapter.clone(), meta.adapter_seed) else {
        return Err(LoraError::Checkpoint {
            path: path.to_path_buf(),
            problem: "this is a base checkpoint (no adapters); load it with load_base".into(),
        });
    };
    let file = read_tensors(path)?;
    let base = base_from(path, &meta, &file, device)?;
    let mut model = LoraModel::from_base(base, &adapter, seed)?;
    fill(path, &file, model.adapter_tensors())?;
    model.surgeries = meta.surgeries;
    Ok(model)
}
