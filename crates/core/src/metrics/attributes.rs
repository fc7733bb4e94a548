//! What observations' attributes add up to in a period (docs/METRICS.md,
//! "Attributes"): per category, each numeric attribute's aggregations and
//! each list, tree and boolean attribute's count per item; per threat
//! category, numeric sums per 100 km, and their comparison with the baseline.
//! Also the roll-up of a category subtree into its top.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::baseline::rate_sentence;
use super::figures::ratio;
use super::schema::{ObservationFact, ReportInput};
use crate::attribute::{Attribute, AttributeKind, Value};
use crate::stats::poisson_rate_ratio;

/// The figures of one attribute of one category in a period.
///
/// JSON: a numeric attribute gives one member per aggregation the data model
/// allows (`{"sum": 12.0, "avg": 3.0}`; `null` where it is undefined, e.g. a
/// sample deviation of one value); a list, tree or boolean attribute gives
/// `{"items": {"fresh": 3, "old": 1}}` (booleans as `"true"`/`"false"`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AttributeFigures {
    /// JSON `items`: observations per item key; absent for numeric attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<BTreeMap<String, u64>>,
    /// The aggregations by name ("sum", "avg", "min", "max",
    /// "stddev_samp", "var_samp"); empty for non-numeric attributes.
    #[serde(flatten)]
    pub aggregates: BTreeMap<String, Option<f64>>,
}

impl AttributeFigures {
    /// The sum, when the attribute's aggregations include it and it has values.
    pub fn sum(&self) -> Option<f64> {
        self.aggregates.get("sum").copied().flatten()
    }
}

/// Per category key, per attribute key: its figures (JSON
/// `encounters.attributes`).
pub type AttributeTable = BTreeMap<String, BTreeMap<String, AttributeFigures>>;

/// Per category key, per attribute key: a number (JSON
/// `rates.attributes_per_100km`, the numeric sums of threat observations per
/// 100 km, `null` without km).
pub type AttributeRates = BTreeMap<String, BTreeMap<String, Option<f64>>>;

/// A numeric sum of a threat category compared with the baseline, per km
/// (JSON `baseline.attributes.{category}.{attribute}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributeComparison {
    /// JSON `sum`: the period's sum over threat observations.
    pub sum: f64,
    /// JSON `baseline_sum`: the baseline's sum.
    pub baseline_sum: f64,
    /// JSON `ratio`: the period's sum per km / the baseline's; `null` when
    /// either has no km or the baseline's sum is 0.
    pub ratio: Option<f64>,
    /// JSON `ci_low`: the 95 % interval's low end (exact conditional
    /// Poisson method); `null` when the sums are not whole counts.
    pub ci_low: Option<f64>,
    /// JSON `ci_high`: its high end; `null` when unbounded or not counts.
    pub ci_high: Option<f64>,
    /// JSON `sentence`: the comparison in words, as the baseline's sentence.
    pub sentence: String,
}

/// Per category key, per attribute key: the comparison (JSON
/// `baseline.attributes`).
pub type AttributeComparisons = BTreeMap<String, BTreeMap<String, AttributeComparison>>;

/// What the attributes of a period's observations add up to.
#[derive(Debug, Default)]
pub(super) struct AttributeSums {
    /// `encounters.attributes`.
    pub table: AttributeTable,
    /// The sums over threat observations, per category and numeric attribute
    /// with a sum.
    pub threat_sums: BTreeMap<String, BTreeMap<String, f64>>,
}

/// The attribute figures of the observations given (already filtered to a
/// period and site), by the definitions in `defs`. A value whose attribute
/// is not defined, or does not fit its type, is not counted (the store and
/// the merge check values; this keeps a report from failing on one).
pub(super) fn attribute_sums<'a>(
    defs: &BTreeMap<String, Attribute>,
    observations: impl IntoIterator<Item = &'a ObservationFact>,
) -> AttributeSums {
    // Numbers are gathered, then sorted before they are added, so that a
    // sum does not depend on the order the facts came in.
    let mut numbers: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    let mut threat_numbers: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    let mut items: BTreeMap<(&str, &str), BTreeMap<String, u64>> = BTreeMap::new();
    for o in observations {
        for (key, value) in &o.attributes {
            let Some(def) = defs.get(key) else { continue };
            let at = (o.category.as_str(), key.as_str());
            match (&def.kind, value) {
                (AttributeKind::Numeric { .. }, Value::Number(n)) if n.is_finite() => {
                    numbers.entry(at).or_default().push(*n);
                    if o.threat {
                        threat_numbers.entry(at).or_default().push(*n);
                    }
                }
                (AttributeKind::List { .. } | AttributeKind::Tree { .. }, Value::Text(item)) => {
                    *items
                        .entry(at)
                        .or_default()
                        .entry(item.clone())
                        .or_default() += 1;
                }
                (AttributeKind::Boolean, Value::Bool(b)) => {
                    *items
                        .entry(at)
                        .or_default()
                        .entry(b.to_string())
                        .or_default() += 1;
                }
                _ => {}
            }
        }
    }
    let mut out = AttributeSums::default();
    for ((category, key), mut values) in numbers {
        values.sort_by(f64::total_cmp);
        let def = &defs[key];
        let aggregates = def
            .aggregations()
            .into_iter()
            .map(|a| (a.as_str().to_owned(), a.apply(&values)))
            .collect();
        out.table.entry(category.to_owned()).or_default().insert(
            key.to_owned(),
            AttributeFigures {
                items: None,
                aggregates,
            },
        );
    }
    for ((category, key), counts) in items {
        out.table.entry(category.to_owned()).or_default().insert(
            key.to_owned(),
            AttributeFigures {
                items: Some(counts),
                aggregates: BTreeMap::new(),
            },
        );
    }
    for ((category, key), mut values) in threat_numbers {
        if !defs[key]
            .aggregations()
            .contains(&crate::attribute::Aggregation::Sum)
        {
            continue;
        }
        values.sort_by(f64::total_cmp);
        out.threat_sums
            .entry(category.to_owned())
            .or_default()
            .insert(key.to_owned(), values.iter().sum());
    }
    out
}

