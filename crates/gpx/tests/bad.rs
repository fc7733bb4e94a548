//! Inputs that must be rejected with a line number, and hostile inputs that
//! must neither blow up nor leak anything.

mod common;

use std::fmt::Write as _;
use std::io::Cursor;
use std::time::{Duration, Instant};

use common::{data_dir, summarize, summarize_bytes, summarize_path};
use patrol_gpx::{Error, Event, Reader};

/// Reads `bad/<name>` and returns the error it must produce.
fn error_of(name: &str) -> Error {
    match summarize_path(&data_dir().join("bad").join(name)) {
        Ok(s) => panic!("{name} was accepted: {s:?}"),
        Err(e) => e,
    }
}

fn check(name: &str, line: u64, message: &str) {
    let e = error_of(name);
    assert_eq!(e.line(), Some(line), "{name}: {e}");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("line {line}: ")),
        "{name}: {text}"
    );
    assert!(text.contains(message), "{name}: {text:?} lacks {message:?}");
}

#[test]
fn truncated_inside_an_element() {
    check(
        "truncated.gpx",
        6,
        "unexpected end of file, <ele> is not closed",
    );
    assert!(matches!(error_of("truncated.gpx"), Error::Xml { .. }));
}

#[test]
fn truncated_inside_a_tag() {
    check("truncated-in-tag.gpx", 6, "malformed XML");
}

#[test]
fn binary_junk() {
    check("binary-junk.gpx", 1, "not a GPX file");
}

#[test]
fn coordinates_out_of_range() {
    check("lat-95.gpx", 5, "latitude 95 is outside [-90, 90]");
    check("lon-200.gpx", 3, "longitude 200 is outside [-180, 180]");
    assert_eq!(
        error_of("lat-95.gpx").to_string(),
        "line 5: latitude 95 is outside [-90, 90]"
    );
}

#[test]
fn coordinates_not_finite_or_not_numbers() {
    check("nan-lat.gpx", 6, "latitude 'NaN' is not a finite number");
    check("text-lat.gpx", 3, "latitude 'north' is not a number");
    check("missing-lon.gpx", 5, "<trkpt> has no lon attribute");
    check("ele-inf.gpx", 6, "elevation 'inf' is not a finite number");
    for (lat, lon) in [("inf", "1"), ("1", "-infinity"), ("1", ""), ("1", "1,5")] {
        let doc = format!("<gpx>\n<wpt lat=\"{lat}\" lon=\"{lon}\"/></gpx>");
        let e = summarize_bytes(doc.as_bytes()).unwrap_err();
        assert_eq!(e.line(), Some(2), "{e}");
        assert!(matches!(e, Error::Invalid { .. }), "{e}");
    }
    let e =
        summarize_bytes(b"<gpx><trk><trkseg><trkpt lon='1'/></trkseg></trk></gpx>").unwrap_err();
    assert_eq!(e.to_string(), "line 1: <trkpt> has no lat attribute");
}

#[test]
fn mismatched_tags() {
    check(
        "mismatched-tags.gpx",
        6,
        "expected `</trkseg>`, but `</trk>` was found",
    );
}

#[test]
fn not_gpx() {
    check(
        "not-gpx.xml",
        2,
        "not a GPX file: the root element is <kml>, not <gpx>",
    );
    check("not-xml.gpx", 1, "not a GPX file");
    check("empty.gpx", 1, "not a GPX file: no <gpx> element");
    assert!(matches!(error_of("not-gpx.xml"), Error::NotGpx { .. }));
    // Only comments and a declaration, spread over lines.
    let e = summarize_bytes(b"<?xml version='1.0'?>\n<!-- nothing -->\n").unwrap_err();
    assert_eq!(e.to_string(), "line 2: not a GPX file: no <gpx> element");
}

#[test]
fn unknown_encoding() {
    let e = Reader::from_path(&data_dir().join("bad/unknown-encoding.gpx"))
        .err()
        .expect("unknown encoding accepted");
    assert!(matches!(e, Error::Encoding { .. }));
    assert_eq!(
        e.to_string(),
        "line 1: unknown character encoding 'klingon-8'"
    );
    // from_reader reports it at the first event.
    let mut r = Reader::from_reader(&b"<?xml version='1.0' encoding='nope'?><gpx/>"[..]);
    assert_eq!(r.next_event().unwrap_err().line(), Some(1));
    assert!(r.next_event().unwrap().is_none());
}

