//! Markdown tables for the suites' figures.

/// A markdown table with `header` and `rows` (cells are escaped for `|`; a line break is a
/// space and other control characters, such as the NULs of a `/proc/*/environ` a guest read,
/// are shown as `\0`-style escapes, so the table stays text).
pub(crate) fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let cell = |s: &str| {
        s.chars()
            .map(|c| match c {
                '|' => "\\|".to_string(),
                '\n' => " ".to_string(),
                c if c.is_control() => c.escape_default().to_string(),
                c => c.to_string(),
            })
            .collect::<String>()
    };
    let mut out = format!("| {} |\n", header.join(" | "));
    out += &format!("|{}\n", "---|".repeat(header.len()));
    for r in rows {
        out += &format!(
            "| {} |\n",
            r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
        );
    }
    out
}
