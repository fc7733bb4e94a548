//! The pages: HTML made here from the same structs the API answers with,
//! every text escaped (`patrol_report::html::escape`).

use std::fmt::Write as _;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use patrol_core::Transport;
use patrol_core::attribute::{AttributeKind, Item};
use patrol_core::category::DataModel;
use patrol_core::model::{MAX_MEMBERS, MIN_MEMBERS};
use patrol_core::role::Action;
use patrol_report::Format;
use patrol_report::html::escape;
use patrol_store::Store;
use patrol_store::query::PatrolDetail;
use patrol_store::records::Kind;
use serde::Deserialize;

use crate::Shared;
use crate::api::{ReportParams, month, report_query};
use crate::auth::{CSRF_FIELD, Who, csrf_field};
use crate::web::{AppError, HTML, with_store};

/// Patrols a page of the list shows.
pub const PAGE_SIZE: usize = 100;

/// Which page the header marks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Patrols,
    Import,
    Report,
    Sync,
    Check,
    None,
    /// No links at all (the login page).
    Hidden,
}

/// The logged-in user's name and a logout button, for a page's header
/// (nothing on loopback, where nobody logs in).
pub(crate) fn who_box(who: &Who) -> String {
    match &who.0 {
        None => String::new(),
        Some(s) => format!(
            "<span class=\"who\"><span id=\"who\">{} ({})</span><form class=\"inline\" method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\"><button type=\"submit\" id=\"logout\">Log out</button></form></span>",
            escape(&s.name),
            s.role,
            escape(&s.csrf)
        ),
    }
}

/// The CSRF token for the pages' script (`<meta name="csrf-token">`).
fn csrf_meta(who: &Who) -> String {
    who.0.as_ref().map_or_else(String::new, |s| {
        format!("<meta name=\"csrf-token\" content=\"{}\">", escape(&s.csrf))
    })
}

/// A whole page: the header (site, nav, who is logged in), the title, the body.
pub(crate) fn layout(
    who: &Who,
    site: &str,
    title: &str,
    nav: Nav,
    body: &str,
    head: &str,
) -> String {
    // A link only to what the role may open (the gate's own table says).
    let link = |href: &str, label: &str, me: Nav| {
        if nav == Nav::Hidden || !who.may_use(&axum::http::Method::GET, href) {
            return String::new();
        }
        let on = if me == nav { " class=\"on\"" } else { "" };
        format!("<a href=\"{href}\"{on}>{label}</a>")
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{csrf}\
<title>{title} · {site}</title><link rel=\"stylesheet\" href=\"/assets/app.css\">{head}</head>\
<body><header class=\"top\"><span class=\"site\">{site}</span><nav>{}{}{}{}{}</nav>{who}</header>\
<main>\n{body}\n</main><script src=\"/assets/app.js\"></script></body></html>\n",
        link("/", "Patrols", Nav::Patrols),
        link("/import", "Import", Nav::Import),
        link("/report", "Report", Nav::Report),
        link("/sync", "Sync", Nav::Sync),
        link("/check", "Check", Nav::Check),
        csrf = csrf_meta(who),
        who = who_box(who),
        title = escape(title),
        site = escape(site),
    )
}

pub(crate) fn html_page(who: &Who, result: Result<String, AppError>) -> Response {
    match result {
        Ok(html) => ([(header::CONTENT_TYPE, HTML)], html).into_response(),
        Err(e) => error_page(who, &e),
    }
}

pub(crate) fn error_page(who: &Who, e: &AppError) -> Response {
    let body = format!(
        "<h1>{}</h1><p class=\"error\">{}</p><p><a href=\"/\">Back to the patrols</a></p>",
        escape(e.status.canonical_reason().unwrap_or("Error")),
        escape(&e.message)
    );
    (
        e.status,
        [(header::CONTENT_TYPE, HTML)],
        layout(who, "patrol", "Error", Nav::None, &body, ""),
    )
        .into_response()
}

/// Anything else: a page saying so.
pub async fn not_found(who: Option<Extension<Who>>) -> Response {
    let who = who.map(|Extension(w)| w).unwrap_or_default();
    error_page(
        &who,
        &AppError::new(StatusCode::NOT_FOUND, "there is no such page here"),
    )
}

/// A query string value, percent-encoded.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The month shown when none is asked for: that of the latest effort, else
/// this month in the site's zone.
fn default_month(store: &Store) -> Result<String, AppError> {
    if let Some(d) = store.latest_date()? {
        return Ok(d.chars().take(7).collect());
    }
    let now = chrono::Utc::now();
    Ok(
        match patrol_core::time::parse_zone(&store.site().timezone) {
            Ok(zone) => now.with_timezone(&zone).format("%Y-%m").to_string(),
            Err(_) => now.format("%Y-%m").to_string(),
        },
    )
}

/// The month before or after `m` (YYYY-MM), for the list's arrows.
fn step_month(m: &str, forward: bool) -> Option<String> {
    let p = patrol_core::metrics::parse_month(m).ok()?;
    let d = if forward {
        p.to.succ_opt()?
    } else {
        p.from.pred_opt()?
    };
    Some(d.format("%Y-%m").to_string())
}

/// An RFC 3339 time as the site's local time (`2026-10-17 07:30:05 +07`),
/// the form a ranger reads; `-` without one.
pub(crate) fn local_time(t: Option<&String>, zone: chrono_tz::Tz) -> String {
    let Some(t) = t else { return "-".into() };
    match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(d) => d
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        Err(_) => escape(t),
    }
}

