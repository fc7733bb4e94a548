//! The report of a period, built from the store's facts and lines: the one
//! way `patrol report` and the web app's `/api/report` make it.

use patrol_core::metrics::{Report, build_report_parallel, build_report_streamed};

use crate::query::ReportQuery;
use crate::{Result, Store};

impl Store {
    /// The report of `query`: its facts, and its track lines streamed from
    /// the store into the grids and the map, all read in one snapshot: the
    /// facts on a second connection in the same snapshot while the lines
    /// are read, when the store gives one, else one after the other.
    /// `roll_up`: category keys whose subcategories count as themselves.
    pub fn report(&self, query: &ReportQuery, roll_up: &[String]) -> Result<Report> {
        self.reading(|| {
            let coverage = self.report_coverage(query)?;
            if let Some(second) = self.second_reader() {
                return build_report_parallel(
                    &coverage,
                    move || {
                        let mut input = second.report_facts(query)?;
                        input.roll_up = roll_up.to_vec();
                        Ok(input)
                    },
                    |add| self.each_report_line(query, add),
                );
            }
            let mut input = self.report_facts(query)?;
            input.roll_up = roll_up.to_vec();
            build_report_streamed(&input, |add| self.each_report_line(query, add))
        })
    }
}
