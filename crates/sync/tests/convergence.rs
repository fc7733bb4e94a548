//! Property: random histories on three devices that swap files between steps;
//! their exports merged into central in any order, any grouping, any number of
//! times, give the same data; nothing is lost; every row keeps its origin.

#![allow(clippy::many_single_char_names)] // d = dir, a b c = devices: short on purpose

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::*;
use patrol_core::model::LatLon;
use patrol_store::Store;
use patrol_store::edit::{ObservationEdit, PatrolEdit};
use patrol_store::records::Kind;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Import(usize),
    Observe(usize, usize),
    EditObservation(usize, usize, u8),
    EditPatrol(usize, usize, u8),
    Delete(usize, usize),
    Resolve(usize, usize),
    EditModel(usize, u8),
    Send { from: usize, to: usize, delta: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..3usize).prop_map(Op::Import),
        2 => (0..3usize, any::<usize>()).prop_map(|(d, i)| Op::Observe(d, i)),
        3 => (0..3usize, any::<usize>(), any::<u8>()).prop_map(|(d, i, v)| Op::EditObservation(d, i, v)),
        2 => (0..3usize, any::<usize>(), any::<u8>()).prop_map(|(d, i, v)| Op::EditPatrol(d, i, v)),
        1 => (0..3usize, any::<usize>()).prop_map(|(d, i)| Op::Delete(d, i)),
        1 => (0..3usize, any::<usize>()).prop_map(|(d, i)| Op::Resolve(d, i)),
        2 => (0..3usize, any::<u8>()).prop_map(|(d, v)| Op::EditModel(d, v)),
        4 => (0..3usize, 0..3usize, any::<bool>()).prop_map(|(from, to, delta)| Op::Send { from, to, delta }),
    ]
}

fn live(store: &Store, table: &str, col: &str) -> Vec<String> {
    rows::<(String,)>(store, &format!("SELECT {col} FROM {table} ORDER BY {col}"))
        .into_iter()
        .map(|(v,)| v)
        .collect()
}

fn pick(list: &[String], i: usize) -> Option<&String> {
    (!list.is_empty()).then(|| &list[i % list.len()])
}

struct Run {
    dir: PathBuf,
    devices: Vec<Store>,
    files: Vec<PathBuf>,
    n: usize,
}

impl Run {
    fn file(&mut self) -> PathBuf {
        self.n += 1;
        self.dir.join(format!("f{}.gpkg", self.n))
    }

    fn apply(&mut self, op: &Op) {
        let dir = self.dir.clone();
        self.n += 1;
        let n = self.n;
        match *op {
            Op::Import(d) => {
                import(
                    &mut self.devices[d],
                    &dir,
                    &format!("g{n}"),
                    12,
                    1,
                    n as u64,
                );
            }
            Op::Observe(d, i) => {
                let s = &mut self.devices[d];
                if let Some(p) = pick(&live(s, "patrols", "patrol_id"), i) {
                    let p = p.clone();
                    observe(s, &p, 14.0 + (n % 50) as f64 * 0.01);
                }
            }
            Op::EditObservation(d, i, v) => {
                let s = &mut self.devices[d];
                if let Some(o) = pick(&live(s, "observations", "observation_id"), i) {
                    let o = o.clone();
                    let edit = ObservationEdit {
                        note: Some(format!("note {v}")),
                        at: (v % 2 == 0).then_some(LatLon {
                            lat: 14.0 + f64::from(v) * 0.001,
                            lon: 102.3,
                        }),
                        ..Default::default()
                    };
                    s.edit_observation(&o, &edit).unwrap();
                }
            }
            Op::EditPatrol(d, i, v) => {
                let s = &mut self.devices[d];
                if let Some(p) = pick(&live(s, "patrols", "patrol_id"), i) {
                    let p = p.clone();
                    let edit = PatrolEdit {
                        leader: Some(format!("leader {v}")),
                        members: (v % 3 == 0).then_some(u32::from(v % 7) + 1),
                        ..Default::default()
                    };
                    s.edit_patrol(&p, &edit).unwrap();
                }
            }
            Op::Delete(d, i) => {
                let s = &mut self.devices[d];
                if let Some(o) = pick(&live(s, "observations", "observation_id"), i) {
                    let o = o.clone();
                    s.delete_record(Kind::Observation, &o).unwrap();
                }
            }
            Op::Resolve(d, i) => {
                let s = &mut self.devices[d];
                let list = patrol_sync::conflicts(s).unwrap();
                if !list.is_empty() {
                    let c = &list[i % list.len()];
                    let kind = match c.kind {
                        "patrol" => Kind::Patrol,
                        "leg" => Kind::Leg,
                        "definition" => Kind::Definition,
                        _ => Kind::Observation,
                    };
                    let keep = c.heads[i % c.heads.len()].version_id.clone();
                    s.resolve_conflict(kind, &c.record_id, &keep).unwrap();
                }
            }
            Op::EditModel(d, v) => {
                // A few labels for a few categories, so that two devices
                // sometimes make the same edit (one definition) and
                // sometimes different ones (a conflict); now and then a
                // new sub-category.
                let s = &mut self.devices[d];
                let model = s.data_model().unwrap();
                let key = ["snare", "gunshot", "carcass"][usize::from(v) % 3];
                let mut c = model.get(key).unwrap().clone();
                c.label = format!("{key} {}", v % 4);
                let mut categories = vec![c];
                if v % 5 == 0 {
                    let mut extra = model.get(key).unwrap().clone();
                    extra.key = format!("{key}_{}", v % 2);
                    extra.parent = Some(key.to_owned());
                    extra.threat = None;
                    extra.aliases.clear();
                    categories.push(extra);
                }
                let only = patrol_core::category::DataModel {
                    languages: model.languages.clone(),
                    categories,
                    attributes: Vec::new(),
                    qc: patrol_core::qc::QcSettings::default(),
                };
                s.put_data_model(&only).unwrap();
            }
            Op::Send { from, to, delta } => {
                if from != to {
                    let f = self.file();
                    patrol_sync::export(&mut self.devices[from], &f, delta, true).unwrap();
                    merge_ok(&mut self.devices[to], &f);
                    self.files.push(f);
                }
            }
        }
    }
}

