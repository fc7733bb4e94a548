//! A fast, forgiving, streaming GPX reader built on quick-xml.
//!
//! [`Reader`] is a pull parser: the caller asks for one [`Event`] at a time
//! and may stop whenever it likes. Memory stays small and constant whatever
//! the size of the file (texts are cut at [`MAX_TEXT`] bytes while reading).
//!
//! # What it accepts
//! - GPX 1.0 and 1.1, with or without a namespace (names are matched on their
//!   local part), with or without `version`; unknown elements and
//!   `<extensions>` anywhere (skipped), comments, CDATA, processing
//!   instructions; anything after the closing `</gpx>` is not read.
//! - `<trk>`/`<trkseg>`/`<trkpt>`, `<wpt>` (with `ele time name sym type desc
//!   cmt`), `<rte>`/`<rtept>` (reported as [`Event::RoutePoint`] only). A
//!   `<trkpt>` outside a `<trkseg>`, or a `<trkseg>` outside a `<trk>`, gets
//!   an implicit segment or track. Empty segments are reported.
//! - Times as ISO 8601 / RFC 3339 with any fraction, any offset, or no zone
//!   (UTC); see [`parse_time`]. An unreadable time or elevation becomes `None`
//!   with a [`Warning`].
//! - UTF-8 (with or without a byte-order mark), UTF-16 LE/BE (with a BOM or
//!   recognisable without one), and any encoding label that `encoding_rs`
//!   knows in the XML declaration (ISO-8859-1, windows-1252, ...).
//! - Predefined entities and character references in text are resolved; any
//!   other entity reference is kept as written, never expanded.
//!
//! # What it rejects (with an [`Error`] carrying the line number)
//! Malformed XML (mismatched tags, truncated files, junk), a document whose
//! root is not `<gpx>`, `lat` outside \[-90, 90\], `lon` outside \[-180, 180\],
//! missing `lat`/`lon` on `<trkpt>`/`<wpt>`, coordinates or elevations that
//! are not finite numbers, an unknown encoding, and elements nested deeper
//! than [`MAX_DEPTH`]. A DOCTYPE is ignored: entities it declares (entity
//! bombs, external entities) are never expanded or fetched.
//!
//! # Example
//! ```
//! use patrol_gpx::{Event, Reader};
//!
//! let gpx = br#"<?xml version="1.0"?>
//! <gpx version="1.1" creator="doc">
//!   <wpt lat="46.1" lon="14.5"><name>Caf&#233; &amp; hut</name></wpt>
//!   <trk><trkseg>
//!     <trkpt lat="46.0" lon="14.0"><ele>300</ele><time>2010-08-05T14:23:59Z</time></trkpt>
//!   </trkseg></trk>
//! </gpx>"#;
//! let mut reader = Reader::from_reader(&gpx[..]);
//! let mut points = 0;
//! while let Some(event) = reader.next_event()? {
//!     match event {
//!         Event::Point(p) => {
//!             points += 1;
//!             assert_eq!((p.lat, p.lon, p.ele), (46.0, 14.0, Some(300.0)));
//!             assert_eq!(p.time, Some(1_281_018_239_000_000));
//!         }
//!         Event::Waypoint(w) => {
//!             assert_eq!(w.name.as_deref(), Some("Café & hut"));
//!             assert_eq!(w.line, 3);
//!         }
//!         _ => {}
//!     }
//! }
//! assert_eq!(points, 1);
//! assert!(reader.warnings().is_empty());
//! # Ok::<(), patrol_gpx::Error>(())
//! ```

#![warn(missing_docs)]

mod error;
mod reader;
mod source;
mod time;

pub use error::{Error, Warning};
pub use reader::Reader;
pub use time::{has_zone, parse_time};

/// The most bytes of text kept of one field (`name`, `desc`, `cmt`, `sym`,
/// `type`, `time`, `ele`); the rest is skipped while reading, with a
/// [`Warning`] whose `text_cut` is set, so memory stays bounded whatever the
/// size of a text in the file.
pub const MAX_TEXT: usize = 64 * 1024;

/// Deepest element nesting accepted; deeper input is rejected with
/// [`Error::TooDeep`] (no recursion is used, this only bounds memory).
pub const MAX_DEPTH: usize = 10_000;

/// A track or waypoint position.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    /// WGS84 latitude in degrees, finite and within \[-90, 90\].
    pub lat: f64,
    /// WGS84 longitude in degrees, finite and within \[-180, 180\].
    pub lon: f64,
    /// Elevation in metres, finite.
    pub ele: Option<f64>,
    /// Microseconds since the Unix epoch, UTC.
    pub time: Option<i64>,
    /// The time was written without a zone (and read as UTC, as GPX says).
    pub zoneless: bool,
}

/// A `<wpt>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Waypoint {
    /// Where and when (its `lat`, `lon`, `<ele>` and `<time>`).
    pub point: Point,
    /// The `<name>` element.
    pub name: Option<String>,
    /// The `<sym>` element (a Garmin symbol name such as "Flag, Blue").
    pub sym: Option<String>,
    /// The `<type>` element.
    pub kind: Option<String>,
    /// The `<desc>` element.
    pub desc: Option<String>,
    /// The `<cmt>` element.
    pub cmt: Option<String>,
    /// 1-based line of the `<wpt>` start tag.
    pub line: u64,
}

/// What [`Reader::next_event`] reports, in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `<trk>` (or an implicit track around a stray `<trkseg>`/`<trkpt>`).
    TrackStart,
    /// `<trkseg>` (or an implicit segment around stray `<trkpt>`s).
    SegmentStart,
    /// A `<trkpt>`, reported at its end tag.
    Point(Point),
    /// `</trkseg>` (or the end of an implicit segment).
    SegmentEnd,
    /// `</trk>` (or the end of an implicit track).
    TrackEnd,
    /// A `<wpt>`, reported at its end tag.
    Waypoint(Waypoint),
    /// A `<rtept>`: routes are counted, not read.
    RoutePoint,
}
