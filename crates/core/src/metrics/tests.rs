#![allow(clippy::float_cmp)] // exact values are meant: 0, 1, endpoints

use super::*;
use crate::model::Transport;
use proptest::prelude::*;
use uuid::Uuid;

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn period(a: &str, b: &str) -> Period {
    Period {
        from: date(a),
        to: date(b),
    }
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn site(n: u128) -> SiteId {
    SiteId(id(n))
}

#[allow(clippy::too_many_arguments)]
fn day(
    patrol: u128,
    leg: u128,
    team: &str,
    transport: Transport,
    members: u32,
    d: &str,
    points: u64,
    length_m: f64,
    seconds: f64,
) -> LegDay {
    LegDay {
        site: site(1),
        patrol: PatrolId(id(patrol)),
        leg: LegId(id(leg)),
        team: team.to_owned(),
        transport,
        members,
        date: date(d),
        points,
        length_m,
        seconds,
        active_seconds: seconds / 2.0,
    }
}

fn obs(n: u128, category: &str, threat: bool, d: Option<&str>) -> ObservationFact {
    ObservationFact {
        id: ObservationId(id(n)),
        site: site(1),
        patrol: PatrolId(id(1)),
        category: category.to_owned(),
        threat,
        date: d.map(date),
        lon: 102.0,
        lat: 14.0,
        attributes: BTreeMap::new(),
    }
}

fn input(days: Vec<LegDay>, observations: Vec<ObservationFact>, p: Period) -> ReportInput {
    let mut sites = BTreeMap::new();
    sites.insert(
        site(1),
        SiteInfo {
            name: "Park".to_owned(),
            timezone: "Asia/Bangkok".to_owned(),
        },
    );
    ReportInput {
        quality: QualityInput::default(),
        period: p,
        baseline: None,
        months: None,
        sites,
        days,
        observations,
        undated_km: 0.0,
        category_labels: BTreeMap::new(),
        attributes: BTreeMap::new(),
        item_labels: BTreeMap::new(),
        category_parents: BTreeMap::new(),
        roll_up: Vec::new(),
        coverage: BTreeMap::new(),
    }
}

#[test]
fn rates_are_none_without_km() {
    let r = build_report(&input(
        vec![],
        vec![obs(1, "snare", true, Some("2026-10-03"))],
        period("2026-10-01", "2026-10-31"),
    ));
    assert_eq!(r.encounters.threats, 1);
    assert_eq!(r.effort.km, 0.0);
    assert_eq!(r.rates, Rates::default());
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["rates"]["threats_per_100km"].is_null());
    assert_eq!(json["period"]["timezone"], "Asia/Bangkok");
    assert!(json.get("baseline").is_none());
}