pub(crate) fn site_zone(store: &Store) -> chrono_tz::Tz {
    patrol_core::time::parse_zone(&store.site().timezone).unwrap_or(chrono_tz::UTC)
}

pub(crate) fn opt(s: Option<&String>) -> String {
    s.map_or_else(|| "-".into(), |s| escape(s))
}

#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    pub month: Option<String>,
    pub page: Option<String>,
    /// Only this team's patrols (empty: every team).
    pub team: Option<String>,
    /// Only patrols with a leg of this transport (empty: every one).
    pub transport: Option<String>,
}

/// The list's filters: a team, a transport (`None`: all).
#[derive(Default)]
struct ListFilter {
    team: Option<String>,
    transport: Option<String>,
}

impl ListFilter {
    fn keeps(&self, p: &patrol_store::query::PatrolSummary) -> bool {
        self.team.as_ref().is_none_or(|t| &p.team == t)
            && self
                .transport
                .as_ref()
                .is_none_or(|t| p.transport.iter().any(|x| x == t))
    }

    /// The list's address for a month and page, with these filters.
    fn href(&self, month: &str, page: usize) -> String {
        let mut h = format!("/?month={}", enc(month));
        if let Some(t) = &self.team {
            let _ = write!(h, "&amp;team={}", enc(t));
        }
        if let Some(t) = &self.transport {
            let _ = write!(h, "&amp;transport={}", enc(t));
        }
        if page > 1 {
            let _ = write!(h, "&amp;page={page}");
        }
        h
    }
}

/// `/`: the patrols of a month, 100 a page.
pub async fn patrols(
    State(state): State<Shared>,
    Extension(who): Extension<Who>,
    Query(q): Query<ListParams>,
) -> Response {
    let w = who.clone();
    html_page(
        &who,
        with_store(&state, move |store| {
            let m = match q.month.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
                Some(m) => m.to_owned(),
                None => default_month(store)?,
            };
            let range = month(Some(&m))?.expect("a month was given");
            let page = match q.page.as_deref().map(str::trim) {
                None | Some("") => 1,
                Some(p) => p.parse::<usize>().ok().filter(|&p| p >= 1).ok_or_else(|| {
                    AppError::bad_request(format!("page: '{p}' is not a page number"))
                })?,
            };
            let given =
                |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
            let filter = ListFilter {
                team: given(q.team),
                transport: given(q.transport),
            };
            if let Some(t) = filter.transport.as_deref()
                && Transport::from_stored(t).is_none()
            {
                return Err(AppError::bad_request(format!(
                    "transport: '{t}' is not one of {}",
                    Transport::ALL.map(Transport::as_str).join(", ")
                )));
            }
            let teams = store.teams()?;
            let list: Vec<_> = store
                .patrols(Some((range.from, range.to)))?
                .into_iter()
                .filter(|p| filter.keeps(p))
                .collect();
            Ok(list_page(
                &w,
                store.site().name.as_str(),
                &m,
                page,
                &list,
                &filter,
                &teams,
            ))
        })
        .await,
    )
}

