//! What the report is computed from and what it holds: the facts the store
//! supplies, and the report's shape (the JSON of docs/METRICS.md).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{CoverageInput, DataQuality, MapData, QualityInput};
use crate::grid::Coverage;
use crate::ids::{LegId, ObservationId, PatrolId, SiteId};
use crate::model::Transport;

/// An inclusive range of local dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }
}

/// The effort of one leg on one local date (in its site's zone), computed at
/// import from the leg's track: pairs are attributed to the local date of their
/// first point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LegDay {
    pub site: SiteId,
    pub patrol: PatrolId,
    pub leg: LegId,
    pub team: String,
    pub transport: Transport,
    pub members: u32,
    pub date: NaiveDate,
    /// Track points whose local date is `date`.
    pub points: u64,
    /// Geodesic length of pairs whose first point is on `date`, metres.
    pub length_m: f64,
    /// Duration of those pairs that have both times, seconds.
    pub seconds: f64,
    /// The same, leaving out pairs more than 30 minutes apart.
    pub active_seconds: f64,
}

/// One observation, with its local date (its own time, else its patrol's first
/// track date, which `import --date` gives a file without times; `None` when
/// neither exists).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObservationFact {
    pub id: ObservationId,
    pub site: SiteId,
    pub patrol: PatrolId,
    pub category: String,
    pub threat: bool,
    pub date: Option<NaiveDate>,
    pub lon: f64,
    pub lat: f64,
}

/// A site's label, as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteInfo {
    pub name: String,
    pub timezone: String,
}

/// Everything the report is computed from. `days` and `observations` may hold
/// facts outside the period (for the baseline and the trend): they are
/// filtered by date here.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportInput {
    pub period: Period,
    pub baseline: Option<Period>,
    /// Trend over this many calendar months ending with the period's last one.
    pub months: Option<u32>,
    pub sites: BTreeMap<SiteId, SiteInfo>,
    pub days: Vec<LegDay>,
    pub observations: Vec<ObservationFact>,
    /// Track length without any date, km (reported, in no period).
    pub undated_km: f64,
    /// What quality control found in the period's patrols (docs/METRICS.md,
    /// "Data quality").
    pub quality: QualityInput,
    /// The data model's label of each category key ("poacher_camp" ->
    /// "Poacher camp"), for the renderers; a key without one shows as is.
    pub category_labels: BTreeMap<String, String>,
    /// Per site: its boundary, the cell size and the period's track lines of
    /// the site. Each site's grid is laid over its own boundary. A site with
    /// an empty boundary has no coverage figures, but its lines still go to
    /// the map.
    pub coverage: BTreeMap<SiteId, CoverageInput>,
}

/// Effort of one transport or one team.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub patrols: u64,
    pub km: f64,
    pub hours: f64,
}

/// Effort figures of one period (docs/METRICS.md).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Effort {
    pub patrols: u64,
    pub patrol_days: u64,
    pub person_days: u64,
    pub km: f64,
    pub hours: f64,
    pub active_hours: f64,
    pub by_transport: BTreeMap<String, Breakdown>,
    pub by_team: BTreeMap<String, Breakdown>,
}

/// Encounter figures of one period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Encounters {
    pub observations: u64,
    pub threats: u64,
    /// Observations per category key (non-zero only).
    pub by_category: BTreeMap<String, u64>,
    /// Threat observations per category key (non-zero only).
    pub threats_by_category: BTreeMap<String, u64>,
}

/// Rates; `None` (JSON null) when the denominator is 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub threats_per_100km: Option<f64>,
    pub threats_per_patrol_day: Option<f64>,
    pub threats_per_hour: Option<f64>,
}

/// Effort, encounters and rates of one period (and one site, or all).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub effort: Effort,
    pub encounters: Encounters,
    pub rates: Rates,
}

