use std::fmt::Write as _;

use anyhow::Result;
use chrono::NaiveDate;
use patrol_store::Store;

use crate::Outcome;
use crate::args::{PatrolsArgs, ShowArgs};
use patrol_report::table::{Table, escape};

/// A local month YYYY-MM as its first and last dates (the rule of
/// `patrol_core::metrics::parse_month`, which the web app follows too).
pub fn month_range(month: &str) -> Result<(NaiveDate, NaiveDate)> {
    let p = patrol_core::metrics::parse_month(month)?;
    Ok((p.from, p.to))
}

fn opt(s: Option<&String>) -> String {
    s.cloned().unwrap_or_else(|| "-".into())
}

pub fn list(store: &Store, a: &PatrolsArgs) -> Result<Outcome> {
    let range = a.month.as_deref().map(month_range).transpose()?;
    let patrols = store.patrols(range)?;
    if a.json {
        super::json(&patrols)?;
        return Ok(Outcome::Done);
    }
    let mut t = Table::new(&[
        "patrol",
        "team",
        "transport",
        "members",
        "first day",
        "last day",
        "km",
        "hours",
        "obs",
        "threats",
        "file",
    ])
    .text(&["team", "file"]);
    for p in &patrols {
        t.row(vec![
            p.short_id.clone(),
            p.team.clone(),
            p.transport.join(","),
            p.members.to_string(),
            opt(p.first_date.as_ref()),
            opt(p.last_date.as_ref()),
            format!("{:.2}", p.km),
            format!("{:.1}", p.hours),
            p.observations.to_string(),
            p.threats.to_string(),
            opt(p.source_file.as_ref()),
        ]);
    }
    super::out(&t.render())?;
    eprintln!("{} patrols", patrols.len());
    Ok(Outcome::Done)
}

pub fn show(store: &Store, a: &ShowArgs) -> Result<Outcome> {
    let d = store.patrol_detail(&a.patrol)?;
    if a.json {
        super::json(&d)?;
        return Ok(Outcome::Done);
    }
    let model = store.data_model()?;
    let s = &d.summary;
    let mut text = format!(
        "patrol     {}  ({})\nsite       {}\nteam       {}\nleader     {}\nobjective  {}\nfile       {}\nstart      {}\nend        {}\nkm         {:.3}\nhours      {:.2}\npoints     {} in {} segments\nversions   {}{}\n\n",
        s.short_id,
        s.patrol_id,
        escape(&s.site),
        escape(&s.team),
        escape(&opt(s.leader.as_ref())),
        escape(&opt(d.objective.as_ref())),
        escape(&opt(s.source_file.as_ref())),
        opt(s.start.as_ref()),
        opt(s.end.as_ref()),
        s.km,
        s.hours,
        s.track_points,
        d.segments,
        d.versions,
        if s.conflict {
            "  (conflicting edits: see `patrol conflicts`)"
        } else {
            ""
        },
    );
    let mut legs = Table::new(&["leg", "transport", "members", "names"]);
    for l in &d.legs {
        legs.row(vec![
            l.short_id.clone(),
            l.transport.clone(),
            l.members.to_string(),
            l.member_names.join(", "),
        ]);
    }
    text.push_str(&legs.render());
    text.push('\n');
    let mut days = Table::new(&["date", "km", "hours", "active hours", "points"]);
    for day in &d.days {
        days.row(vec![
            day.date.clone().unwrap_or_else(|| "(undated)".into()),
            format!("{:.3}", day.km),
            format!("{:.2}", day.hours),
            format!("{:.2}", day.active_hours),
            day.track_points.to_string(),
        ]);
    }
    text.push_str(&days.render());
    text.push('\n');
    let mut obs = Table::new(&[
        "observation",
        "category",
        "threat",
        "time",
        "lat",
        "lon",
        "name",
        "note",
        "recorded",
    ]);
    for o in &d.observations {
        obs.row(vec![
            o.short_id.clone(),
            o.category.clone(),
            if o.threat { "yes".into() } else { "no".into() },
            opt(o.time.as_ref()),
            format!("{:.6}", o.lat),
            format!("{:.6}", o.lon),
            opt(o.raw_name.as_ref()),
            opt(o.note.as_ref()),
            if o.attributes.is_empty() {
                "-".to_owned()
            } else {
                model.values_text(&o.attributes)
            },
        ]);
    }
    text.push_str(&obs.render());
    if !d.warnings.is_empty() {
        let _ = writeln!(
            text,
            "\nquality    {:.3} km recorded, {:.3} km counted",
            d.recorded_km, s.km
        );
        let mut w = Table::new(&["warning", "what"]);
        for x in &d.warnings {
            w.row(vec![x.kind.as_str().to_owned(), x.message.clone()]);
        }
        text.push_str(&w.render());
    }
    if !d.marked_fixes.is_empty() {
        text.push('\n');
        let mut m = Table::new(&["fix", "rule", "counted", "time", "lat", "lon"]);
        for f in d.marked_fixes.iter().take(200) {
            m.row(vec![
                format!("{}:{}", f.segment, f.point),
                f.mark.clone(),
                if f.excluded {
                    "no (--keep-fix to count it)".into()
                } else {
                    "yes (kept by a person)".into()
                },
                opt(f.time.as_ref()),
                format!("{:.6}", f.lat),
                format!("{:.6}", f.lon),
            ]);
        }
        text.push_str(&m.render());
        if d.marked_fixes.len() > 200 {
            let _ = writeln!(
                text,
                "... and {} more marked fixes (`patrol show --json`)",
                d.marked_fixes.len() - 200
            );
        }
    }
    super::out(&text)?;
    Ok(Outcome::Done)
}
