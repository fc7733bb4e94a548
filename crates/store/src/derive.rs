//! Rows derived from a leg's track and its head version: effort per local date
//! (`leg_days`) and what quality control found (`leg_qc`, `fix_marks`,
//! `fix_samples`). Written at import, and rebuilt here whenever what they
//! derive from changes (a person's word, a merged version, track pieces that
//! arrive late), so that the figures, `patrol check` and the report agree.

use chrono_tz::Tz;
use patrol_core::effort::{Boundary, FixSample, LegAnalyser, LegContext, LegEffort, Warning};
use patrol_core::model::on_earth;
use patrol_core::qc::{Fix, FixOverride, QcSettings};
use patrol_core::time::parse_zone;
use patrol_core::{Leg, Transport};
use rusqlite::{Connection, OptionalExtension, params};

use crate::{Result, StoreError, gpkg};

/// A site's quality-control settings (the defaults when it has none stored).
pub fn qc_settings(conn: &Connection, site_id: &str) -> Result<QcSettings> {
    // (An older database opened read-only has an empty stand-in table:
    // `Store::open_read_only`.)
    let text: Option<String> = conn
        .query_row(
            "SELECT settings FROM qc_settings WHERE site_id = ?1",
            [site_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(text
        .and_then(|t| serde_json::from_str::<QcSettings>(&t).ok())
        .filter(|s| s.validate().is_ok())
        .unwrap_or_default())
}

/// Store a site's settings unless it has some already (first one wins, as categories).
pub(crate) fn insert_qc_settings(conn: &Connection, site_id: &str, s: &QcSettings) -> Result<()> {
    conn.execute(
        "INSERT INTO qc_settings(site_id, settings) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![
            site_id,
            serde_json::to_string(s).expect("settings serialise")
        ],
    )?;
    Ok(())
}

/// A site's zone (UTC when the site is unknown or its zone unreadable).
pub fn site_zone(conn: &Connection, site_id: &str) -> Result<Tz> {
    let zone: Option<String> = conn
        .query_row(
            "SELECT timezone FROM sites WHERE site_id = ?1",
            [site_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(zone
        .and_then(|z| parse_zone(&z).ok())
        .unwrap_or(chrono_tz::UTC))
}

/// The stored segments of a leg, in order, joined from their pieces.
pub fn segments(conn: &Connection, leg_id: &str) -> Result<Vec<Vec<Fix>>> {
    // As join_pieces(&pieces(..)), each piece decoded from the row itself
    // (its blobs borrowed, not copied).
    let mut stmt = conn.prepare_cached(
        "SELECT segment_no, geom, points, times FROM tracks WHERE leg_id = ?1 ORDER BY segment_no, piece_no",
    )?;
    let mut rows = stmt.query([leg_id])?;
    let mut out: Vec<Vec<Fix>> = Vec::new();
    let mut current: Option<i64> = None;
    while let Some(r) = rows.next()? {
        let segment: i64 = r.get(0)?;
        let points: i64 = r.get(2)?;
        let Some(geom) = borrowed_blob(r, 1)? else {
            // NULL: the owned read fails as the copying one did.
            let _: Vec<u8> = r.get(1)?;
            continue;
        };
        let times = borrowed_blob(r, 3)?.unwrap_or_default();
        add_piece(&mut out, &mut current, segment, geom, points, times)?;
    }
    Ok(out)
}

/// The stored segments of many legs, read with one statement: `sql` selects
/// `leg_id, segment_no, geom, points, times` of tracks ordered by leg_id,
/// segment_no, piece_no; `f` gets each leg's segments (as [`segments`]
/// gives them) in that order, one leg held at a time.
pub fn each_legs_segments(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    mut f: impl FnMut(&str, Vec<Vec<Fix>>) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut leg: Option<String> = None;
    let mut out: Vec<Vec<Fix>> = Vec::new();
    let mut current: Option<i64> = None;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        if leg.as_deref() != Some(id.as_str()) {
            if let Some(done) = leg.take() {
                f(&done, std::mem::take(&mut out))?;
            }
            leg = Some(id);
            current = None;
        }
        let segment: i64 = r.get(1)?;
        let points: i64 = r.get(3)?;
        let Some(geom) = borrowed_blob(r, 2)? else {
            let _: Vec<u8> = r.get(2)?;
            continue;
        };
        let times = borrowed_blob(r, 4)?.unwrap_or_default();
        add_piece(&mut out, &mut current, segment, geom, points, times)?;
    }
    if let Some(done) = leg {
        f(&done, out)?;
    }
    Ok(())
}

/// A blob column borrowed from its row (`None` for NULL); any other type
/// fails as reading it into a `Vec<u8>` does.
fn borrowed_blob<'a>(r: &'a rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<&'a [u8]>> {
    match r.get_ref(i)? {
        rusqlite::types::ValueRef::Blob(b) => Ok(Some(b)),
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => r.get::<_, Option<Vec<u8>>>(i).map(|_| None),
    }
}

/// Decode one piece and add it to the segments: a new segment, or the
/// joining point shared with the previous piece of the same one.
fn add_piece(
    out: &mut Vec<Vec<Fix>>,
    current: &mut Option<i64>,
    segment: i64,
    blob: &[u8],
    points: i64,
    times: &[u8],
) -> Result<()> {
    let mut line = gpkg::read_line_string(blob).map_err(|e| StoreError::Invalid(e.to_string()))?;
    // Ours always are; a file's not yet checked may not be (`measure_legs`).
    if let Some(&(lon, lat)) = line.iter().find(|&&(x, y)| !on_earth(x, y)) {
        return Err(StoreError::Invalid(format!(
            "a track point lon {lon}, lat {lat} is not on Earth"
        )));
    }
    line.truncate(usize::try_from(points.max(1)).unwrap_or(1));
    let fixes = line.iter().enumerate().map(|(i, &(lon, lat))| {
        let t = times
            .get(i * 8..i * 8 + 8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
            .filter(|&t| t != i64::MIN);
        Fix::new(lon, lat, t)
    });
    if *current == Some(segment) {
        // Consecutive pieces share their joining point.
        out.last_mut().expect("a segment").extend(fixes.skip(1));
    } else {
        out.push(fixes.collect());
        *current = Some(segment);
    }
    Ok(())
}

/// A track piece as stored: segment number, geometry, points, times.
type Piece = (i64, Vec<u8>, i64, Option<Vec<u8>>);

/// A leg's track pieces as stored, in order (read here, decoded by
/// [`join_pieces`], on another thread when many legs are derived).
fn pieces(conn: &Connection, leg_id: &str) -> Result<Vec<Piece>> {
    let mut stmt = conn.prepare_cached(
        "SELECT segment_no, geom, points, times FROM tracks WHERE leg_id = ?1 ORDER BY segment_no, piece_no",
    )?;
    let pieces = stmt
        .query_map([leg_id], crate::row_tuple)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(pieces)
}

/// Decode pieces and join them into segments.
fn join_pieces(pieces: &[Piece]) -> Result<Vec<Vec<Fix>>> {
    let mut out: Vec<Vec<Fix>> = Vec::new();
    let mut current: Option<i64> = None;
    for (segment, blob, points, times) in pieces {
        add_piece(
            &mut out,
            &mut current,
            *segment,
            blob,
            *points,
            times.as_deref().unwrap_or_default(),
        )?;
    }
    Ok(out)
}

/// Who a leg's derived rows belong to.
#[derive(Clone, Debug)]
pub struct LegKey {
    /// The leg's id.
    pub leg_id: String,
    /// The patrol the leg belongs to.
    pub patrol_id: String,
    /// The patrol's site, whose zone and quality-control settings the leg is derived with.
    pub site_id: String,
    /// The leg version they derive from.
    pub version_id: String,
}

/// The context of a leg's analysis: its site's zone and rules, its transport,
/// a person's date and word on fixes.
pub fn context(
    conn: &Connection,
    site_id: &str,
    transport: Transport,
    date: Option<chrono::NaiveDate>,
    overrides: Vec<FixOverride>,
) -> Result<LegContext> {
    Ok(LegContext {
        zone: site_zone(conn, site_id)?,
        rules: qc_settings(conn, site_id)?.rules(transport),
        overrides,
        given_date: date,
        now: crate::now_ms() * 1000,
        boundary: site_boundary(conn, site_id)?,
    })
}

/// The boundary in force for a site (the newest by clock), for the outside check.
fn site_boundary(conn: &Connection, site_id: &str) -> Result<Option<Boundary>> {
    let blob: Option<Vec<u8>> = conn
        .query_row(
            "SELECT geom FROM site_boundaries WHERE site_id = ?1 ORDER BY hlc DESC, version_id DESC LIMIT 1",
            [site_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(blob
        .and_then(|b| gpkg::read_multi_polygon(&b).ok())
        .and_then(|p| Boundary::new(&p)))
}

/// Replace a leg's derived rows with `effort`. `import_warnings` are what the
/// import found in the file (kept as they are when the leg is rebuilt).
pub fn write(
    conn: &Connection,
    key: &LegKey,
    effort: &LegEffort,
    import_warnings: &[Warning],
) -> Result<()> {
    clear(conn, &key.leg_id)?;
    let mut days = conn.prepare_cached(
        "INSERT INTO leg_days(leg_id, date, patrol_id, site_id, points, length_m, seconds, active_seconds)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let undated = (effort.undated.points > 0).then_some((String::new(), effort.undated));
    for (date, t) in effort
        .days
        .iter()
        .map(|(d, t)| (d.to_string(), *t))
        .chain(undated)
    {
        days.execute(params![
            key.leg_id,
            date,
            key.patrol_id,
            key.site_id,
            t.points as i64,
            t.length_m,
            t.seconds,
            t.active_seconds
        ])?;
    }
    conn.prepare_cached(
        "INSERT INTO leg_qc(leg_id, patrol_id, site_id, version_id, fixes, raw_length_m, length_m,
           first_us, last_us, first_date, warnings, import_warnings)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        key.leg_id,
        key.patrol_id,
        key.site_id,
        key.version_id,
        effort.fixes as i64,
        effort.raw_length_m,
        effort.length_m,
        effort.first_time,
        effort.last_time,
        effort.first_date.map(|d| d.to_string()),
        serde_json::to_string(&effort.warnings).expect("warnings serialise"),
        serde_json::to_string(import_warnings).expect("warnings serialise"),
    ])?;
    let mut marks = conn.prepare_cached(
        "INSERT OR REPLACE INTO fix_marks(leg_id, segment_no, point_no, mark, excluded) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for m in &effort.marks {
        marks.execute(params![
            key.leg_id,
            m.segment,
            m.point,
            m.mark.as_str(),
            m.excluded
        ])?;
    }
    write_samples(conn, &key.leg_id, &effort.samples)
}

fn write_samples(conn: &Connection, leg_id: &str, samples: &[FixSample]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO fix_samples(leg_id, t_s, lon, lat) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for s in samples {
        stmt.execute(params![leg_id, s.t_s, s.lon, s.lat])?;
    }
    Ok(())
}

/// Remove a leg's derived rows.
pub fn clear(conn: &Connection, leg_id: &str) -> Result<()> {
    for table in ["leg_days", "leg_qc", "fix_marks", "fix_samples"] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE leg_id = ?1"))?
            .execute([leg_id])?;
    }
    Ok(())
}

/// What deriving a leg needs from the database: who it is, its context, its track.
struct LegInput {
    key: LegKey,
    ctx: LegContext,
    pieces: Vec<Piece>,
    /// How many pieces it held when it was read.
    piece_count: usize,
    import_warnings: Vec<Warning>,
}

/// Read what a live leg's rows derive from (`None` for a leg that is not live).
fn leg_input(conn: &Connection, leg_id: &str) -> Result<Option<LegInput>> {
    let Some(mut input) = leg_input_without_track(conn, leg_id)? else {
        return Ok(None);
    };
    input.pieces = pieces(conn, leg_id)?;
    input.piece_count = input.pieces.len();
    Ok(Some(input))
}

/// [`leg_input`] without the track.
fn leg_input_without_track(conn: &Connection, leg_id: &str) -> Result<Option<LegInput>> {
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT version_id, patrol_id FROM legs WHERE leg_id = ?1",
            [leg_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((version_id, patrol_id)) = row else {
        return Ok(None);
    };
    let leg: Leg = crate::edit::load_leg(conn, &version_id)?;
    let site_id: Option<String> = conn
        .query_row(
            "SELECT site_id FROM patrol_versions WHERE patrol_id = ?1 ORDER BY hlc, version_id LIMIT 1",
            [&patrol_id],
            |r| r.get(0),
        )
        .optional()?;
    // A leg whose patrol has not arrived yet (files merged out of order):
    // derived when it does.
    let Some(site_id) = site_id else {
        return Ok(None);
    };
    let import_warnings: Vec<Warning> = conn
        .query_row(
            "SELECT import_warnings FROM leg_qc WHERE leg_id = ?1",
            [leg_id],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    Ok(Some(LegInput {
        ctx: context(conn, &site_id, leg.transport, leg.date, leg.fix_overrides)?,
        pieces: Vec::new(),
        piece_count: 0,
        key: LegKey {
            leg_id: leg_id.to_owned(),
            patrol_id,
            site_id,
            version_id,
        },
        import_warnings,
    }))
}

/// Decode a leg's track and measure it (the pieces are dropped here).
fn analyse(mut input: LegInput) -> (LegInput, Result<LegEffort>) {
    let pieces = std::mem::take(&mut input.pieces);
    let effort = join_pieces(&pieces).map(|segments| {
        drop(pieces);
        let mut analyser = LegAnalyser::new(input.ctx.clone());
        for segment in &segments {
            analyser.segment(segment);
        }
        analyser.finish()
    });
    (input, effort)
}

/// Derive a leg's rows again from its stored track and its current (head)
/// version. A leg that is not live loses its derived rows.
pub fn rebuild_leg(conn: &Connection, leg_id: &str) -> Result<()> {
    let Some(input) = leg_input(conn, leg_id)? else {
        return clear(conn, leg_id);
    };
    let (input, effort) = analyse(input);
    write(conn, &input.key, &effort?, &input.import_warnings)
}

/// Derive many legs' rows again: the database is read and written on this
/// thread while others (one per core) measure.
pub fn rebuild_legs(conn: &Connection, legs: &[String]) -> Result<()> {
    if legs.len() < 2 {
        return legs.iter().try_for_each(|l| rebuild_leg(conn, l));
    }
    let inputs = legs.iter().map(|leg| match leg_input(conn, leg) {
        // Not live (or its patrol not here yet): no derived rows.
        Ok(None) => clear(conn, leg).map(|()| None),
        other => other,
    });
    measure_all(inputs, &mut |input, effort| {
        write(conn, &input.key, &effort?, &input.import_warnings)
    })
}

/// Measure legs on other threads (one per core, at most four) as `inputs`
/// yields them on this one; `done` takes each result on this thread, in the
/// order they finish. The first error stops it.
fn measure_all(
    inputs: impl Iterator<Item = Result<Option<LegInput>>>,
    done: &mut dyn FnMut(LegInput, Result<LegEffort>) -> Result<()>,
) -> Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4));
    let (to_worker, inbox) = std::sync::mpsc::sync_channel::<LegInput>(workers);
    let inbox = std::sync::Mutex::new(inbox);
    let (to_main, results) =
        std::sync::mpsc::sync_channel::<(LegInput, Result<LegEffort>)>(workers);
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for _ in 0..workers {
            let (inbox, to_main) = (&inbox, to_main.clone());
            handles.push(scope.spawn(move || {
                loop {
                    let next = inbox.lock().map(|r| r.recv());
                    let Ok(Ok(input)) = next else { break };
                    if to_main.send(analyse(input)).is_err() {
                        break;
                    }
                }
            }));
        }
        drop(to_main);
        let mut outcome = Ok(());
        let mut pending = 0usize;
        for input in inputs {
            match input {
                Ok(Some(input)) => {
                    // Never block on a full inbox while the workers wait for
                    // us to take their results: take one, then try again.
                    let mut input = input;
                    while let Err(std::sync::mpsc::TrySendError::Full(back)) =
                        to_worker.try_send(input)
                    {
                        input = back;
                        let Ok((finished, effort)) = results.recv() else {
                            break;
                        };
                        pending -= 1;
                        if outcome.is_ok() {
                            outcome = done(finished, effort);
                        }
                    }
                    pending += 1;
                }
                Ok(None) => {}
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
            // Take what is measured, keeping the workers busy.
            while let Ok((finished, effort)) = results.try_recv() {
                pending -= 1;
                if outcome.is_ok() {
                    outcome = done(finished, effort);
                }
            }
            if outcome.is_err() {
                break;
            }
        }
        drop(to_worker);
        while pending > 0 {
            let Ok((finished, effort)) = results.recv() else {
                break;
            };
            pending -= 1;
            if outcome.is_ok() {
                outcome = done(finished, effort);
            }
        }
        for h in handles {
            let _ = h.join();
        }
        outcome
    })
}

