//! The figures of one period: effort, encounters and rates
//! (docs/METRICS.md), added up from the facts in integer millimetres and
//! milliseconds so that sums are exact and order-free.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::attributes::{AttributeSums, attribute_sums, rates_per_100km};
use super::schema::{
    Breakdown, Effort, Encounters, Figures, LegDay, ObservationFact, Period, Rates, ReportInput,
};
use crate::ids::{LegId, PatrolId, SiteId};

/// A `LegDay` row that counts toward patrols and patrol-days: it has points on
/// its date, or length that starts on its date.
fn counts(d: &LegDay) -> bool {
    d.points > 0 || d.length_m > 0.0
}

/// Metres to integer millimetres (so that sums are exact and order-free).
fn mm(m: f64) -> i64 {
    (m * 1000.0).round() as i64
}

/// Seconds to integer milliseconds.
fn ms(s: f64) -> i64 {
    (s * 1000.0).round() as i64
}

fn km_of(mm: i64) -> f64 {
    mm as f64 / 1e6
}

fn hours_of(ms: i64) -> f64 {
    ms as f64 / 3.6e6
}

/// `num / den`, or `None` when `den` is not positive.
pub(super) fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

#[derive(Default)]
struct BreakdownAcc {
    patrols: BTreeSet<PatrolId>,
    mm: i64,
    ms: i64,
}

impl BreakdownAcc {
    fn add(&mut self, d: &LegDay) {
        if counts(d) {
            self.patrols.insert(d.patrol);
        }
        self.mm += mm(d.length_m);
        self.ms += ms(d.seconds);
    }

    fn finish(&self) -> Breakdown {
        Breakdown {
            patrols: self.patrols.len() as u64,
            km: km_of(self.mm),
            hours: hours_of(self.ms),
        }
    }
}

/// The figures of the rows and observations given (already filtered).
pub fn figures<'a>(
    days: impl IntoIterator<Item = &'a LegDay>,
    observations: impl IntoIterator<Item = &'a ObservationFact>,
) -> Figures {
    let mut patrols = BTreeSet::new();
    let mut patrol_days = BTreeSet::new();
    let mut leg_days: BTreeMap<(LegId, NaiveDate), u32> = BTreeMap::new();
    let (mut total_mm, mut total_ms, mut active_ms) = (0_i64, 0_i64, 0_i64);
    let mut by_transport: BTreeMap<String, BreakdownAcc> = BTreeMap::new();
    let mut by_team: BTreeMap<String, BreakdownAcc> = BTreeMap::new();
    for d in days {
        total_mm += mm(d.length_m);
        total_ms += ms(d.seconds);
        active_ms += ms(d.active_seconds);
        by_transport
            .entry(d.transport.as_str().to_owned())
            .or_default()
            .add(d);
        by_team.entry(d.team.clone()).or_default().add(d);
        if counts(d) {
            patrols.insert(d.patrol);
            patrol_days.insert((d.patrol, d.date));
            let m = leg_days.entry((d.leg, d.date)).or_default();
            *m = (*m).max(d.members);
        }
    }
    let effort = Effort {
        patrols: patrols.len() as u64,
        patrol_days: patrol_days.len() as u64,
        person_days: leg_days.values().map(|&m| u64::from(m)).sum(),
        km: km_of(total_mm),
        hours: hours_of(total_ms),
        active_hours: hours_of(active_ms),
        by_transport: by_transport
            .iter()
            .map(|(k, a)| (k.clone(), a.finish()))
            .collect(),
        by_team: by_team
            .iter()
            .map(|(k, a)| (k.clone(), a.finish()))
            .collect(),
    };
    let mut enc = Encounters::default();
    for o in observations {
        enc.observations += 1;
        *enc.by_category.entry(o.category.clone()).or_default() += 1;
        if o.threat {
            enc.threats += 1;
            *enc.threats_by_category
                .entry(o.category.clone())
                .or_default() += 1;
        }
    }
    let threats = enc.threats as f64;
    let rates = Rates {
        threats_per_100km: ratio(threats, effort.km).map(|r| r * 100.0),
        threats_per_patrol_day: ratio(threats, effort.patrol_days as f64),
        threats_per_hour: ratio(threats, effort.hours),
        attributes_per_100km: BTreeMap::new(),
    };
    Figures {
        effort,
        encounters: enc,
        rates,
    }
}

/// The figures of one period, optionally of one site only.
pub fn period_figures(input: &ReportInput, period: Period, site: Option<SiteId>) -> Figures {
    period_figures_with_sums(input, period, site).0
}

/// [`period_figures`], and what the period's attributes add up to (for the
/// baseline's comparisons).
pub(super) fn period_figures_with_sums(
    input: &ReportInput,
    period: Period,
    site: Option<SiteId>,
) -> (Figures, AttributeSums) {
    let site_ok = |s: SiteId| site.is_none_or(|want| want == s);
    let observations = || {
        input
            .observations
            .iter()
            .filter(move |o| o.date.is_some_and(|d| period.contains(d)) && site_ok(o.site))
    };
    let mut f = figures(
        input
            .days
            .iter()
            .filter(|d| period.contains(d.date) && site_ok(d.site)),
        observations(),
    );
    let sums = attribute_sums(&input.attributes, observations());
    f.rates.attributes_per_100km = rates_per_100km(&sums, f.effort.km);
    f.encounters.attributes.clone_from(&sums.table);
    (f, sums)
}