#[test]
fn hand_computed_month() {
    use Transport::{Foot, Vehicle};
    let days = vec![
        // Patrol 1: leg 10 on foot (3 people) two days, leg 11 by vehicle (2).
        day(
            1,
            10,
            "Alpha",
            Foot,
            3,
            "2026-10-05",
            100,
            12_000.0,
            18_000.0,
        ),
        day(1, 10, "Alpha", Foot, 3, "2026-10-06", 80, 8_000.0, 14_400.0),
        day(
            1,
            11,
            "Alpha",
            Vehicle,
            2,
            "2026-10-06",
            50,
            30_000.0,
            3_600.0,
        ),
        // Patrol 2 crosses midnight at the end of the month.
        day(2, 20, "Bravo", Foot, 4, "2026-10-31", 40, 5_000.0, 7_200.0),
        day(2, 20, "Bravo", Foot, 4, "2026-11-01", 30, 3_000.0, 3_600.0),
        // Patrol 3: a last point after midnight only (no length): counts a day.
        day(3, 30, "Bravo", Foot, 1, "2026-10-20", 1, 0.0, 0.0),
    ];
    let observations = vec![
        obs(1, "snare", true, Some("2026-10-05")),
        obs(2, "snare", true, Some("2026-10-31")),
        obs(3, "animal", false, Some("2026-10-06")),
        obs(4, "camp", true, Some("2026-11-01")),
        obs(5, "snare", true, None),
    ];
    let mut inp = input(days, observations, period("2026-10-01", "2026-10-31"));
    inp.undated_km = 1.5;
    let r = build_report(&inp);
    let e = &r.effort;
    assert_eq!(e.patrols, 3);
    // (1, 10-05), (1, 10-06), (2, 10-31), (3, 10-20).
    assert_eq!(e.patrol_days, 4);
    // 3 + 3 + 2 + 4 + 1.
    assert_eq!(e.person_days, 13);
    assert!((e.km - 55.0).abs() < 1e-12, "{}", e.km);
    assert!((e.hours - 12.0).abs() < 1e-12);
    assert!((e.active_hours - 6.0).abs() < 1e-12);
    assert_eq!(e.by_transport["foot"].patrols, 3);
    assert_eq!(e.by_transport["vehicle"].patrols, 1);
    assert!((e.by_transport["foot"].km - 25.0).abs() < 1e-12);
    assert!((e.by_transport["vehicle"].hours - 1.0).abs() < 1e-12);
    assert_eq!(e.by_team["Alpha"].patrols, 1);
    assert_eq!(e.by_team["Bravo"].patrols, 2);
    assert!((e.by_team["Bravo"].km - 5.0).abs() < 1e-12);
    let sum_t: f64 = e.by_transport.values().map(|b| b.km).sum();
    let sum_team: f64 = e.by_team.values().map(|b| b.hours).sum();
    assert!((sum_t - e.km).abs() < 1e-12 && (sum_team - e.hours).abs() < 1e-12);
    assert_eq!(r.encounters.observations, 3);
    assert_eq!(r.encounters.threats, 2);
    assert_eq!(r.encounters.by_category["snare"], 2);
    assert_eq!(r.encounters.by_category.get("camp"), None);
    let rates = &r.rates;
    assert!((rates.threats_per_100km.unwrap() - 2.0 / 55.0 * 100.0).abs() < 1e-12);
    assert!((rates.threats_per_patrol_day.unwrap() - 0.5).abs() < 1e-12);
    assert!((rates.threats_per_hour.unwrap() - 2.0 / 12.0).abs() < 1e-12);
    assert_eq!(r.undated_observations, 1);
    assert!((r.undated_km - 1.5).abs() < 1e-15);
    assert!(r.by_site.is_none());

    // November sees only the 11-01 row of patrol 2.
    let nov = period_figures(&inp, period("2026-11-01", "2026-11-30"), None);
    assert_eq!(nov.effort.patrols, 1);
    assert!((nov.effort.km - 3.0).abs() < 1e-12);
    assert_eq!(nov.encounters.threats, 1);
}

#[test]
fn two_legs_on_one_day() {
    use Transport::{Boat, Foot};
    let days = vec![
        day(1, 10, "A", Foot, 3, "2026-10-05", 10, 1_000.0, 600.0),
        day(1, 11, "A", Boat, 2, "2026-10-05", 10, 2_000.0, 600.0),
    ];
    let r = build_report(&input(days, vec![], period("2026-10-01", "2026-10-31")));
    assert_eq!(r.effort.patrols, 1);
    assert_eq!(r.effort.patrol_days, 1);
    assert_eq!(r.effort.person_days, 5);
    // The patrol counts once in each transport.
    assert_eq!(r.effort.by_transport["foot"].patrols, 1);
    assert_eq!(r.effort.by_transport["boat"].patrols, 1);
}

#[test]
fn baseline_sentences() {
    let mk = |threats: u64, km: f64| Figures {
        effort: Effort {
            km,
            ..Effort::default()
        },
        encounters: Encounters {
            threats,
            ..Encounters::default()
        },
        rates: Rates {
            threats_per_100km: ratio(threats as f64, km).map(|r| r * 100.0),
            ..Rates::default()
        },
    };
    let s = |c1: u64, e1: f64, c0: u64, e0: f64| {
        baseline_sentence(
            &mk(c1, e1),
            &mk(c0, e0),
            poisson_rate_ratio(c1, e1, c0, e0, 0.95),
        )
    };
    let down = s(20, 1000.0, 100, 2000.0);
    assert!(
        down.starts_with("Threats per 100 km down 60 % from the baseline (95 % CI "),
        "{down}"
    );
    let up = s(100, 1000.0, 40, 1000.0);
    assert!(
        up.starts_with("Threats per 100 km up 150 % from the baseline (95 % CI "),
        "{up}"
    );
    let same = s(10, 100.0, 11, 100.0);
    assert!(
        same.starts_with(
            "Threats per 100 km: no clear change from the baseline (ratio 0.91, 95 % CI 0."
        ),
        "{same}"
    );
    assert_eq!(
        s(3, 100.0, 0, 100.0),
        "Threats per 100 km: none in the baseline, 3.00 now"
    );
    assert_eq!(
        s(0, 100.0, 0, 100.0),
        "Threats per 100 km: none in the baseline, none now"
    );
    assert_eq!(
        s(3, 100.0, 4, 0.0),
        "Threats per 100 km: no comparison (no km in the baseline)"
    );
    assert_eq!(
        s(3, 0.0, 4, 10.0),
        "Threats per 100 km: no comparison (no km in the period)"
    );
    let gone = s(0, 100.0, 30, 100.0);
    // Upper bound of p: 1 - 0.025^(1/30) = 0.1158, RR 0.131.
    assert_eq!(
        gone,
        "Threats per 100 km down 100 % from the baseline (95 % CI 87-100 %)"
    );
}