/// The report's period and its time zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodInfo {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The site's zone; "mixed" when the sites have several zones.
    pub timezone: String,
    /// All the zones the dates were counted in.
    pub timezones: Vec<String>,
    /// The sites the report is about, by name.
    #[serde(default)]
    pub sites: Vec<SiteRef>,
}

/// A site of the report: its id and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRef {
    pub site_id: SiteId,
    pub site_name: String,
}

/// The baseline's figures and the comparison of threats per km.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub effort: Effort,
    pub encounters: Encounters,
    pub rates: Rates,
    /// Threats per km, current / baseline.
    pub ratio: Option<f64>,
    /// 95 % interval of the ratio (exact conditional method).
    pub ci_low: Option<f64>,
    /// `None` when unbounded (no threats in the baseline).
    pub ci_high: Option<f64>,
    pub sentence: String,
}

/// One calendar month of the trend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrendMonth {
    /// "YYYY-MM".
    pub month: String,
    pub km: f64,
    pub hours: f64,
    pub patrol_days: u64,
    pub threats: u64,
    pub threats_per_100km: Option<f64>,
}

/// One site's figures, when the report covers several sites.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteFigures {
    pub name: String,
    pub timezone: String,
    pub effort: Effort,
    pub encounters: Encounters,
    pub rates: Rates,
    /// The site's coverage figures (on its own grid), when it has a boundary;
    /// its cells are in the report's `coverage`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub coverage: Option<Coverage>,
}

/// The effort report. Serialises to the JSON shape of docs/METRICS.md.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub period: PeriodInfo,
    pub effort: Effort,
    pub encounters: Encounters,
    pub rates: Rates,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub baseline: Option<Baseline>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trend: Option<Vec<TrendMonth>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub coverage: Option<Coverage>,
    /// Per site id, when the facts hold more than one site.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub by_site: Option<BTreeMap<String, SiteFigures>>,
    /// Observations without any date (in no period), whatever their site.
    pub undated_observations: u64,
    /// Track length without any date, km.
    pub undated_km: f64,
    pub map: MapData,
    /// Anything the reader should know (e.g. why coverage is missing).
    pub notes: Vec<String>,
    /// What quality control left out and why, patrols to look at, tracks
    /// held twice, conflicts, what has no date.
    #[serde(default)]
    pub data_quality: DataQuality,
    /// The label of each category key of the data model (the keys above stay
    /// keys).
    #[serde(default)]
    pub category_labels: BTreeMap<String, String>,
}

impl Report {
    /// A category's label, or its key when the data model has none.
    pub fn category_label<'a>(&'a self, key: &'a str) -> &'a str {
        self.category_labels.get(key).map_or(key, String::as_str)
    }

    /// The names of the report's sites, joined with ", ".
    pub fn site_names(&self) -> String {
        let names: Vec<&str> = self
            .period
            .sites
            .iter()
            .map(|s| s.site_name.as_str())
            .collect();
        names.join(", ")
    }

    /// Threats of one category per 100 km of the period's effort; `None`
    /// when the period has no km.
    pub fn threats_per_100km_of(&self, category: &str) -> Option<f64> {
        let threats = self
            .encounters
            .threats_by_category
            .get(category)
            .copied()
            .unwrap_or(0);
        (self.effort.km > 0.0).then(|| threats as f64 / self.effort.km * 100.0)
    }

    /// The notes that say what is undated (the renderers show
    /// `undated_observations` and `undated_km` themselves).
    pub fn undated_notes(&self) -> Vec<String> {
        undated_notes(self.undated_observations, self.undated_km)
    }
}

/// The notes about observations and track without a date.
pub(super) fn undated_notes(observations: u64, km: f64) -> Vec<String> {
    let mut notes = Vec::new();
    if observations > 0 {
        notes.push(format!(
            "{observations} observation(s) have no date and are in no period."
        ));
    }
    if km > 0.0 {
        notes.push(format!(
            "{km:.1} km of track have no date and are in no period."
        ));
    }
    notes
}
