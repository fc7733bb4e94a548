//! SMART's patrol XML, read in three dialects and written in the first.
//!
//! - [`Dialect::Schema`]: the schema in SMART's source, `SmartPatrol.xsd`
//!   (namespace `.../xml/patrol.xsd`): the mandate on the patrol,
//!   observations directly in waypoints, no patrol id or comment;
//! - [`Dialect::V1_2`] (`.../xml/1.2/patrol`): a patrol `id` and `<comment>`,
//!   the mandate on each leg;
//! - [`Dialect::V1_3`] (`.../xml/1.3/patrol`): as 1.2, and a waypoint's
//!   observations inside `<groups>`.
//!
//! The dialect is the root element's namespace. Waypoint times are local
//! times (`xs:time`) of their day in the site's zone, unless they carry an
//! offset. A day's `<track geom>` is WKT: `LINESTRING` or `MULTILINESTRING`
//! (one segment per line string), with an `M` value per point holding its
//! time in seconds since the Unix epoch, UTC (`LINESTRING M (x y m, ...)`);
//! points without `M` have no time.

use std::fmt::Write as _;

use chrono::{NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use patrol_core::Transport;
use patrol_core::attribute::{Value, Values};
use patrol_core::model::LatLon;
use patrol_core::qc::Fix;
use patrol_core::recorded::{
    Member, RecordedDay, RecordedLeg, RecordedObservation, RecordedPatrol,
};
use patrol_core::time::MICROS;

use crate::SmartError;
use crate::xml::{self, Element, esc};

/// The namespace of the schema in SMART's source (the dialect we write).
pub const NAMESPACE: &str = "http://www.smartconservationsoftware.org/xml/patrol.xsd";
/// The namespace of the 1.2 dialect.
pub const NAMESPACE_1_2: &str = "http://www.smartconservationsoftware.org/xml/1.2/patrol";
/// The namespace of the 1.3 dialect.
pub const NAMESPACE_1_3: &str = "http://www.smartconservationsoftware.org/xml/1.3/patrol";

/// Which of SMART's patrol formats a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `SmartPatrol.xsd` in SMART's source.
    Schema,
    /// `.../xml/1.2/patrol`.
    V1_2,
    /// `.../xml/1.3/patrol`.
    V1_3,
}

impl Dialect {
    /// The dialect of a root namespace, if it is one of SMART's patrol namespaces.
    pub fn of(namespace: &str) -> Option<Dialect> {
        let ns = namespace.trim().trim_end_matches('/');
        if ns.ends_with("/xml/patrol.xsd") {
            Some(Dialect::Schema)
        } else if ns.ends_with("/xml/1.2/patrol") {
            Some(Dialect::V1_2)
        } else if ns.ends_with("/xml/1.3/patrol") {
            Some(Dialect::V1_3)
        } else {
            None
        }
    }
}

/// Read a SMART patrol file; its local times are in `zone` (the site's).
pub fn read_patrol(text: &str, zone: Tz) -> Result<RecordedPatrol, SmartError> {
    let root = xml::parse(text)?;
    let ns = root.namespace.clone().unwrap_or_default();
    let dialect = Dialect::of(&ns).filter(|_| root.name == "patrol").ok_or_else(|| {
        SmartError::at(
            root.line,
            format!(
                "the root element is <{}> in namespace '{ns}', not SMART's <patrol> ({NAMESPACE}, {NAMESPACE_1_2} or {NAMESPACE_1_3})",
                root.name
            ),
        )
    })?;
    let label = |e: &Element, name: &str| {
        e.child(name)
            .and_then(|c| c.attr_text("value"))
            .map(str::to_owned)
    };
    let patrol_mandate = label(&root, "mandate");
    let mut legs = Vec::new();
    for l in root.all("legs") {
        legs.push(read_leg(l, zone, patrol_mandate.as_deref())?);
    }
    if legs.is_empty() {
        return Err(root.missing("<legs>: a patrol has at least one leg"));
    }
    let _ = dialect;
    Ok(RecordedPatrol {
        id: root.attr_text("id").map(str::to_owned),
        patrol_type: root.attr_text("patrolType").map(str::to_owned),
        armed: root.attr_bool("isArmed")?,
        objective: root
            .child("objective")
            .and_then(|o| o.child_text("description"))
            .map(str::to_owned),
        team: label(&root, "team"),
        station: label(&root, "station"),
        comment: root.child_text("comment").map(str::to_owned),
        timezone: zone.name().to_owned(),
        legs,
    })
}

