//! A node's facts beyond its classes, as the tooltip and the details panel write them: its
//! mistakes (error rate and most frequent confusion, when the file holds predictions) and
//! its value of each per-sample column.

use topoact_core::columns::{ColumnSummary, NodeColumnStat, NodeMistakes};

use crate::protocol::DrawnNode;

/// "error rate 12.5 % (5 of 40) · most confused: Shirt → T-shirt/top 3 (60 % of errors)";
/// `None` without predictions.
pub fn mistakes_line(node: &DrawnNode, class_names: &[String]) -> Option<String> {
    let mistakes = node.mistakes.as_ref().filter(|m| m.n_judged > 0)?;
    let mut line = format!(
        "error rate {:.1} % ({} of {})",
        mistakes.error_rate * 100.0,
        mistakes.n_errors,
        mistakes.n_judged
    );
    if let Some(confusion) = top_confusion_text(mistakes, class_names) {
        line.push_str(" · most confused: ");
        line.push_str(&confusion);
    }
    Some(line)
}

/// "Shirt → T-shirt/top 3 (60 % of errors)".
pub fn top_confusion_text(mistakes: &NodeMistakes, class_names: &[String]) -> Option<String> {
    let confusion = mistakes.top_confusion.as_ref()?;
    Some(format!(
        "{} → {} {} ({:.0} % of errors)",
        name_of(class_names, confusion.true_class),
        name_of(class_names, confusion.predicted_class),
        confusion.count,
        confusion.count as f64 / mistakes.n_errors.max(1) as f64 * 100.0
    ))
}

/// A class's name (`class 12` past the known names).
pub fn name_of(class_names: &[String], class_idx: u32) -> String {
    class_names
        .get(class_idx as usize)
        .cloned()
        .unwrap_or_else(|| format!("class {class_idx}"))
}

/// One line per column: "confidence: mean 0.8123", "split: train (75 %)".
pub fn column_lines(node: &DrawnNode, columns: &[ColumnSummary]) -> Vec<(String, String)> {
    node.columns
        .iter()
        .zip(columns)
        .map(|(stat, column)| {
            let value = match stat {
                NodeColumnStat::Numeric { mean, n_values } if mean.is_finite() => {
                    format!("mean {mean:.4} ({n_values} values)")
                }
                NodeColumnStat::Numeric { .. } => "no values".into(),
                NodeColumnStat::Categorical {
                    majority, purity, ..
                } => format!("{majority} ({:.0} %)", purity * 100.0),
            };
            (column.name.clone(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use topoact_core::columns::Confusion;

    #[test]
    fn the_mistakes_line_names_the_top_confusion() {
        let mut node: DrawnNode = serde_json::from_value(serde_json::json!({
            "name": "cube0_cluster0", "size": 40, "lens_mean": 1.0, "top_classes": [],
            "members": [], "position": [0.0, 0.0], "radius": 1.0
        }))
        .expect("a node");
        assert_eq!(mistakes_line(&node, &[]), None);
        node.mistakes = Some(NodeMistakes {
            error_rate: 0.125,
            n_errors: 5,
            n_judged: 40,
            top_confusion: Some(Confusion {
                true_class: 1,
                predicted_class: 0,
                count: 3,
            }),
            confusions: vec![],
        });
        let names = vec!["T-shirt/top".to_string(), "Shirt".to_string()];
        assert_eq!(
            mistakes_line(&node, &names).as_deref(),
            Some("error rate 12.5 % (5 of 40) · most confused: Shirt → T-shirt/top 3 (60 % of errors)")
        );
    }
}
