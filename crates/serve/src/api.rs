//! `/api/`: the CLI's `--json` bodies, from the same structs and calls.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use patrol_core::Transport;
use patrol_core::metrics::{Period, parse_month, parse_range};
use patrol_core::model::LatLon;
use patrol_core::model::{MAX_MEMBERS, MEMBERS, MIN_MEMBERS};
use patrol_store::edit::ObservationAdded;
use patrol_store::import::{ImportOptions, ImportReport};
use patrol_store::query::ReportQuery;
use serde::Deserialize;

use crate::Shared;
use crate::web::{AppError, JSON, body, json_body, with_store};

/// `?month=YYYY-MM` of the patrol list (all patrols without it).
#[derive(Debug, Default, Deserialize)]
pub struct MonthParam {
    pub month: Option<String>,
}

/// A month's first and last dates, or none for an empty or missing month.
pub fn month(m: Option<&str>) -> Result<Option<Period>, AppError> {
    match m.map(str::trim) {
        None | Some("") => Ok(None),
        Some(m) => Ok(Some(parse_month(m)?)),
    }
}

/// `GET /api/patrols?month=YYYY-MM`: `patrol patrols --month M --json`.
pub async fn patrols(
    State(state): State<Shared>,
    Query(q): Query<MonthParam>,
) -> Result<Response, AppError> {
    let range = month(q.month.as_deref())?;
    let list = with_store(&state, move |store| {
        Ok(store.patrols(range.map(|p| (p.from, p.to)))?)
    })
    .await?;
    json_body(&list)
}

/// `GET /api/patrols/{id}`: `patrol show --json ID`.
pub async fn patrol(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let detail = with_store(&state, move |store| Ok(store.patrol_detail(&id)?)).await?;
    json_body(&detail)
}

/// The report's parameters, as `patrol report` takes them.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ReportParams {
    /// The month, YYYY-MM (or `from` and `to`).
    pub month: Option<String>,
    /// The first local date, YYYY-MM-DD, with `to`.
    pub from: Option<String>,
    /// The last local date, with `from`.
    pub to: Option<String>,
    /// FROM..TO, months or dates.
    pub baseline: Option<String>,
    /// The trend's months, 1 to 120 (`trend_months` as the CLI's
    /// `--trend-months` will do too).
    #[serde(alias = "trend_months", alias = "trend-months")]
    pub months: Option<String>,
}

