//! `config.toml` (theme and key overrides) and where golive keeps its files:
//! `GOLIVE_CONFIG`, else `$XDG_CONFIG_HOME/golive/config.toml`, else `~/.config/golive/`;
//! state under `$XDG_DATA_HOME/golive/<plan>/`, else `~/.local/share/golive/<plan>/`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub theme: Option<String>,
    #[serde(default)]
    pub keys: BTreeMap<String, KeyList>,
}

/// `toggle = "x"` or `toggle = ["x", "space"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            KeyList::One(k) => vec![k.clone()],
            KeyList::Many(ks) => ks.clone(),
        }
    }
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home() -> Option<PathBuf> {
    env_path("HOME")
}

/// `$XDG_CONFIG_HOME/golive` or `~/.config/golive`.
pub fn config_dir() -> Option<PathBuf> {
    env_path("XDG_CONFIG_HOME")
        .or_else(|| home().map(|h| h.join(".config")))
        .map(|d| d.join("golive"))
}

pub fn config_file() -> Option<PathBuf> {
    env_path("GOLIVE_CONFIG").or_else(|| config_dir().map(|d| d.join("config.toml")))
}

pub fn themes_dir() -> Option<PathBuf> {
    config_dir().map(|d| d.join("themes"))
}

/// Where a plan's runbook progress is kept unless `--state-dir` says otherwise.
pub fn state_dir(plan_slug: &str) -> Option<PathBuf> {
    env_path("XDG_DATA_HOME")
        .or_else(|| home().map(|h| h.join(".local").join("share")))
        .map(|d| d.join("golive").join(plan_slug))
}

/// Reads the config file if there is one. A broken file is a warning, not a failure:
/// the cockpit still starts with the defaults.
pub fn load() -> (Config, Vec<String>) {
    match config_file() {
        Some(path) => load_from(&path),
        None => (Config::default(), Vec::new()),
    }
}

/// Reads the config file at `path`; a missing file is the defaults, a broken one the
/// defaults and a warning naming the file and, for bad TOML, the line and column.
pub fn load_from(path: &std::path::Path) -> (Config, Vec<String>) {
    match std::fs::read_to_string(path) {
        Ok(text) => match toml::from_str(&text) {
            Ok(config) => (config, Vec::new()),
            Err(e) => (
                Config::default(),
                vec![format!("{}: {e}; using defaults", path.display()).replace('\n', " ")],
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Config::default(), Vec::new()),
        Err(e) => (
            Config::default(),
            vec![format!("{}: {e}; using defaults", path.display())],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_accept_a_string_or_a_list() {
        let c: Config = toml::from_str(
            "theme = \"light\"\n[keys]\ntoggle = \"x\"\nquit = [\"q\", \"ctrl-q\"]\n",
        )
        .expect("valid config");
        assert_eq!(c.theme.as_deref(), Some("light"));
        assert_eq!(c.keys["toggle"].to_vec(), vec!["x"]);
        assert_eq!(c.keys["quit"].to_vec(), vec!["q", "ctrl-q"]);
    }
}
