//! The keymap, declared once: each action's config name, default keys and help text.
//! The `?` overlay and the footer are generated from [`BINDINGS`], so help cannot drift
//! from what the handlers do; `[keys]` in config.toml overrides by config name.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    FocusNext,
    FocusPrev,
    Down,
    Up,
    NextPhase,
    PrevPhase,
    Details,
    Back,
    Toggle,
    Note,
    RunCommand,
    CopyCommand,
    SignOff,
    Override,
    Load,
    Deploy,
    Undo,
    Monitor,
    Filter,
    Report,
    Help,
    Quit,
    ForceQuit,
}

/// Where an action does something, so the footer shows only the keys that apply now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Everywhere,
    Lists,
    Runbook,
}

pub struct Binding {
    pub action: Action,
    /// The name under `[keys]` in config.toml.
    pub config: &'static str,
    pub defaults: &'static [&'static str],
    pub help: &'static str,
    /// The short label in the footer; empty keeps it out of the footer.
    pub footer: &'static str,
    pub scope: Scope,
}

macro_rules! bindings {
    ($( $action:ident, $config:literal, [$($key:literal),+], $footer:literal, $scope:ident, $help:literal; )+) => {
        pub const BINDINGS: &[Binding] = &[
            $( Binding {
                action: Action::$action,
                config: $config,
                defaults: &[$($key),+],
                help: $help,
                footer: $footer,
                scope: Scope::$scope,
            }, )+
        ];
    };
}

bindings! {
    Help,       "help",       ["?"],               "help",    Everywhere, "show or hide this help";
    FocusNext,  "focus_next", ["tab"],             "pane",    Everywhere, "focus the next pane";
    FocusPrev,  "focus_prev", ["shift-tab"],       "",        Everywhere, "focus the previous pane";
    Down,       "down",       ["j", "down"],       "",        Lists,      "move the selection down";
    Up,         "up",         ["k", "up"],         "",        Lists,      "move the selection up";
    NextPhase,  "next_phase", ["]", "right"],      "phase",   Runbook,    "next runbook phase";
    PrevPhase,  "prev_phase", ["[", "left"],       "",        Runbook,    "previous runbook phase";
    Details,    "details",    ["enter"],           "details", Lists,      "open the details of the selection";
    Back,       "back",       ["esc"],             "",        Everywhere, "close help, the filter or the details";
    Toggle,     "toggle",     ["space"],           "check",   Runbook,    "tick or untick the selected runbook step";
    Note,       "note",       ["n"],               "note",    Runbook,    "add a note to the selected step";
    RunCommand, "run_command", ["x"],              "run",     Runbook,    "run the step's command (asks first)";
    CopyCommand, "copy_command", ["c"],            "",        Runbook,    "copy the step's command (OSC 52)";
    SignOff,    "sign_off",   ["s"],               "sign",    Everywhere, "sign off for a role: approve or reject";
    Override,   "override",   ["o"],               "",        Everywhere, "override the verdict, with a reason";
    Load,       "load",       ["l"],               "load",    Everywhere, "start or stop the load test";
    Deploy,     "deploy",     ["d"],               "deploy",  Everywhere, "show the rollouts in place of the load test, or back";
    Monitor,    "monitor",    ["m"],               "",        Everywhere, "show Prometheus and Alertmanager in place of the load test, or back";
    Undo,       "undo",       ["u"],               "",        Everywhere, "roll the failing workload back: kubectl rollout undo (asks first)";
    Filter,     "filter",     ["/"],               "filter",  Everywhere, "filter gates and steps by text";
    Report,     "report",     ["r"],               "report",  Everywhere, "write the go-live report next to the journal";
    Quit,       "quit",       ["q"],               "quit",    Everywhere, "quit (asks first while a load test runs)";
    ForceQuit,  "force_quit", ["ctrl-c"],          "",        Everywhere, "quit at once, stopping a running load test";
}

