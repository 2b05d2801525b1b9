//! The runbook part of a plan as written in YAML: phases with budgets and `requires`,
//! steps as plain text or maps, and what verifies a step by itself.

use super::duration::PlanDuration;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_saphyr::Spanned;
use std::fmt;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub phase: Spanned<String>,
    #[serde(default)]
    pub budget: Option<PlanDuration>,
    /// Steps or phases done before any step of this phase may be ticked or verified.
    #[serde(default)]
    pub requires: Vec<Spanned<String>>,
    pub steps: Vec<Step>,
}

/// What ticks a step by itself once it passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Verify {
    Gate(String),
    /// The gate has passed continuously for this long (`{gate: error-rate, held: 30m}`).
    Held(String, PlanDuration),
    Group(String),
    Load,
}

impl Verify {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut words = text.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("gate"), Some(id), None) => Ok(Verify::Gate(id.to_string())),
            (Some("group"), Some(group), None) => Ok(Verify::Group(group.to_string())),
            (Some("load"), None, None) => Ok(Verify::Load),
            (Some("gate"), Some(id), Some("held")) => {
                let rest: Vec<&str> = words.collect();
                match rest.as_slice() {
                    [d] => Ok(Verify::Held(id.to_string(), PlanDuration::parse(d)?)),
                    _ => Err(format!("`{text}`: expected `gate <id> held <duration>`")),
                }
            }
            _ => Err(format!(
                "`{text}` is not a verification: expected `gate <id>`, `gate <id> held <duration>`, `group <name>` or `load`"
            )),
        }
    }
}

impl fmt::Display for Verify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verify::Gate(id) => write!(f, "gate {id}"),
            Verify::Held(id, d) => write!(f, "gate {id} held {d}"),
            Verify::Group(g) => write!(f, "group {g}"),
            Verify::Load => f.write_str("load"),
        }
    }
}

impl<'de> Deserialize<'de> for Verify {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// `gate x`, or `{gate: x, held: 30m}`.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Held { gate: String, held: PlanDuration },
        }
        match Raw::deserialize(deserializer)? {
            Raw::Text(text) => Verify::parse(&text).map_err(de::Error::custom),
            Raw::Held { gate, held } => Ok(Verify::Held(gate, held)),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Stable id for `requires` and the journal; defaults to a slug of the text.
    #[serde(default)]
    pub id: Option<Spanned<String>>,
    pub text: String,
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub command_timeout: Option<PlanDuration>,
    #[serde(default)]
    pub verify: Option<Spanned<Verify>>,
    #[serde(default)]
    pub requires: Vec<Spanned<String>>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// A step is either plain text or a map with `text` and options.
#[derive(Debug, Clone)]
pub struct Step(pub StepSpec);

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StepVisitor;
        impl<'de> Visitor<'de> for StepVisitor {
            type Value = Step;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a step: text, or a map with `text` and optional id, command, verify, requires, owner, notes")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Step, E> {
                Ok(Step(StepSpec {
                    id: None,
                    text: text.to_string(),
                    command: None,
                    command_timeout: None,
                    verify: None,
                    requires: Vec::new(),
                    owner: None,
                    notes: None,
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Step, A::Error> {
                StepSpec::deserialize(de::value::MapAccessDeserializer::new(map)).map(Step)
            }
        }
        deserializer.deserialize_any(StepVisitor)
    }
}

impl Step {
    pub fn id(&self) -> String {
        match &self.0.id {
            Some(id) => id.value.clone(),
            None => slug(&self.0.text),
        }
    }
}

pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}