fn list_page(
    who: &Who,
    site: &str,
    m: &str,
    page: usize,
    list: &[patrol_store::query::PatrolSummary],
    filter: &ListFilter,
    teams: &[String],
) -> String {
    let pages = list.len().div_ceil(PAGE_SIZE).max(1);
    let page = page.min(pages);
    let mut b = String::new();
    let _ = write!(b, "<h1>Patrols of {}</h1>", escape(m));
    b.push_str("<div class=\"bar noprint\">");
    if let Some(prev) = step_month(m, false) {
        let _ = write!(
            b,
            "<a href=\"{}\">&larr; {}</a>",
            filter.href(&prev, 1),
            escape(&prev)
        );
    }
    let _ = write!(
        b,
        "<form class=\"inline\" method=\"get\" action=\"/\"><label>Month <input type=\"month\" name=\"month\" value=\"{}\" required></label>",
        escape(m)
    );
    let select = |b: &mut String,
                  (name, label): (&str, &str),
                  all: &str,
                  items: &[&str],
                  chosen: Option<&String>| {
        let _ = write!(
            b,
            "<label>{label} <select name=\"{name}\"><option value=\"\">{all}</option>"
        );
        for i in items {
            let _ = write!(
                b,
                "<option value=\"{0}\"{1}>{0}</option>",
                escape(i),
                if chosen.is_some_and(|c| c == i) {
                    " selected"
                } else {
                    ""
                }
            );
        }
        b.push_str("</select></label>");
    };
    let team_names: Vec<&str> = teams.iter().map(String::as_str).collect();
    select(
        &mut b,
        ("team", "Team"),
        "every team",
        &team_names,
        filter.team.as_ref(),
    );
    let transports: Vec<&str> = Transport::ALL.iter().map(|t| t.as_str()).collect();
    select(
        &mut b,
        ("transport", "Transport"),
        "any",
        &transports,
        filter.transport.as_ref(),
    );
    b.push_str("<button type=\"submit\">Show</button></form>");
    if let Some(next) = step_month(m, true) {
        let _ = write!(
            b,
            "<a href=\"{}\">{} &rarr;</a>",
            filter.href(&next, 1),
            escape(&next)
        );
    }
    let _ = write!(
        b,
        "<a href=\"/report?month={0}\">Report of {1}</a><a href=\"/api/patrols?month={0}\">JSON</a><a href=\"/deleted\">Deleted patrols</a></div>",
        enc(m),
        escape(m)
    );
    if list.is_empty() {
        if filter.team.is_some() || filter.transport.is_some() {
            b.push_str("<p>No patrol of this team and transport has effort in this month.</p>");
            return layout(who, site, &format!("Patrols of {m}"), Nav::Patrols, &b, "");
        }
        b.push_str("<p>No patrol has effort in this month. <a href=\"/import\">Import GPX files</a>, or choose another month.</p>");
        return layout(who, site, &format!("Patrols of {m}"), Nav::Patrols, &b, "");
    }
    let km: f64 = list.iter().map(|p| p.km).sum();
    let _ = write!(
        b,
        "<p class=\"muted\">{} {}, {:.1} km in all (whole patrols: a patrol that runs into the next month counts all its km here).</p>",
        list.len(),
        if list.len() == 1 { "patrol" } else { "patrols" },
        km
    );
    let pager = |b: &mut String| {
        if pages > 1 {
            b.push_str("<div class=\"pager noprint\">");
            if page > 1 {
                let _ = write!(
                    b,
                    "<a href=\"{}\">&larr; previous</a>",
                    filter.href(m, page - 1)
                );
            }
            let _ = write!(b, "<span>page {page} of {pages}</span>");
            if page < pages {
                let _ = write!(
                    b,
                    "<a href=\"{}\">next &rarr;</a>",
                    filter.href(m, page + 1)
                );
            }
            b.push_str("</div>");
        }
    };
    pager(&mut b);
    // A central database's list names each patrol's site.
    let sites = list.iter().any(|p| p.site_id != list[0].site_id);
    let _ = write!(
        b,
        "<table id=\"patrols\"><tr><th>patrol</th>{}<th>team</th>",
        if sites { "<th>site</th>" } else { "" }
    );
    b.push_str("<th>transport</th><th class=\"n\">members</th><th>first day</th><th>last day</th><th class=\"n\">km</th><th class=\"n\">hours</th><th class=\"n\">obs</th><th class=\"n\">threats</th><th>file</th></tr>");
    for p in list.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE) {
        let _ = write!(
            b,
            "<tr><td><a href=\"/patrols/{}\">{}</a>{}</td>{}<td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"nw\">{}</td><td class=\"nw\">{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.1}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            enc(&p.patrol_id),
            escape(&p.short_id),
            if p.conflict {
                " <span title=\"edited on two devices\">⚠</span>"
            } else {
                ""
            },
            if sites {
                format!("<td>{}</td>", escape(&p.site_name))
            } else {
                String::new()
            },
            escape(&p.team),
            escape(&p.transport.join(", ")),
            p.members,
            opt(p.first_date.as_ref()),
            opt(p.last_date.as_ref()),
            p.km,
            p.hours,
            p.observations,
            p.threats,
            opt(p.source_file.as_ref()),
        );
    }
    b.push_str("</table>");
    pager(&mut b);
    layout(who, site, &format!("Patrols of {m}"), Nav::Patrols, &b, "")
}

/// `/patrols/{id}`: a patrol with its map.
pub async fn patrol(
    State(state): State<Shared>,
    Extension(who): Extension<Who>,
    Path(id): Path<String>,
) -> Response {
    let w = who.clone();
    let basemap = state.basemap.as_ref().map(|b| b.info().clone());
    html_page(
        &who,
        with_store(&state, move |store| {
            // A deleted patrol is still reachable: to restore it.
            let id = store.resolve_record(Kind::Patrol, &id)?;
            if store.is_deleted(Kind::Patrol, &id)? {
                return crate::edit::deleted_patrol_page(store, &w, &id);
            }
            let d = store.patrol_detail(&id)?;
            let map = store.patrol_map(&d.summary.patrol_id)?;
            let deleted = store.deleted_records(Kind::Observation, Some(&id))?;
            Ok(patrol_page(
                &w,
                store.site().name.as_str(),
                &d,
                &map,
                site_zone(store),
                &store.data_model()?,
                &deleted,
                basemap.as_ref(),
            ))
        })
        .await,
    )
}

/// Degrees to 6 decimals (about 0.1 m): the map's JSON stays small.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The map's data as JSON safe inside a `<script>` element; `basemap`
/// what the map needs to draw the offline basemap under it (none: a plain
/// background).
fn map_json(
    d: &PatrolDetail,
    map: &patrol_store::web::PatrolMap,
    basemap: Option<&crate::basemap::Info>,
) -> String {
    let pt = |&(x, y): &(f64, f64)| [round6(x), round6(y)];
    let lines: Vec<Vec<[f64; 2]>> = map
        .lines
        .iter()
        .map(|l| l.iter().map(pt).collect())
        .collect();
    let boundary: Vec<Vec<Vec<[f64; 2]>>> = map
        .boundary
        .iter()
        .map(|poly| {
            poly.iter()
                .map(|ring| ring.iter().map(pt).collect())
                .collect()
        })
        .collect();
    let observations: Vec<serde_json::Value> = d
        .observations
        .iter()
        .filter(|o| o.lat.is_finite() && o.lon.is_finite())
        .map(|o| {
            serde_json::json!({
                "lat": round6(o.lat),
                "lon": round6(o.lon),
                "threat": o.threat,
                "label": format!("{} {}{}", o.short_id, o.category, o.time.as_deref().map(|t| format!(" {t}")).unwrap_or_default()),
            })
        })
        .collect();
    let json = serde_json::json!({
        "lines": lines,
        "boundary": boundary,
        "observations": observations,
        "basemap": basemap,
    });
    // `<` never appears as itself, so the text cannot close the element.
    json.to_string().replace('<', "\\u003c")
}

