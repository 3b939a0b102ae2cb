//! A rendered table: Markdown for the report, CSV for other tools. Cells are already formatted
//! with fixed decimal places, so both outputs show the same digits.

/// A table with a file stem, a title, a header row, rows of formatted cells and notes.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// File stem under `tables/` (e.g. `p84_equal_steps`).
    pub stem: String,
    /// Title shown above the table.
    pub title: String,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows of formatted cells (same length as `headers`).
    pub rows: Vec<Vec<String>>,
    /// Sentences printed under the table (definitions, missing data).
    pub notes: Vec<String>,
}

impl Table {
    /// An empty table.
    pub fn new(stem: &str, title: &str, headers: &[&str]) -> Self {
        Table {
            stem: stem.to_string(),
            title: title.to_string(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Appends a note.
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// The table as a Markdown section (title, table, notes).
    pub fn to_markdown(&self) -> String {
        let mut s = format!("### {}\n\n", self.title);
        s.push_str(&md_row(&self.headers));
        s.push_str(&md_row(&self.headers.iter().map(|_| "---".to_string()).collect::<Vec<_>>()));
        for r in &self.rows {
            s.push_str(&md_row(r));
        }
        if !self.notes.is_empty() {
            s.push('\n');
            for n in &self.notes {
                s.push_str(&format!("- {n}\n"));
            }
        }
        s
    }

    /// The table as CSV (RFC 4180 quoting), header first; notes are not included. Integers lose
    /// their thousands separators and an absent value (em dash) is an empty cell, so spreadsheet
    /// and dataframe readers parse numbers.
    pub fn to_csv(&self) -> String {
        let mut s = csv_row(&self.headers);
        for r in &self.rows {
            s.push_str(&csv_row(&r.iter().map(|c| csv_cell(c)).collect::<Vec<_>>()));
        }
        s
    }
}

fn md_row(cells: &[String]) -> String {
    let escaped: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
    format!("| {} |\n", escaped.join(" | "))
}

fn csv_cell(c: &str) -> String {
    if c == "—" {
        return String::new();
    }
    let integer_with_commas = c.contains(',')
        && c.chars().all(|ch| ch.is_ascii_digit() || ch == ',')
        && !c.starts_with(',');
    if integer_with_commas { c.replace(',', "") } else { c.to_string() }
}

fn csv_row(cells: &[String]) -> String {
    let quoted: Vec<String> = cells
        .iter()
        .map(|c| {
            if c.contains([',', '"', '\n']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.clone()
            }
        })
        .collect();
    format!("{}\n", quoted.join(","))
}

/// An integer with thousands separators, as the paper prints parameter counts (1,536,992).
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A float with fixed decimals, or an em dash when absent or not finite.
pub fn fixed(x: Option<f64>, decimals: usize) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "—".to_string(),
    }
}

/// A signed float with fixed decimals (`+0.0012`, `-0.6970`), or an em dash. The minus is ASCII so
/// CSV readers parse it.
pub fn signed(x: Option<f64>, decimals: usize) -> String {
    match x {
        Some(v) if v.is_finite() => {
            if v < 0.0 {
                format!("{v:.decimals$}")
            } else {
                format!("+{v:.decimals$}")
            }
        }
        _ => "—".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_536_992), "1,536,992");
    }

    #[test]
    fn csv_quotes_commas_and_quotes() {
        let mut t = Table::new("x", "X", &["a", "b", "c"]);
        t.row(vec!["1,536,992".into(), "say \"hi\", 2".into(), "—".into()]);
        assert_eq!(t.to_csv(), "a,b,c\n1536992,\"say \"\"hi\"\", 2\",\n");
    }

    #[test]
    fn markdown_escapes_pipes() {
        let mut t = Table::new("x", "X", &["a"]);
        t.row(vec!["p|q".into()]);
        assert!(t.to_markdown().contains("| p\\|q |"));
    }

    #[test]
    fn signed_shows_both_signs() {
        assert_eq!(signed(Some(-0.697), 3), "-0.697");
        assert_eq!(signed(Some(0.0055), 4), "+0.0055");
        assert_eq!(fixed(None, 2), "—");
    }
}
