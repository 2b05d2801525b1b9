//! Small modal forms: sign-off, override, a note on a step. Pure: keys in, an outcome out;
//! the app turns a submitted form into a journal record.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a submitted form becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum FormKind {
    SignOff,
    /// Overriding the verdict shown, on the reasons listed when the form opened.
    Override {
        verdict: String,
        failing: Vec<String>,
    },
    Note {
        step: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Text {
        label: &'static str,
        value: String,
        /// Fewest characters accepted (after trimming); 0 makes the field optional.
        min: usize,
    },
    Choice {
        label: &'static str,
        options: Vec<String>,
        selected: usize,
    },
}

impl Field {
    pub fn label(&self) -> &'static str {
        match self {
            Field::Text { label, .. } | Field::Choice { label, .. } => label,
        }
    }

    /// The entered text, or the chosen option.
    pub fn value(&self) -> &str {
        match self {
            Field::Text { value, .. } => value.trim(),
            Field::Choice {
                options, selected, ..
            } => options.get(*selected).map(String::as_str).unwrap_or(""),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub kind: FormKind,
    pub title: String,
    /// Read-only lines above the fields: what is being signed or overridden.
    pub intro: Vec<String>,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// Why the last submit was refused.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Editing,
    Cancelled,
    Submitted,
}

/// Longest text a field takes: a sign-off comment, not an essay.
const MAX_TEXT: usize = 500;

impl Form {
    pub fn value(&self, label: &str) -> &str {
        self.fields
            .iter()
            .find(|f| f.label() == label)
            .map(Field::value)
            .unwrap_or("")
    }

    /// Esc cancels; tab/shift-tab/up/down move between fields; left/right (or space)
    /// change a choice; enter moves on and, on the last field, submits.
    pub fn key(&mut self, key: KeyEvent) -> Outcome {
        let n = self.fields.len();
        match key.code {
            KeyCode::Esc => return Outcome::Cancelled,
            KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1) % n.max(1),
            KeyCode::BackTab | KeyCode::Up => self.focus = (self.focus + n.max(1) - 1) % n.max(1),
            KeyCode::Enter => {
                if self.focus + 1 < n {
                    self.focus += 1;
                } else {
                    return self.submit();
                }
            }
            code => {
                let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
                match self.fields.get_mut(self.focus) {
                    Some(Field::Text { value, .. }) => match code {
                        KeyCode::Backspace => {
                            value.pop();
                        }
                        KeyCode::Char('u') if ctrl => value.clear(),
                        KeyCode::Char(c) if !ctrl && value.chars().count() < MAX_TEXT => {
                            value.push(c)
                        }
                        _ => {}
                    },
                    Some(Field::Choice {
                        options, selected, ..
                    }) if !options.is_empty() => match code {
                        KeyCode::Right | KeyCode::Char(' ') => {
                            *selected = (*selected + 1) % options.len()
                        }
                        KeyCode::Left => {
                            *selected = (*selected + options.len() - 1) % options.len()
                        }
                        _ => {}
                    },
                    _ => {}
                }
            }
        }
        self.error = None;
        Outcome::Editing
    }

    fn submit(&mut self) -> Outcome {
        for (i, field) in self.fields.iter().enumerate() {
            if let Field::Text { label, value, min } = field
                && value.trim().chars().count() < *min
            {
                self.focus = i;
                self.error = Some(if *min == 1 {
                    format!("{label} is required")
                } else {
                    format!("{label} needs at least {min} characters")
                });
                return Outcome::Editing;
            }
        }
        Outcome::Submitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn form() -> Form {
        Form {
            kind: FormKind::SignOff,
            title: "sign off".into(),
            intro: vec![],
            fields: vec![
                Field::Choice {
                    label: "role",
                    options: vec!["a".into(), "b".into()],
                    selected: 0,
                },
                Field::Text {
                    label: "name",
                    value: String::new(),
                    min: 1,
                },
            ],
            focus: 0,
            error: None,
        }
    }

    #[test]
    fn a_required_field_holds_the_submit_and_says_why() {
        let mut f = form();
        assert_eq!(f.key(key(KeyCode::Right)), Outcome::Editing);
        assert_eq!(f.value("role"), "b");
        assert_eq!(f.key(key(KeyCode::Enter)), Outcome::Editing);
        assert_eq!(f.focus, 1);
        assert_eq!(f.key(key(KeyCode::Enter)), Outcome::Editing);
        assert_eq!(f.error.as_deref(), Some("name is required"));
        for c in "  ".chars() {
            f.key(key(KeyCode::Char(c)));
        }
        assert_eq!(
            f.key(key(KeyCode::Enter)),
            Outcome::Editing,
            "blank is empty"
        );
        for c in "carol".chars() {
            f.key(key(KeyCode::Char(c)));
        }
        assert_eq!(f.key(key(KeyCode::Enter)), Outcome::Submitted);
        assert_eq!(f.value("name"), "carol");
        assert_eq!(f.key(key(KeyCode::Esc)), Outcome::Cancelled);
    }
}