/// Our transport of a SMART transport type's name ("Foot", "Car", "Boat").
pub fn transport_of(name: &str) -> Option<Transport> {
    let n = name.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| n.contains(w));
    if has(&["motorbike", "motorcycle", "moto", "bike", "bicycle"]) {
        Some(Transport::Motorbike)
    } else if has(&["foot", "walk", "pied", "pie", "ground"]) {
        Some(Transport::Foot)
    } else if has(&["vehicle", "car", "truck", "4x4", "jeep", "auto", "road"]) {
        Some(Transport::Vehicle)
    } else if has(&[
        "boat", "marine", "canoe", "kayak", "ship", "water", "river", "bateau",
    ]) {
        Some(Transport::Boat)
    } else if has(&["air", "plane", "heli", "flight", "drone"]) {
        Some(Transport::Aircraft)
    } else {
        n.parse().ok()
    }
}

fn read_leg(
    l: &Element,
    zone: Tz,
    patrol_mandate: Option<&str>,
) -> Result<RecordedLeg, SmartError> {
    let t = l
        .child("transportType")
        .ok_or_else(|| l.missing("<transportType>"))?;
    let name = t.attr_text("value").ok_or_else(|| t.missing("value"))?;
    let transport = transport_of(name).ok_or_else(|| {
        t.bad(
            "value",
            name,
            "a transport we know (foot, vehicle, motorbike, boat, aircraft)",
        )
    })?;
    let mut members = Vec::new();
    for m in l.all("members") {
        let name = [m.attr_text("givenName"), m.attr_text("familyName")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let name = if name.is_empty() {
            m.attr_text("employeeId").unwrap_or_default().to_owned()
        } else {
            name
        };
        members.push(Member {
            name,
            leader: m.attr_bool("isLeader")?.unwrap_or(false),
            pilot: m.attr_bool("isPilot")?.unwrap_or(false),
        });
    }
    let mut days = Vec::new();
    for d in l.all("days") {
        days.push(read_day(d, zone)?);
    }
    Ok(RecordedLeg {
        id: l.attr_text("id").map(str::to_owned),
        transport,
        members,
        mandate: l
            .child("mandate")
            .and_then(|m| m.attr_text("value"))
            .or(patrol_mandate)
            .map(str::to_owned),
        days,
    })
}

fn date_attr(e: &Element, name: &str) -> Result<Option<NaiveDate>, SmartError> {
    e.attr_text(name)
        .map(|v| {
            // xs:date may carry a zone ("2024-03-01Z", "2024-03-01+07:00").
            let d = v.get(..10).unwrap_or(v);
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| e.bad(name, v, "a date YYYY-MM-DD"))
        })
        .transpose()
}

/// An `xs:time`: the local time, and the offset in seconds when one is written.
fn time_attr(e: &Element, name: &str) -> Result<Option<(NaiveTime, Option<i32>)>, SmartError> {
    let Some(v) = e.attr_text(name) else {
        return Ok(None);
    };
    let bad = || e.bad(name, v, "a time HH:MM:SS");
    let (clock, offset) = if let Some(c) = v.strip_suffix('Z') {
        (c, Some(0))
    } else if let Some(i) = v.rfind(['+', '-']).filter(|i| *i >= 8) {
        let (c, o) = v.split_at(i);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let (h, m) = o[1..].split_once(':').ok_or_else(bad)?;
        let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        (c, Some(sign * (h * 3600 + m * 60)))
    } else {
        (v, None)
    };
    let t = NaiveTime::parse_from_str(clock, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(clock, "%H:%M"))
        .map_err(|_| bad())?;
    Ok(Some((t, offset)))
}

/// A local date and time in `zone` as µs UTC (the earlier of a repeated
/// hour; an hour skipped by the clocks read an hour later).
pub fn local_to_utc(date: NaiveDate, time: NaiveTime, zone: Tz) -> i64 {
    let naive = date.and_time(time);
    zone.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .map_or_else(
            || naive.and_utc().timestamp_micros(),
            |t| t.timestamp_micros(),
        )
}

