//! A patrol read back whole as a [`RecordedPatrol`] (what `patrol export
//! --format smart` writes): its legs with transport and members, each
//! leg's segments as days (a segment is the day of its first timed fix,
//! never split, so its length counts the same once read again), and its
//! observations on the day and leg of their local date.

use chrono::{NaiveDate, NaiveTime};
use patrol_core::Transport;
use patrol_core::qc::Fix;
use patrol_core::recorded::{
    Member, RecordedDay, RecordedLeg, RecordedObservation, RecordedPatrol,
};
use patrol_core::time::{local_date, to_utc};

use crate::{Result, Store, derive, edit};

impl Store {
    /// The live patrol `id` (an id, prefix or short id), whole.
    pub fn recorded_patrol(&self, id: &str) -> Result<RecordedPatrol> {
        let patrol_id = self.resolve_patrol(id)?;
        let conn = &self.conn;
        let version: String = conn.query_row(
            "SELECT version_id FROM patrols WHERE patrol_id = ?1",
            [&patrol_id],
            |r| r.get(0),
        )?;
        let patrol = edit::load_patrol(conn, &version)?;
        let zone = derive::site_zone(conn, &patrol.site.to_string())?;

        let mut legs = Vec::new();
        let mut spans: Vec<Option<(i64, i64)>> = Vec::new();
        let leg_versions: Vec<(String, String)> = conn
            .prepare(
                "SELECT leg_id, version_id FROM legs l WHERE patrol_id = ?1
                 ORDER BY (SELECT min(start_time) FROM tracks t WHERE t.leg_id = l.leg_id), fid",
            )?
            .query_map([&patrol_id], crate::row_tuple)?
            .collect::<rusqlite::Result<_>>()?;
        for (leg_id, version) in &leg_versions {
            let leg = edit::load_leg(conn, version)?;
            let segments = derive::segments(conn, leg_id)?;
            let fallback = leg.date.unwrap_or(NaiveDate::default());
            let mut days: Vec<RecordedDay> = Vec::new();
            let mut span: Option<(i64, i64)> = None;
            for seg in segments {
                let date = seg
                    .iter()
                    .find_map(|f| f.time)
                    .map_or(fallback, |t| local_date(t, zone));
                for t in seg.iter().filter_map(|f| f.time) {
                    span = Some(span.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
                }
                day_of(&mut days, date).track.push(seg);
            }
            for d in &mut days {
                let times = d.track.iter().flatten().filter_map(|f: &Fix| f.time);
                let local = |t: i64| to_utc(t).with_timezone(&zone).time();
                d.start = times.clone().min().map(local);
                d.end = times.max().map(local);
            }
            let mut members: Vec<Member> = leg
                .member_names
                .iter()
                .map(|n| Member {
                    name: n.clone(),
                    leader: patrol.leader.as_deref() == Some(n.as_str()),
                    pilot: false,
                })
                .collect();
            for k in members.len()..leg.members as usize {
                members.push(Member {
                    name: format!("Member {}", k + 1),
                    leader: false,
                    pilot: false,
                });
            }
            legs.push(RecordedLeg {
                id: Some(leg_id.clone()),
                transport: leg.transport,
                members,
                mandate: None,
                days,
            });
            spans.push(span);
        }

        let obs_versions: Vec<String> = conn
            .prepare(
                "SELECT version_id FROM observations WHERE patrol_id = ?1 ORDER BY time_us, fid",
            )?
            .query_map([&patrol_id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for version in &obs_versions {
            let o = edit::load_observation(conn, version)?;
            let date = o.time.map(|t| local_date(t, zone));
            // The leg with a day of its date, or whose time holds it, or the first.
            let leg = legs
                .iter()
                .position(|l| l.days.iter().any(|d| Some(d.date) == date))
                .or_else(|| {
                    let t = o.time?;
                    spans
                        .iter()
                        .position(|s| s.is_some_and(|(a, b)| a <= t && t <= b))
                })
                .unwrap_or(0);
            let Some(leg) = legs.get_mut(leg) else {
                continue;
            };
            let date = date
                .or_else(|| leg.days.first().map(|d| d.date))
                .unwrap_or(NaiveDate::default());
            day_of(&mut leg.days, date)
                .observations
                .push(RecordedObservation {
                    time: o.time,
                    lat: o.lat,
                    lon: o.lon,
                    category: o.category,
                    attributes: o.attributes,
                    comment: o.note.or(o.raw_name),
                });
        }
        for l in &mut legs {
            l.days.sort_by_key(|d| d.date);
        }
        let transports: Vec<Transport> = legs.iter().map(|l| l.transport).collect();
        let patrol_type = if !transports.is_empty()
            && transports.iter().all(|t| *t == Transport::Boat)
        {
            "MARINE"
        } else if !transports.is_empty() && transports.iter().all(|t| *t == Transport::Aircraft) {
            "AIR"
        } else {
            "GROUND"
        };
        Ok(RecordedPatrol {
            id: Some(patrol_id),
            patrol_type: Some(patrol_type.to_owned()),
            armed: None,
            objective: patrol.objective,
            team: Some(patrol.team).filter(|t| !t.is_empty()),
            station: None,
            comment: None,
            timezone: zone.name().to_owned(),
            legs,
        })
    }
}

/// The day of this date, made when there is none.
fn day_of(days: &mut Vec<RecordedDay>, date: NaiveDate) -> &mut RecordedDay {
    let i = days.iter().position(|d| d.date == date).unwrap_or_else(|| {
        days.push(RecordedDay {
            date,
            start: None::<NaiveTime>,
            end: None,
            rest_minutes: None,
            track: Vec::new(),
            observations: Vec::new(),
        });
        days.len() - 1
    });
    &mut days[i]
}
