//! Kubernetes label selectors (`matchLabels` + `matchExpressions`): golive's one selector
//! grammar, from `golive-grammar`, re-exported where the analyzer's callers expect it.

pub use golive_grammar::selector::{
    Labels, Operator, Requirement, Selector, SelectorError, format_labels,
};
