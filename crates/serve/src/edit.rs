//! Editing in the browser (issue 11): a patrol's team, transport, people
//! and date; an observation's category, attributes, note, place, time and
//! patrol; deleting and restoring both; a record's history.
//!
//! The routes under `/api/` answer with the CLI's `edit|delete|restore
//! --json` bodies and `history --json`'s, from the same structs and the
//! same store calls. A form posted without the page's script carries a
//! `next` field: it is answered with a redirect there (or an error page).
//! Every value is read by the core's rules and checked by the store; a
//! refused one is a 400 with the message, and nothing is saved.

use std::fmt::Write as _;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use patrol_core::Transport;
use patrol_core::model::{MAX_MEMBERS, MIN_MEMBERS};
use patrol_core::role::Action;
use patrol_report::html::escape;
use patrol_store::Store;
use patrol_store::edit::{EditAnswer, ObservationEditText, PatrolEdit, VersionAnswer};
use patrol_store::history::{DeletedRecord, History};
use patrol_store::query::{ObservationRow, PatrolDetail};
use patrol_store::records::Kind;

use crate::Shared;
use crate::auth::{Who, csrf_field};
use crate::pages::{Nav, enc, error_page, html_page, layout, local_time, site_zone};
use crate::web::{AppError, json_body, with_store};

/// The largest value of an edit, bytes.
const MAX_FIELD: usize = 4096;

/// A change's fields as text, from a form (`application/x-www-form-urlencoded`)
/// or a JSON object (numbers and booleans as text; `attributes` an object,
/// each value `attributes[KEY]`).
struct Fields {
    list: Vec<(String, String)>,
    /// A form's `next`: answer with a redirect there.
    next: Option<String>,
}

impl Fields {
    fn read(headers: &HeaderMap, bytes: &[u8]) -> Result<Fields, AppError> {
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let mut list = Vec::new();
        if form {
            list = crate::auth::form_fields(bytes);
        } else if !bytes.iter().all(u8::is_ascii_whitespace) {
            let value: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|e| AppError::bad_request(format!("the change: {e}")))?;
            let empty = serde_json::Map::new();
            let object = match &value {
                serde_json::Value::Object(o) => o,
                serde_json::Value::Null => &empty,
                _ => return Err(AppError::bad_request("the change: not a JSON object")),
            };
            for (k, v) in object {
                match (k.as_str(), v) {
                    ("attributes", serde_json::Value::Object(attrs)) => {
                        for (a, v) in attrs {
                            list.push((format!("attributes[{a}]"), crate::api::typed(v)));
                        }
                    }
                    _ => list.push((k.clone(), crate::api::typed(v))),
                }
            }
        }
        if let Some((k, _)) = list.iter().find(|(_, v)| v.len() > MAX_FIELD) {
            return Err(AppError::bad_request(format!("{k}: too long")));
        }
        let next = list
            .iter()
            .find(|(k, _)| k == "next")
            .map(|(_, v)| crate::auth::local_next(Some(v)));
        Ok(Fields { list, next })
    }

    /// A field's trimmed text; `None` when absent or empty (left as it is).
    fn given(&self, key: &str) -> Option<String> {
        self.list
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// `attributes[KEY]` (or `attr.KEY`) as `KEY=VALUE`; an empty value
    /// removes the attribute, as `--attr KEY=` does.
    fn attributes(&self) -> Vec<String> {
        self.list
            .iter()
            .filter_map(|(k, v)| {
                let key = k
                    .strip_prefix("attributes[")
                    .and_then(|k| k.strip_suffix(']'))
                    .or_else(|| k.strip_prefix("attr."))?;
                Some(format!("{key}={}", v.trim()))
            })
            .collect()
    }
}

/// A patrol's edit from its fields, read by the core's rules (the import
/// form's): an empty field leaves that value as it is.
fn patrol_edit(f: &Fields) -> Result<PatrolEdit, AppError> {
    Ok(PatrolEdit {
        team: f.given("team"),
        leader: f.given("leader"),
        objective: f.given("objective"),
        transport: f
            .given("transport")
            .map(|t| crate::api::transport_field(&t))
            .transpose()?,
        members: f
            .given("members")
            .or_else(|| f.given("headcount"))
            .map(|m| crate::api::members_field(&m))
            .transpose()?,
        date: f
            .given("date")
            .map(|d| patrol_core::metrics::parse_date(&d))
            .transpose()
            .map_err(|e| AppError::bad_request(format!("date: {e}")))?,
        fix_overrides: Vec::new(),
    })
}

