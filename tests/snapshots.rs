//! Snapshots of what users read: every `--help`, the demo's report in text,
//! CSV and JSON, `patrols`, `show`, `check`, and the main error messages. A
//! change in any of them is a reviewed change: `INSTA_UPDATE=always cargo
//! test --test integration snapshots` (or `cargo insta review`) writes the
//! new text beside the old, and CI (`CI=true`) fails on a difference
//! instead of writing.
//!
//! Ids, paths, times and durations change from run to run: filters put a
//! placeholder in their place.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

use crate::util::{Env, data};

/// What a command printed, as a user reads it: stdout, stderr, exit code.
pub(crate) fn shown(out: &Output) -> String {
    let mut text = String::new();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stdout.is_empty() {
        text.push_str(&stdout);
    }
    if !stderr.is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("--- stderr\n");
        text.push_str(&stderr);
    }
    let _ = writeln!(text, "--- exit {}", out.status.code().unwrap_or(-1));
    text
}

/// The filters: the scratch folders, the repository, UUIDs, the given
/// short ids (8 hex digits, which may all be digits: only these, so that no
/// run of digits in a figure is taken for one), digests, the times of this
/// run, durations.
pub(crate) fn settings(dirs: &[&Path], shorts: &[(String, &str)]) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("snapshots");
    s.set_prepend_module_to_snapshot(false);
    for dir in dirs {
        let dir = dir.display().to_string();
        let canonical =
            std::fs::canonicalize(&dir).map_or_else(|_| dir.clone(), |p| p.display().to_string());
        for d in [canonical, dir] {
            s.add_filter(&regex_escape(&d), "[TMP]");
        }
    }
    s.add_filter(&regex_escape(env!("CARGO_MANIFEST_DIR")), "[REPO]");
    s.add_filter(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[UUID]",
    );
    for (text, placeholder) in shorts {
        s.add_filter(
            &format!(r"(^|[^.0-9a-f]){text}([^0-9a-f]|$)"),
            format!("${{1}}{placeholder}${{2}}"),
        );
    }
    s.add_filter(r"\b[0-9a-f]{64}\b", "[DIGEST]");
    // The times of this run (ledger, merges), not of the patrols: the demo's
    // patrols are of 2025 and 2026, at whole seconds.
    s.add_filter(
        r"\b20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d)",
        "[NOW]",
    );
    s.add_filter(r"\b\d+\.\d+(ms|µs|s)\b", "[DURATION]");
    s
}

/// Pretty JSON with every array of more than `most` elements cut to its
/// first 3 and a line that says how many more there are: the report's grid
/// cells and map lines are thousands of lines that no one reviews.
fn elide_arrays(json: &str, most: usize) -> String {
    const KEEP: usize = 3;
    struct Open {
        indent: usize,
        elements: usize,
        total: usize,
        line: usize,
    }
    // Two passes: count each array's elements, then print.
    let lines: Vec<&str> = json.lines().collect();
    let mut totals = std::collections::HashMap::new();
    for pass in 0..2 {
        let mut out = String::new();
        let mut stack: Vec<Open> = Vec::new();
        let cut = |o: &Open| o.total > most && o.elements > KEEP;
        for (n, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            if stack
                .last()
                .is_some_and(|o| o.indent == indent && trimmed.starts_with(']'))
            {
                let open = stack.pop().expect("an open array");
                totals.insert(open.line, open.elements);
                if !stack.iter().any(cut) {
                    if cut(&open) {
                        let _ = writeln!(
                            out,
                            "{}… {} more",
                            " ".repeat(indent + 2),
                            open.elements - KEEP
                        );
                    }
                    out.push_str(line);
                    out.push('\n');
                }
                continue;
            }
            if let Some(top) = stack.last_mut()
                && indent == top.indent + 2
                && !trimmed.starts_with('}')
                && !trimmed.starts_with(']')
            {
                top.elements += 1;
            }
            if !stack.iter().any(cut) {
                out.push_str(line);
                out.push('\n');
            }
            if trimmed.ends_with('[') {
                stack.push(Open {
                    indent,
                    elements: 0,
                    total: if pass == 0 { 0 } else { totals[&n] },
                    line: n,
                });
            }
        }
        if pass == 1 {
            return out;
        }
    }
    unreachable!("two passes")
}

/// A path as a regex matching it literally.
fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The commands `patrol <path> --help` lists.
fn subcommands(help: &str) -> Vec<String> {
    let Some((_, rest)) = help.split_once("Commands:\n") else {
        return Vec::new();
    };
    rest.lines()
        .take_while(|l| l.starts_with("  "))
        // A wrapped description goes on further in.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn help_of_every_command() {
    let env = Env::new();
    let settings = settings(&[env.dir.path()], &[]);
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = 0;
    while let Some(path) = todo.pop() {
        let out = env
            .cmd()
            .env("COLUMNS", "100")
            .args(&path)
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "{path:?}");
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        for sub in subcommands(&help) {
            let mut p = path.clone();
            p.push(sub);
            todo.push(p);
        }
        let name = if path.is_empty() {
            "help".to_owned()
        } else {
            format!("help_{}", path.join("_"))
        };
        settings.bind(|| insta::assert_snapshot!(name, help));
        seen += 1;
    }
    // patrol, its commands and their subcommands.
    assert!(seen >= 25, "{seen} help texts");
    // The manual page says the same, in roff.
    let man = env.cmd().arg("man").output().unwrap();
    assert!(man.status.success());
    let man = String::from_utf8_lossy(&man.stdout).replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
    settings.bind(|| insta::assert_snapshot!("man", man));
}

