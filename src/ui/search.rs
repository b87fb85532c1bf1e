//! Class search: partial and fuzzy matching of a query against class names.
//!
//! ImageNet-style names list synonyms separated by commas ("tabby, tabby cat"); each synonym
//! counts on its own. A class matches when the query is a substring of a synonym (best),
//! the start of a word, or within a small edit distance of a synonym's word of similar
//! length (typos). Matching ignores case and surrounding spaces.

/// A class that matches a query, with how well.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassMatch {
    pub class_idx: u32,
    /// Lower is better: 0 exact synonym, 1 prefix, 2 substring, 3 + edits for fuzzy.
    pub rank: u32,
}

/// At most `limit` classes matching `query`, best first (ties by class name order).
pub fn search_classes(class_names: &[String], query: &str, limit: usize) -> Vec<ClassMatch> {
    let query = query.trim().to_lowercase();
    if query.is_empty() {
        return Vec::new();
    }
    let mut matches: Vec<(ClassMatch, &str)> = class_names
        .iter()
        .enumerate()
        .filter_map(|(class_idx, name)| {
            let rank = name
                .split(',')
                .filter_map(|synonym| rank_synonym(&synonym.trim().to_lowercase(), &query))
                .min()?;
            Some((
                ClassMatch {
                    class_idx: class_idx as u32,
                    rank,
                },
                name.as_str(),
            ))
        })
        .collect();
    matches
        .sort_by(|(a, a_name), (b, b_name)| a.rank.cmp(&b.rank).then_with(|| a_name.cmp(b_name)));
    matches
        .into_iter()
        .take(limit)
        .map(|(found, _)| found)
        .collect()
}

fn rank_synonym(synonym: &str, query: &str) -> Option<u32> {
    if synonym == query {
        return Some(0);
    }
    if synonym.starts_with(query)
        || synonym
            .split([' ', '-', '/'])
            .any(|word| word.starts_with(query))
    {
        return Some(1);
    }
    if synonym.contains(query) {
        return Some(2);
    }
    // Typos: compare with each word (and the whole synonym) of comparable length.
    let allowed = match query.chars().count() {
        0..=3 => 0,
        4..=6 => 1,
        _ => 2,
    };
    if allowed == 0 {
        return None;
    }
    std::iter::once(synonym)
        .chain(synonym.split([' ', '-', '/']))
        .map(|word| strsim::damerau_levenshtein(word, query))
        .min()
        .filter(|&edits| edits <= allowed)
        .map(|edits| 3 + edits as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn found(class_names: &[String], query: &str) -> Vec<u32> {
        search_classes(class_names, query, 20)
            .into_iter()
            .map(|m| m.class_idx)
            .collect()
    }

    #[test]
    fn partial_matches_any_synonym() {
        let classes = names(&[
            "tabby, tabby cat",
            "tiger cat",
            "Egyptian cat",
            "trench coat",
            "T-shirt/top",
        ]);
        assert_eq!(found(&classes, "cat"), vec![2, 0, 1]);
        assert_eq!(found(&classes, "TABBY"), vec![0]);
        assert_eq!(found(&classes, "shirt"), vec![4]);
        assert!(found(&classes, "").is_empty());
    }

    #[test]
    fn fuzzy_matches_tolerate_typos() {
        let classes = names(&["Sneaker", "Sandal", "Ankle boot", "Pullover"]);
        assert_eq!(found(&classes, "sneakr"), vec![0]);
        assert_eq!(found(&classes, "pulover"), vec![3]);
        assert_eq!(found(&classes, "boto"), vec![2]);
        assert!(found(&classes, "xyz").is_empty());
    }

    #[test]
    fn exact_beats_prefix_beats_substring() {
        let classes = names(&["Bag", "Baggage", "Handbag"]);
        assert_eq!(found(&classes, "bag"), vec![0, 1, 2]);
    }

    #[test]
    fn limit_is_respected() {
        let classes: Vec<String> = (0..50).map(|i| format!("class {i}")).collect();
        assert_eq!(search_classes(&classes, "class", 20).len(), 20);
    }
}

/// One class of the directory: how many nodes carry it among their top three.
#[derive(Clone, Debug, PartialEq)]
pub struct DirectoryEntry {
    pub class_idx: u32,
    pub name: String,
    pub node_count: usize,
}

/// The classes present in a graph (in some node's top three), alphabetical (case-insensitive)
/// and grouped by their first letter (`#` for names that do not start with a letter).
pub fn class_directory<'a>(
    class_names: &[String],
    top_classes_of_nodes: impl Iterator<Item = &'a [u32]>,
) -> Vec<(char, Vec<DirectoryEntry>)> {
    let mut node_counts = vec![0usize; class_names.len()];
    for top in top_classes_of_nodes {
        for &class_idx in top {
            if let Some(count) = node_counts.get_mut(class_idx as usize) {
                *count += 1;
            }
        }
    }
    let mut entries: Vec<DirectoryEntry> = node_counts
        .into_iter()
        .enumerate()
        .filter(|&(_, count)| count > 0)
        .map(|(class_idx, node_count)| DirectoryEntry {
            class_idx: class_idx as u32,
            name: class_names[class_idx].clone(),
            node_count,
        })
        .collect();
    entries.sort_by_key(|entry| (entry.name.to_lowercase(), entry.class_idx));
    let mut groups: Vec<(char, Vec<DirectoryEntry>)> = Vec::new();
    for entry in entries {
        let letter = entry
            .name
            .chars()
            .next()
            .filter(|c| c.is_alphabetic())
            .map(|c| c.to_uppercase().next().unwrap_or(c))
            .unwrap_or('#');
        match groups.last_mut() {
            Some((last, group)) if *last == letter => group.push(entry),
            _ => groups.push((letter, vec![entry])),
        }
    }
    groups
}

#[cfg(test)]
mod directory_tests {
    use super::*;

    #[test]
    fn the_directory_groups_present_classes_by_letter_with_node_counts() {
        let names: Vec<String> = ["Sneaker", "bag", "Sandal", "Coat", "<b>x</b>"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let tops: Vec<Vec<u32>> = vec![vec![0, 2], vec![0, 1], vec![4]];
        let groups = class_directory(&names, tops.iter().map(|t| t.as_slice()));
        let letters: Vec<char> = groups.iter().map(|(letter, _)| *letter).collect();
        assert_eq!(letters, vec!['#', 'B', 'S']);
        let s_group: Vec<(&str, usize)> = groups[2]
            .1
            .iter()
            .map(|e| (e.name.as_str(), e.node_count))
            .collect();
        assert_eq!(s_group, vec![("Sandal", 1), ("Sneaker", 2)]);
        assert!(
            groups
                .iter()
                .all(|(_, group)| group.iter().all(|e| e.name != "Coat")),
            "absent classes are left out"
        );
    }
}