fn read_day(d: &Element, zone: Tz) -> Result<RecordedDay, SmartError> {
    let date = date_attr(d, "date")?.ok_or_else(|| d.missing("date"))?;
    let mut observations = Vec::new();
    for w in d.all("waypoints") {
        read_waypoint(w, date, zone, &mut observations)?;
    }
    let mut track = Vec::new();
    for t in d.all("track") {
        if let Some(geom) = t.attr_text("geom") {
            track.extend(
                parse_wkt(geom)
                    .map_err(|why| SmartError::at(t.line, format!("<track> geom: {why}")))?,
            );
        }
    }
    let rest = d.attr_f64("restMinutes")?;
    if rest.is_some_and(|r| r < 0.0) {
        return Err(d.bad(
            "restMinutes",
            d.attr("restMinutes").unwrap_or(""),
            "zero or more minutes",
        ));
    }
    Ok(RecordedDay {
        date,
        start: time_attr(d, "startTime")?.map(|(t, _)| t),
        end: time_attr(d, "endTime")?.map(|(t, _)| t),
        rest_minutes: rest,
        track,
        observations,
    })
}

fn read_waypoint(
    w: &Element,
    date: NaiveDate,
    zone: Tz,
    out: &mut Vec<RecordedObservation>,
) -> Result<(), SmartError> {
    let x = w.attr_f64("x")?.ok_or_else(|| w.missing("x"))?;
    let y = w.attr_f64("y")?.ok_or_else(|| w.missing("y"))?;
    let pos = LatLon::new(y, x).map_err(|e| SmartError::at(w.line, format!("<waypoints>: {e}")))?;
    let time = time_attr(w, "time")?.map(|(t, offset)| match offset {
        Some(secs) => date.and_time(t).and_utc().timestamp_micros() - i64::from(secs) * MICROS,
        None => local_to_utc(date, t, zone),
    });
    let comment = w.child_text("comment").map(str::to_owned);
    let direct = w.all("observations");
    let grouped = w.all("groups").flat_map(|g| g.all("observations"));
    for o in direct.chain(grouped) {
        let category = o
            .attr_text("categoryKey")
            .ok_or_else(|| o.missing("categoryKey"))?
            .to_owned();
        let mut attributes = Values::new();
        for a in o.all("attributes") {
            let key = a
                .attr_text("attributeKey")
                .ok_or_else(|| a.missing("attributeKey"))?;
            let value = if let Some(v) = a.child("dValue") {
                let t = v.text.trim();
                Value::Number(xml::parse_f64(t).ok_or_else(|| v.bad("value", t, "a number"))?)
            } else if let Some(v) = a.child("bValue") {
                let t = v.text.trim();
                Value::Bool(xml::parse_bool(t).ok_or_else(|| v.bad("value", t, "true or false"))?)
            } else if let Some(v) = a.child("itemKey") {
                Value::Text(v.text.trim().to_owned())
            } else if let Some(v) = a.child("sValue") {
                Value::Text(v.text.clone())
            } else {
                return Err(a.missing("value (sValue, dValue, itemKey or bValue)"));
            };
            if attributes.insert(key.to_owned(), value).is_some() {
                return Err(SmartError::at(
                    a.line,
                    format!("attribute '{key}' is given twice"),
                ));
            }
        }
        out.push(RecordedObservation {
            time,
            lat: pos.lat,
            lon: pos.lon,
            category,
            attributes,
            comment: comment.clone(),
        });
    }
    Ok(())
}

/// A decimal number of seconds as µs, exactly (no float rounding).
fn seconds_to_micros(s: &str) -> Option<i64> {
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut micros: i64 = int.parse::<i64>().ok()?.checked_mul(MICROS)?;
    let digits: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
    micros = micros.checked_add(digits.parse::<i64>().ok()?)?;
    Some(if neg { -micros } else { micros })
}

fn micros_to_seconds(us: i64) -> String {
    let (secs, frac) = (us.div_euclid(MICROS), us.rem_euclid(MICROS));
    if frac == 0 {
        secs.to_string()
    } else {
        format!("{secs}.{frac:06}").trim_end_matches('0').to_owned()
    }
}