#[allow(clippy::too_many_arguments)] // what one page shows, each from its own call
fn patrol_page(
    who: &Who,
    site: &str,
    d: &PatrolDetail,
    map: &patrol_store::web::PatrolMap,
    zone: chrono_tz::Tz,
    model: &DataModel,
    deleted: &[patrol_store::history::DeletedRecord],
    basemap: Option<&crate::basemap::Info>,
) -> String {
    let s = &d.summary;
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Patrol {} <span class=\"muted\">· {}</span></h1>",
        escape(&s.short_id),
        escape(&s.team)
    );
    if let Some(first) = &s.first_date {
        let m: String = first.chars().take(7).collect();
        let _ = write!(
            b,
            "<div class=\"bar noprint\"><a href=\"/?month={0}\">&larr; patrols of {1}</a><a href=\"/api/patrols/{2}\">JSON</a></div>",
            enc(&m),
            escape(&m),
            enc(&s.patrol_id)
        );
    }
    if s.conflict {
        b.push_str("<p class=\"warn\">This patrol was edited on two devices: its conflicting edits wait for a person (<a href=\"/sync#conflicts\">Sync</a>, or <code>patrol conflicts</code>).</p>");
    }
    b.push_str("<div class=\"split\"><div><dl class=\"facts\">");
    let fact = |b: &mut String, k: &str, v: String| {
        let _ = write!(b, "<dt>{k}</dt><dd>{v}</dd>");
    };
    fact(&mut b, "site", escape(&s.site));
    fact(&mut b, "team", escape(&s.team));
    fact(&mut b, "leader", opt(s.leader.as_ref()));
    fact(&mut b, "objective", opt(d.objective.as_ref()));
    fact(&mut b, "transport", escape(&s.transport.join(", ")));
    fact(&mut b, "members", s.members.to_string());
    fact(&mut b, "file", opt(s.source_file.as_ref()));
    fact(&mut b, "start", local_time(s.start.as_ref(), zone));
    fact(&mut b, "end", local_time(s.end.as_ref(), zone));
    fact(&mut b, "km", format!("{:.3}", s.km));
    fact(&mut b, "hours", format!("{:.2}", s.hours));
    fact(
        &mut b,
        "points",
        format!(
            "{} in {} segment{}",
            s.track_points,
            d.segments,
            if d.segments == 1 { "" } else { "s" }
        ),
    );
    fact(
        &mut b,
        "observations",
        format!(
            "{} ({} threat{})",
            s.observations,
            s.threats,
            if s.threats == 1 { "" } else { "s" }
        ),
    );
    fact(&mut b, "id", escape(&s.patrol_id));
    b.push_str("</dl>");
    if !d.warnings.is_empty() {
        let _ = write!(
            b,
            "<div class=\"warn\" id=\"warnings\"><strong>Data quality:</strong> {:.3} km recorded, {:.3} km counted.<ul>",
            d.recorded_km, s.km
        );
        for w in &d.warnings {
            let _ = write!(
                b,
                "<li><code>{}</code> {}</li>",
                escape(w.kind.as_str()),
                escape(&w.message)
            );
        }
        b.push_str("</ul></div>");
    }
    if !d.marked_fixes.is_empty() {
        let left_out = d.marked_fixes.iter().filter(|f| f.excluded).count();
        let _ = write!(
            b,
            "<p class=\"muted\">{} fixes marked by quality control, {} of them left out (not on the map; <code>patrol show</code> lists them).</p>",
            d.marked_fixes.len(),
            left_out
        );
    }
    // Its history, edit and delete beside the figures they change (in the
    // first screen of a laptop, under the figures).
    crate::edit::patrol_tools(&mut b, who, d);
    b.push_str("</div><div><div id=\"map\"></div><div class=\"legend\"><span style=\"background:#c0392b\"></span>track<span style=\"background:#cfe3c9;border:1px solid #2e6b3a\"></span>site boundary<span style=\"background:#2980b9;height:.7em;width:.7em;border-radius:50%\"></span>observation<span style=\"background:#e67e22;height:.7em;width:.7em;border-radius:50%\"></span>threat</div>");
    if map.lines.is_empty() {
        b.push_str("<p class=\"muted\">This patrol has no track to draw.</p>");
    }
    let _ = write!(
        b,
        "<script type=\"application/json\" id=\"map-data\">{}</script>",
        map_json(d, map, basemap)
    );
    if who.may(Action::Record) {
        observation_form(&mut b, who, &s.patrol_id, model, zone);
    }
    b.push_str("</div></div>");

    b.push_str("<h2>Legs</h2><table><tr><th>leg</th><th>transport</th><th class=\"n\">members</th><th>names</th></tr>");
    for l in &d.legs {
        let _ = write!(
            b,
            "<tr><td><a href=\"/history/{}\" title=\"its history\">{}</a></td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            enc(&l.leg_id),
            escape(&l.short_id),
            escape(&l.transport),
            l.members,
            escape(&l.member_names.join(", "))
        );
    }
    b.push_str("</table><h2>Days</h2><table><tr><th>date</th><th class=\"n\">km</th><th class=\"n\">hours</th><th class=\"n\">active hours</th><th class=\"n\">points</th></tr>");
    for day in &d.days {
        let _ = write!(
            b,
            "<tr><td>{}</td><td class=\"n\">{:.3}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td class=\"n\">{}</td></tr>",
            day.date
                .as_deref()
                .map_or_else(|| "(undated)".into(), escape),
            day.km,
            day.hours,
            day.active_hours,
            day.track_points
        );
    }
    b.push_str("</table>");
    let _ = write!(b, "<h2>Observations ({})</h2>", d.observations.len());
    if d.observations.is_empty() {
        b.push_str("<p class=\"muted\">None.</p>");
    } else {
        b.push_str("<table id=\"observations\"><tr><th>observation</th><th>category</th><th>threat</th><th>time</th><th class=\"n\">lat</th><th class=\"n\">lon</th><th>name</th><th>note</th><th>attributes</th><th class=\"noprint\"></th></tr>");
        for o in &d.observations {
            let attrs = model.values_text(&o.attributes);
            let _ = write!(
                b,
                "<tr id=\"obs-{0}\"><td>{0}</td><td>{1}</td><td>{2}</td><td class=\"nw\">{3}</td><td class=\"n\">{4:.6}</td><td class=\"n\">{5:.6}</td><td>{6}</td><td>{7}</td><td>{8}</td>{9}</tr>",
                escape(&o.short_id),
                escape(&o.category),
                if o.threat { "yes" } else { "no" },
                local_time(o.time.as_ref(), zone),
                o.lat,
                o.lon,
                opt(o.raw_name.as_ref()),
                opt(o.note.as_ref()),
                escape(&attrs),
                crate::edit::observation_actions(who, &s.patrol_id, o),
            );
        }
        b.push_str("</table>");
    }
    crate::edit::deleted_observations(&mut b, who, &s.patrol_id, deleted, zone);
    layout(
        who,
        site,
        &format!("Patrol {}", s.short_id),
        Nav::None,
        &b,
        "<link rel=\"stylesheet\" href=\"/assets/leaflet/leaflet.css\"><script src=\"/assets/leaflet/leaflet.js\"></script>",
    )
}

