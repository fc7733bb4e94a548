//! `patrol report`: load the facts for the period (and baseline, and trend),
//! let patrol-core add them up, let patrol-report render them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use patrol_core::metrics::{Period, Report};
use patrol_core::{Site, SiteId};
use patrol_report::Format;
use patrol_store::Store;
use patrol_store::query::ReportQuery;

use super::patrols::month_range;
use crate::Outcome;
use crate::output::Output;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A local calendar month, YYYY-MM.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub month: Option<String>,
    /// First local date of the period (YYYY-MM-DD), with --to.
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// Last local date of the period (inclusive).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// A baseline period to compare threats per km with: FROM..TO, as months (2025-10..2026-03) or dates.
    #[arg(long)]
    pub baseline: Option<String>,
    /// A month-by-month trend of the N months up to the period's end (`--months` is the old spelling).
    #[arg(long = "trend-months", alias = "months", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=120))]
    pub months: Option<u32>,
    /// Only this site (name or id); all sites otherwise.
    #[arg(long)]
    pub site: Option<String>,
    /// Count a category's subcategories as the category itself (e.g. `--roll-up snare`: wire and cable snares count as snares); repeatable.
    #[arg(long = "roll-up", value_name = "CATEGORY")]
    pub roll_up: Vec<String>,
    /// Coverage grid cell side in metres (with a site boundary).
    #[arg(long, default_value_t = 1000.0)]
    pub grid_m: f64,
    /// The report's format.
    #[arg(long, value_enum, ignore_case = true, default_value = "text")]
    pub format: crate::args::FormatArg,
    /// The same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Write to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With csv: one CSV file per table in this folder.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Replace existing files at --out or in --out-dir (never a database, even with --force).
    #[arg(long)]
    pub force: bool,
}

/// "2025-10..2026-03" (months) or "2025-10-01..2026-03-31" (dates).
pub fn parse_range(s: &str) -> Result<Period> {
    Ok(patrol_core::metrics::parse_range(s)?)
}

fn period(a: &ReportArgs) -> Result<Period> {
    match (&a.month, &a.from, &a.to) {
        (Some(m), _, _) => {
            let (from, to) = month_range(m)?;
            Ok(Period { from, to })
        }
        (None, Some(f), Some(t)) => parse_range(&format!("{f}..{t}")),
        _ => bail!("give the period: --month YYYY-MM, or --from and --to"),
    }
}

/// A site by its name (any case), else by its id or an id prefix of 4 or
/// more characters; several sites matching is an error naming them, never
/// the first of them.
pub fn pick_site(all: &[Site], wanted: &str) -> Result<SiteId> {
    let wanted = wanted.trim();
    let by_name: Vec<&Site> = all
        .iter()
        .filter(|s| s.name.eq_ignore_ascii_case(wanted))
        .collect();
    let prefix = wanted.to_lowercase();
    let found = if by_name.is_empty() && prefix.len() >= 4 {
        all.iter()
            .filter(|s| s.id.to_string().starts_with(&prefix))
            .collect()
    } else {
        by_name
    };
    match found.as_slice() {
        [one] => Ok(one.id),
        [] => {
            let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
            bail!("no site '{wanted}' in this database ({})", names.join(", "))
        }
        several => {
            let ids: Vec<String> = several
                .iter()
                .map(|s| format!("{} ({})", s.name, s.id))
                .collect();
            bail!(
                "'{wanted}' matches several sites: {}; give the site's id",
                ids.join(", ")
            )
        }
    }
}

/// The report of `query` (built by the store, as the web app's is).
fn report(store: &Store, query: &ReportQuery, roll_up: &[String]) -> Result<Report> {
    Ok(store.report(query, roll_up)?)
}

