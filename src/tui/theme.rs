//! Themes map meanings (pass, fail, stale, muted…) to colours. A theme file may name a
//! `parent` and leave roles out; a missing role falls back to a related one, a bad colour
//! falls back with a warning. `NO_COLOR` drops every colour and keeps symbols and bold.

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

pub const BUILT_IN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Text,
    Muted,
    Title,
    Border,
    BorderFocus,
    Accent,
    Selection,
    Pass,
    Warn,
    Fail,
    Unknown,
    Stale,
    Go,
    NoGo,
    Undecided,
    Demo,
    P50,
    P95,
    P99,
    Histogram,
    Gauge,
}

impl Role {
    pub const ALL: [Role; 21] = [
        Role::Text,
        Role::Muted,
        Role::Title,
        Role::Border,
        Role::BorderFocus,
        Role::Accent,
        Role::Selection,
        Role::Pass,
        Role::Warn,
        Role::Fail,
        Role::Unknown,
        Role::Stale,
        Role::Go,
        Role::NoGo,
        Role::Undecided,
        Role::Demo,
        Role::P50,
        Role::P95,
        Role::P99,
        Role::Histogram,
        Role::Gauge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Text => "text",
            Role::Muted => "muted",
            Role::Title => "title",
            Role::Border => "border",
            Role::BorderFocus => "border_focus",
            Role::Accent => "accent",
            Role::Selection => "selection",
            Role::Pass => "pass",
            Role::Warn => "warn",
            Role::Fail => "fail",
            Role::Unknown => "unknown",
            Role::Stale => "stale",
            Role::Go => "go",
            Role::NoGo => "no_go",
            Role::Undecided => "undecided",
            Role::Demo => "demo",
            Role::P50 => "p50",
            Role::P95 => "p95",
            Role::P99 => "p99",
            Role::Histogram => "histogram",
            Role::Gauge => "gauge",
        }
    }

    /// The role to use when a theme leaves this one out.
    fn fallback(self) -> Option<Role> {
        match self {
            Role::Text => None,
            Role::Muted | Role::Title | Role::Border => Some(Role::Text),
            Role::BorderFocus => Some(Role::Accent),
            Role::Accent => Some(Role::Title),
            Role::Selection => None,
            Role::Pass | Role::Warn | Role::Fail | Role::Unknown => Some(Role::Text),
            Role::Stale => Some(Role::Unknown),
            Role::Go => Some(Role::Pass),
            Role::NoGo => Some(Role::Fail),
            Role::Undecided => Some(Role::Unknown),
            Role::Demo => Some(Role::Warn),
            Role::P50 | Role::P95 | Role::P99 | Role::Histogram | Role::Gauge => Some(Role::Accent),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    colors: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Theme {
    pub name: String,
    colors: BTreeMap<Role, Color>,
    pub no_color: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Theme::load("default", None, false).0
    }
}

impl Theme {
    /// A theme without colours: what `NO_COLOR` gives.
    pub fn monochrome() -> Theme {
        Theme {
            name: "no-color".into(),
            colors: BTreeMap::new(),
            no_color: true,
        }
    }

    /// Loads `name` from `user_dir/NAME.toml` or the built-ins, following parents.
    /// Never fails: problems become warnings and the default theme fills in.
    pub fn load(name: &str, user_dir: Option<&Path>, no_color: bool) -> (Theme, Vec<String>) {
        let mut warnings = Vec::new();
        let mut chain: Vec<(String, ThemeFile)> = Vec::new();
        let mut next = Some(name.to_string());
        while let Some(current) = next.take() {
            if chain.iter().any(|(n, _)| *n == current) || chain.len() > 8 {
                warnings.push(format!(
                    "theme `{current}`: parent chain loops; stopped there"
                ));
                break;
            }
            match read_theme(&current, user_dir) {
                Ok(file) => {
                    next = file.parent.clone();
                    chain.push((current, file));
                }
                Err(e) => {
                    warnings.push(e);
                    if current != "default" && !chain.iter().any(|(n, _)| n == "default") {
                        next = Some("default".into());
                    }
                }
            }
        }
        // The default theme always sits at the root, so every role gets a colour.
        if !chain.iter().any(|(n, _)| n == "default")
            && let Ok(file) = read_theme("default", None)
        {
            chain.push(("default".into(), file));
        }
        let mut colors = BTreeMap::new();
        for (theme_name, file) in chain.iter().rev() {
            for (key, value) in &file.colors {
                let Some(role) = Role::ALL.iter().find(|r| r.name() == key) else {
                    warnings.push(format!(
                        "theme `{theme_name}`: unknown role `{key}` ignored"
                    ));
                    continue;
                };
                match Color::from_str(value) {
                    Ok(c) => {
                        colors.insert(*role, c);
                    }
                    Err(_) => warnings.push(format!(
                        "theme `{theme_name}`: `{key} = \"{value}\"` is not a colour (use a name like `light-red` or `#rrggbb`); falling back"
                    )),
                }
            }
        }
        let display_name = chain
            .first()
            .map(|(n, f)| f.name.clone().unwrap_or_else(|| n.clone()))
            .unwrap_or_else(|| "default".into());
        (
            Theme {
                name: display_name,
                colors,
                no_color,
            },
            warnings,
        )
    }

    pub fn color(&self, role: Role) -> Color {
        if self.no_color {
            return Color::Reset;
        }
        let mut current = Some(role);
        while let Some(r) = current {
            if let Some(c) = self.colors.get(&r) {
                return *c;
            }
            current = r.fallback();
        }
        Color::Reset
    }

    pub fn fg(&self, role: Role) -> Style {
        Style::default().fg(self.color(role))
    }

    pub fn bold(&self, role: Role) -> Style {
        self.fg(role).add_modifier(Modifier::BOLD)
    }

    /// The highlighted row: a background colour, or reverse video without colours.
    pub fn selected(&self, focused: bool) -> Style {
        if self.no_color || !focused {
            if focused {
                Style::default().add_modifier(Modifier::REVERSED)
            } else {
                Style::default().add_modifier(Modifier::BOLD)
            }
        } else {
            Style::default().bg(self.color(Role::Selection))
        }
    }
}

fn read_theme(name: &str, user_dir: Option<&Path>) -> Result<ThemeFile, String> {
    if let Some(dir) = user_dir {
        let path = dir.join(format!("{name}.toml"));
        if path.is_file() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("theme {}: {e}", path.display()))?;
            return toml::from_str(&text).map_err(|e| format!("theme {}: {e}", path.display()));
        }
    }
    match BUILT_IN.iter().find(|(n, _)| *n == name) {
        Some((_, text)) => toml::from_str(text).map_err(|e| format!("built-in theme {name}: {e}")),
        None => {
            let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
            Err(format!(
                "no theme `{name}` (built-in: {}; user themes: $XDG_CONFIG_HOME/golive/themes/NAME.toml); using default",
                names.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_themes_load_without_warnings() {
        for (name, _) in BUILT_IN {
            let (theme, warnings) = Theme::load(name, None, false);
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
            for role in Role::ALL {
                assert_ne!(theme.color(role), Color::Reset, "{name} {}", role.name());
            }
        }
    }

    #[test]
    fn bad_colour_falls_back_to_the_parent_with_a_warning() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("mine.toml"),
            "parent = \"light\"\n[colors]\npass = \"not-a-colour\"\nfail = \"#ff0000\"\n",
        )
        .expect("write theme");
        let (theme, warnings) = Theme::load("mine", Some(dir.path()), false);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(theme.color(Role::Fail), Color::Rgb(255, 0, 0));
        assert_eq!(
            theme.color(Role::Pass),
            Theme::load("light", None, false).0.color(Role::Pass)
        );
    }

    #[test]
    fn unknown_theme_warns_and_uses_default() {
        let (theme, warnings) = Theme::load("solarized-neon", None, false);
        assert_eq!(theme.name, "default");
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn no_color_has_no_colours() {
        let (theme, _) = Theme::load("default", None, true);
        assert_eq!(theme.color(Role::Fail), Color::Reset);
    }
}
