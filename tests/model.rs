//! `patrol data-model` and typed attribute values on observations: the
//! model shown, imported (SMART's DataModel XML, our TOML) and exported;
//! every refusal of a value, with nothing saved.

use std::path::PathBuf;

use serde_json::Value;

use crate::util::Env;

fn smart(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/smart")
        .join(name)
}

fn model(env: &Env) -> Value {
    env.json(&["data-model", "show", "--json"]).0
}

fn category<'a>(m: &'a Value, key: &str) -> &'a Value {
    m["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key)
        .unwrap_or_else(|| panic!("no category {key} in {m}"))
}

/// A database with one patrol (a short GPX track), and that patrol's id.
fn with_patrol() -> (Env, String) {
    let env = Env::init();
    let gpx = env.write(
        "p.gpx",
        &crate::util::gpx(
            &[
                (14.20, 102.10, Some("2026-10-04T01:00:00Z")),
                (14.21, 102.10, Some("2026-10-04T01:30:00Z")),
            ],
            &[],
        ),
    );
    env.cmd()
        .args(["import", "--team", "Alpha"])
        .arg(&gpx)
        .assert()
        .success();
    let (patrols, _) = env.json(&["patrols", "--json"]);
    let id = patrols[0]["patrol_id"].as_str().unwrap().to_owned();
    (env, id)
}

fn observations(env: &Env) -> i64 {
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.query_row("SELECT count(*) FROM observation_versions", [], |r| {
        r.get(0)
    })
    .unwrap()
}