fn given(s: Option<&String>) -> Option<&str> {
    s.map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// The report asked for, checked as `patrol report` checks its arguments.
pub fn report_query(p: &ReportParams) -> Result<ReportQuery, AppError> {
    let period = match (
        given(p.month.as_ref()),
        given(p.from.as_ref()),
        given(p.to.as_ref()),
    ) {
        (Some(m), None, None) => parse_month(m)?,
        (None, Some(f), Some(t)) => parse_range(&format!("{f}..{t}"))?,
        (Some(_), _, _) => {
            return Err(AppError::bad_request(
                "give month, or from and to, not both",
            ));
        }
        _ => {
            return Err(AppError::bad_request(
                "give the period: month=YYYY-MM, or from=YYYY-MM-DD and to=YYYY-MM-DD",
            ));
        }
    };
    let baseline = given(p.baseline.as_ref()).map(parse_range).transpose()?;
    let months = given(p.months.as_ref())
        .map(|m| match m.parse::<u32>() {
            Ok(n) if (1..=120).contains(&n) => Ok(n),
            _ => Err(AppError::bad_request(format!(
                "months: '{m}' is not a whole number from 1 to 120"
            ))),
        })
        .transpose()?;
    Ok(ReportQuery {
        period,
        baseline,
        months,
        site: None,
        grid_m: 1000.0,
    })
}

/// `GET /api/report?month=YYYY-MM&baseline=FROM..TO&months=N`: `patrol
/// report --format json`.
pub async fn report(
    State(state): State<Shared>,
    Query(p): Query<ReportParams>,
) -> Result<Response, AppError> {
    let query = report_query(&p)?;
    let bytes = with_store(&state, move |store| {
        let report = store.report(&query, &[])?;
        let mut out = Vec::new();
        patrol_report::json::write(&report, &mut out)
            .map_err(|e| AppError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        Ok(out)
    })
    .await?;
    Ok(body(JSON, bytes))
}

/// The import form's values as given (text fields, trimmed later).
#[derive(Debug, Default)]
pub struct ImportForm {
    pub team: String,
    pub transport: String,
    pub members: String,
    /// Names, comma-separated (the CLI's `--member`), one field or several.
    pub member_names: Vec<String>,
    pub leader: String,
    pub objective: String,
    /// YYYY-MM-DD, for files whose tracks have no time.
    pub date: String,
}

/// The import form's values, checked by the core's rules.
pub fn import_form_options(f: &ImportForm) -> Result<ImportOptions, AppError> {
    let mut opts = import_options(&f.team, &f.transport, &f.members)?;
    opts.member_names = f
        .member_names
        .iter()
        .flat_map(|s| s.split(','))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    opts.leader = given(&f.leader);
    opts.objective = given(&f.objective);
    opts.date = given(&f.date)
        .map(|d| patrol_core::metrics::parse_date(&d))
        .transpose()
        .map_err(|e| AppError::bad_request(format!("date: {e}")))?;
    Ok(opts)
}

/// The team, transport and members of the import form, checked by the core's rules.
pub fn import_options(
    team: &str,
    transport: &str,
    members: &str,
) -> Result<ImportOptions, AppError> {
    let transport = transport_field(transport)?;
    let members = match members.trim() {
        "" => MIN_MEMBERS,
        m => members_field(m)?,
    };
    Ok(ImportOptions {
        team: team.trim().to_owned(),
        transport,
        members,
        member_names: Vec::new(),
        leader: None,
        objective: None,
        date: None,
        assume_zone: None,
        patrol: None,
    })
}

/// A transport as a form gives it, by the core's names (any case).
pub fn transport_field(text: &str) -> Result<Transport, AppError> {
    text.trim()
        .to_ascii_lowercase()
        .parse()
        .map_err(|e: patrol_core::model::UnknownTransport| {
            AppError::bad_request(format!("transport: {e}"))
        })
}

/// How many people, as a form gives it: a whole number in the core's
/// [`MEMBERS`].
pub fn members_field(text: &str) -> Result<u32, AppError> {
    let m = text.trim();
    m.parse::<u32>()
        .ok()
        .filter(|n| MEMBERS.contains(n))
        .ok_or_else(|| {
            AppError::bad_request(format!(
                "members: '{m}' is not a whole number from {MIN_MEMBERS} to {MAX_MEMBERS}"
            ))
        })
}

/// The largest text field of the import form, bytes.
const MAX_FIELD: usize = 4096;

/// `POST /api/import`, multipart: `file` (one or more), `team`,
/// `transport`, `members` (or `headcount`); and as the CLI takes them
/// `member` (names), `leader`, `objective`, `date`; answers as `patrol
/// import --json`.
pub async fn import(
    State(state): State<Shared>,
    mut form: Multipart,
) -> Result<Response, AppError> {
    let dir = tempfile::Builder::new()
        .prefix("patrol-upload-")
        .tempdir()
        .map_err(|e| AppError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let bad = |e| crate::files::upload_error(&e);
    let mut f = ImportForm {
        transport: "foot".into(),
        ..ImportForm::default()
    };
    let mut files = Vec::new();
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            files.extend(crate::files::save_upload(dir.path(), &mut field).await?);
            continue;
        }
        let value = field.text().await.map_err(bad)?;
        if value.len() > MAX_FIELD {
            return Err(AppError::bad_request(format!("{name}: too long")));
        }
        match name.as_str() {
            "team" => f.team = value,
            "transport" => f.transport = value,
            "members" | "headcount" => f.members = value,
            "member" | "member_names" => f.member_names.push(value),
            "leader" => f.leader = value,
            "objective" => f.objective = value,
            "date" => f.date = value,
            _ => {}
        }
    }
    if files.is_empty() {
        return Err(AppError::bad_request(
            "no file: choose one or more GPX files",
        ));
    }
    let opts = import_form_options(&f)?;
    let reports: Vec<ImportReport> = with_store(&state.clone(), move |store| {
        let has_gpx = files.iter().any(|f| !crate::files::is_smart_file(f));
        if has_gpx && opts.team.is_empty() {
            return Err(AppError::bad_request(
                "team: name the team (a GPX file does not say who walked)",
            ));
        }
        if !store.writable() {
            return Err(AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is read-only; nothing was changed",
            ));
        }
        // One writer of ours at a time; the CLI beside us is waited for
        // by SQLite's busy timeout.
        let _writing = state
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let reports = crate::files::import_uploads(store, dir.path(), &files, &opts)?;
        drop(dir);
        Ok(reports)
    })
    .await?;
    json_body(&reports)
}

