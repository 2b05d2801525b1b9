//! "Did you mean": the known names closest to a misspelt one.

/// Levenshtein distance between `a` and `b`, counted in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The known names within `max_distance` edits of `name`, nearest first (ties by name),
/// at most `limit` of them.
pub fn closest<'a>(
    name: &str,
    known: impl IntoIterator<Item = &'a str>,
    max_distance: usize,
    limit: usize,
) -> Vec<&'a str> {
    let mut scored: Vec<(usize, &str)> = known
        .into_iter()
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, _)| *d <= max_distance)
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().take(limit).map(|(_, k)| k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("pods_redy", "pods_ready"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("héllo", "hello"), 1, "characters, not bytes");
    }

    #[test]
    fn closest_names_come_nearest_first_and_bounded() {
        let known = ["pods_ready", "pdb", "hpa", "pods_read", "tcp"];
        assert_eq!(
            closest("pods_redy", known, 2, 5),
            vec!["pods_ready", "pods_read"]
        );
        assert_eq!(closest("hpb", known, 1, 1), vec!["hpa"]);
        assert!(closest("zzzzzz", known, 2, 5).is_empty());
    }
}