#[test]
fn the_shipped_model_is_shown_with_its_attributes() {
    let env = Env::init();
    let m = model(&env);
    assert_eq!(m["languages"], serde_json::json!(["en"]));
    let snare = category(&m, "snare");
    assert_eq!(snare["is_threat"], true);
    assert_eq!(snare["attributes"][0]["key"], "count");
    assert_eq!(category(&m, "other")["is_threat"], false);
    let age = m["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "age")
        .unwrap();
    assert_eq!(age["type"], "list");
    let out = env.cmd().args(["data-model", "show"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("data_model_show", text);
    });
}

#[test]
fn smart_data_model_import_builds_the_tree_and_keeps_what_smart_does_not_say() {
    let env = Env::init();
    let before = model(&env);
    let (r, code) = env.json(&[
        "data-model",
        "import",
        smart("datamodel.xml").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{r}");
    assert!(
        r["added"]
            .as_array()
            .unwrap()
            .contains(&"category:threats".into())
    );
    assert!(
        r["changed"]
            .as_array()
            .unwrap()
            .contains(&"category:snare".into())
    );
    let m = model(&env);
    let snare = category(&m, "snare");
    assert_eq!(snare["parent"], "threats");
    // SMART's file says nothing of threats or aliases: ours are kept.
    assert_eq!(snare["is_threat"], true);
    assert_eq!(snare["aliases"], category(&before, "snare")["aliases"]);
    assert_eq!(m["languages"], serde_json::json!(["en", "th"]));
    // The same file again changes nothing.
    let (again, _) = env.json(&[
        "data-model",
        "import",
        smart("datamodel.xml").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(again["added"], serde_json::json!([]));
    assert_eq!(again["changed"], serde_json::json!([]));
    assert_eq!(model(&env), m);
    // A file of one category leaves the languages (and all else) as they are.
    let one = env.write(
        "one.toml",
        "[[category]]\nkey = \"gunshot\"\nlabel = \"Shots\"\n",
    );
    let (r, _) = env.json(&["data-model", "import", one.to_str().unwrap(), "--json"]);
    assert_eq!(r["changed"], serde_json::json!(["category:gunshot"]));
    assert_eq!(model(&env)["languages"], serde_json::json!(["en", "th"]));
}

#[test]
fn exported_models_import_into_another_database_the_same() {
    let env = Env::init();
    env.cmd()
        .args(["data-model", "import"])
        .arg(smart("datamodel.xml"))
        .assert()
        .success();
    let m = model(&env);
    for (format, name) in [("toml", "m.toml"), ("smart", "m.xml")] {
        let file = env.path(name);
        env.cmd()
            .args(["data-model", "export", "--format", format, "--out"])
            .arg(&file)
            .assert()
            .success();
        // Not over an existing file without --force.
        env.cmd()
            .args(["data-model", "export", "--format", format, "--out"])
            .arg(&file)
            .assert()
            .failure();
        let other = Env::init();
        other
            .cmd()
            .args(["data-model", "import"])
            .arg(&file)
            .assert()
            .success();
        let mut theirs = model(&other);
        let mut ours = m.clone();
        // The other database's own `other` and shipped categories come
        // first in its order; compare definitions by key.
        for v in [&mut theirs, &mut ours] {
            v["categories"]
                .as_array_mut()
                .unwrap()
                .sort_by_key(|c| c["key"].as_str().unwrap().to_owned());
            v["attributes"]
                .as_array_mut()
                .unwrap()
                .sort_by_key(|c| c["key"].as_str().unwrap().to_owned());
        }
        assert_eq!(theirs, ours, "{format}");
    }
}

#[test]
fn a_bad_model_file_is_refused_and_nothing_changes() {
    let env = Env::init();
    let before = model(&env);
    let orphan = env.write(
        "orphan.toml",
        "[[category]]\nkey = \"wire_snare\"\nlabel = \"Wire snare\"\nparent = \"nowhere\"\n",
    );
    let out = env
        .cmd()
        .args(["data-model", "import"])
        .arg(&orphan)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("orphan.toml") && err.contains("nowhere"),
        "{err}"
    );
    let broken = env.write("broken.xml", "<DataModel xmlns=\"http://www.smartconservationsoftware.org/xml/1.0/datamodel\">\n<categories>\n</DataModel>\n");
    let out = env
        .cmd()
        .args(["data-model", "import"])
        .arg(&broken)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("broken.xml:"),
        "{err}"
    );
    assert_eq!(model(&env), before);
    // A partial file adds what it defines and keeps the rest.
    let sub = env.write(
        "sub.toml",
        "[[category]]\nkey = \"wire_snare\"\nlabel = \"Wire snare\"\nparent = \"snare\"\n",
    );
    env.cmd()
        .args(["data-model", "import"])
        .arg(&sub)
        .assert()
        .success();
    let m = model(&env);
    assert_eq!(category(&m, "wire_snare")["is_threat"], true, "inherited");
    assert_eq!(
        m["categories"].as_array().unwrap().len(),
        before["categories"].as_array().unwrap().len() + 1
    );
}

#[test]
fn observe_checks_every_value_and_saves_nothing_it_refuses() {
    let (env, patrol) = with_patrol();
    let observe = |extra: &[&str]| {
        let mut args = vec![
            "observe",
            "--patrol",
            &patrol,
            "--category",
            "snare",
            "--at",
            "14.2,102.1",
        ];
        args.extend_from_slice(extra);
        env.cmd().args(&args).output().unwrap()
    };
    let before = observations(&env);
    for (attrs, says) in [
        (
            &["--attr", "count=seven"][..],
            "attribute 'count' takes a number, not 'seven'",
        ),
        (&["--attr", "count=-1"][..], "count"),
        (
            &["--attr", "age=ancient"][..],
            "has no item 'ancient' (items: fresh, recent, old)",
        ),
        (
            &["--attr", "species=tiger"][..],
            "category 'snare' has no attribute 'species'",
        ),
        (&["--attr", "count=1", "--attr", "count=2"][..], "count"),
        (&["--attr", "count"][..], "KEY=VALUE"),
    ] {
        let out = observe(attrs);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{attrs:?} was accepted");
        assert!(err.contains(says), "{attrs:?}: {err}");
    }
    assert_eq!(observations(&env), before, "nothing saved");
    // A required attribute left out.
    let req = env.write(
        "req.toml",
        "[[attribute]]\nkey = \"tusks\"\nlabel = \"Tusks\"\ntype = \"boolean\"\n\n[[category]]\nkey = \"elephant_carcass\"\nlabel = \"Elephant carcass\"\nparent = \"carcass\"\n[[category.attributes]]\nkey = \"tusks\"\nrequired = true\n",
    );
    env.cmd()
        .args(["data-model", "import"])
        .arg(&req)
        .assert()
        .success();
    let out = env
        .cmd()
        .args([
            "observe",
            "--patrol",
            &patrol,
            "--category",
            "elephant_carcass",
            "--at",
            "14.2,102.1",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("tusks"), "{err}");
    assert_eq!(observations(&env), before);

    // Accepted: each value of its type, stored and reported.
    let (ok, code) = env.json(&[
        "observe",
        "--patrol",
        &patrol,
        "--category",
        "snare",
        "--at",
        "14.2,102.1",
        "--time",
        "2026-10-04T08:15:00",
        "--attr",
        "count=7",
        "--attr",
        "removed=5",
        "--attr",
        "age=fresh",
        "--json",
    ]);
    assert_eq!(code, 0, "{ok}");
    let id = ok["observation_id"].as_str().unwrap().to_owned();
    let (shown, _) = env.json(&["show", "--json", &patrol]);
    let o = shown["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["observation_id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        o["attributes"],
        serde_json::json!({"age": "fresh", "count": 7.0, "removed": 5.0})
    );
    let (r, _) = env.json(&["report", "--month", "2026-10", "--format", "json"]);
    assert_eq!(
        r["encounters"]["attributes"]["snare"]["removed"]["sum"], 5.0,
        "{}",
        r["encounters"]["attributes"]
    );

    // Edited: one value changed, one removed; a change the category refuses saves nothing.
    env.cmd()
        .args([
            "edit",
            "observation",
            &id,
            "--attr",
            "count=9",
            "--attr",
            "age=",
        ])
        .assert()
        .success();
    let (shown, _) = env.json(&["show", "--json", &patrol]);
    let o = shown["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["observation_id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        o["attributes"],
        serde_json::json!({"count": 9.0, "removed": 5.0})
    );
    let n = observations(&env);
    let out = env
        .cmd()
        .args(["edit", "observation", &id, "--category", "gunshot"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("'gunshot' has no attribute 'count'"),
        "{err}"
    );
    assert_eq!(observations(&env), n);
    env.cmd()
        .args([
            "edit",
            "observation",
            &id,
            "--category",
            "gunshot",
            "--attr",
            "count=",
            "--attr",
            "removed=",
            "--attr",
            "shots=3",
        ])
        .assert()
        .success();
}

#[test]
fn a_definition_edited_on_two_devices_is_a_conflict_until_resolved() {
    let site = Env::init();
    let outpost = Env::new();
    outpost
        .cmd()
        .args(["init", "--join"])
        .arg(&site.db)
        .assert()
        .success();
    for (env, label) in [(&site, "Wire snare"), (&outpost, "Snare (any kind)")] {
        let f = env.write(
            "edit.toml",
            &format!("[[category]]\nkey = \"snare\"\nlabel = \"{label}\"\nthreat = true\n"),
        );
        env.cmd()
            .args(["data-model", "import"])
            .arg(&f)
            .assert()
            .success();
    }
    let sent = outpost.path("sent.gpkg");
    outpost
        .cmd()
        .args(["export", "--out"])
        .arg(&sent)
        .assert()
        .success();
    site.cmd().arg("merge").arg(&sent).assert().success();
    let (list, _) = site.json(&["conflicts", "--json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        (list[0]["kind"].as_str(), list[0]["record_id"].as_str()),
        (Some("definition"), Some("category:snare"))
    );
    let keep = list[0]["heads"][0]["version_id"]
        .as_str()
        .unwrap()
        .to_owned();
    site.cmd()
        .args(["conflicts", "resolve", "category:snare", "--keep", &keep])
        .assert()
        .success();
    assert_eq!(site.json(&["conflicts", "--json"]).0, serde_json::json!([]));
    assert_eq!(category(&model(&site), "snare")["label"], "Wire snare");
    // The same edit made on two devices is one definition, no conflict.
    let same = outpost.write(
        "same.toml",
        "[[category]]\nkey = \"gunshot\"\nlabel = \"Shots\"\nthreat = true\n",
    );
    for env in [&site, &outpost] {
        env.cmd()
            .args(["data-model", "import"])
            .arg(&same)
            .assert()
            .success();
    }
    let again = outpost.path("again.gpkg");
    outpost
        .cmd()
        .args(["export", "--force", "--out"])
        .arg(&again)
        .assert()
        .success();
    site.cmd().arg("merge").arg(&again).assert().success();
    assert_eq!(site.json(&["conflicts", "--json"]).0, serde_json::json!([]));
}