/// An observation's edit from its fields, as `patrol edit observation`
/// takes its flags (`lat` and `lon` its `--at`).
fn observation_edit_text(f: &Fields) -> Result<ObservationEditText, AppError> {
    let at = match (f.given("lat"), f.given("lon")) {
        (None, None) => None,
        (Some(lat), Some(lon)) => Some(format!("{lat},{lon}")),
        _ => {
            return Err(AppError::bad_request(
                "the place: give both lat and lon, or neither to leave it",
            ));
        }
    };
    Ok(ObservationEditText {
        patrol: f.given("patrol"),
        category: f.given("category"),
        note: f.given("note"),
        at,
        time: f.given("time"),
        attributes: f.attributes(),
    })
}

/// Run a change on the store: writable, one writer of ours at a time.
async fn change<T: Send + 'static>(
    state: &Shared,
    f: impl FnOnce(&mut Store) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let shared = state.clone();
    with_store(state, move |store| {
        if !store.writable() {
            return Err(AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is read-only; nothing was changed",
            ));
        }
        let _writing = shared
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(store)
    })
    .await
}

/// The answer: the JSON body, or for a form with `next` a redirect there
/// (an error as a page).
fn answer<T: serde::Serialize>(
    who: &Who,
    next: Option<String>,
    result: Result<T, AppError>,
) -> Response {
    match (result, next) {
        (Ok(_), Some(next)) => (StatusCode::SEE_OTHER, [(header::LOCATION, next)]).into_response(),
        (Ok(body), None) => json_body(&body).unwrap_or_else(IntoResponse::into_response),
        (Err(e), Some(_)) => error_page(who, &e),
        (Err(e), None) => e.into_response(),
    }
}

/// `POST /api/patrols/{id}/edit`: `team`, `transport`, `members`, `date`,
/// `leader`, `objective` (empty: as it is); answered as `patrol edit
/// patrol --json`.
pub async fn edit_patrol(
    State(state): State<Shared>,
    Extension(who): Extension<Who>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let result = async {
        let f = Fields::read(&headers, &bytes)?;
        let edit = patrol_edit(&f)?;
        let body = change(&state, move |store| {
            let id = store.resolve_record(Kind::Patrol, &id)?;
            let edited = store.edit_patrol_outcome(&id, &edit)?;
            Ok(EditAnswer::new(Kind::Patrol, &id, &edited))
        })
        .await?;
        Ok((body, f.next))
    }
    .await;
    respond(&who, &headers, &bytes, result)
}

/// `POST /api/observations/{id}/edit`: `category`, `note`, `lat` and
/// `lon`, `time`, `patrol` (to move it), `attributes[KEY]` (empty: removed);
/// answered as `patrol edit observation --json`.
pub async fn edit_observation(
    State(state): State<Shared>,
    Extension(who): Extension<Who>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let result = async {
        let f = Fields::read(&headers, &bytes)?;
        let text = observation_edit_text(&f)?;
        let body = change(&state, move |store| {
            let id = store.resolve_record(Kind::Observation, &id)?;
            let edit = store.read_observation_edit(&text)?;
            let edited = store.edit_observation_outcome(&id, &edit)?;
            Ok(EditAnswer::new(Kind::Observation, &id, &edited))
        })
        .await?;
        Ok((body, f.next))
    }
    .await;
    respond(&who, &headers, &bytes, result)
}

/// The answer of a change, its `next` read again when the fields could
/// not be (so a form still gets a page).
fn respond<T: serde::Serialize>(
    who: &Who,
    headers: &HeaderMap,
    bytes: &[u8],
    result: Result<(T, Option<String>), AppError>,
) -> Response {
    match result {
        Ok((body, next)) => answer(who, next, Ok(body)),
        Err(e) => {
            let next = Fields::read(headers, bytes).ok().and_then(|f| f.next);
            answer::<()>(who, next, Err(e))
        }
    }
}

