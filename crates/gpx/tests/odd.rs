//! Odd but valid inputs: encodings, namespaces, offsets, stray track points.

mod common;

use common::{OneByte, Summary, data_dir, summarize, summarize_bytes, summarize_path};
use patrol_gpx::{Event, Point, Reader, Waypoint, parse_time};

fn odd(name: &str) -> Summary {
    let path = data_dir().join("odd").join(name);
    let s = summarize_path(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    // The same file handed over one byte at a time reads the same.
    let file = std::fs::File::open(&path).unwrap();
    let slow = summarize(Reader::from_reader(OneByte(file))).unwrap();
    assert_eq!(s.points, slow.points, "{name}");
    assert_eq!(s.waypoints, slow.waypoints, "{name}");
    assert_eq!(s.warnings, slow.warnings, "{name}");
    s
}

fn pt(lat: f64, lon: f64) -> Point {
    Point {
        lat,
        lon,
        ele: None,
        time: None,
        zoneless: false,
    }
}

fn wpt(point: Point, name: Option<&str>, line: u64) -> Waypoint {
    Waypoint {
        point,
        name: name.map(str::to_owned),
        sym: None,
        kind: None,
        desc: None,
        cmt: None,
        line,
    }
}

#[test]
fn latin1() {
    let s = odd("latin1.gpx");
    assert_eq!(
        s.waypoints,
        [Waypoint {
            desc: Some("Crème brûlée, 5".into()),
            ..wpt(pt(48.85, 2.35), Some("Café"), 3)
        }]
    );
}

#[test]
fn windows_1252_from_memory() {
    let doc = b"<?xml version='1.0' encoding='windows-1252'?>\n<gpx><wpt lat='1' lon='2'><name>\x80 5 \x93ok\x94</name></wpt></gpx>";
    let s = summarize_bytes(doc).unwrap();
    assert_eq!(
        s.waypoints[0].name.as_deref(),
        Some("€ 5 \u{201c}ok\u{201d}")
    );
    assert_eq!(s.waypoints[0].line, 2);
}

fn check_utf16(s: &Summary) {
    assert_eq!(
        s.waypoints,
        [wpt(pt(46.5, 13.8), Some("Triglav – Žiri"), 3)]
    );
    assert_eq!(
        s.points,
        [Point {
            ele: Some(2864.0),
            time: parse_time("2020-07-01T08:00:00Z"),
            ..pt(46.37, 13.83)
        }]
    );
    assert_eq!((s.tracks, s.segments), (1, 1));
}

#[test]
fn utf16_with_bom() {
    check_utf16(&odd("utf16le.gpx"));
    check_utf16(&odd("utf16be.gpx"));
}

#[test]
fn utf16_without_bom() {
    let le = std::fs::read(data_dir().join("odd/utf16le.gpx")).unwrap();
    let be = std::fs::read(data_dir().join("odd/utf16be.gpx")).unwrap();
    check_utf16(&summarize_bytes(&le[2..]).unwrap());
    check_utf16(&summarize_bytes(&be[2..]).unwrap());
}

#[test]
fn utf8_bom_from_memory() {
    let s =
        summarize_bytes("\u{feff}<gpx><wpt lat='1' lon='2'><name>ő</name></wpt></gpx>".as_bytes())
            .unwrap();
    assert_eq!(s.waypoints[0].name.as_deref(), Some("ő"));
}

#[test]
fn no_namespace_no_version() {
    let s = odd("no-namespace-no-version.gpx");
    assert_eq!(
        s.points,
        [
            Point {
                ele: Some(12.5),
                ..pt(-33.9, 151.2)
            },
            pt(-33.91, 151.21)
        ]
    );
    assert_eq!(
        s.waypoints,
        [Waypoint {
            sym: Some("Flag".into()),
            kind: Some("POI".into()),
            desc: Some("d".into()),
            cmt: Some("c".into()),
            ..wpt(pt(-33.85, 151.21), Some("Opera"), 6)
        }]
    );
    assert!(s.warnings.is_empty());
}

#[test]
fn times_with_offsets() {
    let s = odd("times-with-offsets.gpx");
    let at_5 = parse_time("2021-03-04T05:00:00Z").unwrap();
    assert_eq!(at_5, 1_614_834_000_000_000);
    let times: Vec<Option<i64>> = s.points.iter().map(|p| p.time).collect();
    assert_eq!(
        times,
        [
            Some(at_5),                   // 12:00+07:00
            Some(at_5 + 3_600_000_000),   // 00:30-0530 = 06:00Z
            Some(at_5),                   // 12:00+07
            Some(at_5),                   // no zone: UTC
            Some(at_5 + 123_456),         // lowercase t/z, 9 digits truncated
            Some(at_5),                   // space instead of T
            None,                         // 'yesterday'
            Some(-2_147_483_648_000_000), // 1901
        ]
    );
    assert_eq!(
        s.warnings,
        ["line 10: time 'yesterday' is not a date, ignored"]
    );
}

#[test]
fn trkpt_outside_trkseg() {
    use Event::{
        Point as P, SegmentEnd as SE, SegmentStart as SS, TrackEnd as TE, TrackStart as TS,
    };
    let path = data_dir().join("odd/trkpt-outside-trkseg.gpx");
    let mut r = Reader::from_path(&path).unwrap();
    let mut events = Vec::new();
    while let Some(e) = r.next_event().unwrap() {
        events.push(e);
    }
    let p = |v: f64| P(pt(v, v));
    #[rustfmt::skip]
    let want = [
        // <trk> with two bare <trkpt>s: an implicit segment, then a real one.
        TS, SS, p(1.0), p(2.0), SE, SS, p(3.0), SE, TE,
        // <trkseg>s and a <trkpt> directly under <gpx>: one implicit track.
        TS, SS, p(4.0), SE, SS, SE, SS, p(5.0), SE, TE,
        Event::Waypoint(wpt(pt(6.0, 6.0), None, 11)),
    ];
    assert_eq!(events, want);
    let s = odd("trkpt-outside-trkseg.gpx");
    assert_eq!((s.tracks, s.segments, s.nonempty_segments), (2, 5, 4));
}

#[test]
fn messy() {
    let s = odd("messy.gpx");
    assert_eq!(
        s.waypoints,
        [Waypoint {
            desc: Some("<b>bold</b> & raw".into()),
            ..wpt(
                pt(46.5, 13.8),
                Some("Fish & Chips <3 é中 &nbsp; &unknown;"),
                6
            )
        }]
    );
    assert_eq!(s.route_points, 2);
    assert_eq!(
        s.points,
        [
            Point {
                ele: Some(100.0),
                ..pt(46.1, 14.1)
            },
            Point {
                time: parse_time("2020-01-01T00:00:00Z"),
                ..pt(46.2, 14.2)
            },
        ]
    );
    assert_eq!(
        s.warnings,
        [
            "line 10: elevation 'high' is not a number, ignored",
            "line 15: time 'bad' is not a date, ignored"
        ]
    );
}

#[test]
fn multi_line_text_keeps_newlines_and_trims() {
    let s = summarize_bytes(
        b"<gpx><wpt lat='0' lon='0'><desc>\r\n  one\r\n  two\r\n</desc><name></name></wpt></gpx>",
    )
    .unwrap();
    assert_eq!(s.waypoints[0].desc.as_deref(), Some("one\n  two"));
    assert_eq!(s.waypoints[0].name, None);
}
