//! `patrol observations`: observations with their attributes, as a table or JSON.

use anyhow::{Result, bail};
use chrono::NaiveDate;
use clap::Args;
use patrol_report::table::Table;
use patrol_store::Store;
use patrol_store::listing::{Filter, ObservationListing};

use super::patrols::month_range;
use crate::Outcome;

#[derive(Args, Debug)]
pub struct ObservationsArgs {
    /// Only observations of this local month (YYYY-MM).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub month: Option<String>,
    /// Only observations from this local date (YYYY-MM-DD), with --to.
    #[arg(long, requires = "to")]
    pub from: Option<NaiveDate>,
    /// Only observations up to this local date (inclusive), with --from.
    #[arg(long, requires = "from")]
    pub to: Option<NaiveDate>,
    /// Only observations of this category and the categories below it (a
    /// key, label or alias; repeat for more).
    #[arg(long, value_name = "KEY")]
    pub category: Vec<String>,
    /// Only this patrol's observations (its id, first characters or short id).
    #[arg(long)]
    pub patrol: Option<String>,
    /// Only this site (its name or id).
    #[arg(long)]
    pub site: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(store: &Store, a: &ObservationsArgs) -> Result<Outcome> {
    let dates = match (&a.month, a.from, a.to) {
        (Some(m), _, _) => Some(month_range(m)?),
        (None, Some(from), Some(to)) => {
            if from > to {
                bail!("--from {from} is after --to {to}");
            }
            Some((from, to))
        }
        _ => None,
    };
    let site = a
        .site
        .as_deref()
        .map(|s| super::report::pick_site(&store.sites()?, s))
        .transpose()?;
    let filter = Filter {
        dates,
        site,
        patrol: a.patrol.clone(),
        categories: a.category.clone(),
    };
    let (list, model) = store.reading(|| -> Result<_> {
        Ok((store.observation_listing(&filter)?, store.data_model()?))
    })?;
    if a.json {
        super::json(&list)?;
        return Ok(Outcome::Done);
    }
    let mut t = Table::new(&[
        "observation",
        "local time",
        "category",
        "patrol",
        "team",
        "attributes",
    ])
    .text(&["patrol"]);
    for o in &list {
        t.row(vec![
            o.short_id.clone(),
            local_time(o),
            o.label.clone(),
            o.patrol_short_id.clone(),
            o.team.clone(),
            model.values_text(&o.attributes),
        ]);
    }
    super::out(&t.render())?;
    eprintln!("{} observations", list.len());
    Ok(Outcome::Done)
}

/// "2024-03-18 08:30" in the site's zone; the date alone when the
/// observation has no time of its own; "-" when it has neither.
fn local_time(o: &ObservationListing) -> String {
    if let Some(t) = o
        .local_time
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    {
        return t.format("%Y-%m-%d %H:%M").to_string();
    }
    o.date.clone().unwrap_or_else(|| "-".into())
}
