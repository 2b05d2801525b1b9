//! Guessing the label a selector meant: a `matchLabels` pair that matches nothing,
//! when some candidate carries its value under another key (`name: kube-system`
//! for `kubernetes.io/metadata.name: kube-system`). Lints and gates both offer it as a fix.

use std::fmt;

use crate::model::NAMESPACE_NAME_LABEL;
use crate::selector::{Labels, Selector};

/// A label pair that matches nothing, and the pair that probably was meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSuggestion {
    pub wrong: (String, String),
    pub meant: (String, String),
}

impl fmt::Display for LabelSuggestion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "use {}: {} instead of {}: {}",
            self.meant.0, self.meant.1, self.wrong.0, self.wrong.1
        )
    }
}

/// For a selector that matches none of `candidates`, finds a `matchLabels` pair that
/// no candidate carries but whose value some candidate carries under another key.
pub fn suggest_label<'a>(
    selector: &Selector,
    candidates: impl Iterator<Item = &'a Labels> + Clone,
) -> Option<LabelSuggestion> {
    for (k, v) in &selector.match_labels {
        if candidates.clone().any(|l| l.get(k) == Some(v)) {
            continue;
        }
        let mut keys: Vec<&String> = candidates
            .clone()
            .flat_map(|l| l.iter().filter(|(_, lv)| *lv == v).map(|(lk, _)| lk))
            .collect();
        keys.sort_by_key(|key| (key.as_str() != NAMESPACE_NAME_LABEL, key.len()));
        keys.dedup();
        if let Some(key) = keys.first() {
            let mut fixed = selector.clone();
            fixed.match_labels.remove(k);
            fixed.match_labels.insert((*key).clone(), v.clone());
            if candidates.clone().any(|l| fixed.matches(l)) {
                return Some(LabelSuggestion {
                    wrong: (k.clone(), v.clone()),
                    meant: ((*key).clone(), v.clone()),
                });
            }
        }
    }
    None
}