/// What the observation form needs of the data model, as JSON safe inside a
/// `<script>` element: the active categories in tree order with their depth,
/// and each one's attributes (its ancestors' and its own) with the inputs'
/// limits; list and tree items active only, a tree's with their depth.
pub(crate) fn form_model_json(model: &DataModel) -> String {
    fn walk<'a>(
        model: &'a DataModel,
        parent: Option<&str>,
        depth: usize,
        out: &mut Vec<(usize, &'a patrol_core::category::Category)>,
    ) {
        for c in model.children(parent) {
            if !c.active {
                continue;
            }
            out.push((depth, c));
            walk(model, Some(&c.key), depth + 1, out);
        }
    }
    fn items(list: &[Item], depth: usize, out: &mut Vec<serde_json::Value>) {
        for i in list.iter().filter(|i| i.active) {
            out.push(serde_json::json!({ "key": i.key, "label": i.label, "depth": depth }));
            items(&i.children, depth + 1, out);
        }
    }
    let mut cats = Vec::new();
    walk(model, None, 0, &mut cats);
    let categories: Vec<serde_json::Value> = cats
        .iter()
        .map(|(depth, c)| {
            let attributes: Vec<serde_json::Value> = model
                .attributes_of(&c.key)
                .into_iter()
                .map(|(a, required)| {
                    let mut v = serde_json::json!({
                        "key": a.key,
                        "label": a.label,
                        "type": a.type_name(),
                        "required": required,
                    });
                    match &a.kind {
                        AttributeKind::Numeric { min, max, unit, .. } => {
                            v["min"] = serde_json::json!(min);
                            v["max"] = serde_json::json!(max);
                            v["unit"] = serde_json::json!(unit);
                        }
                        AttributeKind::Text { pattern } => {
                            v["pattern"] = serde_json::json!(pattern);
                        }
                        AttributeKind::Boolean => {}
                        AttributeKind::List { items: list }
                        | AttributeKind::Tree { items: list } => {
                            let mut out = Vec::new();
                            items(list, 0, &mut out);
                            v["items"] = serde_json::Value::Array(out);
                        }
                    }
                    v
                })
                .collect();
            serde_json::json!({
                "key": c.key,
                "label": c.label,
                "depth": depth,
                "threat": model.is_threat(&c.key),
                "attributes": attributes,
            })
        })
        .collect();
    serde_json::json!({ "categories": categories })
        .to_string()
        .replace('<', "\\u003c")
}