/// Delete (`restore` false) or restore a record.
async fn delete_or_restore(
    state: &Shared,
    who: &Who,
    kind: Kind,
    id: String,
    restore: bool,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Response {
    let result = async {
        let f = Fields::read(headers, bytes)?;
        let body = change(state, move |store| {
            let id = store.resolve_record(kind, &id)?;
            let version = if restore {
                store.restore_record(kind, &id)?
            } else {
                store.delete_record(kind, &id)?
            };
            Ok(VersionAnswer::new(kind, &id, &version))
        })
        .await?;
        Ok((body, f.next))
    }
    .await;
    respond(who, headers, bytes, result)
}

/// `POST /api/patrols/{id}/delete`: `patrol delete patrol --json`.
pub async fn delete_patrol(
    State(state): State<Shared>,
    Extension(who): Extension<Who>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    delete_or_restore(&state, &who, Kind::Patrol, id, false, &headers, &bytes).await
}

/// `POST /api/patrols/{id}/restore`: `patrol restore patrol --json`.
pub async fn restore_patrol(
    State(state): State<Shared>,
    Extension(who): Extension<Who>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    delete_or_restore(&state, &who, Kind::Patrol, id, true, &headers, &bytes).await
}

/// `POST /api/observations/{id}/delete`: `patrol delete observation --json`.
pub async fn delete_observation(
    State(state): State<Shared>,
    Extension(who): Extension<Who>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    delete_or_restore(&state, &who, Kind::Observation, id, false, &headers, &bytes).await
}

/// `POST /api/observations/{id}/restore`: `patrol restore observation --json`.
pub async fn restore_observation(
    State(state): State<Shared>,
    Extension(who): Extension<Who>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    delete_or_restore(&state, &who, Kind::Observation, id, true, &headers, &bytes).await
}

/// `GET /api/history/{id}`: `patrol history ID --json`.
pub async fn history_api(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let history = with_store(&state, move |store| {
        let (kind, id) = store.resolve_any(&id)?;
        Ok(store.history(kind, &id)?)
    })
    .await?;
    json_body(&history)
}

// ---- the pages and the parts of the patrol page ---------------------------

/// The hidden fields of a change's form: the CSRF token (beyond loopback)
/// and where to go after it.
fn hidden(b: &mut String, who: &Who, next: &str) {
    b.push_str(&csrf_field(who));
    let _ = write!(
        b,
        "<input type=\"hidden\" name=\"next\" value=\"{}\">",
        escape(next)
    );
}

/// A form of one button that posts a change (delete, restore).
fn button_form(who: &Who, action: &str, next: &str, id: &str, label: &str, class: &str) -> String {
    let mut b = format!(
        "<form class=\"inline api-form\" method=\"post\" action=\"{}\">",
        escape(action)
    );
    hidden(&mut b, who, next);
    let _ = write!(
        b,
        "<button type=\"submit\" id=\"{}\" class=\"{class}\">{}</button></form>",
        escape(id),
        escape(label)
    );
    b
}

/// The patrol page's "Edit the patrol" form, its Delete button and its
/// history link (the form and the button for a role that may edit).
pub(crate) fn patrol_tools(b: &mut String, who: &Who, d: &PatrolDetail) {
    let s = &d.summary;
    let page = format!("/patrols/{}", enc(&s.patrol_id));
    b.push_str("<section id=\"patrol-edit\" class=\"noprint\">");
    let _ = write!(
        b,
        "<p><a href=\"/history/{}\" id=\"patrol-history\">History of this patrol</a> ({} versions of the patrol, its legs and observations)</p>",
        enc(&s.patrol_id),
        d.versions
    );
    if !who.may(Action::Edit) {
        b.push_str("</section>");
        return;
    }
    let _ = write!(
        b,
        "<details><summary>Edit the patrol</summary><form id=\"patrol-edit-form\" class=\"api-form\" method=\"post\" action=\"/api/patrols/{}/edit\">",
        enc(&s.patrol_id)
    );
    hidden(b, who, &page);
    let text = |b: &mut String, key: &str, label: &str, value: Option<&String>| {
        let _ = write!(
            b,
            "<label for=\"edit-{key}\">{label}</label><input id=\"edit-{key}\" name=\"{key}\" value=\"{}\" autocomplete=\"off\">",
            escape(value.map_or("", String::as_str))
        );
    };
    b.push_str("<div class=\"form-grid\">");
    text(b, "team", "Team", Some(&s.team));
    text(b, "leader", "Leader", s.leader.as_ref());
    text(b, "objective", "Objective", d.objective.as_ref());
    b.push_str("<label for=\"edit-transport\">Transport</label><select id=\"edit-transport\" name=\"transport\">");
    let one = match s.transport.as_slice() {
        [t] => Some(t.as_str()),
        _ => None,
    };
    if one.is_none() {
        let _ = write!(
            b,
            "<option value=\"\" selected>as they are ({})</option>",
            escape(&s.transport.join(", "))
        );
    }
    for t in Transport::ALL {
        let _ = write!(
            b,
            "<option value=\"{0}\"{1}>{0}</option>",
            escape(t.as_str()),
            if one == Some(t.as_str()) {
                " selected"
            } else {
                ""
            }
        );
    }
    b.push_str("</select>");
    let members: std::collections::BTreeSet<u32> = d.legs.iter().map(|l| l.members).collect();
    let (value, hint) = match members.iter().collect::<Vec<_>>().as_slice() {
        [m] => (m.to_string(), String::new()),
        _ => (
            String::new(),
            " placeholder=\"as they are\" title=\"the legs have different numbers\"".into(),
        ),
    };
    let _ = write!(
        b,
        "<label for=\"edit-members\">People on the patrol</label><input id=\"edit-members\" name=\"members\" type=\"number\" min=\"{MIN_MEMBERS}\" max=\"{MAX_MEMBERS}\" value=\"{value}\"{hint}>"
    );
    // A date only for a track without any time (the store refuses it on
    // another, and says why).
    if s.start.is_none() {
        let _ = write!(
            b,
            "<label for=\"edit-date\">Date</label><span><input id=\"edit-date\" name=\"date\" type=\"date\" value=\"{}\"><br><span class=\"muted\">the local date of a track without any time</span></span>",
            escape(s.first_date.as_deref().unwrap_or(""))
        );
    }
    b.push_str("</div><p class=\"muted\">An empty field stays as it is (a leader or an objective cannot be cleared here).</p><p><button type=\"submit\" id=\"patrol-save\">Save the changes</button></p><div class=\"result\" role=\"status\"></div></form></details>");
    b.push_str(&button_form(
        who,
        &format!("/api/patrols/{}/delete", enc(&s.patrol_id)),
        &page,
        "patrol-delete",
        "Delete the patrol",
        "danger",
    ));
    b.push_str(
        "<span class=\"muted\"> A deleted patrol keeps its history and can be restored.</span></section>",
    );
}

/// The last cell of an observation's row: its history, and for a role that
/// may edit, its edit page and a Delete button.
pub(crate) fn observation_actions(who: &Who, patrol_id: &str, o: &ObservationRow) -> String {
    let id = enc(&o.observation_id);
    let mut b = format!("<td class=\"noprint actions\"><a href=\"/history/{id}\">history</a>");
    if who.may(Action::Edit) {
        let _ = write!(b, " <a href=\"/observations/{id}/edit\">edit</a> ");
        b.push_str(&button_form(
            who,
            &format!("/api/observations/{id}/delete"),
            &format!("/patrols/{}", enc(patrol_id)),
            &format!("delete-{}", o.short_id),
            "delete",
            "small danger",
        ));
    }
    b.push_str("</td>");
    b
}

/// The patrol page's deleted observations, each with a Restore button for
/// a role that may edit.
pub(crate) fn deleted_observations(
    b: &mut String,
    who: &Who,
    patrol_id: &str,
    list: &[DeletedRecord],
    zone: chrono_tz::Tz,
) {
    if list.is_empty() {
        return;
    }
    let _ = write!(
        b,
        "<h2>Deleted observations ({})</h2><table id=\"deleted-observations\"><tr><th>observation</th><th>deleted</th><th>its last content</th><th class=\"noprint\"></th></tr>",
        list.len()
    );
    for d in list {
        let _ = write!(
            b,
            "<tr id=\"deleted-{0}\"><td>{0}</td><td class=\"nw\">{1}</td><td>{2}</td><td class=\"noprint actions\"><a href=\"/history/{3}\">history</a> ",
            escape(&d.short_id),
            local_time(Some(&d.version.time), zone),
            escape(&d.version.summary),
            enc(&d.record_id),
        );
        if who.may(Action::Edit) {
            b.push_str(&button_form(
                who,
                &format!("/api/observations/{}/restore", enc(&d.record_id)),
                &format!("/patrols/{}", enc(patrol_id)),
                &format!("restore-{}", d.short_id),
                "restore",
                "small",
            ));
        }
        b.push_str("</td></tr>");
    }
    b.push_str("</table>");
}

/// A history's versions as a table.
fn history_table(b: &mut String, h: &History, zone: chrono_tz::Tz) {
    b.push_str("<table id=\"history\"><tr><th>version</th><th>made</th><th>device</th><th>follows</th><th>state</th><th>content</th></tr>");
    let short = |v: &str| escape(patrol_core::ids::short_id(v));
    for v in &h.versions {
        let _ = write!(
            b,
            "<tr class=\"{}\"><td title=\"{}\">{}</td><td class=\"nw\">{}</td><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if v.deleted { "deleted" } else { "" },
            escape(&v.version_id),
            short(&v.version_id),
            local_time(Some(&v.time), zone),
            escape(&v.device_id),
            short(&v.device_id),
            v.parents
                .iter()
                .map(|p| short(p))
                .collect::<Vec<_>>()
                .join(", "),
            v.state(),
            if v.deleted {
                "(deleted)".into()
            } else {
                escape(&v.summary)
            },
        );
    }
    b.push_str("</table>");
}

/// The patrol a history's record belongs to (its own id for a patrol).
fn patrol_of(h: &History) -> Option<String> {
    match h.kind {
        "patrol" => Some(h.record_id.clone()),
        _ => h
            .shown()
            .and_then(|v| v.content.get("patrol"))
            .and_then(|p| p.as_str())
            .map(str::to_owned),
    }
}

/// `GET /history/{id}`: a record's versions, oldest first; a deleted
/// patrol or observation with its Restore button.
pub async fn history_page(
    State(state): State<Shared>,
    Extension(who): Extension<Who>,
    Path(id): Path<String>,
) -> Response {
    let w = who.clone();
    html_page(
        &who,
        with_store(&state, move |store| {
            let (kind, id) = store.resolve_any(&id)?;
            let h = store.history(kind, &id)?;
            let zone = site_zone(store);
            let mut b = format!(
                "<h1>History of {} {}{}</h1><div class=\"bar noprint\">",
                escape(h.kind),
                escape(&h.short_id),
                if h.deleted { " (deleted)" } else { "" }
            );
            if let Some(p) = patrol_of(&h) {
                let _ = write!(
                    b,
                    "<a href=\"/patrols/{}\">&larr; the patrol</a>",
                    enc(&p)
                );
            }
            let _ = write!(
                b,
                "<a href=\"/api/history/{}\">JSON</a></div><p class=\"muted\">Every version, oldest first: nothing is overwritten; an edit, a delete and a restore each add one. Times are {}.</p>",
                enc(&h.record_id),
                escape(zone.name())
            );
            if h.deleted && w.may(Action::Edit) && matches!(kind, Kind::Patrol | Kind::Observation)
            {
                let path = if kind == Kind::Patrol {
                    "patrols"
                } else {
                    "observations"
                };
                b.push_str(&button_form(
                    &w,
                    &format!("/api/{path}/{}/restore", enc(&h.record_id)),
                    &format!("/history/{}", enc(&h.record_id)),
                    "restore",
                    &format!("Restore this {}", h.kind),
                    "",
                ));
            }
            history_table(&mut b, &h, zone);
            Ok(layout(
                &w,
                store.site().name.as_str(),
                &format!("History of {} {}", h.kind, h.short_id),
                Nav::None,
                &b,
                "",
            ))
        })
        .await,
    )
}

/// A deleted patrol's page (where `/patrols/{id}` goes): what it was, its
/// history and, for a role that may edit, its Restore button.
pub(crate) fn deleted_patrol_page(store: &Store, who: &Who, id: &str) -> Result<String, AppError> {
    let h = store.history(Kind::Patrol, id)?;
    let zone = site_zone(store);
    let mut b = format!(
        "<h1>Patrol {} <span class=\"muted\">· deleted</span></h1><div class=\"bar noprint\"><a href=\"/deleted\">&larr; the deleted patrols</a><a href=\"/api/history/{}\">JSON</a></div>",
        escape(&h.short_id),
        enc(&h.record_id)
    );
    let last = h.shown().map(|v| v.summary.clone()).unwrap_or_default();
    let _ = write!(
        b,
        "<p class=\"warn\" id=\"deleted\">This patrol is deleted: it is in no list or report. Its last content: {}.</p>",
        escape(&last)
    );
    if who.may(Action::Edit) {
        let page = format!("/patrols/{}", enc(&h.record_id));
        b.push_str(&button_form(
            who,
            &format!("/api/patrols/{}/restore", enc(&h.record_id)),
            &page,
            "patrol-restore",
            "Restore the patrol",
            "",
        ));
    }
    b.push_str("<h2>History</h2>");
    history_table(&mut b, &h, zone);
    Ok(layout(
        who,
        store.site().name.as_str(),
        &format!("Patrol {} (deleted)", h.short_id),
        Nav::None,
        &b,
        "",
    ))
}

/// `GET /deleted`: the deleted patrols, newest deletion first.
pub async fn deleted_page(State(state): State<Shared>, Extension(who): Extension<Who>) -> Response {
    let w = who.clone();
    html_page(
        &who,
        with_store(&state, move |store| {
            let list = store.deleted_records(Kind::Patrol, None)?;
            let zone = site_zone(store);
            let mut b = String::from("<h1>Deleted patrols</h1>");
            if list.is_empty() {
                b.push_str("<p>No patrol is deleted.</p>");
            } else {
                b.push_str("<table id=\"deleted-patrols\"><tr><th>patrol</th><th>deleted</th><th>its last content</th><th class=\"noprint\"></th></tr>");
                for d in &list {
                    let _ = write!(
                        b,
                        "<tr><td><a href=\"/patrols/{0}\">{1}</a></td><td class=\"nw\">{2}</td><td>{3}</td><td class=\"noprint actions\">",
                        enc(&d.record_id),
                        escape(&d.short_id),
                        local_time(Some(&d.version.time), zone),
                        escape(&d.version.summary),
                    );
                    if w.may(Action::Edit) {
                        b.push_str(&button_form(
                            &w,
                            &format!("/api/patrols/{}/restore", enc(&d.record_id)),
                            &format!("/patrols/{}", enc(&d.record_id)),
                            &format!("restore-{}", d.short_id),
                            "restore",
                            "small",
                        ));
                    }
                    b.push_str("</td></tr>");
                }
                b.push_str("</table>");
            }
            Ok(layout(
                &w,
                store.site().name.as_str(),
                "Deleted patrols",
                Nav::None,
                &b,
                "",
            ))
        })
        .await,
    )
}

/// A time in microseconds as the site's local time for a
/// `datetime-local` input.
fn local_input(micros: i64, zone: chrono_tz::Tz) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| {
            t.with_timezone(&zone)
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

/// `GET /observations/{id}/edit`: the observation's form, filled with what
/// it is: its category (and, by the page's script, the category's
/// attributes from the same form model as the add form), note, place,
/// time and patrol; its Delete button and history.
/// The patrols an observation's edit page offers to move it to: those
/// within this many days of it.
const MOVE_WITHIN_DAYS: u64 = 31;

pub async fn observation_page(
    State(state): State<Shared>,
    Extension(who): Extension<Who>,
    Path(id): Path<String>,
) -> Response {
    let w = who.clone();
    html_page(
        &who,
        with_store(&state, move |store| {
            let id = store.resolve_live(Kind::Observation, &id)?;
            let h = store.history(Kind::Observation, &id)?;
            let o: patrol_core::Observation = h
                .shown()
                .and_then(|v| serde_json::from_value(v.content.clone()).ok())
                .ok_or_else(|| {
                    AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "unreadable version")
                })?;
            let model = store.data_model()?;
            // The patrols it may move to: those within a month of it (a
            // site's ten years are thousands, too many for a list).
            let around = o
                .time
                .and_then(chrono::DateTime::from_timestamp_micros)
                .map(|t| t.with_timezone(&site_zone(store)).date_naive())
                .or_else(|| {
                    store
                        .patrol_detail(&o.patrol.to_string())
                        .ok()
                        .and_then(|d| d.summary.first_date)
                        .and_then(|d| d.parse().ok())
                });
            let patrols = match around {
                Some(d) => store.patrols(Some((
                    d - chrono::Days::new(MOVE_WITHIN_DAYS),
                    d + chrono::Days::new(MOVE_WITHIN_DAYS),
                )))?,
                None => Vec::new(),
            };
            Ok(observation_form(
                &w,
                store.site().name.as_str(),
                &o,
                &h,
                &model,
                &patrols,
                site_zone(store),
            ))
        })
        .await,
    )
}

fn observation_form(
    who: &Who,
    site: &str,
    o: &patrol_core::Observation,
    h: &History,
    model: &patrol_core::category::DataModel,
    patrols: &[patrol_store::query::PatrolSummary],
    zone: chrono_tz::Tz,
) -> String {
    let id = o.id.to_string();
    let patrol = o.patrol.to_string();
    let back = format!("/patrols/{}", enc(&patrol));
    let mut b = format!(
        "<h1>Observation {} <span class=\"muted\">· {}</span></h1><div class=\"bar noprint\"><a href=\"{back}\">&larr; its patrol</a><a href=\"/history/{}\">History ({} versions)</a></div>",
        escape(&h.short_id),
        escape(&o.category),
        enc(&id),
        h.versions.len()
    );
    let _ = write!(
        b,
        "<form id=\"observation-edit-form\" class=\"api-form\" data-changed method=\"post\" action=\"/api/observations/{}/edit\">",
        enc(&id)
    );
    hidden(&mut b, who, &back);
    b.push_str("<div class=\"form-grid\"><label for=\"obs-category\">Category</label><select id=\"obs-category\" name=\"category\">");
    // The form model's categories, in its tree order (its one walk).
    let form_model = crate::pages::form_model_json(model);
    let json: serde_json::Value = serde_json::from_str(&form_model).unwrap_or_default();
    let cats = json["categories"].as_array().cloned().unwrap_or_default();
    if !cats.iter().any(|c| c["key"] == o.category.as_str()) {
        let _ = write!(
            b,
            "<option value=\"{0}\" selected>{0} (no longer in use)</option>",
            escape(&o.category)
        );
    }
    for c in &cats {
        let key = c["key"].as_str().unwrap_or_default();
        let depth = c["depth"].as_u64().unwrap_or(0) as usize;
        let _ = write!(
            b,
            "<option value=\"{}\"{}>{}{}</option>",
            escape(key),
            if key == o.category { " selected" } else { "" },
            "\u{a0}\u{a0}".repeat(depth),
            escape(c["label"].as_str().unwrap_or(key))
        );
    }
    b.push_str("</select><div id=\"obs-attributes\"></div>");
    let _ = write!(
        b,
        "<label for=\"obs-time\">Time</label><span><input type=\"datetime-local\" id=\"obs-time\" name=\"time\" step=\"1\" value=\"{}\"><br><span class=\"muted\">{} time; empty: as it is</span></span>",
        o.time.map(|t| local_input(t, zone)).unwrap_or_default(),
        escape(zone.name())
    );
    let _ = write!(
        b,
        "<label for=\"obs-note\">Note</label><input type=\"text\" id=\"obs-note\" name=\"note\" value=\"{}\" autocomplete=\"off\">",
        escape(o.note.as_deref().unwrap_or(""))
    );
    let _ = write!(
        b,
        "<label for=\"obs-lat\">Place</label><span><input type=\"number\" id=\"obs-lat\" name=\"lat\" step=\"any\" min=\"-90\" max=\"90\" value=\"{}\" aria-label=\"latitude\"> <input type=\"number\" id=\"obs-lon\" name=\"lon\" step=\"any\" min=\"-180\" max=\"180\" value=\"{}\" aria-label=\"longitude\"><br><span class=\"muted\">latitude, longitude</span></span>",
        o.lat, o.lon
    );
    b.push_str("<label for=\"obs-patrol\">Move to patrol</label><span><input id=\"obs-patrol\" name=\"patrol\" list=\"patrol-ids\" autocomplete=\"off\" placeholder=\"its id or short id\"><br><span class=\"muted\">empty: it stays on its patrol</span></span><datalist id=\"patrol-ids\">");
    for p in patrols.iter().filter(|p| p.patrol_id != patrol) {
        let _ = write!(
            b,
            "<option value=\"{}\">{} {}</option>",
            escape(&p.short_id),
            escape(&p.team),
            escape(p.first_date.as_deref().unwrap_or(""))
        );
    }
    b.push_str("</datalist></div><p class=\"muted\">A note cannot be cleared here, only replaced; an attribute left empty is removed.</p><p><button type=\"submit\" id=\"obs-edit-save\">Save the changes</button></p><div class=\"result\" role=\"status\"></div></form>");
    let _ = write!(
        b,
        "<script type=\"application/json\" id=\"form-model\">{form_model}</script><script type=\"application/json\" id=\"obs-values\">{}</script>",
        serde_json::to_string(&o.attributes)
            .unwrap_or_default()
            .replace('<', "\\u003c")
    );
    b.push_str(&button_form(
        who,
        &format!("/api/observations/{}/delete", enc(&id)),
        &back,
        "obs-delete",
        "Delete the observation",
        "danger",
    ));
    layout(
        who,
        site,
        &format!("Observation {}", h.short_id),
        Nav::None,
        &b,
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(body: &str, json: bool) -> Fields {
        let mut h = HeaderMap::new();
        if !json {
            h.insert(
                header::CONTENT_TYPE,
                "application/x-www-form-urlencoded".parse().unwrap(),
            );
        }
        Fields::read(&h, body.as_bytes()).unwrap()
    }

    #[test]
    fn a_form_and_json_are_read_alike_and_empty_leaves_a_value() {
        let form = fields(
            "team=+Bravo+&transport=Vehicle&members=&next=%2Fpatrols%2Fx&attributes%5Bcount%5D=3&attributes%5Bage%5D=",
            false,
        );
        let e = patrol_edit(&form).unwrap();
        assert_eq!(e.team.as_deref(), Some("Bravo"));
        assert_eq!(e.transport, Some(Transport::Vehicle));
        assert_eq!(e.members, None);
        assert_eq!(form.next.as_deref(), Some("/patrols/x"));
        assert_eq!(form.attributes(), ["count=3", "age="]);
        let json = fields(
            r#"{"team": "Bravo", "members": 4, "attributes": {"count": 3}}"#,
            true,
        );
        assert_eq!(patrol_edit(&json).unwrap().members, Some(4));
        assert_eq!(json.attributes(), ["count=3"]);
        assert!(json.next.is_none());
        for bad in [
            r#"{"members": 0}"#,
            r#"{"transport": "horse"}"#,
            r#"{"date": "04/10/2026"}"#,
        ] {
            let e = patrol_edit(&fields(bad, true)).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad}");
        }
        let e = observation_edit_text(&fields(r#"{"lat": 14.2}"#, true)).unwrap_err();
        assert!(e.message.contains("both lat and lon"), "{}", e.message);
        let t = observation_edit_text(&fields(r#"{"lat": 14.2, "lon": "102.1"}"#, true)).unwrap();
        assert_eq!(t.at.as_deref(), Some("14.2,102.1"));
        // A `next` off this server is not followed.
        assert_eq!(
            fields("next=%2F%2Fevil.example", false).next.as_deref(),
            Some("/")
        );
        let h = HeaderMap::new();
        assert!(Fields::read(&h, b"[1]").is_err());
        assert!(Fields::read(&h, b"").unwrap().list.is_empty());
        assert!(Fields::read(&h, b"null").unwrap().list.is_empty());
    }

    #[test]
    fn the_edit_page_and_the_history_escape_what_they_show() {
        let id = "01a25326-7cd5-7308-b088-000000000001";
        let o = patrol_core::Observation {
            id: id.parse().unwrap(),
            patrol: "01a25326-7cd5-7308-b088-000000000002".parse().unwrap(),
            category: "<b>gone</b>".into(),
            time: Some(1_759_708_950_000_000),
            lon: 102.1,
            lat: 14.2,
            raw_name: None,
            note: Some("\"><script>alert(1)</script>".into()),
            attributes: patrol_core::attribute::Values::new(),
        };
        let version = patrol_store::history::HistoryVersion {
            version_id: "01a25326-7cd5-7308-b088-000000000003".into(),
            parents: Vec::new(),
            hlc: 0,
            time: "2026-10-06T00:00:00.000Z".into(),
            device_id: "<dev>".into(),
            site_id: String::new(),
            deleted: false,
            head: true,
            shown: true,
            summary: "<i>note</i>".into(),
            content: serde_json::to_value(&o).unwrap(),
        };
        let h = History {
            kind: "observation",
            record_id: id.into(),
            short_id: "00000001".into(),
            deleted: false,
            versions: vec![version],
        };
        let model = patrol_core::category::DataModel::default_model();
        let page = observation_form(
            &Who::default(),
            "<Site>",
            &o,
            &h,
            &model,
            &[],
            chrono_tz::Asia::Bangkok,
        );
        assert!(!page.contains("<script>alert") && !page.contains("<b>gone"));
        assert!(page.contains("&lt;b&gt;gone&lt;/b&gt; (no longer in use)"));
        assert!(page.contains("value=\"&quot;&gt;&lt;script&gt;"));
        assert!(page.contains("value=\"2025-10-06T07:02:30\""), "local time");
        let mut b = String::new();
        history_table(&mut b, &h, chrono_tz::UTC);
        assert!(b.contains("&lt;i&gt;note&lt;/i&gt;") && b.contains("title=\"&lt;dev&gt;\""));
        assert_eq!(
            patrol_of(&h).as_deref(),
            Some("01a25326-7cd5-7308-b088-000000000002")
        );
    }
}
