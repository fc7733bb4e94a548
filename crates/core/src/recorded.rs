//! A whole patrol as a file describes it (SMART's patrol XML): who, how,
//! the legs with their members and days, each day's track and observations.
//! Pure types; the readers and writers are in `patrol-smart`, the import
//! and the read back from the database in `patrol-store`.

use chrono::{NaiveDate, NaiveTime};

use crate::Transport;
use crate::attribute::Values;
use crate::qc::Fix;

/// One patrol, whole.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordedPatrol {
    /// The patrol's id in the system that wrote the file (SMART's), if it gave one.
    pub id: Option<String>,
    /// SMART's patrol type ("GROUND", "AIR", "MARINE").
    pub patrol_type: Option<String>,
    /// Whether the patrol was armed.
    pub armed: Option<bool>,
    /// What it was for.
    pub objective: Option<String>,
    /// The team that walked.
    pub team: Option<String>,
    /// The station it left from.
    pub station: Option<String>,
    /// A comment on the whole patrol.
    pub comment: Option<String>,
    /// The IANA zone the file's local times are in (the site's).
    pub timezone: String,
    /// The legs, in order; a patrol has at least one.
    pub legs: Vec<RecordedLeg>,
}

/// One leg: a stretch with one transport and one group of people.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedLeg {
    /// The leg's id in the file, if any.
    pub id: Option<String>,
    /// How it travelled.
    pub transport: Transport,
    /// The people on it.
    pub members: Vec<Member>,
    /// Why it went (SMART's mandate: "Law enforcement", "Research").
    pub mandate: Option<String>,
    /// The days, in order.
    pub days: Vec<RecordedDay>,
}

/// A member of a leg.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The name as people write it ("Given Family").
    pub name: String,
    /// Leads the leg.
    pub leader: bool,
    /// Flies (or steers) it.
    pub pilot: bool,
}

/// One day of a leg.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedDay {
    /// The local date.
    pub date: NaiveDate,
    /// When the day's patrolling began, local time.
    pub start: Option<NaiveTime>,
    /// When it ended, local time.
    pub end: Option<NaiveTime>,
    /// Minutes of rest the day's team declared.
    pub rest_minutes: Option<f64>,
    /// The day's track: segments of fixes (times in µs UTC); never joined.
    pub track: Vec<Vec<Fix>>,
    /// What was seen that day.
    pub observations: Vec<RecordedObservation>,
}

/// One observation (SMART: an observation of a waypoint).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedObservation {
    /// When, µs UTC (the waypoint's local time in the patrol's zone).
    pub time: Option<i64>,
    /// Latitude, WGS84 degrees.
    pub lat: f64,
    /// Longitude, WGS84 degrees.
    pub lon: f64,
    /// The category's key in the data model.
    pub category: String,
    /// Its attribute values.
    pub attributes: Values,
    /// The waypoint's comment.
    pub comment: Option<String>,
}

impl RecordedPatrol {
    /// Every observation, leg by leg and day by day.
    pub fn observations(&self) -> impl Iterator<Item = &RecordedObservation> {
        self.legs
            .iter()
            .flat_map(|l| &l.days)
            .flat_map(|d| &d.observations)
    }

    /// Every fix of every track.
    pub fn fixes(&self) -> impl Iterator<Item = &Fix> {
        self.legs
            .iter()
            .flat_map(|l| &l.days)
            .flat_map(|d| &d.track)
            .flatten()
    }

    /// The first and last local date of any day.
    pub fn dates(&self) -> Option<(NaiveDate, NaiveDate)> {
        let mut dates = self.legs.iter().flat_map(|l| &l.days).map(|d| d.date);
        let first = dates.next()?;
        Some(dates.fold((first, first), |(a, b), d| (a.min(d), b.max(d))))
    }
}

impl RecordedLeg {
    /// The leader's name, if a member leads.
    pub fn leader(&self) -> Option<&str> {
        self.members
            .iter()
            .find(|m| m.leader)
            .map(|m| m.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    #[test]
    fn dates_span_every_day() {
        let day = |d: u32| RecordedDay {
            date: NaiveDate::from_ymd_opt(2024, 3, d).unwrap(),
            start: None,
            end: None,
            rest_minutes: None,
            track: vec![vec![Fix::new(1.0, 2.0, None)]],
            observations: Vec::new(),
        };
        let leg = |days| RecordedLeg {
            id: None,
            transport: Transport::Foot,
            members: vec![Member {
                name: "A B".into(),
                leader: true,
                pilot: false,
            }],
            mandate: None,
            days,
        };
        let p = RecordedPatrol {
            legs: vec![leg(vec![day(3), day(4)]), leg(vec![day(2)])],
            ..RecordedPatrol::default()
        };
        let (a, b) = p.dates().unwrap();
        assert_eq!((a.day(), b.day()), (2, 4));
        assert_eq!(p.fixes().count(), 3);
        assert_eq!(p.legs[0].leader(), Some("A B"));
        assert!(RecordedPatrol::default().dates().is_none());
    }
}
