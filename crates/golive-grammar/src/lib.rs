//! The small grammars every part of golive reads, parsed in exactly one place:
//! label selectors (`kubectl -l` text and the API's `matchLabels`/`matchExpressions`),
//! durations (`500ms`, `1m30s`, `21d`), and the "did you mean" suggestion for names.
//!
//! Callers wrap these in their own serde types so errors keep their file positions.

pub mod duration;
pub mod selector;
pub mod suggest;

pub use duration::{DurationError, parse_duration};
pub use selector::{Labels, Operator, Requirement, Selector, SelectorError};
pub use suggest::{closest, edit_distance};
