//! What the report is computed from and what it holds: the facts the store
//! supplies, and the report's shape (the JSON of docs/METRICS.md).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::attributes::{AttributeComparisons, AttributeRates, AttributeTable};
use super::{CoverageInput, DataQuality, MapData, QualityInput};
use crate::attribute::{Attribute, Values};
use crate::grid::Coverage;
use crate::ids::{LegId, ObservationId, PatrolId, SiteId};
use crate::model::Transport;

/// An inclusive range of local dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// First local date of the period, included.
    pub from: NaiveDate,
    /// Last local date of the period, included.
    pub to: NaiveDate,
}

impl Period {
    /// Whether `date` (a local date in the site's zone) lies in the period, both ends included.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }
}

/// The effort of one leg on one local date (in its site's zone), computed at
/// import from the leg's track: pairs are attributed to the local date of their
/// first point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LegDay {
    /// The site whose time zone dates this row.
    pub site: SiteId,
    /// The patrol the leg belongs to.
    pub patrol: PatrolId,
    /// The leg this row is a day of.
    pub leg: LegId,
    /// The patrol's team (for `by_team`).
    pub team: String,
    /// The leg's transport (for `by_transport`).
    pub transport: Transport,
    /// People on the leg; each counting (leg, date) adds this many `person_days`.
    pub members: u32,
    /// The local date in the site's zone this row's effort belongs to.
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
    /// The observation's id.
    pub id: ObservationId,
    /// The site of the observation's patrol.
    pub site: SiteId,
    /// The patrol the observation was made on.
    pub patrol: PatrolId,
    /// The matched category key of the data model (`other` when nothing matched).
    pub category: String,
    /// Whether the category is a threat in the data model (counts in `threats` and the rates).
    pub threat: bool,
    /// The local date in the site's zone that puts it in a period; `None`: in no period, counted in `undated_observations`.
    pub date: Option<NaiveDate>,
    /// Longitude, WGS84 degrees (x).
    pub lon: f64,
    /// Latitude, WGS84 degrees (y).
    pub lat: f64,
    /// Its attribute values (key to value), as recorded; empty when none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: Values,
}

/// A site's label, as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteInfo {
    /// The site's name, as the report's title and tables show it.
    pub name: String,
    /// The site's IANA time zone (e.g. "Africa/Nairobi"), in which its dates are counted.
    pub timezone: String,
}

/// Everything the report is computed from. `days` and `observations` may hold
/// facts outside the period (for the baseline and the trend): they are
/// filtered by date here.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportInput {
    /// The inclusive range of local dates the report is about.
    pub period: Period,
    /// The baseline period to compare threats per km against (`--baseline`); `None`: no baseline.
    pub baseline: Option<Period>,
    /// Trend over this many calendar months ending with the period's last one.
    pub months: Option<u32>,
    /// Name and time zone of every site in the facts, by site id.
    pub sites: BTreeMap<SiteId, SiteInfo>,
    /// LegDay rows; may hold dates outside the period (for the baseline and the trend), filtered by date here.
    pub days: Vec<LegDay>,
    /// Observation facts, undated ones included; may hold dates outside the period, filtered by date here.
    pub observations: Vec<ObservationFact>,
    /// Track length without any date, km (reported, in no period).
    pub undated_km: f64,
    /// What quality control found in the period's patrols (docs/METRICS.md,
    /// "Data quality").
    pub quality: QualityInput,
    /// The data model's label of each category key ("poacher_camp" ->
    /// "Poacher camp"), for the renderers; a key without one shows as is.
    pub category_labels: BTreeMap<String, String>,
    /// The data model's attributes by key: their types say how their values
    /// add up (`encounters.attributes`), their labels name them.
    pub attributes: BTreeMap<String, Attribute>,
    /// Per attribute key, the label of each list or tree item key.
    pub item_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Each category's parent in the data model's tree (top categories have none).
    pub category_parents: BTreeMap<String, String>,
    /// Category keys whose subtrees count as the key itself (`report
    /// --roll-up`); empty: every category as recorded.
    pub roll_up: Vec<String>,
    /// Per site: its boundary, the cell size and the period's track lines of
    /// the site. Each site's grid is laid over its own boundary. A site with
    /// an empty boundary has no coverage figures, but its lines still go to
    /// the map.
    pub coverage: BTreeMap<SiteId, CoverageInput>,
}

