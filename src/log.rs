//! golive's own log: `golive.log` in the state directory, so a watch that keeps failing or
//! a probe that timed out can be looked at after the fact. Bounded: past [`MAX_BYTES`] the
//! file becomes `golive.log.1` (replacing the previous one) and a new one starts, so the
//! log never holds more than twice that. The level is `--log-level`, else `RUST_LOG`, else
//! [`DEFAULT_FILTER`].

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use tracing_subscriber::EnvFilter;

pub const FILE_NAME: &str = "golive.log";
/// One log file's size before it is rotated.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;
/// golive's own events from `info`, its libraries' only from `warn`.
pub const DEFAULT_FILTER: &str = "warn,golive=info,golive_load=info";

static LEVEL: OnceLock<Option<String>> = OnceLock::new();

/// Remembers `--log-level` for whichever command sets the log up.
pub fn set_level(level: Option<String>) {
    let _ = LEVEL.set(level);
}

fn level() -> Option<&'static str> {
    LEVEL.get().and_then(|l| l.as_deref())
}

/// A log file that rotates itself once it passes its bound.
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    file: File,
    len: u64,
}

impl RotatingFile {
    pub fn open(path: &Path, max_bytes: u64) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let len = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            max_bytes,
            file,
            len,
        })
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        std::fs::rename(&self.path, &old)?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.len = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.len > 0 && self.len + buf.len() as u64 > self.max_bytes {
            // A log that cannot rotate keeps writing: losing the newest lines is worse.
            let _ = self.rotate();
        }
        let n = self.file.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// The filter in force: `--log-level` (a level or a full `RUST_LOG` directive), else
/// `RUST_LOG`, else the default. A directive that does not parse is an error naming it.
pub fn filter(flag: Option<&str>) -> Result<EnvFilter, String> {
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let (text, from) = match (flag, rust_log.as_deref()) {
        (Some(flag), _) => (flag, "--log-level"),
        (None, Some(env)) => (env, "RUST_LOG"),
        (None, None) => (DEFAULT_FILTER, "the default"),
    };
    EnvFilter::builder()
        .parse(text)
        .map_err(|e| format!("{from} {text:?} is not a log filter: {e}"))
}

/// Sends golive's log to `dir/golive.log` for the rest of the process. Returns the log's
/// path; an error says why there is no log (golive runs on without one).
pub fn to_state_dir(dir: &Path) -> Result<PathBuf, String> {
    let filter = filter(level())?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(FILE_NAME);
    let file =
        RotatingFile::open(&path, MAX_BYTES).map_err(|e| format!("{}: {e}", path.display()))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init()
        .map_err(|e| format!("a log is already set up: {e}"))?;
    tracing::info!(version = crate::VERSION, "golive started");
    Ok(path)
}

/// For commands without a state directory: the log goes to standard error, and only when
/// asked for (`--log-level` or `RUST_LOG`), so scripted output stays as it was.
pub fn to_stderr_if_asked() -> Result<(), String> {
    if level().is_none() && std::env::var_os("RUST_LOG").is_none() {
        return Ok(());
    }
    let filter = filter(level())?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .map_err(|e| format!("a log is already set up: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_log_rotates_and_never_holds_more_than_twice_its_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE_NAME);
        let mut log = RotatingFile::open(&path, 1000).expect("open");
        for i in 0..500 {
            writeln!(log, "line {i:04} of the log").expect("write");
        }
        let current = std::fs::metadata(&path).expect("log").len();
        let rotated = std::fs::metadata(dir.path().join("golive.log.1"))
            .expect("rotated log")
            .len();
        assert!(current <= 1000 && rotated <= 1000, "{current} {rotated}");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.ends_with("line 0499 of the log\n"), "{text}");
    }

    #[test]
    fn a_bad_level_is_an_error_naming_where_it_came_from() {
        let e = filter(Some("golive=loud")).expect_err("not a level");
        assert!(e.contains("--log-level"), "{e}");
        assert!(filter(Some("debug")).is_ok());
    }
}
