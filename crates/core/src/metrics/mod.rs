//! The effort report's arithmetic: from per-leg-day facts (computed at import)
//! and observation facts, the figures defined in docs/METRICS.md.
//!
//! The store supplies the facts; this module only adds them up. Nothing here
//! reads a database or a clock.

//! The seams: [`schema`] (what the report holds, as JSON shows it), the
//! figures of one period (`figures`), the baseline sentence (`baseline`), the
//! calendar (`calendar`) and the map (`map`), and the builder (`build`) that
//! puts them together.

mod attributes;
mod baseline;
mod build;
mod calendar;
mod figures;
mod map;
mod schema;

pub use crate::grid::CoverageInput;
pub use crate::quality::{DataQuality, DuplicateFact, QualityFact, QualityInput};
pub use attributes::{
    AttributeComparison, AttributeComparisons, AttributeFigures, AttributeRates, AttributeTable,
    rolled_up_category,
};
pub use baseline::baseline_sentence;
pub use build::{build_report, build_report_parallel, build_report_streamed};
pub use calendar::{BadPeriod, months_ending, parse_date, parse_month, parse_range};
pub use figures::{figures, period_figures};
pub use map::{MAP_MAX_POINTS, MapData, MapPoint};
pub use schema::*;

#[cfg(test)]
use {
    crate::ids::{LegId, ObservationId, PatrolId, SiteId},
    crate::stats::poisson_rate_ratio,
    chrono::NaiveDate,
    figures::ratio,
    std::collections::BTreeMap,
};

#[cfg(test)]
mod tests;