/// The numeric sums of threat observations per 100 km.
pub(super) fn rates_per_100km(sums: &AttributeSums, km: f64) -> AttributeRates {
    sums.threat_sums
        .iter()
        .map(|(category, attrs)| {
            let rates = attrs
                .iter()
                .map(|(key, &sum)| (key.clone(), ratio(sum, km).map(|r| r * 100.0)))
                .collect();
            (category.clone(), rates)
        })
        .collect()
}

/// Whether a sum is a whole count (what the Poisson interval needs).
fn whole(x: f64) -> Option<u64> {
    (x >= 0.0 && x.fract() == 0.0 && x < 9.0e15).then_some(x as u64)
}

/// Each numeric sum of a threat category in the period or the baseline,
/// compared per km. `label` names a (category, attribute) in the sentence.
pub(super) fn comparisons(
    current: &AttributeSums,
    current_km: f64,
    base: &AttributeSums,
    base_km: f64,
    label: impl Fn(&str, &str) -> String,
) -> AttributeComparisons {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for sums in [&current.threat_sums, &base.threat_sums] {
        for (c, attrs) in sums {
            keys.extend(attrs.keys().map(|a| (c.as_str(), a.as_str())));
        }
    }
    keys.sort_unstable();
    keys.dedup();
    let sum_of = |s: &AttributeSums, c: &str, a: &str| {
        s.threat_sums
            .get(c)
            .and_then(|m| m.get(a))
            .copied()
            .unwrap_or(0.0)
    };
    let mut out = AttributeComparisons::new();
    for (c, a) in keys {
        let (s1, s0) = (sum_of(current, c, a), sum_of(base, c, a));
        let head = format!("{} per 100 km", label(c, a));
        let rate1 = ratio(s1, current_km).map(|r| r * 100.0);
        let (ratio_, low, high, sentence) = if let (Some(n1), Some(n0)) = (whole(s1), whole(s0)) {
            let rr = poisson_rate_ratio(n1, current_km, n0, base_km, 0.95);
            let sentence = rate_sentence(&head, n1, n0, base_km, rate1, rr);
            (
                rr.and_then(|r| r.ratio),
                rr.and_then(|r| r.low),
                rr.and_then(|r| r.high),
                sentence,
            )
        } else {
            let r = ratio(
                ratio(s1, current_km).unwrap_or(f64::NAN),
                ratio(s0, base_km).unwrap_or(0.0),
            )
            .filter(|r| r.is_finite());
            let sentence = match r {
                Some(r) => {
                    format!("{head}: ratio {r:.2} to the baseline (not whole counts: no interval)")
                }
                None => format!("{head}: no comparison"),
            };
            (r, None, None, sentence)
        };
        out.entry(c.to_owned()).or_default().insert(
            a.to_owned(),
            AttributeComparison {
                sum: s1,
                baseline_sum: s0,
                ratio: ratio_,
                ci_low: low,
                ci_high: high,
                sentence,
            },
        );
    }
    out
}

/// The category each observation of `input` is counted under when the
/// subtrees of `input.roll_up` are rolled up into their tops: a category in
/// the subtree of a roll-up key (itself, its children, their children...)
/// counts as that key; the nearest one wins when roll-up keys nest.
pub fn rolled_up_category<'a>(input: &'a ReportInput, category: &'a str) -> &'a str {
    if input.roll_up.is_empty() {
        return category;
    }
    let mut at = category;
    let mut steps = 0;
    loop {
        if let Some(top) = input.roll_up.iter().find(|k| k.as_str() == at) {
            return top;
        }
        match input.category_parents.get(at) {
            // The model has no cycles; the step limit keeps a bad input finite.
            Some(parent) if steps < 64 => {
                at = parent;
                steps += 1;
            }
            _ => return category,
        }
    }
}

/// `input` with each observation's category rolled up
/// ([`rolled_up_category`]); `None` when nothing rolls up.
pub(super) fn rolled_up(input: &ReportInput) -> Option<ReportInput> {
    if input.roll_up.is_empty() {
        return None;
    }
    let mut out = ReportInput {
        // The lines are not needed after the grids and the map have them.
        coverage: input
            .coverage
            .iter()
            .map(|(&site, c)| {
                let lines = Vec::new();
                (
                    site,
                    super::CoverageInput {
                        boundary: c.boundary.clone(),
                        cell_m: c.cell_m,
                        lines,
                    },
                )
            })
            .collect(),
        period: input.period,
        baseline: input.baseline,
        months: input.months,
        sites: input.sites.clone(),
        days: input.days.clone(),
        observations: input.observations.clone(),
        undated_km: input.undated_km,
        quality: input.quality.clone(),
        category_labels: input.category_labels.clone(),
        attributes: input.attributes.clone(),
        item_labels: input.item_labels.clone(),
        category_parents: input.category_parents.clone(),
        roll_up: input.roll_up.clone(),
    };
    for o in &mut out.observations {
        let top = rolled_up_category(input, &o.category);
        if top != o.category {
            o.category = top.to_owned();
        }
    }
    Some(out)
}

/// The label of an attribute (its key when the input has none).
pub(super) fn attribute_label<'a>(input: &'a ReportInput, key: &'a str) -> &'a str {
    input.attributes.get(key).map_or(key, |a| a.label.as_str())
}