/// Effort of one transport or one team.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// JSON `patrols`: distinct patrols with a counting row of this transport or team (a patrol can count in several).
    pub patrols: u64,
    /// JSON `km`: the rows' `length_m` summed / 1000; the breakdowns add up to the total km.
    pub km: f64,
    /// JSON `hours`: the rows' patrol time (`seconds`) summed / 3600; the breakdowns add up to the total hours.
    pub hours: f64,
}

/// Effort figures of one period (docs/METRICS.md).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Effort {
    /// JSON `patrols`: distinct patrols with at least one counting row (points > 0 or length > 0) in the period.
    pub patrols: u64,
    /// JSON `patrol_days`: distinct (patrol, local date) of counting rows.
    pub patrol_days: u64,
    /// JSON `person_days`: the sum, over distinct (leg, date) of counting rows, of the leg's `members`.
    pub person_days: u64,
    /// JSON `km`: the period's geodesic track length of kept fixes, km.
    pub km: f64,
    /// JSON `hours`: patrol time (pairs up to the pause limit, 2 h, apart), hours.
    pub hours: f64,
    /// JSON `active_hours`: patrol time without pairs more than 30 minutes apart, hours.
    pub active_hours: f64,
    /// JSON `by_transport`: patrols, km and hours per leg transport key (e.g. "foot").
    pub by_transport: BTreeMap<String, Breakdown>,
    /// JSON `by_team`: patrols, km and hours per patrol team.
    pub by_team: BTreeMap<String, Breakdown>,
}

/// Encounter figures of one period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Encounters {
    /// JSON `observations`: observations whose local date is in the period.
    pub observations: u64,
    /// JSON `threats`: those of them whose category is a threat.
    pub threats: u64,
    /// Observations per category key (non-zero only).
    pub by_category: BTreeMap<String, u64>,
    /// Threat observations per category key (non-zero only).
    pub threats_by_category: BTreeMap<String, u64>,
    /// JSON `attributes`: per category key, per attribute key, the
    /// aggregations of a numeric attribute (`{"sum": 7.0}`) or the count per
    /// item of a list, tree or boolean one (`{"items": {"fresh": 2}}`);
    /// categories and attributes without values are absent.
    #[serde(default)]
    pub attributes: AttributeTable,
}

/// Rates; `None` (JSON null) when the denominator is 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    /// JSON `threats_per_100km`: threats / km * 100; `None` (null) without km.
    pub threats_per_100km: Option<f64>,
    /// JSON `threats_per_patrol_day`: threats / patrol_days; `None` (null) without patrol days.
    pub threats_per_patrol_day: Option<f64>,
    /// JSON `threats_per_hour`: threats / hours (not active hours); `None` (null) without hours.
    pub threats_per_hour: Option<f64>,
    /// JSON `attributes_per_100km`: per threat category, per numeric
    /// attribute summed in reports, the sum over its threat observations /
    /// km * 100 ("snares removed per 100 km"); `null` without km.
    #[serde(default)]
    pub attributes_per_100km: AttributeRates,
}

/// Effort, encounters and rates of one period (and one site, or all).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// JSON `effort`: km, hours, patrols, patrol and person days, and their breakdowns.
    pub effort: Effort,
    /// JSON `encounters`: observations and threats, by category.
    pub encounters: Encounters,
    /// JSON `rates`: threats per 100 km, per patrol-day and per hour.
    pub rates: Rates,
}

/// The report's period and its time zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodInfo {
    /// JSON `period.from`: the period's first local date (YYYY-MM-DD).
    pub from: NaiveDate,
    /// JSON `period.to`: the period's last local date, included.
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
    /// The site's id (JSON `site_id`), the key of `by_site`.
    pub site_id: SiteId,
    /// The site's name (JSON `site_name`).
    pub site_name: String,
}

/// The baseline's figures and the comparison of threats per km.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// JSON `baseline.from`: the baseline's first local date.
    pub from: NaiveDate,
    /// JSON `baseline.to`: the baseline's last local date, included.
    pub to: NaiveDate,
    /// JSON `baseline.effort`: the baseline period's effort figures.
    pub effort: Effort,
    /// JSON `baseline.encounters`: the baseline period's observations and threats.
    pub encounters: Encounters,
    /// JSON `baseline.rates`: the baseline period's rates.
    pub rates: Rates,
    /// Threats per km, current / baseline.
    pub ratio: Option<f64>,
    /// 95 % interval of the ratio (exact conditional method).
    pub ci_low: Option<f64>,
    /// `None` when unbounded (no threats in the baseline).
    pub ci_high: Option<f64>,
    /// JSON `baseline.sentence`: the comparison in words, e.g. "Threats per 100 km down 30 % from the baseline (95 % CI 5-48 %)".
    pub sentence: String,
    /// JSON `baseline.attributes`: each numeric sum of a threat category
    /// (`rates.attributes_per_100km`, in either period) compared per km.
    #[serde(default)]
    pub attributes: AttributeComparisons,
}