/// The "Add an observation" form: the script fills the category's
/// attributes from the embedded model and posts to `/api/observations`.
fn observation_form(
    b: &mut String,
    who: &Who,
    patrol_id: &str,
    model: &DataModel,
    zone: chrono_tz::Tz,
) {
    b.push_str("<section id=\"add-observation\" class=\"noprint\"><h2>Add an observation</h2>");
    b.push_str("<form id=\"observation-form\" method=\"post\" action=\"/api/observations\">");
    let _ = write!(
        b,
        "<input type=\"hidden\" name=\"patrol\" value=\"{}\">",
        escape(patrol_id)
    );
    b.push_str(&csrf_field(who));
    b.push_str("<div class=\"form-grid\"><label for=\"obs-category\">Category <span class=\"req\" title=\"required\">*</span></label><select id=\"obs-category\" name=\"category\" required><option value=\"\">choose…</option></select>");
    b.push_str("<div id=\"obs-attributes\"></div>");
    let _ = write!(
        b,
        "<label for=\"obs-time\">Time</label><span><input type=\"datetime-local\" id=\"obs-time\" name=\"time\" step=\"1\"><br><span class=\"muted\">{} time; may stay empty</span></span>",
        escape(zone.name())
    );
    b.push_str("<label for=\"obs-note\">Note</label><input type=\"text\" id=\"obs-note\" name=\"note\" autocomplete=\"off\">");
    b.push_str("<label for=\"obs-lat\">Place <span class=\"req\" title=\"required\">*</span></label><span><input type=\"number\" id=\"obs-lat\" name=\"lat\" step=\"any\" min=\"-90\" max=\"90\" placeholder=\"latitude\" aria-label=\"latitude\" required> <input type=\"number\" id=\"obs-lon\" name=\"lon\" step=\"any\" min=\"-180\" max=\"180\" placeholder=\"longitude\" aria-label=\"longitude\" required><br><span class=\"muted\">latitude, longitude: click on the map, or type them</span></span>");
    b.push_str("</div><p><button type=\"submit\" id=\"obs-save\">Save the observation</button></p><div id=\"obs-result\" role=\"status\"></div></form>");
    let _ = write!(
        b,
        "<script type=\"application/json\" id=\"form-model\">{}</script></section>",
        form_model_json(model)
    );
}

/// `/import`: the form; the script posts it to `/api/import` and shows the result.
pub async fn import(State(state): State<Shared>, Extension(who): Extension<Who>) -> Response {
    let w = who.clone();
    html_page(
        &who,
        with_store(&state, move |store| {
            let teams = store.teams()?;
            let people = store.member_names(IMPORT_NAMES)?;
            Ok(import_page(
                &w,
                store.site().name.as_str(),
                site_zone(store).name(),
                &teams,
                &people,
            ))
        })
        .await,
    )
}

/// The most names the import form offers to tick (those on the most legs).
const IMPORT_NAMES: usize = 60;

/// `zone`: the site's, in which the result's months are the list's;
/// `people`: the names the site already has, to tick.
fn import_page(who: &Who, site: &str, zone: &str, teams: &[String], people: &[String]) -> String {
    let mut b = String::from("<h1>Import GPS files</h1>");
    b.push_str("<p>Each GPX file becomes one patrol (a file of waypoints only joins the patrol whose time holds them; a SMART patrol XML file names its own team). A file already imported is a duplicate: nothing is added twice.</p>");
    let _ = write!(
        b,
        "<form id=\"import-form\" method=\"post\" action=\"/api/import\" enctype=\"multipart/form-data\" data-zone=\"{}\">",
        escape(zone)
    );
    b.push_str(&csrf_field(who));
    b.push_str("<div id=\"drop\" class=\"drop\"><p><strong>Drop GPX files here</strong>, or choose them:</p><input type=\"file\" id=\"file\" name=\"file\" multiple accept=\".gpx,.GPX,.xml,application/gpx+xml\"><p id=\"chosen\" class=\"muted\"></p></div>");
    b.push_str("<div class=\"form-grid\"><label for=\"team\">Team</label><input id=\"team\" name=\"team\" list=\"teams\" required autocomplete=\"off\" placeholder=\"who walked\"><datalist id=\"teams\">");
    for t in teams {
        let _ = write!(b, "<option value=\"{}\">", escape(t));
    }
    b.push_str("</datalist><label for=\"transport\">Transport</label><select id=\"transport\" name=\"transport\">");
    for t in Transport::ALL {
        let _ = write!(b, "<option value=\"{0}\">{0}</option>", escape(t.as_str()));
    }
    let _ = write!(
        b,
        "</select><label for=\"members\">People on the patrol</label><input id=\"members\" name=\"members\" type=\"number\" min=\"{MIN_MEMBERS}\" max=\"{MAX_MEMBERS}\" value=\"1\" required>"
    );
    b.push_str("<span>Who they were</span><span>");
    if !people.is_empty() {
        b.push_str("<span class=\"names\" id=\"known-names\">");
        for (i, p) in people.iter().enumerate() {
            let _ = write!(
                b,
                "<label class=\"name\"><input type=\"checkbox\" name=\"member_names\" value=\"{0}\" id=\"name-{i}\"> {0}</label>",
                escape(p)
            );
        }
        b.push_str("</span>");
    }
    b.push_str("<input id=\"member-names\" name=\"member_names\" autocomplete=\"off\" placeholder=\"other names, comma-separated\" aria-label=\"other names\"><br><span class=\"muted\">may stay empty; the count above is what the figures use</span></span>");
    b.push_str("<label for=\"leader\">Leader</label><input id=\"leader\" name=\"leader\" list=\"people\" autocomplete=\"off\" placeholder=\"may stay empty\"><datalist id=\"people\">");
    for p in people {
        let _ = write!(b, "<option value=\"{}\">", escape(p));
    }
    b.push_str("</datalist><label for=\"objective\">Objective</label><input id=\"objective\" name=\"objective\" autocomplete=\"off\" placeholder=\"may stay empty\">");
    b.push_str("<label for=\"date\">Date</label><span><input id=\"date\" name=\"date\" type=\"date\"><br><span class=\"muted\">only for a track without times (its fixes carry none)</span></span>");
    b.push_str("<span></span><span><button type=\"submit\">Import</button></span></div></form><div id=\"results\" aria-live=\"polite\"></div>");
    layout(who, site, "Import", Nav::Import, &b, "")
}