#[test]
fn baseline_and_trend_in_the_report() {
    let mut days = Vec::new();
    let mut observations = Vec::new();
    for (i, m) in (1..=12).enumerate() {
        let d = format!("2026-{m:02}-10");
        days.push(day(
            i as u128,
            100 + i as u128,
            "A",
            Transport::Foot,
            2,
            &d,
            10,
            100_000.0,
            36_000.0,
        ));
        let n = if m == 10 { 2 } else { 10 };
        for k in 0..n {
            observations.push(obs(1000 * m + k, "snare", true, Some(&d)));
        }
    }
    let mut inp = input(days, observations, period("2026-10-01", "2026-10-31"));
    inp.baseline = Some(period("2026-01-01", "2026-06-30"));
    inp.months = Some(6);
    let r = build_report(&inp);
    let b = r.baseline.as_ref().unwrap();
    assert_eq!(b.encounters.threats, 60);
    assert!((b.ratio.unwrap() - 0.2).abs() < 1e-12);
    assert!(b.ci_high.unwrap() < 1.0);
    assert!(
        b.sentence.starts_with("Threats per 100 km down 80 %"),
        "{}",
        b.sentence
    );
    let t = r.trend.as_ref().unwrap();
    let months: Vec<&str> = t.iter().map(|m| m.month.as_str()).collect();
    assert_eq!(
        months,
        [
            "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"
        ]
    );
    assert_eq!(t[5].threats, 2);
    assert!((t[5].threats_per_100km.unwrap() - 2.0).abs() < 1e-12);
}

#[test]
fn months_cross_years() {
    let m = months_ending(date("2026-02-14"), 3);
    assert_eq!(m[0], period("2025-12-01", "2025-12-31"));
    assert_eq!(m[2], period("2026-02-01", "2026-02-28"));
    assert!(months_ending(date("2026-02-14"), 0).is_empty());
}

#[test]
fn several_sites() {
    let mut days = vec![day(
        1,
        10,
        "A",
        Transport::Foot,
        2,
        "2026-10-05",
        10,
        1_000.0,
        600.0,
    )];
    let mut other = day(
        2,
        20,
        "B",
        Transport::Foot,
        2,
        "2026-10-05",
        10,
        4_000.0,
        600.0,
    );
    other.site = site(2);
    days.push(other);
    let mut inp = input(days, vec![], period("2026-10-01", "2026-10-31"));
    inp.sites.insert(
        site(2),
        SiteInfo {
            name: "Other".to_owned(),
            timezone: "Asia/Phnom_Penh".to_owned(),
        },
    );
    let r = build_report(&inp);
    assert_eq!(r.period.timezone, "mixed");
    assert_eq!(r.period.timezones.len(), 2);
    let by = r.by_site.unwrap();
    assert_eq!(by.len(), 2);
    assert_eq!(by[&site(2).to_string()].name, "Other");
    assert!((by[&site(2).to_string()].effort.km - 4.0).abs() < 1e-12);
}

fn square(lon: f64, lat: f64, half: f64) -> geo::MultiPolygon<f64> {
    use geo::polygon;
    geo::MultiPolygon(vec![polygon![
        (x: lon - half, y: lat - half),
        (x: lon + half, y: lat - half),
        (x: lon + half, y: lat + half),
        (x: lon - half, y: lat + half),
    ]])
}

