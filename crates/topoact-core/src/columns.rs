//! Per-sample columns beyond activations and labels (`confidence`, `loss`, `split`, ...), the
//! network's predictions, and what a researcher asks of them per graph node: a column's mean
//! or majority, the node's error rate and most frequent confusion, the most confused class
//! pairs of the whole file, and a sample's exact nearest neighbours in a layer.
//!
//! Everything here is plain arithmetic over sample indices; a node is given by its members
//! (`sample_idx`es into the dataset), so the same functions serve the CLI, the worker and the
//! tests.

use serde::{Deserialize, Serialize};

/// Integer columns with at most this many distinct values are categories (a `split`, a
/// `superclass`); above it they are numbers (a `step`, an `id`).
pub const MAX_CATEGORIES: usize = 64;

/// The values of one column, one per sample.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnValues {
    /// Floating-point values; NaN means missing.
    Numbers(Vec<f64>),
    /// Integers (booleans as 0/1).
    Integers(Vec<i64>),
    /// Strings.
    Text(Vec<String>),
}

impl ColumnValues {
    pub fn len(&self) -> usize {
        match self {
            ColumnValues::Numbers(values) => values.len(),
            ColumnValues::Integers(values) => values.len(),
            ColumnValues::Text(values) => values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the entries whose `keep` flag is set (the rows kept after dropping non-finite
    /// activations).
    pub fn retain_rows(&mut self, keep: &[bool]) {
        fn retain<T>(values: &mut Vec<T>, keep: &[bool]) {
            let mut flags = keep.iter();
            values.retain(|_| flags.next().copied().unwrap_or(false));
        }
        match self {
            ColumnValues::Numbers(values) => retain(values, keep),
            ColumnValues::Integers(values) => retain(values, keep),
            ColumnValues::Text(values) => retain(values, keep),
        }
    }
}

/// A named per-sample column of a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: ColumnValues,
}

/// How a column is read and coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// A sequential scale: node mean, point value.
    Numeric,
    /// A categorical palette: node majority and its purity.
    Categorical,
}

/// What the UI is told about a column (no per-sample values).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnSummary {
    pub name: String,
    pub kind: ColumnKind,
    /// The categories in order (categorical columns), as text.
    pub categories: Vec<String>,
    /// Smallest and largest finite value (numeric columns with at least one).
    pub range: Option<(f64, f64)>,
    /// Samples without a value (NaN).
    pub n_missing: usize,
}

impl Column {
    /// The column's categories in order, or `None` for a numeric column.
    pub fn categories(&self) -> Option<Vec<String>> {
        match &self.values {
            ColumnValues::Numbers(_) => None,
            ColumnValues::Integers(values) => {
                let mut distinct: Vec<i64> = values.clone();
                distinct.sort_unstable();
                distinct.dedup();
                (distinct.len() <= MAX_CATEGORIES)
                    .then(|| distinct.iter().map(i64::to_string).collect())
            }
            ColumnValues::Text(values) => {
                let mut distinct: Vec<&String> = values.iter().collect();
                distinct.sort_unstable();
                distinct.dedup();
                Some(distinct.into_iter().cloned().collect())
            }
        }
    }

    pub fn kind(&self) -> ColumnKind {
        if self.categories().is_some() {
            ColumnKind::Categorical
        } else {
            ColumnKind::Numeric
        }
    }

    /// Sample `sample_idx`'s value as a number (NaN for missing or text).
    pub fn number(&self, sample_idx: usize) -> f64 {
        match &self.values {
            ColumnValues::Numbers(values) => values.get(sample_idx).copied().unwrap_or(f64::NAN),
            ColumnValues::Integers(values) => {
                values.get(sample_idx).map_or(f64::NAN, |&v| v as f64)
            }
            ColumnValues::Text(_) => f64::NAN,
        }
    }

