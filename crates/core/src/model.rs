//! The records: sites, patrols, legs, observations (SMART's model, kept simple).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{DeviceId, LegId, ObservationId, PatrolId, SiteId};

/// How a leg of a patrol moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Walking; default speed ceiling 15 km/h.
    Foot,
    /// By car or truck; default speed ceiling 130 km/h.
    Vehicle,
    /// By motorcycle; default speed ceiling 130 km/h.
    Motorbike,
    /// On water; default speed ceiling 80 km/h.
    Boat,
    /// Flown; default speed ceiling 900 km/h.
    Aircraft,
}

impl Transport {
    /// Every transport, in declaration (and sort) order.
    pub const ALL: [Transport; 5] = [
        Transport::Foot,
        Transport::Vehicle,
        Transport::Motorbike,
        Transport::Boat,
        Transport::Aircraft,
    ];

    /// The transport a stored name (exactly [`Transport::as_str`]) names.
    pub fn from_stored(name: &str) -> Option<Transport> {
        Transport::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The lower-case name stored in the database and in JSON ("foot", "vehicle", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Foot => "foot",
            Transport::Vehicle => "vehicle",
            Transport::Motorbike => "motorbike",
            Transport::Boat => "boat",
            Transport::Aircraft => "aircraft",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transport name that is not one of ours.
#[derive(Debug, thiserror::Error)]
#[error("unknown transport '{0}' (expected one of foot, vehicle, motorbike, boat, aircraft)")]
pub struct UnknownTransport(pub String);

impl FromStr for Transport {
    type Err = UnknownTransport;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Transport::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownTransport(s.to_owned()))
    }
}

/// The fewest members a leg has.
pub const MIN_MEMBERS: u32 = 1;
/// The most members a leg has.
pub const MAX_MEMBERS: u32 = 1000;
/// How many members a leg may have: the one rule for the CLI and merge.
pub const MEMBERS: std::ops::RangeInclusive<u32> = MIN_MEMBERS..=MAX_MEMBERS;

/// A site: a protected area, with the IANA time zone its dates are counted in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Site {
    /// UUIDv7 identity, made by the store; patrols refer to it.
    pub id: SiteId,
    /// The protected area's name, as reports and the CLI show it.
    pub name: String,
    /// IANA zone name ("Asia/Bangkok") in which the site's local dates and midnights are counted.
    pub timezone: String,
}

/// A patrol: the content of one version of a patrol record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Patrol {
    /// UUIDv7 identity of the record, the same in every version.
    pub id: PatrolId,
    /// The site patrolled; its time zone gives the track's local dates.
    pub site: SiteId,
    /// The team that walked (`import --team`), as `by_team` groups it.
    pub team: String,
    /// The leader's name; `None` when none was given.
    pub leader: Option<String>,
    /// What the patrol set out to do, free text; `None` when none was given.
    pub objective: Option<String>,
    /// The device whose database first recorded it.
    pub origin_device: DeviceId,
    /// blake3 of the GPX file it was imported from, if any.
    pub source_digest: Option<String>,
    /// File name (no directory) of the GPX file it was imported from; `None` when it came from no file.
    pub source_file: Option<String>,
}

/// A leg: one transport and one set of members within a patrol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Leg {
    /// UUIDv7 identity of the record, the same in every version.
    pub id: LegId,
    /// The patrol it is part of.
    pub patrol: PatrolId,
    /// How it moved: picks the speed ceiling quality control applies.
    pub transport: Transport,
    /// Head count, within [`MEMBERS`]; each counting date of the leg adds this many person-days.
    pub members: u32,
    /// Members' names as given (`import --member`); may be empty, and need not number `members`.
    pub member_names: Vec<String>,
    /// The local date a person gave to a track without any time (`import
    /// --date`, `edit patrol --date`); ignored when the track has times.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub date: Option<chrono::NaiveDate>,
    /// A person's word on fixes: kept against the rules, or dropped.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub fix_overrides: Vec<crate::qc::FixOverride>,
}

/// An observation: something seen, at a place and usually a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// UUIDv7 identity of the record, the same in every version.
    pub id: ObservationId,
    /// The patrol it was seen on.
    pub patrol: PatrolId,
    /// A category key of the data model.
    pub category: String,
    /// Microseconds since the Unix epoch, UTC.
    pub time: Option<i64>,
    /// Longitude (x), WGS84 degrees.
    pub lon: f64,
    /// Latitude (y), WGS84 degrees.
    pub lat: f64,
    /// What the ranger typed on the GPS, as it was.
    pub raw_name: Option<String>,
    /// Free text: the waypoint's `<desc>`, else its `<cmt>`, or a person's; `None` when there is none.
    pub note: Option<String>,
    /// What was recorded about it, by attribute key (checked against the
    /// data model by [`crate::category::DataModel::check_values`]); empty when nothing was.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub attributes: crate::attribute::Values,
}

/// A validated WGS84 position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatLon {
    /// Latitude, degrees in [-90, 90].
    pub lat: f64,
    /// Longitude, degrees in [-180, 180].
    pub lon: f64,
}

/// A position that cannot be on Earth.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadPosition(String);

/// Whether a (longitude, latitude) is a position on Earth: both finite,
/// within [-180, 180] and [-90, 90].
#[inline]
pub fn on_earth(lon: f64, lat: f64) -> bool {
    (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)
}

impl LatLon {
    /// Check both are finite and on Earth; note the order: latitude first, unlike [`crate::qc::Fix::new`].
    pub fn new(lat: f64, lon: f64) -> Result<Self, BadPosition> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(BadPosition(format!("latitude {lat} is outside [-90, 90]")));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(BadPosition(format!(
                "longitude {lon} is outside [-180, 180]"
            )));
        }
        Ok(Self { lat, lon })
    }
}

impl FromStr for LatLon {
    type Err = BadPosition;
    /// "lat,lon" in decimal degrees, as rangers read them off a GPS.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s
            .split_once(',')
            .ok_or_else(|| BadPosition(format!("'{s}' is not LAT,LON")))?;
        let lat = a
            .trim()
            .parse::<f64>()
            .map_err(|_| BadPosition(format!("'{a}' is not a latitude")))?;
        let lon = b
            .trim()
            .parse::<f64>()
            .map_err(|_| BadPosition(format!("'{b}' is not a longitude")))?;
        LatLon::new(lat, lon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_round_trips() {
        for t in Transport::ALL {
            assert_eq!(t.as_str().parse::<Transport>().unwrap(), t);
        }
        assert!("Foot".parse::<Transport>().is_ok());
        assert!("horse".parse::<Transport>().is_err());
        assert_eq!(Transport::from_stored("boat"), Some(Transport::Boat));
        assert_eq!(Transport::from_stored("Boat"), None);
    }

    #[test]
    fn members_have_one_range() {
        assert!(MEMBERS.contains(&MIN_MEMBERS) && MEMBERS.contains(&MAX_MEMBERS));
        assert!(!MEMBERS.contains(&0) && !MEMBERS.contains(&(MAX_MEMBERS + 1)));
    }

    #[test]
    fn latlon_validates() {
        assert!("14.21,102.18".parse::<LatLon>().is_ok());
        assert!("95,102".parse::<LatLon>().is_err());
        assert!("14,181".parse::<LatLon>().is_err());
        assert!("NaN,1".parse::<LatLon>().is_err());
        assert!("14.2".parse::<LatLon>().is_err());
    }
}