fn versions(store: &Store) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for t in [
        "patrol_versions",
        "leg_versions",
        "observation_versions",
        "model_versions",
        "tracks",
    ] {
        let col = if t == "tracks" {
            "piece_id"
        } else {
            "version_id"
        };
        all.extend(live(store, t, col));
    }
    all
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 50, ..ProptestConfig::default() })]

    #[test]
    fn any_order_any_grouping_any_repeats_converge(
        ops in prop::collection::vec(op(), 3..14),
        order in Just([0usize, 1, 2]).prop_shuffle(),
        pair in (0..3usize, 1..3usize),
        repeats in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_owned();
        let devices = vec![init(&dir, "d0"), init(&dir, "d1"), init(&dir, "d2")];
        let mut run = Run { dir: dir.clone(), devices, files: Vec::new(), n: 0 };
        for (d, seed) in [(0, 1001), (1, 1002)] {
            import(&mut run.devices[d], &dir, &format!("first{d}"), 12, 2, seed);
        }
        for op in &ops {
            run.apply(op);
        }
        let finals: Vec<PathBuf> = (0..3).map(|d| {
            let f = dir.join(format!("final{d}.gpkg"));
            patrol_sync::export(&mut run.devices[d], &f, false, true).unwrap();
            f
        }).collect();

        // Central 1: the three finals, in a random order.
        let mut c1 = init(&dir, "central");
        let fresh = dir.join("central-fresh.gpkg");
        std::fs::copy(c1.path(), &fresh).unwrap();
        for &d in &order {
            merge_ok(&mut c1, &finals[d]);
        }

        // Central 2: two devices merged first (on a copy of one), then that,
        // then everything again and old files, in another order.
        let (x, y) = (pair.0, (pair.0 + pair.1) % 3);
        let mut xy = copy_store(run.devices[x].path(), &dir.join("xy.gpkg"));
        merge_ok(&mut xy, &finals[y]);
        let fxy = dir.join("fxy.gpkg");
        patrol_sync::export(&mut xy, &fxy, false, true).unwrap();
        let mut c2 = copy_store(&fresh, &dir.join("central2.gpkg"));
        merge_ok(&mut c2, &fxy);
        let rest = 3 - x - y;
        merge_ok(&mut c2, &finals[rest]);
        for r in &repeats {
            let all: Vec<&PathBuf> = run.files.iter().chain(&finals).collect();
            merge_ok(&mut c2, all[r.index(all.len())]);
        }
        prop_assert_eq!(digest(&c1), digest(&c2));
        // The same data model, in the same order, and the same conflicts.
        prop_assert_eq!(c1.data_model().unwrap(), c2.data_model().unwrap());
        prop_assert_eq!(patrol_sync::conflicts(&c1).unwrap(), patrol_sync::conflicts(&c2).unwrap());

        // Merging again changes nothing.
        let d1 = digest(&c1);
        for f in finals.iter().rev() {
            merge_ok(&mut c1, f);
        }
        prop_assert_eq!(digest(&c1), d1);

        // Nothing lost; origins kept.
        let central = versions(&c1);
        for s in &run.devices {
            let missing: Vec<_> = versions(s).difference(&central).cloned().collect();
            prop_assert!(missing.is_empty(), "missing {:?}", missing);
            for t in ["patrol_versions", "leg_versions", "observation_versions", "tracks"] {
                let wrong = count(&c1, &format!(
                    "SELECT count(*) FROM {t} WHERE device_id = '{}' AND site_id <> '{}'",
                    s.device(), s.site().id
                ));
                prop_assert_eq!(wrong, 0);
            }
        }
        // Every device that made something is known centrally.
        let unknown = count(&c1,
            "SELECT count(*) FROM observation_versions v WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.device_id = v.device_id)");
        prop_assert_eq!(unknown, 0);
    }
}