    /// Sample `sample_idx`'s value as text (empty when out of range; `NaN` for missing).
    pub fn text(&self, sample_idx: usize) -> String {
        match &self.values {
            ColumnValues::Numbers(values) => values
                .get(sample_idx)
                .map_or(String::new(), |v| v.to_string()),
            ColumnValues::Integers(values) => values
                .get(sample_idx)
                .map_or(String::new(), |v| v.to_string()),
            ColumnValues::Text(values) => values.get(sample_idx).cloned().unwrap_or_default(),
        }
    }

    pub fn summary(&self) -> ColumnSummary {
        let categories = self.categories();
        let kind = if categories.is_some() {
            ColumnKind::Categorical
        } else {
            ColumnKind::Numeric
        };
        let (range, n_missing) = match &self.values {
            ColumnValues::Numbers(values) => {
                let finite = values.iter().copied().filter(|v| v.is_finite());
                let range = finite.fold(None, |acc: Option<(f64, f64)>, v| {
                    Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
                });
                (range, values.iter().filter(|v| v.is_nan()).count())
            }
            ColumnValues::Integers(values) if kind == ColumnKind::Numeric => {
                let lo = values.iter().min().map(|&v| v as f64);
                let hi = values.iter().max().map(|&v| v as f64);
                (lo.zip(hi), 0)
            }
            _ => (None, 0),
        };
        ColumnSummary {
            name: self.name.clone(),
            kind,
            categories: categories.unwrap_or_default(),
            range,
            n_missing,
        }
    }

    /// One value per sample for colouring points: the value itself (numeric columns; NaN
    /// for missing), or the index of the sample's category in `categories` (categorical
    /// columns, with [`Column::categories`] computed once by the caller; NaN when the value
    /// is in none).
    pub fn per_sample_codes(&self, categories: Option<&[String]>) -> Vec<f32> {
        let n_samples = self.values.len();
        match categories {
            None => (0..n_samples)
                .map(|sample_idx| self.number(sample_idx) as f32)
                .collect(),
            Some(categories) => {
                let index: std::collections::HashMap<&str, usize> = categories
                    .iter()
                    .enumerate()
                    .map(|(category_idx, name)| (name.as_str(), category_idx))
                    .collect();
                (0..n_samples)
                    .map(|sample_idx| {
                        index
                            .get(self.text(sample_idx).as_str())
                            .map_or(f32::NAN, |&category_idx| category_idx as f32)
                    })
                    .collect()
            }
        }
    }

    /// The column over one node's members.
    pub fn node_stat(&self, members: &[usize]) -> NodeColumnStat {
        self.node_stat_in(self.categories().as_deref(), members)
    }

    /// [`Column::node_stat`] with the column's [`Column::categories`] computed once by the
    /// caller (they sort the whole column: once per column, not once per node).
    pub fn node_stat_in(&self, categories: Option<&[String]>, members: &[usize]) -> NodeColumnStat {
        match categories {
            None => {
                let (sum, count) = members
                    .iter()
                    .map(|&sample_idx| self.number(sample_idx))
                    .filter(|v| v.is_finite())
                    .fold((0.0f64, 0usize), |(sum, count), v| (sum + v, count + 1));
                NodeColumnStat::Numeric {
                    mean: if count == 0 {
                        f64::NAN
                    } else {
                        sum / count as f64
                    },
                    n_values: count,
                }
            }
            Some(categories) => {
                let mut counts = vec![0usize; categories.len()];
                for &sample_idx in members {
                    let text = self.text(sample_idx);
                    if let Ok(pos) = categories.binary_search(&text) {
                        counts[pos] += 1;
                    } else if let Some(pos) = categories.iter().position(|c| *c == text) {
                        counts[pos] += 1;
                    }
                }
                // The most frequent category; ties go to the first in order.
                let (best, &count) = counts
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
                    .unwrap_or((0, &0));
                NodeColumnStat::Categorical {
                    majority: categories.get(best).cloned().unwrap_or_default(),
                    category_idx: best,
                    purity: if members.is_empty() {
                        0.0
                    } else {
                        count as f64 / members.len() as f64
                    },
                }
            }
        }
    }
}

