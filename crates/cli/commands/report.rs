//! `patrol report`: load the facts for the period (and baseline, and trend),
//! let patrol-core add them up, let patrol-report render them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::Args;
use patrol_core::metrics::{Period, build_report};
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

fn date(s: &str) -> Result<NaiveDate> {
    s.parse()
        .with_context(|| format!("'{s}' is not a date (YYYY-MM-DD)"))
}

/// "2025-10..2026-03" (months) or "2025-10-01..2026-03-31" (dates).
pub fn parse_range(s: &str) -> Result<Period> {
    let (a, b) = s
        .split_once("..")
        .with_context(|| format!("'{s}' is not FROM..TO"))?;
    let from = if a.len() == 7 {
        month_range(a)?.0
    } else {
        date(a)?
    };
    let to = if b.len() == 7 {
        month_range(b)?.1
    } else {
        date(b)?
    };
    if from > to {
        bail!("'{s}': the range ends before it starts");
    }
    Ok(Period { from, to })
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

fn pick_site(all: &[Site], wanted: &str) -> Result<SiteId> {
    all.iter()
        .find(|s| {
            s.name.eq_ignore_ascii_case(wanted)
                || s.id.to_string().starts_with(&wanted.to_lowercase())
        })
        .map(|s| s.id)
        .with_context(|| {
            let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
            format!("no site '{wanted}' in this database ({})", names.join(", "))
        })
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
    let report = build_report(&store.report_input(&ReportQuery {
        period,
        baseline,
        months: a.months,
        site,
        grid_m: a.grid_m,
    })?);
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
    let report = build_report(&store.report_input(&ReportQuery {
        period,
        baseline,
        months: Some(13),
        site: None,
        grid_m: 1000.0,
    })?);
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