/// The report's parameters again, as a query string.
fn report_qs(p: &ReportParams, month: &str) -> String {
    let mut qs = format!("month={}", enc(month));
    for (k, v) in [("baseline", &p.baseline), ("months", &p.months)] {
        if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            let _ = write!(qs, "&{k}={}", enc(v));
        }
    }
    qs
}

/// The report of the asked (or default) month, with its query string.
fn report_of(
    store: &Store,
    mut p: ReportParams,
) -> Result<(patrol_core::metrics::Report, String, ReportParams), AppError> {
    if p.month.as_deref().is_none_or(|m| m.trim().is_empty()) && p.from.is_none() {
        p.month = Some(default_month(store)?);
    }
    let query = report_query(&p)?;
    let name = p
        .month
        .clone()
        .unwrap_or_else(|| format!("{}..{}", query.period.from, query.period.to));
    Ok((store.report(&query, &[])?, name, p))
}

/// `/report?month=..&baseline=..&months=N`: the HTML report as `patrol
/// report --format html` makes it, with a bar to choose another and to save it.
pub async fn report(
    State(state): State<Shared>,
    Extension(who): Extension<Who>,
    Query(p): Query<ReportParams>,
) -> Response {
    let w = who.clone();
    html_page(
        &who,
        with_store(&state, move |store| {
            let (report, month, p) = report_of(store, p)?;
            let html = patrol_report::render(&report, Format::Html);
            Ok(with_bar(
                &html,
                &report_bar(&w, store.site().name.as_str(), &month, &p),
            ))
        })
        .await,
    )
}

/// The report's own page with our bar put in after `<body>`: the report
/// itself is as the renderer made it.
fn with_bar(html: &str, bar: &str) -> String {
    match html
        .find("<body")
        .and_then(|i| html[i..].find('>').map(|j| i + j + 1))
    {
        Some(at) => format!("{}{bar}{}", &html[..at], &html[at..]),
        None => format!("{bar}{html}"),
    }
}