/// A column over one node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeColumnStat {
    /// Mean of the members' finite values (NaN when none has one).
    Numeric { mean: f64, n_values: usize },
    /// The members' most frequent category and the share of members in it.
    Categorical {
        majority: String,
        category_idx: usize,
        purity: f64,
    },
}

/// A true class predicted as another, and how often.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub true_class: u32,
    pub predicted_class: u32,
    pub count: usize,
}

/// A node's mistakes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeMistakes {
    /// Members whose prediction differs from their label, over members with both.
    pub error_rate: f64,
    pub n_errors: usize,
    pub n_judged: usize,
    /// The most frequent (label, prediction) pair among the errors; ties go to the smaller
    /// label, then the smaller prediction.
    pub top_confusion: Option<Confusion>,
    /// Every (label, prediction) pair among the errors, most frequent first (the first is
    /// `top_confusion`).
    #[serde(default)]
    pub confusions: Vec<Confusion>,
}

/// The mistakes among a node's members. `labels` and `predictions` are per sample.
pub fn node_mistakes(labels: &[u32], predictions: &[u32], members: &[usize]) -> NodeMistakes {
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let mut n_judged = 0usize;
    for &sample_idx in members {
        let (Some(&label), Some(&prediction)) =
            (labels.get(sample_idx), predictions.get(sample_idx))
        else {
            continue;
        };
        n_judged += 1;
        if label != prediction {
            pairs.push((label, prediction));
        }
    }
    let n_errors = pairs.len();
    let confusions = most_frequent_pairs(pairs);
    NodeMistakes {
        error_rate: if n_judged == 0 {
            0.0
        } else {
            n_errors as f64 / n_judged as f64
        },
        n_errors,
        n_judged,
        top_confusion: confusions.first().copied(),
        confusions,
    }
}

/// Whether the network got each sample right: 0 right, 1 wrong, NaN where the sample has no
/// label or no prediction (`labels` and `predictions` per sample; `u32::MAX` is no label).
pub fn correctness(labels: &[u32], predictions: &[u32]) -> Vec<f32> {
    labels
        .iter()
        .zip(predictions)
        .map(|(&label, &prediction)| {
            if label == u32::MAX || prediction == u32::MAX {
                f32::NAN
            } else if label == prediction {
                0.0
            } else {
                1.0
            }
        })
        .collect()
}

/// Every (label, prediction) pair that differs, most frequent first (ties: smaller label,
/// then smaller prediction).
pub fn confused_pairs(labels: &[u32], predictions: &[u32]) -> Vec<Confusion> {
    most_frequent_pairs(
        labels
            .iter()
            .zip(predictions)
            .filter(|(label, prediction)| label != prediction)
            .map(|(&label, &prediction)| (label, prediction))
            .collect(),
    )
}

fn most_frequent_pairs(mut pairs: Vec<(u32, u32)>) -> Vec<Confusion> {
    pairs.sort_unstable();
    let mut confusions: Vec<Confusion> = Vec::new();
    for (true_class, predicted_class) in pairs {
        match confusions.last_mut() {
            Some(last)
                if last.true_class == true_class && last.predicted_class == predicted_class =>
            {
                last.count += 1
            }
            _ => confusions.push(Confusion {
                true_class,
                predicted_class,
                count: 1,
            }),
        }
    }
    // Stable: equal counts keep the (label, prediction) order.
    confusions.sort_by_key(|confusion| std::cmp::Reverse(confusion.count));
    confusions
}

