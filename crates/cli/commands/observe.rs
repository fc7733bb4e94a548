use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};
use patrol_core::ids::short_id;
use patrol_core::model::LatLon;
use patrol_core::time::parse_zone;
use patrol_store::Store;

use crate::Outcome;
use crate::args::ObserveArgs;

pub fn run(store: &mut Store, a: &ObserveArgs) -> Result<Outcome> {
    let at: LatLon = a.at.parse()?;
    let model = store.data_model()?;
    let Some(category) = model.match_text(&a.category).map(str::to_owned) else {
        let keys: Vec<&str> = model.categories.iter().map(|c| c.key.as_str()).collect();
        bail!(
            "'{}' is no category of this database's data model ({})",
            a.category,
            keys.join(", ")
        );
    };
    let time = match &a.time {
        None => None,
        Some(text) => Some(parse_time(text, &store.site().timezone)?),
    };
    let patrol = store.resolve_patrol(&a.patrol)?;
    let id = store.add_observation_with(&patrol, &category, at, time, a.note.clone(), &a.attr)?;
    if a.json {
        super::json(&serde_json::json!({
            "observation_id": id,
            "short_id": short_id(&id),
            "patrol_id": patrol,
            "category": category
        }))?;
    } else {
        super::out(&format!("{id}\n"))?;
        eprintln!(
            "recorded {category} {} on patrol {}",
            short_id(&id),
            short_id(&patrol)
        );
    }
    Ok(Outcome::Done)
}

/// RFC 3339, or a local time of the site without offset.
pub fn parse_time(text: &str, zone: &str) -> Result<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_micros());
    }
    // A date that is written right but does not exist (2026-02-30) is said
    // so, not as a parse error of what follows it.
    if let Some(day) = text.get(..10).filter(|d| {
        d.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
    }) && NaiveDate::parse_from_str(day, "%Y-%m-%d").is_err()
    {
        bail!("'{text}': there is no day {day} (check the month's last day)");
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .with_context(|| format!("'{text}' is not a time (e.g. 2026-10-04T08:15:00+07:00)"))?;
    let zone = parse_zone(zone)?;
    let local = zone
        .from_local_datetime(&naive)
        .earliest()
        .with_context(|| format!("{text} does not exist in {zone}"))?;
    Ok(local.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn a_day_that_does_not_exist_is_named() {
        for t in [
            "2026-02-30T10:00:00",
            "2026-02-30T10:00:00+07:00",
            "2025-13-01T00:00",
        ] {
            let e = parse_time(t, "Asia/Bangkok").unwrap_err().to_string();
            assert!(e.contains("there is no day"), "{t}: {e}");
        }
        assert!(parse_time("2026-02-28T10:00:00", "Asia/Bangkok").is_ok());
        assert!(parse_time("2024-02-29T10:00:00Z", "UTC").is_ok());
    }
}
