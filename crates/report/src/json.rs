//! The report as JSON: the shape is `Report`'s serde form (docs/METRICS.md).

use patrol_core::metrics::Report;

/// Pretty-printed JSON, ending with a newline. Undefined rates are `null`.
pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("a report serialises");
    s.push('\n');
    s
}