/// One calendar month of the trend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrendMonth {
    /// "YYYY-MM".
    pub month: String,
    /// JSON `km`: the month's geodesic track length, km (the whole month, even past the period's ends).
    pub km: f64,
    /// JSON `hours`: the month's patrol time, hours.
    pub hours: f64,
    /// JSON `patrol_days`: distinct (patrol, date) of the month's counting rows.
    pub patrol_days: u64,
    /// JSON `threats`: threat observations dated in the month.
    pub threats: u64,
    /// JSON `threats_per_100km`: the month's threats / km * 100; `None` (null) without km (the chart's line breaks there).
    pub threats_per_100km: Option<f64>,
}

/// One site's figures, when the report covers several sites.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteFigures {
    /// JSON `name`: the site's name.
    pub name: String,
    /// JSON `site_id`: the site's id (also the key of `by_site`), as every
    /// output names a site: `site_id` with `site_name`.
    #[serde(default)]
    pub site_id: String,
    /// JSON `site_name`: the site's name (the same as `name`, which stays).
    #[serde(default)]
    pub site_name: String,
    /// JSON `timezone`: the site's IANA zone, in which its dates are counted.
    pub timezone: String,
    /// JSON `effort`: the site's effort figures in the period.
    pub effort: Effort,
    /// JSON `encounters`: the site's observations and threats in the period.
    pub encounters: Encounters,
    /// JSON `rates`: the site's rates in the period.
    pub rates: Rates,
    /// The site's coverage figures (on its own grid), when it has a boundary;
    /// its cells are in the report's `coverage`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub coverage: Option<Coverage>,
}

/// The effort report. Serialises to the JSON shape of docs/METRICS.md.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// JSON `period`: from, to, the time zone(s) and the sites.
    pub period: PeriodInfo,
    /// JSON `effort`: the period's effort over all sites.
    pub effort: Effort,
    /// JSON `encounters`: the period's observations and threats over all sites.
    pub encounters: Encounters,
    /// JSON `rates`: the period's rates over all sites.
    pub rates: Rates,
    /// JSON `baseline`: the baseline's figures and rate ratio; `None` (absent) without `--baseline`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub baseline: Option<Baseline>,
    /// JSON `trend`: the calendar months ending with the period's last, oldest first; `None` (absent) without `--trend-months`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trend: Option<Vec<TrendMonth>>,
    /// JSON `coverage`: grid coverage of the boundary (the sum over sites when several); `None` (absent) when no site has a boundary.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub coverage: Option<Coverage>,
    /// Per site id, when the facts hold more than one site.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub by_site: Option<BTreeMap<String, SiteFigures>>,
    /// Observations without any date (in no period), whatever their site.
    pub undated_observations: u64,
    /// Track length without any date, km.
    pub undated_km: f64,
    /// JSON `map`: the period's decimated track lines, the boundary rings and the threat points, lon/lat.
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
    /// JSON `attribute_labels`: the label of each attribute key of the data
    /// model.
    #[serde(default)]
    pub attribute_labels: BTreeMap<String, String>,
    /// JSON `item_labels`: per attribute key, the label of each list or tree
    /// item key.
    #[serde(default)]
    pub item_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// JSON `roll_up`: the category keys whose subtrees were counted as the
    /// key itself; empty when none.
    #[serde(default)]
    pub roll_up: Vec<String>,
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
        let threats = self.threats_of(category);
        (self.effort.km > 0.0).then(|| threats as f64 / self.effort.km * 100.0)
    }

    /// Threats of one category in the period (0 when none).
    pub fn threats_of(&self, category: &str) -> u64 {
        self.encounters
            .threats_by_category
            .get(category)
            .copied()
            .unwrap_or(0)
    }

    /// An attribute's label, or its key when the data model has none.
    pub fn attribute_label<'a>(&'a self, key: &'a str) -> &'a str {
        self.attribute_labels.get(key).map_or(key, String::as_str)
    }

    /// A list or tree item's label, or its key when the data model has none.
    pub fn item_label<'a>(&'a self, attribute: &str, item: &'a str) -> &'a str {
        self.item_labels
            .get(attribute)
            .and_then(|m| m.get(item))
            .map_or(item, String::as_str)
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
