//! The report as JSON: the shape is `Report`'s serde form (docs/METRICS.md).

use std::io::Write;

use patrol_core::metrics::Report;

/// Pretty-printed JSON, ending with a newline. Undefined rates are `null`.
pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("a report serialises");
    s.push('\n');
    s
}

/// [`render`] written to `out` as it is made (a long period's JSON is tens
/// of megabytes: it is never held whole).
///
/// # Errors
/// What writing to `out` fails with.
pub fn write(report: &Report, out: impl std::io::Write) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut out, report).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}