/// The `--roll-up` keys, each a category of the data model.
fn roll_up_keys(store: &Store, keys: &[String]) -> Result<Vec<String>> {
    let model = store.data_model()?;
    let mut out = Vec::new();
    for key in keys {
        let key = key.trim();
        if model.get(key).is_none() {
            let known: Vec<&str> = model.categories.iter().map(|c| c.key.as_str()).collect();
            bail!(
                "--roll-up: no category '{key}' in the data model (categories: {})",
                known.join(", ")
            );
        }
        if !out.iter().any(|k| k == key) {
            out.push(key.to_owned());
        }
    }
    Ok(out)
}

pub fn run(store: &Store, a: &ReportArgs) -> Result<Outcome> {
    let output = Output::new(Some(store.path()), a.force);
    if let Some(path) = &a.out {
        output.check(path)?;
    }
    let format: Format = a.format.into();
    if !(a.grid_m.is_finite() && a.grid_m >= 10.0) {
        bail!("--grid-m must be at least 10 metres");
    }
    let period = period(a)?;
    let baseline = a.baseline.as_deref().map(parse_range).transpose()?;
    let site = a
        .site
        .as_deref()
        .map(|s| pick_site(&store.sites()?, s))
        .transpose()?;
    let roll_up = roll_up_keys(store, &a.roll_up)?;
    let report = report(
        store,
        &ReportQuery {
            period,
            baseline,
            months: a.months,
            site,
            grid_m: a.grid_m,
        },
        &roll_up,
    )?;
    if let Some(dir) = &a.out_dir {
        let tables = patrol_report::render_csv_tables(&report);
        // Every file is checked before the first is written.
        for (name, _) in &tables {
            output.check(&dir.join(name))?;
        }
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
        for (name, text) in tables {
            let path = dir.join(name);
            output.write(&path, text.as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
        return Ok(Outcome::Done);
    }
    if format == Format::Json && a.out.is_none() {
        patrol_report::json::write(&report, std::io::stdout().lock())?;
        return Ok(Outcome::Done);
    }
    let text = patrol_report::render(&report, format);
    match &a.out {
        Some(path) => {
            output.write(path, text.as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
        None => super::out(&text)?,
    }
    Ok(Outcome::Done)
}

/// The demo's report: October 2026 against the baseline, with a six-month trend.
pub fn demo_report(store: &Store, dir: &Path, output: &Output) -> Result<PathBuf> {
    let (from, to) = month_range("2026-10")?;
    let period = Period { from, to };
    let baseline = Some(parse_range("2025-10..2026-03")?);
    let report = report(
        store,
        &ReportQuery {
            period,
            baseline,
            months: Some(13),
            site: None,
            grid_m: 1000.0,
        },
        &[],
    )?;
    let path = dir.join("report.html");
    output.write(
        &path,
        patrol_report::render(&report, Format::Html).as_bytes(),
    )?;
    super::out(&format!(
        "\n{}",
        patrol_report::render(&report, Format::Text)
    ))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(name: &str, id: &str) -> Site {
        Site {
            id: SiteId(id.parse().unwrap()),
            name: name.into(),
            timezone: "UTC".into(),
        }
    }

    #[test]
    fn a_site_is_picked_by_name_or_one_id_prefix_never_the_first_of_several() {
        let all = [
            site("Thap Lan", "01a209b5-46e4-706e-8cd8-d5c40c3f30cf"),
            site("Pang Sida", "01a209b5-ffff-706e-8cd8-d5c40c3f30aa"),
            site("thap lan", "02b209b5-46e4-706e-8cd8-d5c40c3f30cf"),
        ];
        assert_eq!(pick_site(&all, "pang sida").unwrap(), all[1].id);
        assert_eq!(pick_site(&all, "02b2").unwrap(), all[2].id);
        // Two sites of one name (any case), one prefix of two ids, an empty
        // or too short prefix: refused, not the first one.
        for wanted in ["Thap Lan", "01a209b5", "", "01"] {
            assert!(pick_site(&all, wanted).is_err(), "{wanted}");
        }
        let err = pick_site(&all, "01a209b5").unwrap_err().to_string();
        assert!(err.contains("matches several sites"), "{err}");
    }
}
