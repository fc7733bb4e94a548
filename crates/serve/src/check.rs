//! `/check`: the findings of `patrol check` (`Store::check`), each patrol
//! a finding names linked to its page; `/api/check` is `check --json`.

use std::fmt::Write as _;

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use patrol_report::html::escape;
use patrol_store::check::{Finding, Severity};

use crate::Shared;
use crate::auth::Who;
use crate::pages::{Nav, enc, html_page, layout};
use crate::web::{AppError, json_body, with_store};

/// `GET /api/check`: `patrol check --json`.
pub async fn check(State(state): State<Shared>) -> Result<Response, AppError> {
    let findings = with_store(&state, |store| Ok(store.check()?)).await?;
    json_body(&findings)
}

/// `GET /check`: the findings as a table.
pub async fn page(State(state): State<Shared>, Extension(who): Extension<Who>) -> Response {
    let w = who.clone();
    html_page(
        &who,
        with_store(&state, move |store| {
            let findings = store.check()?;
            Ok(check_page(&w, store.site().name.as_str(), &findings))
        })
        .await,
    )
}

/// How `check --json` names a severity (`ok`, `note`, `problem`).
fn word(s: Severity) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A finding's detail, escaped, each patrol it names a link to its page.
fn detail_html(f: &Finding) -> String {
    let mut html = escape(&f.detail);
    // A whole id is hex digits and dashes: the same escaped.
    for id in f.patrols() {
        html = html.replace(
            id,
            &format!(
                "<a href=\"/patrols/{}\" title=\"{}\">{}</a>",
                enc(id),
                escape(id),
                escape(patrol_core::ids::short_id(id))
            ),
        );
    }
    html
}

fn check_page(who: &Who, site: &str, findings: &[Finding]) -> String {
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let (problems, notes) = (count(Severity::Problem), count(Severity::Note));
    let mut b = String::from("<h1>Check</h1>");
    let _ = write!(
        b,
        "<p id=\"check-summary\">{problems} {}, {notes} {}: what <code>patrol check</code> finds (is the file sound, are the figures consistent with the tracks, what quality control left out). <a href=\"/api/check\">JSON</a></p>",
        if problems == 1 { "problem" } else { "problems" },
        if notes == 1 { "note" } else { "notes" },
    );
    b.push_str("<table id=\"findings\"><tr><th>check</th><th>result</th><th>detail</th></tr>");
    for f in findings {
        let sev = word(f.severity);
        let _ = write!(
            b,
            "<tr class=\"sev-{sev}\"><td class=\"nw\">{}</td><td class=\"sev nw\">{sev}</td><td>{}</td></tr>",
            escape(&f.check),
            detail_html(f)
        );
    }
    b.push_str("</table>");
    layout(who, site, "Check", Nav::Check, &b, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_patrol_is_a_link_and_the_rest_is_escaped() {
        let id = "01a25326-7cd5-7308-b088-000000000001";
        let f = Finding {
            check: "quality: spike".into(),
            severity: Severity::Note,
            detail: format!("patrol {id} (<b>.gpx): a spike; `patrol edit patrol 00000001`"),
        };
        let html = detail_html(&f);
        assert!(html.contains(&format!(
            "patrol <a href=\"/patrols/{id}\" title=\"{id}\">00000001</a> (&lt;b&gt;.gpx)"
        )));
        let page = check_page(&Who::default(), "S", &[f]);
        assert!(page.contains("0 problems, 1 note") && page.contains("class=\"sev-note\""));
    }
}