/// A new observation as the form or a script sends it: the CLI's `patrol
/// observe` arguments (`lat`/`lon` its `--at`, `attributes` its `--attr`).
#[derive(Debug, Default, Deserialize)]
pub struct ObservationForm {
    pub patrol: String,
    pub category: String,
    /// Degrees, as a number or as text.
    pub lat: Option<serde_json::Value>,
    pub lon: Option<serde_json::Value>,
    /// RFC 3339, or the site's local time without offset; empty: none.
    pub time: Option<String>,
    pub note: Option<String>,
    /// Attribute key to the text typed (a number or boolean taken as text).
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A JSON value as the text a person would have typed.
pub(crate) fn typed(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl ObservationForm {
    /// From `application/x-www-form-urlencoded` fields: `attributes[KEY]`
    /// (or `attr.KEY`) for each attribute.
    pub fn from_fields(fields: Vec<(String, String)>) -> Self {
        let mut f = ObservationForm::default();
        for (k, v) in fields {
            let text = serde_json::Value::String(v.clone());
            match k.as_str() {
                "patrol" => f.patrol = v,
                "category" => f.category = v,
                "lat" => f.lat = Some(text),
                "lon" => f.lon = Some(text),
                "time" => f.time = Some(v),
                "note" => f.note = Some(v),
                _ => {
                    let key = k
                        .strip_prefix("attributes[")
                        .and_then(|k| k.strip_suffix(']'))
                        .or_else(|| k.strip_prefix("attr."));
                    if let Some(key) = key {
                        f.attributes.insert(key.to_owned(), text);
                    }
                }
            }
        }
        f
    }
}

/// `POST /api/observations` (JSON or a form): `patrol observe`, answered as
/// `patrol observe --json`; a value the data model refuses is a 400 with
/// the core's message, and nothing is saved.
pub async fn add_observation(
    State(state): State<Shared>,
    headers: axum::http::HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Response, AppError> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let f: ObservationForm = if content_type.starts_with("application/x-www-form-urlencoded") {
        ObservationForm::from_fields(crate::auth::form_fields(&bytes))
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| AppError::bad_request(format!("the observation: {e}")))?
    };
    let lat = f.lat.as_ref().map(typed).unwrap_or_default();
    let lon = f.lon.as_ref().map(typed).unwrap_or_default();
    if lat.trim().is_empty() || lon.trim().is_empty() {
        return Err(AppError::bad_request(
            "the place: give lat and lon (click on the map, or type them)",
        ));
    }
    let at: LatLon = format!("{lat},{lon}")
        .parse()
        .map_err(|e: patrol_core::model::BadPosition| AppError::bad_request(e.to_string()))?;
    let pairs: Vec<String> = f
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={}", typed(v)))
        .filter(|p| !p.ends_with('='))
        .collect();
    let added = with_store(&state.clone(), move |store| {
        let model = store.data_model()?;
        let Some(category) = model.match_text(&f.category).map(str::to_owned) else {
            let keys: Vec<&str> = model.categories.iter().map(|c| c.key.as_str()).collect();
            return Err(AppError::bad_request(format!(
                "'{}' is no category of this database's data model ({})",
                f.category,
                keys.join(", ")
            )));
        };
        let time = match f.time.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) => Some(
                patrol_core::time::parse_local_time(t, &store.site().timezone)
                    .map_err(|e| AppError::bad_request(format!("time: {e}")))?,
            ),
        };
        let note = f
            .note
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        let patrol = store.resolve_patrol(&f.patrol)?;
        if !store.writable() {
            return Err(AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is read-only; nothing was changed",
            ));
        }
        let _writing = state
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = store.add_observation_with(&patrol, &category, at, time, note, &pairs)?;
        Ok(ObservationAdded::new(&id, &patrol, &category))
    })
    .await?;
    json_body(&added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_follow_the_core_rules() {
        let o = import_options(" Alpha ", "Vehicle", "4").unwrap();
        assert_eq!(
            (o.team.as_str(), o.transport, o.members),
            ("Alpha", Transport::Vehicle, 4)
        );
        assert_eq!(import_options("A", "foot", "").unwrap().members, 1);
        for (t, m) in [
            ("horse", "1"),
            ("foot", "0"),
            ("foot", "1001"),
            ("foot", "x"),
        ] {
            let e = import_options("A", t, m).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{t} {m}");
        }
    }

    #[test]
    fn the_rest_of_the_form_is_taken_as_the_cli_takes_it() {
        let f = ImportForm {
            team: "Alpha".into(),
            transport: "foot".into(),
            members: "4".into(),
            member_names: vec!["Somchai, Nok".into(), "Dao".into()],
            leader: " Somchai ".into(),
            date: "2026-10-04".into(),
            ..ImportForm::default()
        };
        let o = import_form_options(&f).unwrap();
        assert_eq!(o.member_names, ["Somchai", "Nok", "Dao"]);
        assert_eq!(o.leader.as_deref(), Some("Somchai"));
        assert_eq!(o.objective, None);
        assert_eq!(o.date.unwrap().to_string(), "2026-10-04");
        let bad = ImportForm {
            date: "04/10/2026".into(),
            ..f
        };
        assert!(
            import_form_options(&bad)
                .unwrap_err()
                .message
                .starts_with("date: ")
        );
    }

    #[test]
    fn report_parameters_are_checked_like_the_cli() {
        let q = report_query(&ReportParams {
            month: Some("2026-10".into()),
            baseline: Some("2025-10..2026-03".into()),
            months: Some("6".into()),
            ..ReportParams::default()
        })
        .unwrap();
        assert_eq!(q.period.from.to_string(), "2026-10-01");
        assert_eq!(q.months, Some(6));
        for bad in [
            ReportParams::default(),
            ReportParams {
                month: Some("October".into()),
                ..ReportParams::default()
            },
            ReportParams {
                month: Some("2026-10".into()),
                months: Some("0".into()),
                ..ReportParams::default()
            },
        ] {
            assert!(report_query(&bad).is_err(), "{bad:?}");
        }
    }
}