#[test]
fn two_sites_far_apart_each_get_their_own_grid() {
    // Thailand and Brazil: a grid over both would be centred in the Atlantic.
    let (thai, brazil) = ((102.0, 14.0), (-60.0, -3.0));
    let fact = |n: u128, s: u128, (lon, lat): (f64, f64)| {
        let mut o = obs(n, "snare", true, Some("2026-10-05"));
        o.site = site(s);
        (o.lon, o.lat) = (lon, lat);
        o
    };
    let observations = vec![fact(1, 1, thai), fact(2, 2, brazil)];
    let mut inp = input(vec![], observations, period("2026-10-01", "2026-10-31"));
    inp.sites.insert(
        site(2),
        SiteInfo {
            name: "Amazonia".to_owned(),
            timezone: "America/Manaus".to_owned(),
        },
    );
    let line = |(lon, lat): (f64, f64)| vec![(lon - 0.05, lat), (lon + 0.05, lat)];
    for (n, centre) in [(1, thai), (2, brazil)] {
        inp.coverage.insert(
            site(n),
            CoverageInput {
                boundary: square(centre.0, centre.1, 0.1),
                cell_m: 1000.0,
                lines: vec![line(centre)],
            },
        );
    }
    let r = build_report(&inp);
    let by = r.by_site.as_ref().unwrap();
    let one = by[&site(1).to_string()].coverage.as_ref().unwrap();
    let two = by[&site(2).to_string()].coverage.as_ref().unwrap();
    // Each grid is centred on its own park: ~22 x 22 cells of 1 km.
    for c in [one, two] {
        assert!((400..=600).contains(&c.park_cells), "{}", c.park_cells);
        assert!((10..=13).contains(&c.visited_cells), "{}", c.visited_cells);
        assert!(c.cells.is_empty(), "the cells are in the report's coverage");
    }
    assert!(
        one.projection.contains("+lat_0=14 +lon_0=102 "),
        "{}",
        one.projection
    );
    assert!(
        two.projection.contains("+lat_0=-3 +lon_0=-60 "),
        "{}",
        two.projection
    );
    // The report's coverage adds them up; its cells say their site.
    let all = r.coverage.as_ref().unwrap();
    assert_eq!(all.park_cells, one.park_cells + two.park_cells);
    assert_eq!(all.visited_cells, one.visited_cells + two.visited_cells);
    assert!((all.km - one.km - two.km).abs() < 1e-12);
    assert!((all.fraction - all.visited_cells as f64 / all.park_cells as f64).abs() < 1e-15);
    assert_eq!(all.cells.len() as u64, all.park_cells);
    for s in [site(1), site(2)] {
        // Each site's threat is at its grid's origin, in its own cell (0, 0).
        let threat = all
            .cells
            .iter()
            .find(|c| c.threats == 1 && c.site_id == Some(s));
        assert_eq!(threat.map(|c| (c.ix, c.iy)), Some((0, 0)));
    }
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["by_site"][site(2).to_string()]["coverage"]["park_cells"].is_u64());
    assert!(
        json["by_site"][site(2).to_string()]["coverage"]
            .get("cells")
            .is_none()
    );
    assert!(json["coverage"]["cells"][0]["site_id"].is_string());
}

#[test]
fn the_report_names_its_sites_and_labels_its_categories() {
    let mut inp = input(
        vec![],
        vec![obs(1, "poacher_camp", true, Some("2026-10-03"))],
        period("2026-10-01", "2026-10-31"),
    );
    inp.category_labels
        .insert("poacher_camp".to_owned(), "Poacher camp".to_owned());
    let r = build_report(&inp);
    assert_eq!(
        r.period.sites,
        vec![SiteRef {
            site_id: site(1),
            site_name: "Park".to_owned()
        }]
    );
    assert_eq!(r.site_names(), "Park");
    assert_eq!(r.category_label("poacher_camp"), "Poacher camp");
    assert_eq!(r.category_label("unknown_key"), "unknown_key");
    let json = serde_json::to_value(&r).unwrap();
    // Keys stay keys; the labels are beside them.
    assert_eq!(json["encounters"]["by_category"]["poacher_camp"], 1);
    assert_eq!(json["category_labels"]["poacher_camp"], "Poacher camp");
    assert_eq!(json["period"]["sites"][0]["site_name"], "Park");
    assert_eq!(json["period"]["sites"][0]["site_id"], site(1).to_string());
}