fn report_bar(who: &Who, site: &str, month: &str, p: &ReportParams) -> String {
    let qs = report_qs(p, month);
    let v = |s: &Option<String>| escape(s.as_deref().unwrap_or(""));
    format!(
        "<style>
.pn {{ font-family: system-ui, sans-serif; background: #2e6b3a; color: #fff; margin: -1em -1em 1.2em; padding: .5em 1em; border-radius: 0 0 6px 6px; }}
.pn a {{ color: #fff; margin-right: 1em; }}
.pn .site {{ font-weight: 600; margin-right: 1.5em; }}
.pn form {{ display: flex; flex-wrap: wrap; gap: .6em; align-items: center; margin: .5em 0 0; font-size: .9em; }}
.pn input {{ font: inherit; padding: .15em .3em; }}
.pn button, .pn .save {{ font: inherit; background: #fff; color: #2e6b3a; border: 0; border-radius: 4px; padding: .25em .8em; cursor: pointer; text-decoration: none; font-weight: 600; }}
.pn .who {{ float: right; }} .pn .who form {{ display: inline-flex; margin: 0 0 0 .6em; }}
@media print {{ .pn {{ display: none !important; }} }}
</style>
<div class=\"pn\"><span class=\"site\">{site}</span><a href=\"/\">Patrols</a><a href=\"/import\">Import</a><a href=\"/report\"><strong>Report</strong></a><a href=\"/sync\">Sync</a><a href=\"/check\">Check</a>{who}
<form method=\"get\" action=\"/report\"><label>Month <input type=\"month\" name=\"month\" value=\"{month}\" required></label>
<label>Baseline <input name=\"baseline\" value=\"{baseline}\" placeholder=\"e.g. 2025-10..2026-03\" title=\"FROM..TO, months or dates, to compare threats per 100 km with\" size=\"22\"></label>
<label>Trend months <input name=\"months\" type=\"number\" min=\"1\" max=\"120\" value=\"{months}\" style=\"width:4.5em\"></label>
<button type=\"submit\">Show</button>
<a class=\"save\" id=\"save\" href=\"/report.html?{qs}\" download=\"report-{month}.html\">Save</a>
<a href=\"/report.csv?{qs}\">CSV</a><a href=\"/api/report?{qs}\">JSON</a></form></div>
",
        who = who_box(who),
        site = escape(site),
        month = escape(month),
        baseline = v(&p.baseline),
        months = v(&p.months),
        qs = escape(&qs),
    )
}

/// `/report.html?..`: the report's HTML file to save.
pub async fn report_file(
    State(state): State<Shared>,
    Extension(who): Extension<Who>,
    Query(p): Query<ReportParams>,
) -> Response {
    report_download(
        state,
        who,
        p,
        Format::Html,
        "html",
        "text/html; charset=utf-8",
    )
    .await
}

/// `/report.csv?..`: the report's summary CSV (`--format csv`).
pub async fn report_csv(
    State(state): State<Shared>,
    Extension(who): Extension<Who>,
    Query(p): Query<ReportParams>,
) -> Response {
    report_download(state, who, p, Format::Csv, "csv", "text/csv; charset=utf-8").await
}

async fn report_download(
    state: Shared,
    who: Who,
    p: ReportParams,
    format: Format,
    ext: &'static str,
    content_type: &'static str,
) -> Response {
    let made = with_store(&state, move |store| {
        let (report, month, _) = report_of(store, p)?;
        Ok((patrol_report::render(&report, format), month))
    })
    .await;
    match made {
        Ok((text, month)) => {
            let name: String = month
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            (
                [
                    (header::CONTENT_TYPE, content_type.to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"report-{name}.{ext}\""),
                    ),
                ],
                text,
            )
                .into_response()
        }
        Err(e) => error_page(&who, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_goes_after_body_and_the_report_stays_whole() {
        let html = "<!doctype html><html><head></head><body class=\"x\"><h1>R</h1></body></html>";
        let out = with_bar(html, "<nav>N</nav>");
        assert_eq!(
            out,
            "<!doctype html><html><head></head><body class=\"x\"><nav>N</nav><h1>R</h1></body></html>"
        );
    }

    #[test]
    fn query_values_are_encoded_and_months_step() {
        assert_eq!(enc("2025-10..2026-03"), "2025-10..2026-03");
        assert_eq!(enc("a&b c"), "a%26b%20c");
        assert_eq!(step_month("2026-12", true).as_deref(), Some("2027-01"));
        assert_eq!(step_month("2026-01", false).as_deref(), Some("2025-12"));
    }

    fn summary(n: usize) -> patrol_store::query::PatrolSummary {
        let id = format!("01a25326-7cd5-7308-b088-{n:012x}");
        patrol_store::query::PatrolSummary {
            short_id: id[id.len() - 8..].to_owned(),
            patrol_id: id,
            site: "Thap Lan".into(),
            team: format!("Team {n}"),
            leader: None,
            transport: vec!["foot".into()],
            members: 2,
            start: None,
            end: None,
            first_date: Some("2026-10-04".into()),
            last_date: Some("2026-10-04".into()),
            km: 1.0,
            hours: 1.0,
            track_points: 10,
            observations: 0,
            threats: 0,
            source_file: None,
            origin_device: String::new(),
            conflict: false,
            site_id: String::new(),
            site_name: "Thap Lan".into(),
            file: None,
        }
    }

    #[test]
    fn the_list_is_paged_a_hundred_at_a_time() {
        let list: Vec<_> = (0..250).map(summary).collect();
        let rows = |html: &str| html.matches("<tr><td><a href=\"/patrols/").count();
        let first = list_page(
            &Who::default(),
            "S",
            "2026-10",
            1,
            &list,
            &ListFilter::default(),
            &[],
        );
        assert_eq!(rows(&first), 100);
        assert!(
            first.contains("page 1 of 3")
                && first.contains("Team 0<")
                && !first.contains("Team 100<")
        );
        assert!(first.contains("month=2026-10&amp;page=2"));
        let last = list_page(
            &Who::default(),
            "S",
            "2026-10",
            3,
            &list,
            &ListFilter::default(),
            &[],
        );
        assert_eq!(rows(&last), 50);
        assert!(last.contains("Team 249<") && !last.contains("next &rarr;"));
        // A page past the end is the last page.
        assert_eq!(
            list_page(
                &Who::default(),
                "S",
                "2026-10",
                99,
                &list,
                &ListFilter::default(),
                &[]
            ),
            last
        );
        assert!(!first.contains("<th>site</th>"), "one site: no site column");
        let mut two = list.clone();
        two[1].site_id = "other".into();
        two[1].site_name = "Pang <Sida>".into();
        let two = list_page(
            &Who::default(),
            "S",
            "2026-10",
            1,
            &two,
            &ListFilter::default(),
            &[],
        );
        assert!(two.contains("<th>site</th>") && two.contains("<td>Pang &lt;Sida&gt;</td>"));
        let one = list_page(
            &Who::default(),
            "S",
            "2026-10",
            1,
            &list[..1],
            &ListFilter::default(),
            &[],
        );
        assert!(!one.contains("page 1 of"), "no pager for one page");
    }

    #[test]
    fn the_form_model_keeps_tree_order_and_leaves_inactive_out() {
        let mut m = DataModel::default_model();
        m.categories[1].active = false;
        let gone = m.categories[1].key.clone();
        let json: serde_json::Value = serde_json::from_str(&form_model_json(&m)).unwrap();
        let cats = json["categories"].as_array().unwrap();
        assert!(cats.iter().all(|c| c["key"] != gone.as_str()));
        let snare = cats.iter().find(|c| c["key"] == "snare").unwrap();
        let keys: Vec<&str> = snare["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["count", "removed", "age"]);
        assert_eq!(snare["attributes"][0]["min"], 0.0);
        assert_eq!(snare["attributes"][2]["items"][0]["key"], "fresh");
        let top: Vec<&str> = cats
            .iter()
            .filter(|c| c["depth"] == 0)
            .map(|c| c["key"].as_str().unwrap())
            .collect();
        let want: Vec<&str> = m
            .children(None)
            .iter()
            .filter(|c| c.active)
            .map(|c| c.key.as_str())
            .collect();
        assert_eq!(top, want);
        assert!(!form_model_json(&m).contains('<'));
    }

    #[test]
    fn pages_escape_what_they_show() {
        let page = import_page(
            &Who::default(),
            "<Site>",
            "Asia/Bangkok",
            &["A\"><script>".into()],
            &["<b>Nok</b>".into()],
        );
        assert!(page.contains("&lt;Site&gt;"));
        assert!(!page.contains("<script>x"));
        assert!(page.contains("A&quot;&gt;&lt;script&gt;"));
        assert!(page.contains("value=\"&lt;b&gt;Nok&lt;/b&gt;\"") && !page.contains("<b>Nok"));
    }
}
