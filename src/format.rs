//! Small text formatting helpers for the UI (pure functions, tested natively).

/// A CSV field (RFC 4180): quoted when it holds a comma, quote or line break; text that a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a leading `'`.
pub fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// `1234567` -> `"1,234,567"`.
pub fn thousands(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (idx, ch) in digits.chars().enumerate() {
        if idx > 0 && (digits.len() - idx).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Bytes as a short human-readable size: `"812 B"`, `"4.2 MB"`, `"1.20 GB"`.
pub fn byte_size(bytes: u64) -> String {
    const KB: f64 = 1e3;
    const MB: f64 = 1e6;
    const GB: f64 = 1e9;
    let value = bytes as f64;
    if value >= GB {
        format!("{:.2} GB", value / GB)
    } else if value >= MB {
        format!("{:.1} MB", value / MB)
    } else if value >= KB {
        format!("{:.1} kB", value / KB)
    } else {
        format!("{bytes} B")
    }
}

/// Throughput in MB/s, or `None` for a zero duration.
pub fn megabytes_per_second(bytes: u64, elapsed_ms: f64) -> Option<f64> {
    (elapsed_ms > 0.0).then(|| bytes as f64 / 1e6 / (elapsed_ms / 1e3))
}

/// A file name stem from a layer name: letters, digits, `-` and `_` kept, anything else `_`
/// (layer names come from files and may hold path separators or markup).
pub fn file_stem(layer: &str) -> String {
    layer
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        for (value, expected) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (5000, "5,000"),
            (1234567, "1,234,567"),
        ] {
            assert_eq!(thousands(value), expected);
        }
    }

    #[test]
    fn byte_sizes_pick_a_unit() {
        assert_eq!(byte_size(812), "812 B");
        assert_eq!(byte_size(4_200_000), "4.2 MB");
        assert_eq!(byte_size(1_200_000_000), "1.20 GB");
    }

    #[test]
    fn throughput_needs_time() {
        assert_eq!(megabytes_per_second(10_000_000, 0.0), None);
        assert_eq!(megabytes_per_second(10_000_000, 1000.0), Some(10.0));
    }
}
