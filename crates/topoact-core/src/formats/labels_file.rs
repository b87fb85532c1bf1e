//! Label side files that accompany `.npy` activations.
//!
//! - CSV: a header line `label` or `label,class_name`, then one line per sample, in sample
//!   order. Fields may be double-quoted (`""` is a quote inside; a quoted field may span
//!   lines, as RFC 4180 allows). When `class_name` is
//!   given, the class names list is built from the (label, name) pairs; a label that
//!   never appears is named after its number (with a notice).
//! - JSON: `{"labels": [0, 2, 1, ...], "class_names": ["cat", "dog", ...]}`, either key
//!   optional.

use super::error::FormatError;
use super::MAX_CLASSES;

pub(crate) const CSV_LAYOUT: &str =
    "expected a header line 'label' or 'label,class_name' and then one line per sample, e.g. '3,cat'";
pub(crate) const JSON_LAYOUT: &str =
    "expected a JSON object {\"labels\": [0, 2, ...], \"class_names\": [\"cat\", ...]} (either key optional)";

/// Labels and/or class names from a side file.
pub(crate) struct SideLabels {
    pub labels: Option<Vec<i64>>,
    pub class_names: Option<Vec<String>>,
    pub notices: Vec<String>,
}

/// One CSV record: the line it starts on (1-based) and its fields.
type Record = (usize, Vec<String>);

/// Splits CSV text into records (RFC 4180): fields may be double-quoted, `""` is a quote
/// inside a quoted field, and a quoted field may hold commas and line breaks (kept as
/// `\n`). Records end at a line break outside quotes (`\n` or `\r\n`); blank lines are
/// skipped. An unclosed quote is an error at the line its record starts on.
fn csv_records(text: &str) -> Result<Vec<Record>, (usize, &'static str)> {
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut line = 1usize;
    let mut record_line = 1usize;
    let mut chars = text.chars().peekable();
    let end_record =
        |fields: &mut Vec<String>, field: &mut String, records: &mut Vec<Record>, at: usize| {
            fields.push(std::mem::take(field));
            let record = std::mem::take(fields);
            if !(record.len() == 1 && record[0].trim().is_empty()) {
                records.push((at, record));
            }
        };
    while let Some(ch) = chars.next() {
        match (ch, in_quotes) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => in_quotes = false,
            ('"', false) if field.is_empty() => in_quotes = true,
            (',', false) => fields.push(std::mem::take(&mut field)),
            ('\r', _) if chars.peek() == Some(&'\n') => {}
            ('\n', true) => {
                line += 1;
                field.push('\n');
            }
            ('\n', false) => {
                end_record(&mut fields, &mut field, &mut records, record_line);
                line += 1;
                record_line = line;
            }
            (other, _) => field.push(other),
        }
    }
    if in_quotes {
        return Err((record_line, "a quoted field is not closed"));
    }
    end_record(&mut fields, &mut field, &mut records, record_line);
    Ok(records)
}

pub(crate) fn parse_csv(bytes: &[u8], file: &str) -> Result<SideLabels, FormatError> {
    let bad = |line: usize, reason: String| FormatError::BadLabelFile {
        file: file.to_string(),
        line,
        reason,
        layout: CSV_LAYOUT,
    };
    let text =
        std::str::from_utf8(bytes).map_err(|_| bad(1, "the file is not UTF-8 text".to_string()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = csv_records(text)
        .map_err(|(line, reason)| bad(line, reason.to_string()))?
        .into_iter();
    let (_, header) = records
        .next()
        .ok_or_else(|| bad(1, "the file is empty".to_string()))?;
    let columns: Vec<String> = header.iter().map(|c| c.trim().to_string()).collect();
    let with_names = match columns.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["label"] => false,
        ["label", "class_name"] => true,
        _ => return Err(bad(1, format!("the header is '{}'", header.join(",")))),
    };
    let mut labels = Vec::new();
    let mut names_by_label: Vec<Option<String>> = Vec::new();
    for (line_no, fields) in records {
        if fields.len() != columns.len() {
            return Err(bad(
                line_no,
                format!("{} field(s) instead of {}", fields.len(), columns.len()),
            ));
        }
        let label: i64 = fields[0]
            .trim()
            .parse()
            .map_err(|_| bad(line_no, format!("'{}' is not an integer label", fields[0])))?;
        if label < 0 {
            return Err(FormatError::NegativeLabel {
                sample_idx: labels.len(),
                label,
            });
        }
        if with_names {
            let class_idx = usize::try_from(label)
                .ok()
                .filter(|&l| l < MAX_CLASSES)
                .ok_or_else(|| bad(line_no, format!("label {label} is too large")))?;
            if names_by_label.len() <= class_idx {
                names_by_label.resize(class_idx + 1, None);
            }
            let name = &fields[1];
            match &names_by_label[class_idx] {
                Some(existing) if existing != name => {
                    return Err(bad(
                        line_no,
                        format!("label {label} is named '{existing}' earlier and '{name}' here"),
                    ));
                }
                Some(_) => {}
                None => names_by_label[class_idx] = Some(name.clone()),
            }
        }
        labels.push(label);
    }
    let mut notices = Vec::new();
    let class_names = with_names.then(|| {
        let unnamed: Vec<String> = names_by_label
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_none())
            .map(|(i, _)| i.to_string())
            .collect();
        if !unnamed.is_empty() {
            notices.push(format!(
                "'{file}': class(es) {} have no sample and no name; named after their number",
                unnamed.join(", ")
            ));
        }
        names_by_label
            .into_iter()
            .enumerate()
            .map(|(i, name)| name.unwrap_or_else(|| i.to_string()))
            .collect()
    });
    Ok(SideLabels {
        labels: Some(labels),
        class_names,
        notices,
    })
}