#[test]
fn one_site_keeps_its_coverage_as_it_is() {
    let mut inp = input(vec![], vec![], period("2026-10-01", "2026-10-31"));
    inp.coverage.insert(
        site(1),
        CoverageInput {
            boundary: square(102.0, 14.0, 0.05),
            cell_m: 1000.0,
            lines: vec![],
        },
    );
    let r = build_report(&inp);
    assert!(r.by_site.is_none());
    let c = r.coverage.unwrap();
    assert!(c.cells.iter().all(|c| c.site_id.is_none()));
    assert!(c.projection.starts_with("+proj=laea"));
}

#[test]
fn map_lines_are_decimated_and_kept_without_boundary() {
    let line: Vec<(f64, f64)> = (0..12_000)
        .map(|i| (102.0 + f64::from(i) * 1e-5, 14.0))
        .collect();
    let mut inp = input(
        vec![],
        vec![obs(1, "snare", true, Some("2026-10-02"))],
        period("2026-10-01", "2026-10-31"),
    );
    inp.coverage.insert(
        site(1),
        CoverageInput {
            boundary: geo::MultiPolygon(vec![]),
            cell_m: 1000.0,
            lines: vec![line.clone(), line[..3].to_vec()],
        },
    );
    let r = build_report(&inp);
    assert!(r.coverage.is_none());
    let n: usize = r.map.lines.iter().map(Vec::len).sum();
    assert!(n <= MAP_MAX_POINTS && n > 3000, "{n}");
    assert_eq!(r.map.lines[0].last(), line.last());
    assert_eq!(r.map.threats.len(), 1);
}

fn arb_day() -> impl Strategy<Value = LegDay> {
    (
        0_u128..6,
        0_u32..5,
        0_usize..5,
        0_i64..365,
        0_u64..50,
        0.0_f64..50_000.0,
        0.0_f64..40_000.0,
    )
        .prop_map(
            |(patrol, leg, t, day_no, points, length_m, seconds)| LegDay {
                site: site(1),
                patrol: PatrolId(id(patrol)),
                leg: LegId(id(patrol * 100 + u128::from(leg))),
                team: format!("team{}", patrol % 3),
                transport: Transport::ALL[t],
                members: leg + 1,
                date: date("2026-01-01") + chrono::Duration::days(day_no),
                points,
                length_m,
                seconds,
                active_seconds: seconds / 3.0,
            },
        )
}

fn arb_obs() -> impl Strategy<Value = ObservationFact> {
    (
        0_u128..1_000_000,
        any::<bool>(),
        prop::option::of(0_i64..365),
    )
        .prop_map(|(n, threat, d)| ObservationFact {
            id: ObservationId(id(n)),
            site: site(1),
            patrol: PatrolId(id(1)),
            category: if threat { "snare" } else { "animal" }.to_owned(),
            threat,
            date: d.map(|d| date("2026-01-01") + chrono::Duration::days(d)),
            lon: 0.0,
            lat: 0.0,
            attributes: BTreeMap::new(),
        })
}

proptest! {
    #[test]
    fn months_add_up_to_the_year(
        days in prop::collection::vec(arb_day(), 0..60),
        observations in prop::collection::vec(arb_obs(), 0..60),
    ) {
        let inp = input(days, observations, period("2026-01-01", "2026-12-31"));
        let year = build_report(&inp);
        let months = months_ending(date("2026-12-31"), 12);
        let (mut km, mut hours, mut threats) = (0.0, 0.0, 0);
        for m in months {
            let f = period_figures(&inp, m, None);
            km += f.effort.km;
            hours += f.effort.hours;
            threats += f.encounters.threats;
        }
        prop_assert!((km - year.effort.km).abs() <= 1e-9 * year.effort.km.max(1.0));
        prop_assert!((hours - year.effort.hours).abs() <= 1e-9 * year.effort.hours.max(1.0));
        prop_assert_eq!(threats, year.encounters.threats);
        let t_km: f64 = year.effort.by_transport.values().map(|b| b.km).sum();
        let team_h: f64 = year.effort.by_team.values().map(|b| b.hours).sum();
        prop_assert!((t_km - year.effort.km).abs() <= 1e-9 * year.effort.km.max(1.0));
        prop_assert!((team_h - year.effort.hours).abs() <= 1e-9 * year.effort.hours.max(1.0));
        let cat: u64 = year.encounters.by_category.values().sum();
        prop_assert_eq!(cat, year.encounters.observations);
        prop_assert!(year.effort.by_transport.values().all(|b| b.patrols <= year.effort.patrols));
    }
}

// ---- Attributes (docs/METRICS.md, "Attributes") ----