/// The segments of a WKT LINESTRING or MULTILINESTRING (Z, M or ZM).
fn parse_wkt(wkt: &str) -> Result<Vec<Vec<Fix>>, String> {
    let s = wkt.trim();
    let upper = s.to_ascii_uppercase();
    let (multi, rest) = if let Some(r) = upper.strip_prefix("MULTILINESTRING") {
        (true, &s[s.len() - r.len()..])
    } else if let Some(r) = upper.strip_prefix("LINESTRING") {
        (false, &s[s.len() - r.len()..])
    } else {
        return Err(format!(
            "'{}' is not WKT LINESTRING or MULTILINESTRING",
            s.chars().take(30).collect::<String>()
        ));
    };
    let rest = rest.trim_start();
    let (dims, body) = match rest.find('(') {
        Some(i) => (rest[..i].trim().to_ascii_uppercase(), rest[i..].trim()),
        None if rest.to_ascii_uppercase().ends_with("EMPTY") => return Ok(Vec::new()),
        None => return Err("no coordinates".into()),
    };
    let (has_z, has_m) = match dims.as_str() {
        "" => (false, false),
        "Z" => (true, false),
        "M" => (false, true),
        "ZM" => (true, true),
        other => return Err(format!("'{other}' is not Z, M or ZM")),
    };
    let lines: Vec<&str> = if multi {
        let inner = body
            .strip_prefix('(')
            .and_then(|b| b.strip_suffix(')'))
            .ok_or("unbalanced parentheses")?;
        inner
            .split(')')
            .map(|p| p.trim().trim_start_matches(',').trim())
            .filter(|p| !p.is_empty())
            .collect()
    } else {
        vec![body.strip_suffix(')').ok_or("unbalanced parentheses")?]
    };
    let mut out = Vec::new();
    for line in lines {
        let line = line.strip_prefix('(').ok_or("unbalanced parentheses")?;
        let mut fixes = Vec::new();
        for (i, point) in line.split(',').enumerate() {
            let v: Vec<&str> = point.split_whitespace().collect();
            let want = 2 + usize::from(has_z) + usize::from(has_m);
            let (want, has_z) = if dims.is_empty() && v.len() == 3 {
                (3, true)
            } else {
                (want, has_z)
            };
            if v.len() != want {
                return Err(format!(
                    "point {} has {} numbers, not {want}",
                    i + 1,
                    v.len()
                ));
            }
            let num = |t: &str| xml::parse_f64(t).ok_or_else(|| format!("'{t}' is not a number"));
            let (x, y) = (num(v[0])?, num(v[1])?);
            let pos = LatLon::new(y, x).map_err(|e| format!("point {}: {e}", i + 1))?;
            let time = if has_m {
                let m = v[2 + usize::from(has_z)];
                if m.eq_ignore_ascii_case("nan") {
                    None
                } else {
                    Some(
                        seconds_to_micros(m)
                            .ok_or_else(|| format!("point {}: time '{m}' is not seconds", i + 1))?,
                    )
                }
            } else {
                None
            };
            fixes.push(Fix::new(pos.lon, pos.lat, time));
        }
        if !fixes.is_empty() {
            out.push(fixes);
        }
    }
    Ok(out)
}

/// A day's segments as WKT with times as M (seconds UTC); points without a
/// time are written without M only when no point of the day has one.
fn write_wkt(track: &[Vec<Fix>]) -> String {
    let timed = track.iter().flatten().any(|f| f.time.is_some());
    let line = |seg: &Vec<Fix>| {
        let pts: Vec<String> = seg
            .iter()
            .map(|f| {
                if timed {
                    // An untimed fix among timed ones: M is NaN (read back as no time).
                    let m = f.time.map_or_else(|| "NaN".to_owned(), micros_to_seconds);
                    format!("{} {} {m}", f.lon, f.lat)
                } else {
                    format!("{} {}", f.lon, f.lat)
                }
            })
            .collect();
        format!("({})", pts.join(", "))
    };
    let m = if timed { " M" } else { "" };
    if track.len() == 1 {
        format!("LINESTRING{m} {}", line(&track[0]))
    } else {
        let lines: Vec<String> = track.iter().map(line).collect();
        format!("MULTILINESTRING{m} ({})", lines.join(", "))
    }
}

fn xs_time(t: NaiveTime) -> String {
    use chrono::Timelike;
    let base = t.format("%H:%M:%S").to_string();
    let micros = t.nanosecond() / 1000 % 1_000_000;
    if micros == 0 {
        base
    } else {
        format!("{base}.{micros:06}")
            .trim_end_matches('0')
            .to_owned()
    }
}

