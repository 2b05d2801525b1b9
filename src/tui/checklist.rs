//! Runbook checkbox state on disk: one JSON file per plan, replaced atomically and
//! fsync'd before the cockpit shows the tick. (The next step makes this a hash-chained
//! journal; everything that touches the file lives here.)

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "checklist.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checklist {
    pub plan: String,
    /// Ticked steps by step id, with when they were ticked.
    pub done: BTreeMap<String, Tick>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    pub at: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum ChecklistError {
    #[error("cannot create {dir}: {source}")]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a golive checklist ({source}); move it aside to start afresh")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Checklist {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// Reads the checklist in `dir`; a missing file is an empty checklist.
    pub fn load(dir: &Path, plan: &str) -> Result<Checklist, ChecklistError> {
        let path = Self::path(dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| ChecklistError::Parse { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Checklist {
                plan: plan.to_string(),
                done: BTreeMap::new(),
            }),
            Err(source) => Err(ChecklistError::Read { path, source }),
        }
    }

    /// Writes to a temporary file, fsyncs it, renames it over the old one and fsyncs
    /// the directory, so a crash leaves either the old or the new state, never half.
    pub fn save(&self, dir: &Path) -> Result<(), ChecklistError> {
        std::fs::create_dir_all(dir).map_err(|source| ChecklistError::CreateDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        let path = Self::path(dir);
        let tmp = dir.join(format!("{FILE_NAME}.tmp"));
        let write_error = |source| ChecklistError::Write {
            path: path.clone(),
            source,
        };
        let bytes =
            serde_json::to_vec_pretty(self).map_err(|e| write_error(std::io::Error::other(e)))?;
        let mut file = std::fs::File::create(&tmp).map_err(write_error)?;
        file.write_all(&bytes).map_err(write_error)?;
        file.sync_all().map_err(write_error)?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(write_error)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    pub fn with_toggled(&self, step: &str, now: Timestamp) -> Checklist {
        let mut next = self.clone();
        if next.done.remove(step).is_none() {
            next.done.insert(step.to_string(), Tick { at: now });
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toggled_step_survives_a_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now: Timestamp = "2026-11-25T10:02:00Z".parse().expect("timestamp");
        let list = Checklist::load(dir.path(), "gravl")
            .expect("empty")
            .with_toggled("notify", now);
        list.save(dir.path()).expect("saved");
        let again = Checklist::load(dir.path(), "gravl").expect("reload");
        assert_eq!(again, list);
        assert!(again.with_toggled("notify", now).done.is_empty());
    }

    #[test]
    fn corrupt_file_is_an_error_not_an_empty_list() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(FILE_NAME), "{not json").expect("write");
        assert!(matches!(
            Checklist::load(dir.path(), "gravl"),
            Err(ChecklistError::Parse { .. })
        ));
    }
}
