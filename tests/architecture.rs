//! The crate graph is the one docs/ARCHITECTURE.md draws: every dependency
//! arrow between our crates (normal dependencies, from `cargo metadata`) is
//! one the document's table allows, and every arrow the table names exists.
//! The pure core depends on no crate that does I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Our crates' normal dependencies on each other, and every crate's normal
/// dependencies by name.
fn metadata() -> (Graph, Graph) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (mut ours, mut all) = (Graph::new(), Graph::new());
    for package in meta["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap().to_owned();
        let deps = package["dependencies"].as_array().unwrap();
        let normal: BTreeSet<String> = deps
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().unwrap().to_owned())
            .collect();
        ours.insert(
            name.clone(),
            normal
                .iter()
                .filter(|d| d.starts_with("patrol"))
                .cloned()
                .collect(),
        );
        all.insert(name, normal);
    }
    (ours, all)
}

/// The table under "## Crate graph" in docs/ARCHITECTURE.md: rows of
/// "| `crate` | `dep`, `dep` |" (or "nothing of ours").
fn documented() -> Graph {
    let doc = include_str!("../docs/ARCHITECTURE.md");
    let section = doc
        .split("## Crate graph")
        .nth(1)
        .expect("docs/ARCHITECTURE.md has a '## Crate graph' section");
    let section = section.split("\n## ").next().unwrap();
    let mut graph = Graph::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let names = |cell: &str| -> Vec<String> {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(ToOwned::to_owned)
                .collect()
        };
        let krate = names(cells[1]).remove(0);
        graph.insert(krate, names(cells[2]).into_iter().collect());
    }
    graph
}

#[test]
fn crate_graph_is_the_documented_one() {
    let (actual, _) = metadata();
    let doc = documented();
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        doc.keys().collect::<Vec<_>>(),
        "the crates of the workspace and of docs/ARCHITECTURE.md's crate graph differ"
    );
    for (krate, deps) in &actual {
        let allowed = &doc[krate];
        let forbidden: Vec<_> = deps.difference(allowed).collect();
        assert!(
            forbidden.is_empty(),
            "{krate} depends on {forbidden:?}, an arrow docs/ARCHITECTURE.md does not draw"
        );
        let missing: Vec<_> = allowed.difference(deps).collect();
        assert!(
            missing.is_empty(),
            "docs/ARCHITECTURE.md draws {krate} -> {missing:?}, which Cargo.toml does not have"
        );
    }
}

#[test]
fn the_core_and_the_gpx_reader_depend_on_no_storage_or_network_crate() {
    let (_, all) = metadata();
    for krate in ["patrol-core", "patrol-gpx"] {
        for io in ["rusqlite", "tokio", "axum", "reqwest", "indicatif"] {
            assert!(
                !all[krate].contains(io),
                "{krate} depends on {io}: it must stay free of I/O"
            );
        }
    }
    assert!(
        !all["patrol-core"].contains("quick-xml"),
        "the core parses no files"
    );
}