fn label(out: &mut String, pad: &str, tag: &str, value: &str) {
    let _ = writeln!(
        out,
        "{pad}<{tag} languageCode=\"en\" value=\"{}\"/>",
        esc(value)
    );
}

/// Write a patrol in the dialect of SMART's source (`SmartPatrol.xsd`, which
/// it validates against). That schema has no place for a patrol's id and
/// comment, nor a mandate per leg: the first leg's mandate is the patrol's.
/// Local times are in the patrol's zone ([`RecordedPatrol::timezone`]; UTC
/// when it is not a zone).
pub fn write_patrol(p: &RecordedPatrol) -> String {
    write_patrol_with(p, None)
}

/// [`write_patrol`], with the data model the values are of: a list or tree
/// attribute's value is then written as SMART's `<itemKey>` (without the
/// model, every text value is an `<sValue>`).
pub fn write_patrol_with(
    p: &RecordedPatrol,
    model: Option<&patrol_core::category::DataModel>,
) -> String {
    use patrol_core::attribute::AttributeKind;
    let is_item = |key: &str| {
        model.and_then(|m| m.attribute(key)).is_some_and(|a| {
            matches!(
                a.kind,
                AttributeKind::List { .. } | AttributeKind::Tree { .. }
            )
        })
    };
    let zone: Tz = p.timezone.parse().unwrap_or(chrono_tz::UTC);
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n");
    let _ = write!(out, "<patrol xmlns=\"{NAMESPACE}\"");
    if let Some(t) = p.patrol_type.as_deref().map(str::to_ascii_uppercase)
        && ["GROUND", "AIR", "MARINE"].contains(&t.as_str())
    {
        let _ = write!(out, " patrolType=\"{t}\"");
    }
    if let Some((a, b)) = p.dates() {
        let _ = write!(out, " startDate=\"{a}\" endDate=\"{b}\"");
    }
    if let Some(armed) = p.armed {
        let _ = write!(out, " isArmed=\"{armed}\"");
    }
    out.push_str(">\n");
    label(
        &mut out,
        "  ",
        "mandate",
        p.legs
            .iter()
            .find_map(|l| l.mandate.as_deref())
            .unwrap_or(""),
    );
    if let Some(o) = &p.objective {
        let _ = writeln!(
            out,
            "  <objective>\n    <description>{}</description>\n  </objective>",
            esc(o)
        );
    }
    if let Some(t) = &p.team {
        label(&mut out, "  ", "team", t);
    }
    if let Some(s) = &p.station {
        label(&mut out, "  ", "station", s);
    }
    let mut waypoint_id = 0u64;
    for (i, leg) in p.legs.iter().enumerate() {
        let _ = write!(out, "  <legs");
        let dates = leg.days.iter().map(|d| d.date);
        if let (Some(a), Some(b)) = (dates.clone().min(), dates.max()) {
            let _ = write!(out, " startDate=\"{a}\" endDate=\"{b}\"");
        }
        let id = leg.id.clone().unwrap_or_else(|| (i + 1).to_string());
        let _ = writeln!(out, " id=\"{}\">", esc(&id));
        label(&mut out, "    ", "transportType", leg.transport.as_str());
        let members: Vec<Member> = if leg.members.is_empty() {
            vec![Member {
                name: String::new(),
                leader: false,
                pilot: false,
            }]
        } else {
            leg.members.clone()
        };
        for m in &members {
            let (given, family) = m.name.split_once(' ').unwrap_or((&m.name, ""));
            let _ = write!(out, "    <members givenName=\"{}\"", esc(given));
            if !family.is_empty() {
                let _ = write!(out, " familyName=\"{}\"", esc(family));
            }
            let _ = writeln!(out, " isPilot=\"{}\" isLeader=\"{}\"/>", m.pilot, m.leader);
        }
        let placeholder = [RecordedDay {
            date: p.dates().map_or(NaiveDate::MIN, |d| d.0),
            start: None,
            end: None,
            rest_minutes: None,
            track: Vec::new(),
            observations: Vec::new(),
        }];
        let days = if leg.days.is_empty() {
            &placeholder[..]
        } else {
            &leg.days[..]
        };
        for d in days {
            let _ = write!(out, "    <days date=\"{}\"", d.date);
            if let Some(t) = d.start {
                let _ = write!(out, " startTime=\"{}\"", xs_time(t));
            }
            if let Some(t) = d.end {
                let _ = write!(out, " endTime=\"{}\"", xs_time(t));
            }
            if let Some(r) = d.rest_minutes {
                let _ = write!(out, " restMinutes=\"{r}\"");
            }
            out.push_str(">\n");
            for o in &d.observations {
                waypoint_id += 1;
                let _ = write!(
                    out,
                    "      <waypoints id=\"{waypoint_id}\" x=\"{}\" y=\"{}\"",
                    o.lon, o.lat
                );
                if let Some(t) = o.time {
                    let local = patrol_core::time::to_utc(t).with_timezone(&zone).time();
                    let _ = write!(out, " time=\"{}\"", xs_time(local));
                }
                out.push_str(">\n");
                if let Some(c) = &o.comment {
                    let _ = writeln!(out, "        <comment>{}</comment>", esc(c));
                }
                let _ = writeln!(
                    out,
                    "        <observations categoryKey=\"{}\">",
                    esc(&o.category)
                );
                for (key, value) in &o.attributes {
                    let v = match value {
                        Value::Number(n) => format!("<dValue>{n}</dValue>"),
                        Value::Bool(b) => format!("<bValue>{b}</bValue>"),
                        Value::Text(t) if is_item(key) => format!("<itemKey>{}</itemKey>", esc(t)),
                        Value::Text(t) => format!("<sValue>{}</sValue>", esc(t)),
                    };
                    let _ = writeln!(
                        out,
                        "          <attributes attributeKey=\"{}\">{v}</attributes>",
                        esc(key)
                    );
                }
                out.push_str("        </observations>\n      </waypoints>\n");
            }
            if !d.track.is_empty() {
                let m: f64 = d
                    .track
                    .iter()
                    .map(|s| patrol_core::qc::pair_lengths(s).iter().sum::<f64>())
                    .sum();
                let _ = writeln!(
                    out,
                    "      <track geom=\"{}\" distance=\"{}\"/>",
                    esc(&write_wkt(&d.track)),
                    (m * 1000.0).round() / 1000.0
                );
            }
            out.push_str("    </days>\n");
        }
        out.push_str("  </legs>\n");
    }
    out.push_str("</patrol>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = include_str!("../../../tests/data/smart/patrol-schema.xml");
    const V1_2: &str = include_str!("../../../tests/data/smart/patrol-1.2.xml");
    const V1_3: &str = include_str!("../../../tests/data/smart/patrol-1.3.xml");
    const BKK: Tz = chrono_tz::Asia::Bangkok;

    #[test]
    fn three_dialects_read_alike() {
        for (text, id, mandate2) in [
            (SCHEMA, None, "Law enforcement"),
            (V1_2, Some("TL-2024-002"), "Transport"),
            (V1_3, Some("TL-2024-003"), "Transport"),
        ] {
            let p = read_patrol(text, BKK).unwrap();
            assert_eq!(p.id.as_deref(), id);
            assert_eq!(p.legs.len(), 2);
            assert_eq!(p.legs[1].mandate.as_deref(), Some(mandate2));
            assert_eq!(p.legs[0].transport, Transport::Foot);
            assert_eq!(p.legs[1].transport, Transport::Vehicle);
            assert_eq!(p.legs[0].members.len(), 3);
            assert_eq!(p.legs[0].leader(), Some("Somchai Srisuk"));
            assert!(p.legs[1].members[1].pilot);
            assert_eq!(p.legs[0].days[1].track.len(), 2, "two segments on day 2");
            assert_eq!(p.fixes().count(), 120 + 90 + 60 + 80);
            assert!(p.fixes().all(|f| f.time.is_some()));
            assert_eq!(p.observations().count(), 5);
            assert_eq!(p.legs[0].days[0].rest_minutes, Some(30.0));
            let snare = p.observations().next().unwrap();
            assert_eq!(snare.attributes["count"], Value::Number(2.0));
            assert_eq!(snare.attributes["age"], Value::Text("fresh".into()));
            assert_eq!(
                snare.comment.as_deref(),
                Some("Two snares on the game trail")
            );
            // 08:30 in Bangkok is 01:30 UTC.
            let local = patrol_core::time::to_utc(snare.time.unwrap()).with_timezone(&BKK);
            assert_eq!(local.format("%H:%M").to_string(), "08:30");
            let carcass = p.observations().nth(1).unwrap();
            assert_eq!(carcass.attributes["parts_taken"], Value::Bool(true));
            let logging = p.observations().nth(3).unwrap();
            assert_eq!(
                logging.attributes["tree_species"],
                Value::Text("Siamese rosewood".into())
            );
            assert_eq!(logging.comment.as_deref(), Some("Cut logs & a cart"));
        }
    }

    #[test]
    fn written_then_read_is_equal() {
        for text in [SCHEMA, V1_2, V1_3] {
            let mut p = read_patrol(text, BKK).unwrap();
            // What the schema has no place for.
            p.id = None;
            p.comment = None;
            let first = p.legs[0].mandate.clone();
            for l in &mut p.legs {
                l.mandate.clone_from(&first);
            }
            let written = write_patrol(&p);
            assert!(written.contains(NAMESPACE));
            let model = patrol_core::category::DataModel::default_model();
            let with = write_patrol_with(&p, Some(&model));
            assert!(with.contains("<itemKey>fresh</itemKey>") && !written.contains("<itemKey>"));
            assert_eq!(read_patrol(&with, BKK).unwrap(), p);
            assert_eq!(read_patrol(&written, BKK).unwrap(), p);
        }
    }

    #[test]
    fn exact_times_and_odd_tracks() {
        assert_eq!(
            seconds_to_micros("1709251200.5"),
            Some(1_709_251_200_500_000)
        );
        assert_eq!(
            micros_to_seconds(1_709_251_200_000_001),
            "1709251200.000001"
        );
        assert_eq!(seconds_to_micros("12a"), None);
        let segs = parse_wkt("MULTILINESTRING ((1 2, 3 4), (5 6 7 8, 8 9))").unwrap_err();
        assert!(segs.contains("numbers"), "{segs}");
        let segs = parse_wkt("LINESTRING Z (1 2 3, 3 4 5)").unwrap();
        assert_eq!(
            segs,
            vec![vec![Fix::new(1.0, 2.0, None), Fix::new(3.0, 4.0, None)]]
        );
        assert!(parse_wkt("POINT (1 2)").is_err());
        assert!(
            parse_wkt("LINESTRING (1 95, 2 3)")
                .unwrap_err()
                .contains("latitude")
        );
        let mixed = vec![vec![
            Fix::new(1.0, 2.0, Some(MICROS)),
            Fix::new(1.5, 2.0, None),
        ]];
        assert_eq!(parse_wkt(&write_wkt(&mixed)).unwrap(), mixed);
    }

    #[test]
    fn refusals_name_the_line() {
        let e = read_patrol("<patrol xmlns=\"urn:nope\"/>", BKK).unwrap_err();
        assert!(e.to_string().contains("not SMART's"), "{e}");
        let broken = V1_2.replacen("</members>", "", 1).replacen(
            "isLeader=\"true\"/>",
            "isLeader=\"true\">",
            1,
        );
        let e = read_patrol(&broken, BKK).unwrap_err();
        assert!(e.line().is_some(), "{e}");
        let bad = V1_2.replacen("<dValue>2</dValue>", "<dValue>two</dValue>", 1);
        let e = read_patrol(&bad, BKK).unwrap_err();
        let line = 1 + V1_2[..V1_2.find("<dValue>2</dValue>").unwrap()]
            .matches('\n')
            .count() as u64;
        assert_eq!(e.line(), Some(line), "{e}");
        let bad = V1_2.replacen("value=\"Vehicle\"", "value=\"Elephant back\"", 1);
        assert!(
            read_patrol(&bad, BKK)
                .unwrap_err()
                .to_string()
                .contains("Elephant back")
        );
    }

    #[test]
    fn detects_patrol_files_by_root() {
        assert!(crate::is_smart_patrol(V1_3.as_bytes()));
        assert!(crate::is_smart_patrol(&SCHEMA.as_bytes()[..600]));
        assert!(!crate::is_smart_patrol(
            b"<gpx xmlns=\"http://www.topografix.com/GPX/1/1\"/>"
        ));
    }
}
