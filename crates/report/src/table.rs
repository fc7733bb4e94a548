//! The one engine of aligned text tables for the terminal, used by the
//! report's text and by every command of the CLI. Every cell is escaped:
//! text from files and merged databases (team names, notes, file names) may
//! hold control characters, which must not move the cursor, rewrite a line
//! or recolour the terminal.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a character must not reach a terminal as it is: C0 and C1 control
/// characters (ESC, CR, BEL, ...), DEL, and the bidirectional controls that
/// reorder what is shown.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every control character written as an escape (`\n`, `\r`,
/// `\t`, `\x1b`, `\u{202e}`), so it shows as text and does nothing.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// How a table's columns are aligned and framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// Columns of numbers right-aligned, the rest left; no frame (listings).
    Listing,
    /// The first column left-aligned, the others right-aligned; indented by
    /// two spaces, a rule under the header (the report's sections).
    Report,
}

/// A table: a header and rows of cells.
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    style: Style,
    /// A report table's first columns that are text (left-aligned).
    text_columns: usize,
    /// A listing's columns that are text whatever their cells look like
    /// (ids, digests), left-aligned.
    text: Vec<bool>,
}

impl Table {
    /// A listing: the first column (what names the row: an id, a date, a
    /// name) left-aligned; the other columns whose cells all parse as
    /// numbers (or are empty or `-`) right-aligned. A column of ids is
    /// named with [`Table::text`]: a short id whose hex digits happen to be
    /// all decimal digits is still an id.
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| escape(h).into_owned()).collect(),
            rows: Vec::new(),
            style: Style::Listing,
            text_columns: 1,
            text: vec![false; header.len()],
        }
    }

    /// The columns with these headers are text (ids, digests, names):
    /// left-aligned even when every cell reads as a number.
    #[must_use]
    pub fn text(mut self, headers: &[&str]) -> Self {
        for (i, h) in self.header.iter().enumerate() {
            if headers.contains(&h.as_str()) {
                self.text[i] = true;
            }
        }
        self
    }

    /// A table of the report: the first column left, the others right,
    /// indented, with a rule under the header.
    pub fn report(header: &[&str]) -> Self {
        Table {
            style: Style::Report,
            ..Table::new(header)
        }
    }

    /// A table of the report whose first `n` columns are text, left-aligned
    /// (the others right).
    pub fn report_with_text_columns(header: &[&str], n: usize) -> Self {
        Table {
            text_columns: n.max(1),
            ..Table::report(header)
        }
    }

    /// Add a row (escaped here).
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| escape(c.as_ref()).into_owned())
                .collect(),
        );
    }

    /// The table as text: columns padded to their widest cell, two spaces apart (a report table indented and ruled under the header), one `\n`-ended line per row.
    pub fn render(&self) -> String {
        let n = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let right: Vec<bool> = (0..n)
            .map(|i| match self.style {
                Style::Report => i >= self.text_columns,
                Style::Listing => {
                    i > 0
                        && !self.text[i]
                        && !self.rows.is_empty()
                        && self.rows.iter().all(|r| {
                            r.get(i).is_none_or(|c| {
                                c.is_empty() || c == "-" || c.parse::<f64>().is_ok()
                            })
                        })
                }
            })
            .collect();
        let indent = if self.style == Style::Report {
            "  "
        } else {
            ""
        };
        let line = |cells: &[String]| {
            let mut out = String::from(indent);
            for (i, w) in widths.iter().enumerate() {
                let c = cells.get(i).map_or("", String::as_str);
                let pad = w - c.chars().count();
                if i > 0 {
                    out.push_str("  ");
                }
                if right[i] {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(c);
                } else {
                    out.push_str(c);
                    out.push_str(&" ".repeat(pad));
                }
            }
            out.truncate(out.trim_end().len());
            out.push('\n');
            out
        };
        let mut out = line(&self.header);
        if self.style == Style::Report {
            let total: usize = widths.iter().sum::<usize>() + 2 * n.saturating_sub(1);
            let _ = writeln!(out, "{indent}{}", "-".repeat(total));
        }
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_in_every_cell() {
        let mut t = Table::new(&["team", "km"]);
        t.row(["\u{1b}[31mRed\r", "1.5"]);
        t.row(["a\u{202e}b\u{9b}", "-"]);
        let out = t.render();
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(out.contains("\\x1b[31mRed\\r"), "{out}");
        assert!(out.contains("a\\u{202e}b\\x9b"), "{out}");
        assert_eq!(escape("plain é"), "plain é");
    }

    #[test]
    fn listings_right_align_numbers_and_reports_all_but_the_first() {
        let mut t = Table::new(&["name", "n"]);
        t.row(["a", "10"]);
        t.row(["bb", "2"]);
        assert_eq!(t.render(), "name   n\na     10\nbb     2\n");
        let mut r = Table::report(&["Figure", "Value"]);
        r.row(["Patrols", "3"]);
        assert_eq!(
            r.render(),
            "  Figure   Value\n  --------------\n  Patrols      3\n"
        );
    }

    #[test]
    fn a_short_id_of_decimal_digits_is_not_taken_for_a_number() {
        // One short id in 40 is eight decimal digits: `show`'s leg table
        // once right-aligned its header then (a snapshot caught it).
        let mut t = Table::new(&["leg", "members"]);
        t.row(["12345678", "4"]);
        assert_eq!(t.render(), "leg       members\n12345678        4\n");
        // Nor in a later column, once the listing names it as text.
        let mut t = Table::new(&["observation", "patrol", "km"]).text(&["patrol"]);
        t.row(["0a1b2c3d", "01234567", "3"]);
        assert_eq!(
            t.render(),
            "observation  patrol    km\n0a1b2c3d     01234567   3\n"
        );
    }
}