/// A sample's exact nearest neighbours live in [`crate::neighbours::of_sample`]; these
/// paths are kept for callers.
pub use crate::neighbours::of_sample::{nearest_neighbours, Neighbour};

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, values: ColumnValues) -> Column {
        Column {
            name: name.to_string(),
            values,
        }
    }

    #[test]
    fn numeric_node_mean_skips_missing_values() {
        let confidence = column(
            "confidence",
            ColumnValues::Numbers(vec![0.5, f64::NAN, 1.0, 0.25]),
        );
        assert_eq!(confidence.kind(), ColumnKind::Numeric);
        assert_eq!(
            confidence.node_stat(&[0, 1, 2]),
            NodeColumnStat::Numeric {
                mean: 0.75,
                n_values: 2
            }
        );
        let summary = confidence.summary();
        assert_eq!(summary.range, Some((0.25, 1.0)));
        assert_eq!(summary.n_missing, 1);
    }

    #[test]
    fn per_sample_codes_and_correctness() {
        let confidence = column(
            "confidence",
            ColumnValues::Numbers(vec![0.5, f64::NAN, 1.0]),
        );
        let codes = confidence.per_sample_codes(None);
        assert_eq!((codes[0], codes[2]), (0.5, 1.0));
        assert!(codes[1].is_nan());
        let right_wrong = correctness(&[1, 2, u32::MAX, 3], &[1, 0, 0, u32::MAX]);
        assert_eq!(&right_wrong[..2], &[0.0, 1.0]);
        assert!(right_wrong[2].is_nan() && right_wrong[3].is_nan());
    }

    #[test]
    fn categorical_node_majority_and_purity() {
        let split = column(
            "split",
            ColumnValues::Text(vec![
                "train".into(),
                "test".into(),
                "train".into(),
                "val".into(),
            ]),
        );
        assert_eq!(split.kind(), ColumnKind::Categorical);
        assert_eq!(split.summary().categories, vec!["test", "train", "val"]);
        assert_eq!(
            split.node_stat(&[0, 2, 3]),
            NodeColumnStat::Categorical {
                majority: "train".into(),
                category_idx: 1,
                purity: 2.0 / 3.0
            }
        );
        let codes = split.per_sample_codes(split.categories().as_deref());
        assert_eq!(codes, vec![1.0, 0.0, 1.0, 2.0]);
        // Ties go to the first category in order.
        assert_eq!(
            split.node_stat(&[1, 3]),
            NodeColumnStat::Categorical {
                majority: "test".into(),
                category_idx: 0,
                purity: 0.5
            }
        );
    }

    #[test]
    fn integers_are_categories_up_to_the_limit() {
        let few = column("fold", ColumnValues::Integers(vec![0, 1, 2, 1]));
        assert_eq!(few.kind(), ColumnKind::Categorical);
        let many = column(
            "step",
            ColumnValues::Integers((0..=MAX_CATEGORIES as i64).collect()),
        );
        assert_eq!(many.kind(), ColumnKind::Numeric);
        assert_eq!(many.summary().range, Some((0.0, MAX_CATEGORIES as f64)));
    }

    #[test]
    fn mistakes_count_errors_and_the_top_confusion() {
        let labels = [0, 0, 1, 1, 2, 2, 2];
        let predictions = [0, 1, 1, 0, 1, 1, 0];
        let node = node_mistakes(&labels, &predictions, &[0, 1, 3, 4, 5, 6]);
        assert_eq!(node.n_judged, 6);
        assert_eq!(node.n_errors, 5);
        assert_eq!(
            node.top_confusion,
            Some(Confusion {
                true_class: 2,
                predicted_class: 1,
                count: 2
            })
        );
        let all = confused_pairs(&labels, &predictions);
        assert_eq!(
            all[0],
            Confusion {
                true_class: 2,
                predicted_class: 1,
                count: 2
            }
        );
        // Equal counts in (label, prediction) order.
        assert_eq!(
            all[1..]
                .iter()
                .map(|c| (c.true_class, c.predicted_class))
                .collect::<Vec<_>>(),
            vec![(0, 1), (1, 0), (2, 0)]
        );
        assert_eq!(node_mistakes(&labels, &predictions, &[]).error_rate, 0.0);
    }
}