/// The default data model's attributes, as the store hands them over.
fn model_attributes() -> BTreeMap<String, crate::attribute::Attribute> {
    crate::category::DataModel::default_model()
        .attributes
        .into_iter()
        .map(|a| (a.key.clone(), a))
        .collect()
}

fn with(mut o: ObservationFact, values: &[(&str, crate::attribute::Value)]) -> ObservationFact {
    o.attributes = values
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    o
}

fn num(x: f64) -> crate::attribute::Value {
    crate::attribute::Value::Number(x)
}

fn text(s: &str) -> crate::attribute::Value {
    crate::attribute::Value::Text(s.to_owned())
}

/// October: 200 km; snares with 7, 3 and 5 removed (one fresh), a camp of
/// 2 people, an elephant of no threat; one snare in November.
fn attribute_input() -> ReportInput {
    let oct = "2026-10-10";
    let mut inp = input(
        vec![day(
            1,
            1,
            "A",
            Transport::Foot,
            2,
            oct,
            100,
            200_000.0,
            36_000.0,
        )],
        vec![
            with(
                obs(1, "snare", true, Some(oct)),
                &[("removed", num(7.0)), ("age", text("fresh"))],
            ),
            with(
                obs(2, "snare", true, Some(oct)),
                &[("removed", num(3.0)), ("age", text("old"))],
            ),
            with(
                obs(3, "snare", true, Some(oct)),
                &[("removed", num(5.0)), ("age", text("old"))],
            ),
            with(
                obs(4, "poacher_camp", true, Some(oct)),
                &[("people", num(2.0))],
            ),
            with(
                obs(5, "animal", false, Some(oct)),
                &[("species", text("elephant"))],
            ),
            with(
                obs(6, "snare", true, Some("2026-11-02")),
                &[("removed", num(100.0))],
            ),
            // A value the model does not define, and one of the wrong type:
            // neither counts.
            with(
                obs(7, "snare", true, Some(oct)),
                &[("nonsense", num(9.0)), ("removed", text("many"))],
            ),
        ],
        period("2026-10-01", "2026-10-31"),
    );
    inp.attributes = model_attributes();
    inp
}

#[test]
fn numeric_attributes_are_summed_and_lists_counted_per_category() {
    let inp = attribute_input();
    assert!(
        inp.attributes.contains_key("removed") && inp.attributes.contains_key("age"),
        "the default model has the attributes this test uses"
    );
    let r = build_report(&inp);
    let a = &r.encounters.attributes;
    // Only the October snares' numbers: 7 + 3 + 5.
    assert_eq!(a["snare"]["removed"].sum(), Some(15.0));
    assert_eq!(a["snare"]["removed"].items, None);
    let ages = a["snare"]["age"].items.as_ref().unwrap();
    assert_eq!(ages.get("fresh"), Some(&1));
    assert_eq!(ages.get("old"), Some(&2));
    assert_eq!(a["poacher_camp"]["people"].sum(), Some(2.0));
    assert!(!a["snare"].contains_key("nonsense"));
    assert!(!a.contains_key("animal") || !a["animal"].contains_key("removed"));
    // Rates per 100 km of threat sums: 15 per 200 km, 2 per 200 km.
    let rates = &r.rates.attributes_per_100km;
    assert_eq!(rates["snare"]["removed"], Some(7.5));
    assert_eq!(rates["poacher_camp"]["people"], Some(1.0));
    assert!(!rates.contains_key("animal"));
    // JSON: `{"sum": ..}` for numbers, `{"items": {..}}` for lists.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json["encounters"]["attributes"]["snare"]["removed"]["sum"],
        15.0
    );
    assert_eq!(
        json["encounters"]["attributes"]["snare"]["age"]["items"]["old"],
        2
    );
    assert_eq!(
        json["rates"]["attributes_per_100km"]["snare"]["removed"],
        7.5
    );
    let back: Report = serde_json::from_value(json).unwrap();
    assert_eq!(back.encounters.attributes, r.encounters.attributes);
}