pub(crate) fn parse_json(bytes: &[u8], file: &str) -> Result<SideLabels, FormatError> {
    let bad = |reason: String| FormatError::BadLabelFile {
        file: file.to_string(),
        line: 1,
        reason,
        layout: JSON_LAYOUT,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|error| bad(format!("it is not JSON ({error})")))?;
    let object = value
        .as_object()
        .ok_or_else(|| bad("it is not a JSON object".to_string()))?;
    let labels = match object.get("labels") {
        None => None,
        Some(list) => {
            let list = list
                .as_array()
                .ok_or_else(|| bad("'labels' is not a list".to_string()))?;
            let labels: Vec<i64> = list
                .iter()
                .enumerate()
                .map(|(sample_idx, v)| {
                    v.as_i64()
                        .ok_or_else(|| bad(format!("labels[{sample_idx}] is not an integer")))
                })
                .collect::<Result<_, _>>()?;
            Some(labels)
        }
    };
    let class_names = match object.get("class_names") {
        None => None,
        Some(list) => {
            let list = list
                .as_array()
                .ok_or_else(|| bad("'class_names' is not a list".to_string()))?;
            let names: Vec<String> = list
                .iter()
                .enumerate()
                .map(|(class_idx, v)| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad(format!("class_names[{class_idx}] is not a string")))
                })
                .collect::<Result<_, _>>()?;
            Some(names)
        }
    };
    if labels.is_none() && class_names.is_none() {
        return Err(bad("it has neither 'labels' nor 'class_names'".to_string()));
    }
    Ok(SideLabels {
        labels,
        class_names,
        notices: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_may_hold_commas_quotes_and_line_breaks() {
        let text = "label,class_name\r\n0,\"tench, Tinca tinca\"\n1,\"say \"\"hi\"\"\"\n\n2,\"two\nlines\"\n3,plain\n";
        let parsed = parse_csv(text.as_bytes(), "l.csv").expect("valid CSV");
        assert_eq!(parsed.labels, Some(vec![0, 1, 2, 3]));
        assert_eq!(
            parsed.class_names,
            Some(vec![
                "tench, Tinca tinca".to_string(),
                "say \"hi\"".to_string(),
                "two\nlines".to_string(),
                "plain".to_string(),
            ])
        );
    }

    #[test]
    fn errors_name_the_line_a_record_starts_on() {
        let unclosed = "label,class_name\n0,a\n1,\"open\nstill open\n";
        match parse_csv(unclosed.as_bytes(), "l.csv") {
            Err(FormatError::BadLabelFile { line, reason, .. }) => {
                assert_eq!(line, 3);
                assert!(reason.contains("not closed"), "{reason}");
            }
            other => panic!("{:?}", other.map(|p| p.labels)),
        }
        let after_break = "label,class_name\n0,\"a\nb\"\nx,c\n";
        match parse_csv(after_break.as_bytes(), "l.csv") {
            Err(FormatError::BadLabelFile { line, .. }) => assert_eq!(line, 4),
            other => panic!("{:?}", other.map(|p| p.labels)),
        }
    }
}