/// A live leg to derive, read from the database (its version, site and
/// context) but not its track: made by [`plan_legs`] on the database's
/// thread, measured by [`measure_legs`] on another, from another copy of
/// the same pieces.
pub struct LegPlan(LegInput);

/// A leg measured by [`measure_legs`], to be written by [`write_measured`].
pub struct Measured {
    input: LegInput,
    effort: LegEffort,
    /// How many track pieces it was measured from.
    pub pieces: usize,
}

impl Measured {
    /// The leg's id.
    pub fn leg_id(&self) -> &str {
        &self.input.key.leg_id
    }
}

/// The plans of the live legs among `legs` (those not live, or whose
/// patrol is not here yet, are left out: [`rebuild_legs`] handles them).
pub fn plan_legs(conn: &Connection, legs: &[String]) -> Result<Vec<LegPlan>> {
    let mut out = Vec::new();
    for leg in legs {
        if let Some(input) = leg_input_without_track(conn, leg)? {
            out.push(LegPlan(input));
        }
    }
    Ok(out)
}

/// Measure planned legs from the pieces `source` holds for them (another
/// database with the same track pieces, such as the file being merged):
/// this thread reads, others measure, until `stop` is set (the legs not
/// begun by then are left out, as is a leg whose pieces do not decode:
/// they are derived from our own copy, as every leg can be).
pub fn measure_legs(
    source: &Connection,
    plans: Vec<LegPlan>,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<Vec<Measured>> {
    let mut out = Vec::new();
    let inputs = plans.into_iter().map_while(|LegPlan(mut input)| {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        Some(pieces(source, &input.key.leg_id).map(|pieces| {
            input.piece_count = pieces.len();
            input.pieces = pieces;
            Some(input)
        }))
    });
    measure_all(inputs, &mut |input, effort| {
        if let Ok(effort) = effort {
            let pieces = input.piece_count;
            out.push(Measured {
                input,
                effort,
                pieces,
            });
        }
        Ok(())
    })?;
    Ok(out)
}

/// Write a measured leg's rows (when its stored track is the one it was
/// measured from).
pub fn write_measured(conn: &Connection, m: &Measured) -> Result<()> {
    write(conn, &m.input.key, &m.effort, &m.input.import_warnings)
}

/// Rebuild every leg whose derived rows are missing or were derived from
/// another version than its head (after a merge, an upgrade, an edit).
/// Returns how many were rebuilt.
pub fn rebuild_stale(conn: &Connection) -> Result<u64> {
    let legs: Vec<String> = conn
        .prepare(
            "SELECT l.leg_id FROM legs l LEFT JOIN leg_qc q ON q.leg_id = l.leg_id
             WHERE q.leg_id IS NULL OR q.version_id <> l.version_id",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    rebuild_legs(conn, &legs)?;
    Ok(legs.len() as u64)
}
