//! The streaming GPX pull parser.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use quick_xml::events::{BytesRef, BytesStart, Event as Xml};

use crate::source::{self, LineCounter, Source};
use crate::{Error, Event, MAX_DEPTH, MAX_TEXT, Point, Warning, Waypoint, parse_time};

/// At most this many warnings are kept; one more says that the rest were dropped.
const MAX_WARNINGS: usize = 1000;

type XmlReader<R> = quick_xml::Reader<LineCounter<Source<R>>>;

/// A streaming GPX reader: call [`Reader::next_event`] until it returns
/// `Ok(None)`. Memory stays small whatever the size of the input.
pub struct Reader<R> {
    /// The raw input until the encoding has been sniffed (on the first event).
    raw: Option<R>,
    xml: Option<XmlReader<R>>,
    buf: Vec<u8>,
    gpx: Machine,
    /// Runs of text the byte source had cut, as last seen.
    cuts: u64,
}

impl Reader<File> {
    /// Opens a GPX file, detecting its character encoding.
    pub fn from_path(path: &Path) -> Result<Self, Error> {
        let file = File::open(path).map_err(|source| Error::Io { line: None, source })?;
        let mut reader = Reader::from_reader(file);
        reader.start()?;
        Ok(reader)
    }
}

impl<R: Read> Reader<R> {
    /// Reads GPX from any byte stream. The encoding is detected (byte-order
    /// mark, UTF-16 without one, or the XML declaration) when the first event
    /// is read, so an unknown encoding is reported by [`Reader::next_event`].
    pub fn from_reader(r: R) -> Self {
        Reader {
            raw: Some(r),
            xml: None,
            buf: Vec::with_capacity(1024),
            gpx: Machine::default(),
            cuts: 0,
        }
    }

    fn start(&mut self) -> Result<(), Error> {
        if let Some(raw) = self.raw.take() {
            let source = source::open(raw).inspect_err(|_| self.gpx.finished = true)?;
            let mut xml = quick_xml::Reader::from_reader(LineCounter::new(source));
            let config = xml.config_mut();
            config.allow_dangling_amp = true;
            config.check_end_names = true;
            config.expand_empty_elements = false;
            config.trim_text(false);
            self.xml = Some(xml);
        }
        Ok(())
    }

    /// The next GPX event, `Ok(None)` at the end of the document. After an
    /// error, every later call returns `Ok(None)`.
    pub fn next_event(&mut self) -> Result<Option<Event>, Error> {
        loop {
            if let Some(event) = self.gpx.pending.pop_front() {
                return Ok(Some(event));
            }
            if self.gpx.finished {
                return Ok(None);
            }
            if self.xml.is_none() {
                self.start()?;
            }
            if let Err(e) = self.step() {
                self.gpx.finished = true;
                self.gpx.pending.clear();
                return Err(e);
            }
        }
    }

    /// Warnings recorded so far (values that were dropped).
    pub fn warnings(&self) -> &[Warning] {
        &self.gpx.warnings
    }