/// A key as written in config and shown in help: `x`, `ctrl-c`, `shift-tab`, `enter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = text.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower
                .strip_prefix("ctrl-")
                .or_else(|| lower.strip_prefix("c-"))
            {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower
                .strip_prefix("alt-")
                .or_else(|| lower.strip_prefix("m-"))
            {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift-") {
                shift = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "tab" if shift => KeyCode::BackTab,
            "backtab" => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        KeyCode::Char(if shift { c.to_ascii_uppercase() } else { c })
                    }
                    _ => {
                        return Err(format!(
                            "`{text}` is not a key (try `x`, `ctrl-x`, `enter`, `f2`, `shift-tab`)"
                        ));
                    }
                }
            }
        };
        Ok(Key { code, ctrl, alt })
    }

    pub fn from_event(event: &KeyEvent) -> Key {
        Key {
            code: event.code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Keys bound to actions: the defaults with the user's overrides applied.
#[derive(Debug, Clone)]
pub struct Keymap {
    keys: BTreeMap<Action, Vec<Key>>,
}

impl Default for Keymap {
    fn default() -> Self {
        Self::with_overrides(&BTreeMap::new()).0
    }
}

impl Keymap {
    /// Applies `[keys]` overrides; returns warnings for unknown names or bad keys,
    /// which keep the default binding.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> (Keymap, Vec<String>) {
        let mut warnings = Vec::new();
        let mut keys = BTreeMap::new();
        for b in BINDINGS {
            let defaults: Vec<Key> = b
                .defaults
                .iter()
                .filter_map(|k| Key::parse(k).ok())
                .collect();
            keys.insert(b.action, defaults);
        }
        for (name, texts) in overrides {
            let Some(binding) = BINDINGS.iter().find(|b| b.config == name) else {
                let names: Vec<&str> = BINDINGS.iter().map(|b| b.config).collect();
                warnings.push(format!(
                    "config [keys]: unknown action `{name}` (actions: {})",
                    names.join(", ")
                ));
                continue;
            };
            let parsed: Result<Vec<Key>, String> = texts.iter().map(|t| Key::parse(t)).collect();
            match parsed {
                Ok(list) if !list.is_empty() => {
                    keys.insert(binding.action, list);
                }
                Ok(_) => warnings.push(format!(
                    "config [keys]: `{name}` has no key; keeping the default"
                )),
                Err(e) => warnings.push(format!("config [keys] {name}: {e}; keeping the default")),
            }
        }
        // ctrl-c always quits, whatever the overrides say.
        if let Some(force) = keys.get_mut(&Action::ForceQuit)
            && let Ok(ctrl_c) = Key::parse("ctrl-c")
            && !force.contains(&ctrl_c)
        {
            force.push(ctrl_c);
        }
        (Keymap { keys }, warnings)
    }

    pub fn action_for(&self, event: &KeyEvent) -> Option<Action> {
        // Shift is folded into the character ('?' arrives as shift-'?'), so it is ignored.
        let key = Key::from_event(event);
        // ctrl-c first so no override can shadow it.
        std::iter::once(Action::ForceQuit)
            .chain(BINDINGS.iter().map(|b| b.action))
            .find(|action| self.keys.get(action).is_some_and(|ks| ks.contains(&key)))
    }

    pub fn keys(&self, action: Action) -> &[Key] {
        self.keys.get(&action).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The first key of `action` as text, for the footer.
    pub fn label(&self, action: Action) -> String {
        self.keys(action)
            .first()
            .map(Key::to_string)
            .unwrap_or_default()
    }

    /// Every key of `action`, joined: `j ↓`.
    pub fn labels(&self, action: Action) -> String {
        self.keys(action)
            .iter()
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_key_parses_and_no_two_actions_share_a_key() {
        let map = Keymap::default();
        let mut seen: std::collections::HashMap<Key, Action> = std::collections::HashMap::new();
        for b in BINDINGS {
            assert_eq!(map.keys(b.action).len(), b.defaults.len(), "{}", b.config);
            for k in map.keys(b.action) {
                assert!(seen.insert(*k, b.action).is_none(), "{k} bound twice");
            }
        }
    }

    #[test]
    fn override_rebinds_and_bad_entries_warn_without_losing_the_default() {
        let mut o = BTreeMap::new();
        o.insert("toggle".to_string(), vec!["x".to_string()]);
        o.insert("load".to_string(), vec!["ctrl-".to_string()]);
        o.insert("launch".to_string(), vec!["z".to_string()]);
        let (map, warnings) = Keymap::with_overrides(&o);
        assert_eq!(map.labels(Action::Toggle), "x");
        assert_eq!(map.labels(Action::Load), "l");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }

    #[test]
    fn ctrl_c_survives_an_override_of_force_quit() {
        let mut o = BTreeMap::new();
        o.insert("force_quit".to_string(), vec!["ctrl-q".to_string()]);
        let (map, _) = Keymap::with_overrides(&o);
        let ev = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(map.action_for(&ev), Some(Action::ForceQuit));
    }

    #[test]
    fn shift_tab_parses_as_backtab() {
        assert_eq!(
            Key::parse("shift-tab").map(|k| k.code),
            Ok(KeyCode::BackTab)
        );
        assert_eq!(Key::parse("F2").map(|k| k.code), Ok(KeyCode::F(2)));
    }
}