#[test]
fn every_aggregation_the_model_allows_is_computed() {
    use crate::attribute::{Aggregation, AttributeKind};
    let mut inp = attribute_input();
    if let Some(a) = inp.attributes.get_mut("removed") {
        a.kind = AttributeKind::Numeric {
            min: None,
            max: None,
            unit: None,
            aggregations: Aggregation::ALL.to_vec(),
        };
    }
    let r = build_report(&inp);
    let f = &r.encounters.attributes["snare"]["removed"].aggregates;
    // 3, 5, 7: mean 5, sample variance ((4 + 0 + 4) / 2) = 4.
    assert_eq!(f["sum"], Some(15.0));
    assert_eq!(f["avg"], Some(5.0));
    assert_eq!(f["min"], Some(3.0));
    assert_eq!(f["max"], Some(7.0));
    assert_eq!(f["var_samp"], Some(4.0));
    assert_eq!(f["stddev_samp"], Some(2.0));
    // One value: the sample statistics are undefined (null), not 0.
    let camp = &r.encounters.attributes["poacher_camp"]["people"].aggregates;
    assert_eq!(camp.get("sum"), Some(&Some(2.0)));
}

#[test]
fn a_subtree_rolls_up_into_its_top() {
    let mut inp = attribute_input();
    inp.observations[1].category = "wire_snare".to_owned();
    inp.observations[2].category = "cable_snare".to_owned();
    inp.category_parents = BTreeMap::from([
        ("wire_snare".to_owned(), "snare".to_owned()),
        ("cable_snare".to_owned(), "wire_snare".to_owned()),
        ("snare".to_owned(), "threats".to_owned()),
    ]);
    let apart = build_report(&inp);
    assert_eq!(apart.encounters.threats_by_category["snare"], 2);
    assert_eq!(
        apart.encounters.attributes["snare"]["removed"].sum(),
        Some(7.0)
    );
    inp.roll_up = vec!["snare".to_owned()];
    let rolled = build_report(&inp);
    assert_eq!(rolled.encounters.threats_by_category["snare"], 4);
    assert!(!rolled.encounters.by_category.contains_key("wire_snare"));
    assert!(!rolled.encounters.by_category.contains_key("cable_snare"));
    assert_eq!(
        rolled.encounters.attributes["snare"]["removed"].sum(),
        Some(15.0)
    );
    assert_eq!(rolled.encounters.threats, apart.encounters.threats);
    assert_eq!(rolled.roll_up, vec!["snare".to_owned()]);
    // The nearest roll-up key wins when they nest.
    inp.roll_up = vec!["snare".to_owned(), "wire_snare".to_owned()];
    let nested = build_report(&inp);
    assert_eq!(nested.encounters.threats_by_category["wire_snare"], 2);
}

#[test]
fn sums_are_compared_with_the_baseline_per_km() {
    let mut inp = attribute_input();
    // Baseline: 400 km in January with 60 snares removed: 15 per 100 km,
    // against October's 7.5: down 50 %.
    inp.days.push(day(
        9,
        9,
        "A",
        Transport::Foot,
        2,
        "2026-01-10",
        100,
        400_000.0,
        36_000.0,
    ));
    for k in 0..6 {
        inp.observations.push(with(
            obs(100 + k, "snare", true, Some("2026-01-10")),
            &[("removed", num(10.0))],
        ));
    }
    inp.baseline = Some(period("2026-01-01", "2026-01-31"));
    let r = build_report(&inp);
    let b = r.baseline.as_ref().unwrap();
    let c = &b.attributes["snare"]["removed"];
    assert_eq!((c.sum, c.baseline_sum), (15.0, 60.0));
    assert!((c.ratio.unwrap() - 0.5).abs() < 1e-12);
    let independent = poisson_rate_ratio(15, 200.0, 60, 400.0, 0.95).unwrap();
    assert_eq!(c.ci_low, independent.low);
    assert_eq!(c.ci_high, independent.high);
    assert!(
        c.sentence
            .starts_with("snare: Number removed or destroyed per 100 km down 50 %"),
        "{}",
        c.sentence
    );
    // The camp has no baseline people: said so, no interval.
    let camp = &b.attributes["poacher_camp"]["people"];
    assert_eq!(camp.ci_high, None);
    assert!(
        camp.sentence.contains("none in the baseline"),
        "{}",
        camp.sentence
    );
}

