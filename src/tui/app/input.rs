//! Keys, mouse and actions: what the operator does, turned into state changes and
//! effects. Keys become [`Action`]s through the keymap; ctrl-c and the signals share one
//! force-quit path.

use super::App;
use super::msg::Effect;
use super::state::{Overlay, Pane, RunningCommand, Severity};
use crate::tui::form::Outcome;
use crate::tui::keys::Action;
use crate::tui::rows;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};

impl App {
    /// Quit now, whatever is open: the load test is stopped, not waited for.
    pub(super) fn force_quit(&mut self) -> Vec<Effect> {
        self.quit = true;
        let mut effects = Vec::new();
        if self.load.is_running() {
            effects.push(Effect::StopLoad);
        }
        effects.push(Effect::Quit);
        effects
    }

    pub(super) fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let action = self.keymap.action_for(&key);
        // Before any overlay: a form or a question never holds the operator in.
        if action == Some(Action::ForceQuit) {
            return self.force_quit();
        }
        match &mut self.overlay {
            Overlay::Help => {
                self.overlay = Overlay::None;
                return Vec::new();
            }
            Overlay::ConfirmCommand {
                step,
                command,
                timeout,
            } => {
                let effects = match key.code {
                    KeyCode::Char('y') | KeyCode::Char('Y') => {
                        self.command = Some(RunningCommand {
                            step: step.clone(),
                            command: command.clone(),
                            started: self.now,
                            timeout: *timeout,
                            output: Default::default(),
                        });
                        vec![Effect::RunCommand {
                            step: step.clone(),
                            command: command.clone(),
                            timeout: *timeout,
                        }]
                    }
                    _ => Vec::new(),
                };
                if effects.is_empty() {
                    self.set_status("command not run", Severity::Info);
                }
                self.overlay = Overlay::None;
                return effects;
            }
            Overlay::Form(form) => {
                return match form.key(key) {
                    Outcome::Editing => Vec::new(),
                    Outcome::Cancelled => {
                        self.overlay = Overlay::None;
                        self.set_status("cancelled; nothing recorded", Severity::Info);
                        Vec::new()
                    }
                    Outcome::Submitted => {
                        let form = (**form).clone();
                        self.submit_form(form)
                    }
                };
            }
            Overlay::ConfirmQuit => {
                return match key.code {
                    KeyCode::Char('y') | KeyCode::Char('Y') => {
                        self.quit = true;
                        vec![Effect::StopLoad, Effect::Quit]
                    }
                    _ => {
                        self.overlay = Overlay::None;
                        self.set_status(
                            "quit cancelled; the load test keeps running",
                            Severity::Info,
                        );
                        Vec::new()
                    }
                };
            }
            Overlay::None => {}
        }
        if self.filter_editing {
            match key.code {
                KeyCode::Esc => {
                    self.filter.clear();
                    self.filter_editing = false;
                }
                KeyCode::Enter => self.filter_editing = false,
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) => self.filter.push(c),
                _ => {}
            }
            self.gate_selected = 0;
            self.moved = true;
            self.step_selected = 0;
            self.needs_evaluation = true;
            return Vec::new();
        }
        let Some(action) = action else {
            return Vec::new();
        };
        self.on_action(action)
    }

    pub fn on_action(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::ForceQuit => self.force_quit(),
            Action::Quit => {
                if self.load.is_running() {
                    self.overlay = Overlay::ConfirmQuit;
                    Vec::new()
                } else {
                    self.quit = true;
                    vec![Effect::Quit]
                }
            }
            Action::Help => {
                self.overlay = Overlay::Help;
                Vec::new()
            }
            Action::Back => {
                if !self.filter.is_empty() {
                    self.filter.clear();
                } else if self.focus == Pane::Detail {
                    self.focus = self.subject;
                }
                Vec::new()
            }
            Action::FocusNext | Action::FocusPrev => {
                let i = Pane::ORDER
                    .iter()
                    .position(|p| *p == self.focus)
                    .unwrap_or(0);
                let n = Pane::ORDER.len();
                let next = if action == Action::FocusNext {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                self.focus_pane(Pane::ORDER[next]);
                Vec::new()
            }
            Action::Down | Action::Up => {
                let down = action == Action::Down;
                self.moved = true;
                match self.focus {
                    Pane::Gates => {
                        let n = rows::visible_gates(&self.gates, &self.filter).len();
                        self.gate_selected = step_index(self.gate_selected, n, down);
                        self.detail_scroll = 0;
                    }
                    Pane::Runbook => {
                        let n = self.visible_steps().len();
                        self.step_selected = step_index(self.step_selected, n, down);
                        self.detail_scroll = 0;
                    }
                    Pane::Detail => {
                        self.detail_scroll = if down {
                            self.detail_scroll.saturating_add(1)
                        } else {
                            self.detail_scroll.saturating_sub(1)
                        };
                    }
                    Pane::Load if self.deploy_view => {
                        let n = self.rollouts().len();
                        self.deploy_selected = step_index(self.deploy_selected, n, down);
                        self.subject = Pane::Load;
                        self.detail_scroll = 0;
                    }
                    Pane::Load => {}
                }
                Vec::new()
            }
            Action::NextPhase | Action::PrevPhase => {
                let n = self.plan.plan.runbook.len();
                if n > 0 {
                    self.phase_selected = if action == Action::NextPhase {
                        (self.phase_selected + 1) % n
                    } else {
                        (self.phase_selected + n - 1) % n
                    };
                    self.step_selected = 0;
                    self.focus_pane(Pane::Runbook);
                }
                Vec::new()
            }
            Action::Details => {
                if self.focus != Pane::Detail {
                    self.focus_pane(Pane::Detail);
                } else {
                    self.focus = self.subject;
                }
                Vec::new()
            }
            Action::Toggle => self.toggle_step(),
            Action::Load => self.toggle_load(),
            Action::Filter => {
                self.filter_editing = true;
                Vec::new()
            }
            Action::Report => vec![Effect::ExportReport],
            Action::Note => {
                self.open_note();
                Vec::new()
            }
            Action::RunCommand => self.confirm_command(),
            Action::Deploy => {
                self.deploy_view = !self.deploy_view;
                self.monitor_view = false;
                Vec::new()
            }
            Action::Undo => self.confirm_undo(),
            Action::Monitor => {
                self.monitor_view = !self.monitor_view;
                self.deploy_view = false;
                Vec::new()
            }
            Action::CopyCommand => {
                match self.runbook_step_in_focus().map(|s| s.0.command.clone()) {
                    Some(Some(command)) => {
                        self.set_status(
                            format!("copied to the clipboard (if your terminal allows OSC 52): {command}"),
                            Severity::Info,
                        );
                        vec![Effect::Copy(command)]
                    }
                    Some(None) => {
                        self.set_status("this step has no command", Severity::Info);
                        Vec::new()
                    }
                    None => Vec::new(),
                }
            }
            Action::SignOff => {
                self.open_signoff();
                Vec::new()
            }
            Action::Override => {
                self.open_override();
                Vec::new()
            }
        }
    }

    pub(super) fn focus_pane(&mut self, pane: Pane) {
        self.focus = pane;
        if pane != Pane::Detail {
            self.subject = pane;
        }
        self.detail_scroll = 0;
    }

    /// A click focuses the pane under it and selects the row; the wheel moves the selection.
    pub(super) fn on_mouse(&mut self, mouse: MouseEvent) -> Vec<Effect> {
        match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) => {}
            MouseEventKind::ScrollDown => return self.on_action(Action::Down),
            MouseEventKind::ScrollUp => return self.on_action(Action::Up),
            _ => return Vec::new(),
        }
        if self.overlay != Overlay::None {
            return Vec::new();
        }
        let areas = self.areas();
        let Some((pane, rect)) = areas.pane_at(mouse.column, mouse.row) else {
            return Vec::new();
        };
        self.focus_pane(pane);
        let inner_row = mouse.row.saturating_sub(rect.y + 1) as usize;
        let inner_height = rect.height.saturating_sub(2) as usize;
        match pane {
            Pane::Gates => {
                if let Some(i) = rows::gate_at(
                    &self.gates,
                    &self.filter,
                    self.gate_selected,
                    inner_row,
                    inner_height,
                ) {
                    self.moved = true;
                    self.gate_selected = i;
                }
            }
            Pane::Runbook => {
                if inner_row == 0 {
                    if let Some(p) =
                        rows::phase_at(&self.phase_tabs(), mouse.column.saturating_sub(rect.x + 1))
                    {
                        self.phase_selected = p;
                        self.step_selected = 0;
                    }
                } else if let Some(i) = rows::step_at(
                    self.visible_steps().len(),
                    self.step_selected,
                    inner_row - 1,
                    inner_height.saturating_sub(1),
                ) {
                    self.step_selected = i;
                }
            }
            Pane::Load | Pane::Detail => {}
        }
        Vec::new()
    }
}

fn step_index(current: usize, len: usize, down: bool) -> usize {
    if len == 0 {
        0
    } else if down {
        (current + 1).min(len - 1)
    } else {
        current.saturating_sub(1)
    }
}
