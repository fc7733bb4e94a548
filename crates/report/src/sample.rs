//! A hand-built report for the renderers' tests.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use geo::polygon;
use patrol_core::attribute::{Aggregation, Attribute, AttributeKind, Item, Value};
use patrol_core::grid::CoverageInput;
use patrol_core::metrics::{
    LegDay, ObservationFact, Period, Report, ReportInput, SiteInfo, build_report,
};
use patrol_core::{LegId, ObservationId, PatrolId, SiteId, Transport};
use uuid::Uuid;

pub const EVIL_TEAM: &str = "<script>alert('x')</script> & \"Co\"";

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[allow(clippy::too_many_arguments)]
fn day(patrol: u128, leg: u128, team: &str, t: Transport, d: &str, km: f64, hours: f64) -> LegDay {
    LegDay {
        site: SiteId(Uuid::from_u128(1)),
        patrol: PatrolId(Uuid::from_u128(patrol)),
        leg: LegId(Uuid::from_u128(leg)),
        team: team.to_owned(),
        transport: t,
        members: 3,
        date: date(d),
        points: 10,
        length_m: km * 1000.0,
        seconds: hours * 3600.0,
        active_seconds: hours * 3000.0,
    }
}

fn threat(n: u128, cat: &str, d: &str) -> ObservationFact {
    ObservationFact {
        id: ObservationId(Uuid::from_u128(n)),
        site: SiteId(Uuid::from_u128(1)),
        patrol: PatrolId(Uuid::from_u128(1)),
        category: cat.to_owned(),
        threat: true,
        date: Some(date(d)),
        lon: 102.01,
        lat: 14.01,
        attributes: BTreeMap::new(),
    }
}

/// October 2026: 120.5 km (80.5 on foot by Alpha, 40 by vehicle by the evil
/// team), 30 h; 3 threats (2 snares, 1 camp). Baseline January-June: 600 km,
/// 30 threats. Trend over 3 months.
pub fn input() -> ReportInput {
    let mut days = vec![
        day(1, 10, "Alpha", Transport::Foot, "2026-10-05", 80.5, 20.0),
        day(
            2,
            20,
            EVIL_TEAM,
            Transport::Vehicle,
            "2026-10-12",
            40.0,
            10.0,
        ),
    ];
    let mut observations = vec![
        threat(1, "snare", "2026-10-05"),
        threat(2, "snare", "2026-10-05"),
        threat(3, "camp", "2026-10-12"),
    ];
    for m in 1..=6_u32 {
        let d = format!("2026-{m:02}-15");
        days.push(day(
            100 + u128::from(m),
            200 + u128::from(m),
            "Alpha",
            Transport::Foot,
            &d,
            100.0,
            10.0,
        ));
        for k in 0..5 {
            observations.push(threat(1000 + u128::from(m * 10 + k), "snare", &d));
        }
    }
    // October's snares: 4 and 3 removed, one fresh, one old; the baseline's:
    // 2 removed each.
    for (o, (n, age)) in observations.iter_mut().zip([(4.0, "fresh"), (3.0, "old")]) {
        o.attributes = BTreeMap::from([
            ("removed".to_owned(), Value::Number(n)),
            ("age".to_owned(), Value::Text(age.to_owned())),
        ]);
    }
    for o in observations.iter_mut().skip(3) {
        o.attributes = BTreeMap::from([("removed".to_owned(), Value::Number(2.0))]);
    }
    let mut sites = BTreeMap::new();
    sites.insert(
        SiteId(Uuid::from_u128(1)),
        SiteInfo {
            name: "Test Park".to_owned(),
            timezone: "Asia/Bangkok".to_owned(),
        },
    );
    let boundary = geo::MultiPolygon(vec![polygon![
        (x: 101.98, y: 13.98), (x: 102.04, y: 13.98), (x: 102.04, y: 14.04), (x: 101.98, y: 14.04),
    ]]);
    ReportInput {
        quality: patrol_core::metrics::QualityInput::default(),
        period: Period {
            from: date("2026-10-01"),
            to: date("2026-10-31"),
        },
        baseline: Some(Period {
            from: date("2026-01-01"),
            to: date("2026-06-30"),
        }),
        months: Some(3),
        sites,
        days,
        observations,
        undated_km: 2.25,
        category_labels: BTreeMap::from([
            ("snare".to_owned(), "Wire snare".to_owned()),
            ("camp".to_owned(), "Poacher camp".to_owned()),
        ]),
        attributes: attributes(),
        item_labels: BTreeMap::from([(
            "age".to_owned(),
            BTreeMap::from([
                ("fresh".to_owned(), "Fresh".to_owned()),
                ("old".to_owned(), "Old".to_owned()),
            ]),
        )]),
        category_parents: BTreeMap::new(),
        roll_up: Vec::new(),
        coverage: BTreeMap::from([(
            SiteId(Uuid::from_u128(1)),
            CoverageInput {
                boundary,
                cell_m: 1000.0,
                lines: vec![vec![(101.99, 13.99), (102.01, 14.0), (102.03, 14.03)]],
            },
        )]),
    }
}

/// Snares removed (numeric, summed) and the snare's age (a list).
fn attributes() -> BTreeMap<String, Attribute> {
    let item = |key: &str, label: &str| Item {
        key: key.to_owned(),
        label: label.to_owned(),
        labels: BTreeMap::new(),
        active: true,
        children: Vec::new(),
    };
    [
        Attribute {
            key: "removed".to_owned(),
            label: "Snares removed".to_owned(),
            labels: BTreeMap::new(),
            kind: AttributeKind::Numeric {
                min: Some(0.0),
                max: None,
                unit: Some("snares".to_owned()),
                aggregations: vec![Aggregation::Sum, Aggregation::Avg],
            },
        },
        Attribute {
            key: "age".to_owned(),
            label: "Age".to_owned(),
            labels: BTreeMap::new(),
            kind: AttributeKind::List {
                items: vec![item("fresh", "Fresh"), item("old", "Old")],
            },
        },
    ]
    .into_iter()
    .map(|a| (a.key.clone(), a))
    .collect()
}

pub fn report() -> Report {
    build_report(&input())
}