    /// Reads one XML event and feeds it to the state machine.
    fn step(&mut self) -> Result<(), Error> {
        let Some(xml) = self.xml.as_mut() else {
            self.gpx.finished = true;
            return Ok(());
        };
        self.buf.clear();
        let line = xml.get_mut().line();
        let offset = xml.get_ref().consumed();
        let event = match xml.read_event_into(&mut self.buf) {
            Ok(event) => event,
            Err(e) => {
                let at = xml.error_position();
                let line = if at >= offset {
                    let k = usize::try_from(at - offset).unwrap_or(usize::MAX);
                    let k = k.min(self.buf.len());
                    line + memchr::memchr_iter(b'\n', &self.buf[..k]).count() as u64
                } else {
                    line
                };
                return Err(xml_error(e, line));
            }
        };
        let gpx = &mut self.gpx;
        // The byte source cuts runs of text longer than MAX_TEXT, so that the
        // XML reader never holds more; a cut inside a field is said once.
        let cuts = xml.get_ref().cuts();
        if cuts != self.cuts {
            self.cuts = cuts;
            if gpx.capturing() && matches!(event, Xml::Text(_) | Xml::CData(_)) {
                gpx.cut = true;
            }
        }
        match event {
            Xml::Start(e) => gpx.start(&e, line),
            Xml::Empty(e) => {
                gpx.start(&e, line)?;
                gpx.end(line)
            }
            Xml::End(_) => gpx.end(line),
            Xml::Text(e) => {
                if gpx.capturing() {
                    match e.xml10_content() {
                        Ok(s) => gpx.push_text(&s),
                        Err(_) => gpx.push_lossy(&e, line),
                    }
                    Ok(())
                } else {
                    gpx.stray_text(&e, line)
                }
            }
            Xml::CData(e) => {
                if gpx.capturing() {
                    match e.xml10_content() {
                        Ok(s) => gpx.push_text(&s),
                        Err(_) => gpx.push_lossy(&e, line),
                    }
                    Ok(())
                } else {
                    gpx.stray_text(b"<![CDATA[", line)
                }
            }
            Xml::GeneralRef(e) => {
                if gpx.capturing() {
                    let mut text = String::new();
                    push_reference(&mut text, &e);
                    gpx.push_text(&text);
                    Ok(())
                } else {
                    gpx.stray_text(b"&", line)
                }
            }
            // Never expanded, never resolved: entity declarations are ignored.
            Xml::DocType(_) | Xml::Decl(_) | Xml::PI(_) | Xml::Comment(_) => Ok(()),
            Xml::Eof => {
                let last = xml.get_mut().last_line();
                gpx.eof(last)
            }
        }
    }
}

fn xml_error(e: quick_xml::Error, line: u64) -> Error {
    match e {
        quick_xml::Error::Io(io) => Error::Io {
            line: Some(line),
            source: Arc::try_unwrap(io)
                .unwrap_or_else(|io| std::io::Error::new(io.kind(), io.to_string())),
        },
        e => Error::Xml {
            line: Some(line),
            message: format!("malformed XML: {e}"),
        },
    }
}

/// Appends the text a reference stands for: predefined entities and
/// character references are resolved; anything else is kept as written.
fn push_reference(text: &mut String, r: &BytesRef<'_>) {
    let resolved = match &**r {
        b"amp" => Some('&'),
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"apos" => Some('\''),
        b"quot" => Some('"'),
        _ if r.is_char_ref() => r.resolve_char_ref().ok().flatten(),
        _ => None,
    };
    if let Some(c) = resolved {
        text.push(c);
    } else {
        text.push('&');
        text.push_str(&String::from_utf8_lossy(r));
        text.push(';');
    }
}

/// What an open element is, in GPX terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gpx,
    Trk,
    Trkseg,
    Trkpt,
    Wpt,
    Rte,
    Rtept,
    Field(Field),
    /// Unknown or irrelevant here; everything inside it is `Other` too.
    Other,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Gpx => "<gpx>",
            Kind::Trk => "<trk>",
            Kind::Trkseg => "<trkseg>",
            Kind::Trkpt => "<trkpt>",
            Kind::Wpt => "<wpt>",
            Kind::Rte => "<rte>",
            Kind::Rtept => "<rtept>",
            Kind::Field(f) => f.tag(),
            Kind::Other => "an element",
        }
    }
}

/// A child of `<trkpt>` or `<wpt>` whose text we keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Ele,
    Time,
    Name,
    Sym,
    Type,
    Desc,
    Cmt,
}

impl Field {
    fn tag(self) -> &'static str {
        match self {
            Field::Ele => "<ele>",
            Field::Time => "<time>",
            Field::Name => "<name>",
            Field::Sym => "<sym>",
            Field::Type => "<type>",
            Field::Desc => "<desc>",
            Field::Cmt => "<cmt>",
        }
    }
}

/// Whether a track or segment is open, and whether the file said so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Open {
    #[default]
    No,
    Explicit,
    /// Opened by us for a `<trkpt>`/`<trkseg>` that had no parent.
    Implicit,
}

