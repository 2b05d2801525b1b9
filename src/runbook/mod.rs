//! The go-live runbook: steps from the plan, their state replayed from the journal, and
//! how long each phase took against its budget.

pub mod journal;
pub mod state;
pub mod timing;

use std::path::PathBuf;

/// `$XDG_DATA_HOME/golive/<plan>/`, else `~/.local/share/golive/<plan>/`, else `./.golive/<plan>/`.
pub fn default_state_dir(plan_name: &str) -> PathBuf {
    let slug = crate::plan::slug(plan_name);
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from(".golive"));
    base.join("golive").join(slug)
}

#[cfg(test)]
mod tests;
