use anyhow::{Result, bail};
use patrol_core::ids::short_id;
use patrol_core::model::LatLon;
use patrol_store::Store;
use patrol_store::edit::ObservationAdded;

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
        super::json(&ObservationAdded::new(&id, &patrol, &category))?;
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

/// RFC 3339, or a local time of the site without offset (the core's rule,
/// which the web form's time follows too).
pub fn parse_time(text: &str, zone: &str) -> Result<i64> {
    patrol_core::time::parse_local_time(text, zone).map_err(anyhow::Error::msg)
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