#[derive(Default)]
#[allow(clippy::struct_excessive_bools)] // independent flags of one state machine
struct Machine {
    stack: Vec<Kind>,
    pending: VecDeque<Event>,
    warnings: Vec<Warning>,
    dropped_warnings: bool,
    root_seen: bool,
    finished: bool,
    trk: Open,
    seg: Open,
    /// The `<trkpt>`/`<wpt>` being read.
    point: Point,
    point_line: u64,
    name: Option<String>,
    sym: Option<String>,
    kind: Option<String>,
    desc: Option<String>,
    cmt: Option<String>,
    /// Text of the open field (at most MAX_TEXT bytes), and the line of its start tag.
    text: String,
    field_line: u64,
    /// The open field's text was cut.
    cut: bool,
}

impl Machine {
    fn capturing(&self) -> bool {
        matches!(self.stack.last(), Some(Kind::Field(_)))
    }

    fn warn(&mut self, line: u64, message: String) {
        self.push_warning(Warning {
            line,
            message,
            text_cut: false,
        });
    }

    fn push_warning(&mut self, w: Warning) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(w);
        } else if !self.dropped_warnings {
            self.dropped_warnings = true;
            self.warnings.push(Warning {
                line: w.line,
                message: "too many warnings; later ones are not recorded".into(),
                text_cut: false,
            });
        }
    }

    /// Append to the open field's text, keeping at most MAX_TEXT bytes.
    fn push_text(&mut self, s: &str) {
        let room = MAX_TEXT - self.text.len();
        if s.len() <= room {
            self.text.push_str(s);
        } else {
            let mut k = room;
            while !s.is_char_boundary(k) {
                k -= 1;
            }
            self.text.push_str(&s[..k]);
            self.cut = true;
        }
    }

    fn push_lossy(&mut self, raw: &[u8], line: u64) {
        self.push_text(&String::from_utf8_lossy(raw));
        self.warn(line, "text is not valid UTF-8; bad bytes replaced".into());
    }

    /// Text outside any field: only whitespace may come before the root.
    fn stray_text(&mut self, raw: &[u8], line: u64) -> Result<(), Error> {
        if self.stack.is_empty() && !raw.iter().all(u8::is_ascii_whitespace) {
            let line = line + leading_newlines(raw);
            return Err(Error::NotGpx {
                line: Some(line),
                message: "text found where the <gpx> element should start".into(),
            });
        }
        Ok(())
    }

    fn close_implicit_segment(&mut self) {
        if self.seg == Open::Implicit {
            self.pending.push_back(Event::SegmentEnd);
            self.seg = Open::No;
        }
    }

    fn close_implicit(&mut self) {
        self.close_implicit_segment();
        if self.trk == Open::Implicit {
            self.pending.push_back(Event::TrackEnd);
            self.trk = Open::No;
        }
    }

    fn open_implicit_track(&mut self) {
        if self.trk == Open::No {
            self.pending.push_back(Event::TrackStart);
            self.trk = Open::Implicit;
        }
    }

    fn open_implicit_segment(&mut self) {
        if self.seg == Open::No {
            self.pending.push_back(Event::SegmentStart);
            self.seg = Open::Implicit;
        }
    }

    fn start(&mut self, e: &BytesStart<'_>, line: u64) -> Result<(), Error> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Error::TooDeep { line: Some(line) });
        }
        let local = e.local_name();
        let name = local.as_ref();
        let kind = match self.stack.last().copied() {
            None => {
                if name != b"gpx" {
                    return Err(Error::NotGpx {
                        line: Some(line),
                        message: format!(
                            "the root element is <{}>, not <gpx>",
                            String::from_utf8_lossy(e.name().as_ref())
                        ),
                    });
                }
                self.root_seen = true;
                Kind::Gpx
            }
            Some(Kind::Gpx) => match name {
                b"trk" => {
                    self.close_implicit();
                    self.pending.push_back(Event::TrackStart);
                    self.trk = Open::Explicit;
                    Kind::Trk
                }
                b"trkseg" => {
                    self.close_implicit_segment();
                    self.open_implicit_track();
                    self.pending.push_back(Event::SegmentStart);
                    self.seg = Open::Explicit;
                    Kind::Trkseg
                }
                b"trkpt" => {
                    self.open_implicit_track();
                    self.open_implicit_segment();
                    self.begin_point(e, line, "<trkpt>")?;
                    Kind::Trkpt
                }
                b"wpt" => {
                    self.close_implicit();
                    self.begin_point(e, line, "<wpt>")?;
                    self.name = None;
                    self.sym = None;
                    self.kind = None;
                    self.desc = None;
                    self.cmt = None;
                    Kind::Wpt
                }
                b"rte" => {
                    self.close_implicit();
                    Kind::Rte
                }
                _ => {
                    self.close_implicit();
                    Kind::Other
                }
            },
            Some(Kind::Trk) => match name {
                b"trkseg" => {
                    self.close_implicit_segment();
                    self.pending.push_back(Event::SegmentStart);
                    self.seg = Open::Explicit;
                    Kind::Trkseg
                }
                b"trkpt" => {
                    self.open_implicit_segment();
                    self.begin_point(e, line, "<trkpt>")?;
                    Kind::Trkpt
                }
                _ => Kind::Other,
            },
            Some(Kind::Trkseg) => match name {
                b"trkpt" => {
                    self.begin_point(e, line, "<trkpt>")?;
                    Kind::Trkpt
                }
                _ => Kind::Other,
            },
            Some(Kind::Trkpt) => match name {
                b"ele" => Kind::Field(Field::Ele),
                b"time" => Kind::Field(Field::Time),
                _ => Kind::Other,
            },
            Some(Kind::Wpt) => match name {
                b"ele" => Kind::Field(Field::Ele),
                b"time" => Kind::Field(Field::Time),
                b"name" => Kind::Field(Field::Name),
                b"sym" => Kind::Field(Field::Sym),
                b"type" => Kind::Field(Field::Type),
                b"desc" => Kind::Field(Field::Desc),
                b"cmt" => Kind::Field(Field::Cmt),
                _ => Kind::Other,
            },
            Some(Kind::Rte) => match name {
                b"rtept" => Kind::Rtept,
                _ => Kind::Other,
            },
            Some(Kind::Rtept | Kind::Field(_) | Kind::Other) => Kind::Other,
        };
        if let Kind::Field(_) = kind {
            self.text.clear();
            self.field_line = line;
            self.cut = false;
        }
        self.stack.push(kind);
        Ok(())
    }

    fn end(&mut self, line: u64) -> Result<(), Error> {
        let Some(kind) = self.stack.pop() else {
            return Err(Error::Xml {
                line: Some(line),
                message: "malformed XML: end tag without a start tag".into(),
            });
        };
        match kind {
            Kind::Gpx => {
                self.close_implicit();
                // Whatever follows the root element is not read.
                self.finished = true;
            }
            Kind::Trk => {
                self.close_implicit_segment();
                self.pending.push_back(Event::TrackEnd);
                self.trk = Open::No;
            }
            Kind::Trkseg => {
                self.pending.push_back(Event::SegmentEnd);
                self.seg = Open::No;
            }
            Kind::Trkpt => self.pending.push_back(Event::Point(self.point)),
            Kind::Wpt => {
                let waypoint = Waypoint {
                    point: self.point,
                    name: self.name.take(),
                    sym: self.sym.take(),
                    kind: self.kind.take(),
                    desc: self.desc.take(),
                    cmt: self.cmt.take(),
                    line: self.point_line,
                };
                self.pending.push_back(Event::Waypoint(waypoint));
            }
            Kind::Rtept => self.pending.push_back(Event::RoutePoint),
            Kind::Field(field) => self.end_field(field)?,
            Kind::Rte | Kind::Other => {}
        }
        Ok(())
    }

    fn end_field(&mut self, field: Field) -> Result<(), Error> {
        let line = self.field_line;
        if self.cut {
            self.push_warning(Warning {
                line,
                message: format!("{} text cut to {MAX_TEXT} bytes", field.tag()),
                text_cut: true,
            });
        }
        let value = self.text.trim();
        match field {
            Field::Ele => {
                self.point.ele = None;
                if value.is_empty() {
                    return Ok(());
                }
                match value.parse::<f64>() {
                    Ok(v) if v.is_finite() => self.point.ele = Some(v),
                    Ok(_) => {
                        return Err(Error::Invalid {
                            line: Some(line),
                            message: format!("elevation '{value}' is not a finite number"),
                        });
                    }
                    Err(_) => {
                        let message = format!("elevation '{value}' is not a number, ignored");
                        self.warn(line, message);
                    }
                }
            }
            Field::Time => {
                self.point.time = parse_time(value);
                self.point.zoneless = self.point.time.is_some() && !crate::has_zone(value);
                if self.point.time.is_none() && !value.is_empty() {
                    let message = format!("time '{value}' is not a date, ignored");
                    self.warn(line, message);
                }
            }
            Field::Name => self.name = non_empty(value),
            Field::Sym => self.sym = non_empty(value),
            Field::Type => self.kind = non_empty(value),
            Field::Desc => self.desc = non_empty(value),
            Field::Cmt => self.cmt = non_empty(value),
        }
        Ok(())
    }

    fn begin_point(&mut self, e: &BytesStart<'_>, line: u64, tag: &str) -> Result<(), Error> {
        let (mut lat, mut lon) = (None, None);
        for attr in e.attributes().with_checks(false) {
            let attr = attr.map_err(|err| Error::Xml {
                line: Some(line),
                message: format!("malformed XML: bad attribute in {tag}: {err}"),
            })?;
            match attr.key.local_name().as_ref() {
                b"lat" => lat = Some(coordinate(&attr.value, "latitude", 90.0, line)?),
                b"lon" => lon = Some(coordinate(&attr.value, "longitude", 180.0, line)?),
                _ => {}
            }
        }
        let missing = |what: &str| Error::Invalid {
            line: Some(line),
            message: format!("{tag} has no {what} attribute"),
        };
        self.point = Point {
            lat: lat.ok_or_else(|| missing("lat"))?,
            lon: lon.ok_or_else(|| missing("lon"))?,
            ele: None,
            time: None,
            zoneless: false,
        };
        self.point_line = line;
        Ok(())
    }

    fn eof(&mut self, line: u64) -> Result<(), Error> {
        if let Some(open) = self.stack.last() {
            return Err(Error::Xml {
                line: Some(line),
                message: format!(
                    "malformed XML: unexpected end of file, {} is not closed (truncated file?)",
                    open.tag()
                ),
            });
        }
        if !self.root_seen {
            return Err(Error::NotGpx {
                line: Some(line),
                message: "no <gpx> element".into(),
            });
        }
        self.finished = true;
        Ok(())
    }
}

fn leading_newlines(raw: &[u8]) -> u64 {
    let ws = raw.iter().take_while(|b| b.is_ascii_whitespace()).count();
    memchr::memchr_iter(b'\n', &raw[..ws]).count() as u64
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// Parses a `lat`/`lon` attribute value straight from its bytes.
fn coordinate(raw: &[u8], what: &str, limit: f64, line: u64) -> Result<f64, Error> {
    let text = raw.trim_ascii();
    let shown = || String::from_utf8_lossy(text);
    let value = std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or_else(|| Error::Invalid {
            line: Some(line),
            message: format!("{what} '{}' is not a number", shown()),
        })?;
    if !value.is_finite() {
        return Err(Error::Invalid {
            line: Some(line),
            message: format!("{what} '{}' is not a finite number", shown()),
        });
    }
    if value.abs() > limit {
        return Err(Error::Invalid {
            line: Some(line),
            message: format!("{what} {} is outside [-{limit}, {limit}]", shown()),
        });
    }
    Ok(value)
}
