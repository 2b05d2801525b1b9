//! The sign-off, override and note forms: what each opens with, and the one journal
//! record a submitted form becomes. The record shows once the journal has it.

use super::App;
use super::msg::Effect;
use super::state::{Overlay, Severity};
use crate::gates::Verdict;
use crate::runbook::journal::Action as Record;
use crate::tui::form::{Field, Form, FormKind};

/// An override reason says why, not "ok".
pub const OVERRIDE_REASON_MIN: usize = 15;

impl App {
    /// A note on the selected step, when the runbook has the focus.
    pub(super) fn open_note(&mut self) {
        if let Some(step) = self.runbook_step_in_focus() {
            let text = step.0.text.clone();
            self.overlay = Overlay::Form(Box::new(Form {
                kind: FormKind::Note { step: step.id() },
                title: " note ".into(),
                intro: vec![
                    format!("on: {text}"),
                    "recorded in the journal under your name".into(),
                ],
                fields: vec![Field::Text {
                    label: "note",
                    value: String::new(),
                    min: 1,
                }],
                focus: 0,
                error: None,
            }));
        }
    }

    fn gate_states(&self) -> Vec<(String, String)> {
        self.gates
            .iter()
            .map(|g| (g.verdict.id.clone(), g.shown.word().to_string()))
            .collect()
    }

    pub(super) fn open_signoff(&mut self) {
        let roles = self.plan.plan.signoff.clone();
        if roles.is_empty() {
            self.set_status("this plan names no sign-off roles", Severity::Info);
            return;
        }
        // Start on the first role that has not approved yet.
        let selected = roles
            .iter()
            .position(|r| {
                !self
                    .runbook
                    .signoffs
                    .iter()
                    .any(|s| &s.role == r && s.approve)
            })
            .unwrap_or(0);
        let mut intro = vec![format!(
            "verdict now: {} · {}",
            self.verdict.0.word(),
            self.verdict.1
        )];
        for role in &roles {
            intro.push(
                match self.runbook.signoffs.iter().find(|s| &s.role == role) {
                    Some(s) => format!(
                        "  {role}: {} by {}",
                        if s.approve { "approved" } else { "rejected" },
                        s.name
                    ),
                    None => format!("  {role}: pending"),
                },
            );
        }
        intro.push("The journal records this verdict and every gate's state with it.".into());
        self.overlay = Overlay::Form(Box::new(Form {
            kind: FormKind::SignOff,
            title: " sign off ".into(),
            intro,
            fields: vec![
                Field::Choice {
                    label: "role",
                    options: roles,
                    selected,
                },
                Field::Text {
                    label: "name",
                    value: self.operator.clone(),
                    min: 1,
                },
                Field::Choice {
                    label: "decision",
                    options: vec!["approve".into(), "reject".into()],
                    selected: 0,
                },
                Field::Text {
                    label: "comment",
                    value: String::new(),
                    min: 0,
                },
            ],
            focus: 0,
            error: None,
        }));
    }

    pub(super) fn open_override(&mut self) {
        if self.verdict.0 == Verdict::Go {
            self.set_status(
                "the verdict is GO; there is nothing to override",
                Severity::Info,
            );
            return;
        }
        let failing: Vec<String> = self
            .decision
            .reasons
            .iter()
            .map(|r| r.to_string())
            .collect();
        let mut intro = vec![format!(
            "Overriding {} to GO: your name, this reason and the evidence below go into the \
             journal and the report. Anything that fails later is not covered.",
            self.verdict.0.word()
        )];
        intro.extend(failing.iter().map(|r| format!("  • {r}")));
        self.overlay = Overlay::Form(Box::new(Form {
            kind: FormKind::Override {
                verdict: self.verdict.0.word().to_string(),
                failing,
            },
            title: " override to GO ".into(),
            intro,
            fields: vec![Field::Text {
                label: "reason",
                value: String::new(),
                min: OVERRIDE_REASON_MIN,
            }],
            focus: 0,
            error: None,
        }));
    }

    /// A submitted form becomes one journal record; it shows once the journal has it.
    pub(super) fn submit_form(&mut self, form: Form) -> Vec<Effect> {
        let record = match &form.kind {
            FormKind::SignOff => {
                let approve = form.value("decision") == "approve";
                let comment = form.value("comment").to_string();
                if !approve && comment.is_empty() {
                    if let Overlay::Form(f) = &mut self.overlay {
                        f.error = Some("a rejection needs a comment: say what must change".into());
                        f.focus = 3;
                    }
                    return Vec::new();
                }
                Record::SignOff {
                    role: form.value("role").to_string(),
                    name: form.value("name").to_string(),
                    approve,
                    comment: (!comment.is_empty()).then_some(comment),
                    verdict: self.verdict.0.word().to_string(),
                    gates: self.gate_states(),
                }
            }
            FormKind::Override { verdict, failing } => Record::Override {
                reason: form.value("reason").to_string(),
                verdict: verdict.clone(),
                failing: failing.clone(),
            },
            FormKind::Note { step } => Record::Note {
                step: Some(step.clone()),
                text: form.value("note").to_string(),
            },
        };
        self.overlay = Overlay::None;
        vec![Effect::Record(record)]
    }
}