#[test]
fn sums_that_are_not_counts_get_a_ratio_without_an_interval() {
    let mut inp = attribute_input();
    inp.observations.truncate(1);
    inp.observations[0].attributes = BTreeMap::from([("removed".to_owned(), num(1.5))]);
    inp.days.push(day(
        9,
        9,
        "A",
        Transport::Foot,
        2,
        "2026-01-10",
        100,
        200_000.0,
        36_000.0,
    ));
    inp.observations.push(with(
        obs(100, "snare", true, Some("2026-01-10")),
        &[("removed", num(3.0))],
    ));
    inp.baseline = Some(period("2026-01-01", "2026-01-31"));
    let r = build_report(&inp);
    let c = &r.baseline.as_ref().unwrap().attributes["snare"]["removed"];
    assert_eq!(c.ratio, Some(0.5));
    assert_eq!((c.ci_low, c.ci_high), (None, None));
    assert!(
        c.sentence
            .ends_with("ratio 0.50 to the baseline (not whole counts: no interval)"),
        "{}",
        c.sentence
    );
}

proptest! {
    #[test]
    fn attribute_figures_do_not_depend_on_the_order_of_the_facts(
        values in prop::collection::vec((0_u32..50, any::<bool>(), 0_usize..3), 0..40),
        seed in any::<u64>(),
    ) {
        let items = ["fresh", "old", "unknown_item"];
        let observations: Vec<ObservationFact> = values
            .iter()
            .enumerate()
            .map(|(i, &(n, threat, item))| {
                with(
                    obs(i as u128, if threat { "snare" } else { "animal" }, threat, Some("2026-10-03")),
                    &[("removed", num(f64::from(n) / 10.0)), ("age", text(items[item]))],
                )
            })
            .collect();
        let mut shuffled = observations.clone();
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let p = period("2026-10-01", "2026-10-31");
        let days = vec![day(1, 1, "A", Transport::Foot, 2, "2026-10-03", 10, 12_345.0, 3600.0)];
        let mut a = input(days.clone(), observations, p);
        let mut b = input(days, shuffled, p);
        a.attributes = model_attributes();
        b.attributes = model_attributes();
        let (ra, rb) = (build_report(&a), build_report(&b));
        prop_assert_eq!(&ra.encounters.attributes, &rb.encounters.attributes);
        prop_assert_eq!(&ra.rates.attributes_per_100km, &rb.rates.attributes_per_100km);
        // The items counted add up to the observations with an item value.
        let counted: u64 = ra
            .encounters
            .attributes
            .values()
            .filter_map(|m| m.get("age"))
            .flat_map(|f| f.items.iter().flat_map(|i| i.values()))
            .sum();
        prop_assert_eq!(counted, values.len() as u64);
    }
}

#[test]
fn lines_prepared_on_other_threads_add_up_as_on_one() {
    // Wandering lines over three sites (the third without a boundary),
    // enough points for many batches: the report streamed (and built with
    // the facts read beside it) is the one built on one thread, to the bit.
    let mut inp = input(
        vec![],
        vec![obs(1, "snare", true, Some("2026-10-02"))],
        period("2026-10-01", "2026-10-31"),
    );
    let mut seed = 7_u64;
    let mut step = || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 11) as f64 / (1_u64 << 53) as f64 - 0.5
    };
    for (n, (lon, lat)) in [(1, (102.0, 14.0)), (2, (102.5, 14.2)), (3, (30.0, -2.0))] {
        let lines: Vec<Vec<(f64, f64)>> = (0..40)
            .map(|_| {
                let (mut x, mut y) = (lon, lat);
                (0..1_000)
                    .map(|_| {
                        (x, y) = (x + 3e-4 * step(), y + 3e-4 * step());
                        (x, y)
                    })
                    .collect()
            })
            .collect();
        let boundary = if n == 3 {
            geo::MultiPolygon(vec![])
        } else {
            square(lon, lat, 0.05)
        };
        inp.coverage.insert(
            site(n),
            CoverageInput {
                boundary,
                cell_m: 500.0,
                lines,
            },
        );
    }
    let one = serde_json::to_string(&build_report(&inp)).unwrap();
    let feed = |add: &mut dyn FnMut(SiteId, Vec<(f64, f64)>)| -> Result<(), ()> {
        for (&s, ci) in &inp.coverage {
            for line in &ci.lines {
                add(s, line.clone());
            }
        }
        Ok(())
    };
    let streamed = build_report_streamed(&inp, feed).unwrap();
    assert!(streamed.coverage.as_ref().is_some_and(|c| c.km > 0.0));
    assert_eq!(serde_json::to_string(&streamed).unwrap(), one);
    let coverage = inp.coverage.clone();
    let parallel = build_report_parallel(&coverage, || Ok(inp.clone()), feed).unwrap();
    assert_eq!(serde_json::to_string(&parallel).unwrap(), one);
}
