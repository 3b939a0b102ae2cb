//! The run store: `runs/<id>.json` records, `manifest.json`, `checkpoints/<id>/`, and the lock
//! that keeps two processes from writing one store (issue 6, item 3).
//!
//! A run is finished when its record is present, parses, and has the right id (and, for a base
//! run, its checkpoint folder is non-empty). Anything else left by an interrupted run (a
//! checkpoint folder without a record) is deleted before the run is computed again. Records
//! are written atomically (`records::write_json_atomic`), so a crash never leaves half a record.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use records::RunRecord;

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another live process holds the lock.
    #[error(
        "the store {store} is locked by process {pid} (lock file {lock}); wait for it to finish, or stop it (`kill {pid}`); if no such process is running, delete the lock file"
    )]
    Locked {
        /// Store.
        store: PathBuf,
        /// Holder's pid.
        pid: u32,
        /// Lock file.
        lock: PathBuf,
    },
    /// A lock file that does not hold a pid.
    #[error(
        "the lock file {lock} does not hold a process id ({content:?}); delete it if no rankwise process is using the store"
    )]
    BadLock {
        /// Lock file.
        lock: PathBuf,
        /// What it held.
        content: String,
    },
    /// Filesystem error.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Record error.
    #[error(transparent)]
    Record(#[from] records::RecordError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// Whether a process with this pid is alive. On Linux, `/proc/<pid>` exists exactly while it
/// does; elsewhere we cannot tell and assume it is (the error then says to delete the lock).
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.is_dir() {
        return true;
    }
    proc.join(pid.to_string()).exists()
}

/// The held lock; released (the file removed) on drop.
#[derive(Debug)]
pub struct StoreLock {
    path: PathBuf,
    pid: u32,
}

impl StoreLock {
    /// Takes `<store>/.lock`, creating the store folder if needed. A lock left by a dead
    /// process (kill -9, power loss) is taken over; a live holder gives [`StoreError::Locked`].
    pub fn acquire(store: &Path) -> Result<StoreLock, StoreError> {
        fs::create_dir_all(store).map_err(io(store))?;
        let path = store.join(".lock");
        let pid = std::process::id();
        // Two attempts: the second after removing a stale lock.
        for _ in 0..2 {
            match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    f.write_all(pid.to_string().as_bytes()).map_err(io(&path))?;
                    f.sync_all().map_err(io(&path))?;
                    return Ok(StoreLock { path, pid });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let content = fs::read_to_string(&path).map_err(io(&path))?;
                    let holder: u32 = content.trim().parse().map_err(|_| StoreError::BadLock {
                        lock: path.clone(),
                        content: content.clone(),
                    })?;
                    if process_alive(holder) {
                        return Err(StoreError::Locked {
                            store: store.to_path_buf(),
                            pid: holder,
                            lock: path.clone(),
                        });
                    }
                    // Stale: its holder is gone. Remove it and retry create_new, which stays
                    // exclusive if another process races us to it.
                    match fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io(&path)(e)),
                    }
                }
                Err(e) => return Err(io(&path)(e)),
            }
        }
        let content = fs::read_to_string(&path).unwrap_or_default();
        Err(StoreError::Locked {
            store: store.to_path_buf(),
            pid: content.trim().parse().unwrap_or(0),
            lock: path.clone(),
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // Only remove the file if it is still ours.
        if fs::read_to_string(&self.path).is_ok_and(|c| c.trim() == self.pid.to_string()) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A store folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// The store at `root` (not created until written).
    pub fn new(root: &Path) -> Self {
        Store { root: root.to_path_buf() }
    }

    /// Its folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `runs/<id>.json`.
    pub fn record_path(&self, run_id: &str) -> PathBuf {
        records::record_path(&self.root, run_id)
    }

    /// `checkpoints/<id>/`.
    pub fn checkpoint_dir(&self, run_id: &str) -> PathBuf {
        self.root.join("checkpoints").join(run_id)
    }

    /// The record of a finished run, or `None` when the run must be (re)computed: no record, a
    /// record that does not parse or has another id, or (when `needs_checkpoint`) an empty or
    /// missing checkpoint folder.
    pub fn finished(&self, run_id: &str, needs_checkpoint: bool) -> Option<RunRecord> {
        let rec = records::read_record(&self.record_path(run_id)).ok()?;
        if rec.run_id != run_id {
            return None;
        }
        if needs_checkpoint {
            let dir = self.checkpoint_dir(run_id);
            let non_empty = fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some());
            if !non_empty {
                return None;
            }
        }
        Some(rec)
    }

    /// Removes a run's record and checkpoint folder, then creates the empty checkpoint folder.
    pub fn reset_run(&self, run_id: &str) -> Result<(), StoreError> {
        let rec = self.record_path(run_id);
        match fs::remove_file(&rec) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&rec)(e)),
        }
        let dir = self.checkpoint_dir(run_id);
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(io(&dir))?;
        }
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok(())
    }

    /// Writes a finished run's record atomically.
    pub fn write_record(&self, rec: &RunRecord) -> Result<(), StoreError> {
        records::write_json_atomic(&self.record_path(&rec.run_id), rec)?;
        Ok(())
    }

    /// Writes the manifest atomically.
    pub fn write_manifest(&self, m: &records::Manifest) -> Result<(), StoreError> {
        records::write_json_atomic(&records::manifest_path(&self.root), m)?;
        Ok(())
    }
}