/// The demo's databases in a scratch folder, and commands on the office's.
struct Demo {
    env: Env,
}

impl Demo {
    fn new() -> Self {
        let env = Env::new();
        let dir = env.path("demo");
        let out = env
            .cmd()
            .arg("demo")
            .arg("--dir")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", shown(&out));
        let demo = Demo { env };
        std::fs::rename(dir.join("thaplan.gpkg"), &demo.env.db).unwrap();
        demo
    }

    fn run(&self, args: &[&str]) -> String {
        shown(
            &self
                .env
                .cmd()
                .env("COLUMNS", "100")
                .args(args)
                .output()
                .unwrap(),
        )
    }
}

#[test]
fn the_demo_as_users_read_it() {
    let demo = Demo::new();
    let patrols = demo.env.json(&["patrols", "--json"]).0;
    // Every record's short id, and the first 4 digits all the demo's ids
    // share (they change every 49 days: the ids are UUIDv7).
    let mut shorts = Vec::new();
    for p in patrols.as_array().unwrap() {
        let id = p["patrol_id"].as_str().unwrap();
        shorts.push((id[..4].to_owned(), "[PREFIX4]"));
        let (d, _) = demo.env.json(&["show", "--json", id]);
        for (list, key) in [("legs", "leg_id"), ("observations", "observation_id")] {
            for r in d[list].as_array().unwrap() {
                let id = r[key].as_str().unwrap();
                shorts.push((id[id.len() - 8..].to_owned(), "[SHORT8]"));
            }
        }
        shorts.push((id[id.len() - 8..].to_owned(), "[SHORT8]"));
    }
    shorts.sort();
    shorts.dedup();
    let settings = settings(&[demo.env.dir.path()], &shorts);
    let report = [
        "report",
        "--month",
        "2026-10",
        "--baseline",
        "2025-10..2026-03",
        "--trend-months",
        "6",
    ];
    let with = |extra: &[&'static str]| {
        let mut a = report.to_vec();
        a.extend_from_slice(extra);
        demo.run(&a)
    };
    // The patrol with the most to show: a pause over two hours, two days.
    let busy = patrols
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["first_date"] == "2026-01-20")
        .expect("the patrol of 2026-01-20")["patrol_id"]
        .as_str()
        .unwrap()
        .to_owned();
    settings.bind(|| {
        insta::assert_snapshot!("demo_report_text", with(&[]));
        insta::assert_snapshot!("demo_report_csv", with(&["--format", "csv"]));
        insta::assert_snapshot!("demo_report_json", elide_arrays(&with(&["--json"]), 20));
        insta::assert_snapshot!("demo_patrols", demo.run(&["patrols"]));
        insta::assert_snapshot!("demo_show", demo.run(&["show", &busy]));
        insta::assert_snapshot!("demo_check", demo.run(&["check"]));
        // Errors on ids.
        insta::assert_snapshot!("error_unknown_id", demo.run(&["show", "fffff"]));
        insta::assert_snapshot!("error_ambiguous_id", demo.run(&["show", &busy[..4]]));
        insta::assert_snapshot!("error_too_short_id", demo.run(&["show", "abc"]));
    });
    // An existing output file, without --force.
    let existing = demo.env.write("report.txt", "an earlier report\n");
    let existing = existing.to_str().unwrap();
    settings.bind(|| {
        insta::assert_snapshot!(
            "error_existing_output",
            demo.run(&["report", "--month", "2026-10", "--out", existing])
        );
    });
}

#[test]
fn error_messages() {
    let env = Env::init();
    let missing = Env::new();
    let settings = settings(&[env.dir.path(), missing.dir.path()], &[]);
    let run = |env: &Env, args: &[&str]| shown(&env.cmd().args(args).output().unwrap());
    // Relative names, as a ranger types them: the table stays as printed.
    for name in ["mismatched-tags.gpx", "truncated.gpx"] {
        std::fs::copy(data(&format!("bad/{name}")), env.path(name)).unwrap();
    }
    settings.bind(|| {
        insta::assert_snapshot!(
            "error_bad_month",
            run(&env, &["report", "--month", "2026-13"])
        );
        insta::assert_snapshot!(
            "error_bad_patrols_month",
            run(&env, &["patrols", "--month", "October"])
        );
        insta::assert_snapshot!("error_missing_database", run(&missing, &["patrols"]));
        insta::assert_snapshot!(
            "error_broken_gpx",
            shown(
                &env.cmd()
                    .current_dir(env.dir.path())
                    .args([
                        "import",
                        "--team",
                        "Alpha",
                        "mismatched-tags.gpx",
                        "truncated.gpx"
                    ])
                    .output()
                    .unwrap()
            )
        );
    });
}