#[test]
fn missing_file_is_an_io_error() {
    let e = Reader::from_path(&data_dir().join("bad/no-such-file.gpx"))
        .err()
        .unwrap();
    assert!(matches!(e, Error::Io { line: None, .. }));
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn after_an_error_the_reader_is_done() {
    let mut r = Reader::from_path(&data_dir().join("bad/nan-lat.gpx")).unwrap();
    let mut seen = 0;
    let err = loop {
        match r.next_event() {
            Ok(Some(_)) => seen += 1,
            Ok(None) => panic!("no error"),
            Err(e) => break e,
        }
    };
    assert_eq!(seen, 3); // TrackStart, SegmentStart, the good point
    assert_eq!(err.line(), Some(6));
    assert!(r.next_event().unwrap().is_none());
}

#[test]
fn entity_bomb_is_not_expanded() {
    let t = Instant::now();
    let s = summarize_path(&data_dir().join("bad/entity-bomb.gpx")).unwrap();
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(s.waypoints.len(), 1);
    let w = &s.waypoints[0];
    assert_eq!(w.name.as_deref(), Some("&lol9;"));
    assert_eq!(w.desc.as_deref(), Some("a &lol; b"));
    assert_eq!(w.line, 15);
}

#[test]
fn external_entity_is_never_read() {
    let s = summarize_path(&data_dir().join("bad/external-entity.gpx")).unwrap();
    assert_eq!(s.waypoints.len(), 1);
    let w = &s.waypoints[0];
    assert_eq!(w.name.as_deref(), Some("&xxe;"));
    assert_eq!(w.desc.as_deref(), Some("&xxe;"));
    for text in [&w.name, &w.desc, &w.cmt, &w.sym, &w.kind]
        .into_iter()
        .flatten()
    {
        assert!(!text.contains("root:"), "{text}");
    }
}

#[test]
fn deep_nesting_is_rejected_without_recursion() {
    let depth = 200_000;
    let mut doc = String::with_capacity(depth * 8);
    doc.push_str("<gpx>\n");
    for _ in 0..depth {
        doc.push_str("<a>");
    }
    for _ in 0..depth {
        doc.push_str("</a>");
    }
    doc.push_str("</gpx>");
    let t = Instant::now();
    let e = summarize_bytes(doc.as_bytes()).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(matches!(e, Error::TooDeep { .. }));
    assert_eq!(e.to_string(), "line 2: elements nested deeper than 10000");

    // Just under the limit is fine, and whatever is inside is skipped.
    let mut doc = String::from("<gpx><wpt lat='1' lon='2'>");
    for _ in 0..9_990 {
        doc.push_str("<x>");
    }
    doc.push_str("<name>hidden</name>");
    for _ in 0..9_990 {
        doc.push_str("</x>");
    }
    doc.push_str("<name>seen</name></wpt></gpx>");
    let s = summarize_bytes(doc.as_bytes()).unwrap();
    assert_eq!(s.waypoints[0].name.as_deref(), Some("seen"));
}

/// About 50 MB on one line, streamed from a temporary file: ~100,000 points
/// (10 MB) and a waypoint whose `<desc>` alone is 40 MB of text.
#[test]
fn fifty_megabytes_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one-line.gpx");
    let mut doc = String::with_capacity(51_000_000);
    doc.push_str(r#"<?xml version="1.0"?><gpx version="1.1" creator="t"><trk><trkseg>"#);
    let mut n = 0u64;
    while doc.len() < 10_000_000 {
        let _ = write!(
            doc,
            r#"<trkpt lat="{}.{:06}" lon="{}.{:06}"><ele>{}</ele><time>2020-01-01T00:00:00Z</time></trkpt>"#,
            n % 80,
            n % 999_999,
            n % 170,
            (n * 7) % 999_999,
            n % 3000
        );
        n += 1;
    }
    doc.push_str("</trkseg></trk>");
    let desc_len = 40_000_000;
    doc.push_str(r#"<wpt lat="1" lon="2"><name>end</name><desc>"#);
    doc.push_str(&"abc&amp;".repeat(2));
    doc.push_str(&"abcdefgh".repeat(desc_len / 8 - 2));
    doc.push_str("</desc></wpt></gpx>");
    assert!(doc.len() > 50_000_000 && !doc.contains('\n'));
    std::fs::write(&path, &doc).unwrap();
    let s = summarize_path(&path).unwrap();
    assert_eq!(s.points.len() as u64, n);
    let last = s.points.last().unwrap();
    assert_eq!(last.ele, Some(((n - 1) % 3000) as f64));
    let w = &s.waypoints[0];
    assert_eq!((w.line, w.name.as_deref()), (1, Some("end")));
    // The desc is cut while reading (memory stays bounded), and said so.
    let desc = w.desc.as_deref().unwrap();
    assert_eq!(desc.len(), patrol_gpx::MAX_TEXT);
    assert!(desc.starts_with("abc&abc&abcdefgh"));
    assert_eq!(
        s.warnings,
        [format!(
            "line 1: <desc> text cut to {} bytes",
            patrol_gpx::MAX_TEXT
        )]
    );

    // An error at the very end of that line is on line 1.
    doc.truncate(doc.len() - "</gpx>".len());
    doc.push_str(r#"<wpt lat="91" lon="2"/></gpx>"#);
    std::fs::write(&path, &doc).unwrap();
    let e = summarize_path(&path).unwrap_err();
    assert_eq!(e.to_string(), "line 1: latitude 91 is outside [-90, 90]");
}

/// Line numbers deep in a long file, for errors, waypoints and warnings.
#[test]
fn line_numbers_far_into_a_file() {
    let mut doc = String::from(
        "<?xml version=\"1.0\"?>\n<gpx version=\"1.1\" creator=\"t\">\n<trk>\n<trkseg>\n",
    );
    // Lines 5 ..= 20004: one point per line, with a multi-line comment every 1000.
    let mut line = 5;
    for i in 0..20_000 {
        if i % 1000 == 999 {
            doc.push_str("<!-- two\nlines -->");
            line += 1;
        }
        if i == 12_345 {
            let _ = writeln!(doc, "<trkpt lat=\"1\" lon=\"1\"><time>soon</time></trkpt>");
        } else {
            let _ = writeln!(doc, "<trkpt lat=\"1\" lon=\"1\"/>");
        }
        line += 1;
    }
    let bad_time_line = 5 + 12_345 + 12; // twelve comments before it
    doc.push_str("</trkseg>\n</trk>\n");
    line += 2;
    let wpt_line = line;
    doc.push_str("<wpt\n lat=\"1\"\n lon=\"1\"/>\n");
    let bad_line = wpt_line + 3;
    doc.push_str("<wpt lat=\"1\" lon=\"-181\"/>\n</gpx>\n");

    let mut r = Reader::from_reader(Cursor::new(doc.into_bytes()));
    let mut wpt = None;
    let err = loop {
        match r.next_event() {
            Ok(Some(Event::Waypoint(w))) => wpt = Some(w),
            Ok(Some(_)) => {}
            Ok(None) => panic!("no error"),
            Err(e) => break e,
        }
    };
    assert_eq!(wpt.unwrap().line, wpt_line);
    assert_eq!(err.line(), Some(bad_line), "{err}");
    assert_eq!(r.warnings().len(), 1);
    assert_eq!(r.warnings()[0].line, bad_time_line);
    assert_eq!(
        r.warnings()[0].to_string(),
        format!("line {bad_time_line}: time 'soon' is not a date, ignored")
    );
}

#[test]
fn warnings_are_capped() {
    let mut doc = String::from("<gpx><trk><trkseg>");
    for _ in 0..1500 {
        doc.push_str("<trkpt lat='1' lon='1'><ele>x</ele></trkpt>");
    }
    doc.push_str("</trkseg></trk></gpx>");
    let s = summarize(Reader::from_reader(doc.as_bytes())).unwrap();
    assert_eq!(s.points.len(), 1500);
    assert_eq!(s.warnings.len(), 1001);
    assert!(s.warnings[1000].contains("too many warnings"));
}

#[test]
fn unclosed_root_and_stray_end_tags() {
    let e = summarize_bytes(b"<gpx>\n<trk>\n</trk>\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 3: malformed XML: unexpected end of file, <gpx> is not closed (truncated file?)"
    );
    let e = summarize_bytes(b"<gpx>\n</trk>\n</gpx>").unwrap_err();
    assert_eq!(e.line(), Some(2), "{e}");
    let e = summarize_bytes(b"<gpx>\n<!-- never closed\n\n").unwrap_err();
    assert_eq!(e.line(), Some(2), "{e}");
    let e = summarize_bytes(b"<gpx>\n<wpt lat='1' lon='2' lat/>\n</gpx>").unwrap_err();
    assert_eq!(e.line(), Some(2), "{e}");
}
