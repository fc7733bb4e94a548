//! `patrol serve`: the API against the CLI's JSON on the same database, the
//! refusal to listen beyond this computer, hostile uploads, and a real
//! headless Chromium through the main path (import, patrol map, report).

use serde_json::Value;
use std::fmt::Write as _;

use crate::util::{Browser, Env, Server, data, http, http_get, http_post, multipart};

/// The CLI's stdout for `args`, as text.
pub(crate) fn cli(_env: &Env, db: &std::path::Path, args: &[&str]) -> String {
    let out = assert_cmd::Command::cargo_bin("patrol")
        .unwrap()
        .env_remove("PATROL_DB")
        .arg("--quiet")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

pub(crate) fn get_ok(server: &Server, path: &str) -> String {
    let (status, body) = http_get(&server.url(path));
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[test]
fn the_api_answers_what_the_cli_prints_on_the_same_database() {
    let env = Env::new();
    env.cmd()
        .args(["demo", "--dir"])
        .arg(env.path("demo"))
        .assert()
        .success();
    let db = env.path("demo/thaplan.gpkg");
    let server = Server::start(&db);

    for (api, args) in [
        (
            "/api/patrols?month=2026-10",
            vec!["patrols", "--month", "2026-10", "--json"],
        ),
        ("/api/patrols", vec!["patrols", "--json"]),
        (
            "/api/report?month=2026-10&baseline=2025-10..2026-03&months=6",
            vec![
                "report",
                "--month",
                "2026-10",
                "--baseline",
                "2025-10..2026-03",
                "--trend-months",
                "6",
                "--format",
                "json",
            ],
        ),
        (
            "/api/report?month=2026-09",
            vec!["report", "--month", "2026-09", "--json"],
        ),
    ] {
        assert_eq!(get_ok(&server, api), cli(&env, &db, &args), "{api}");
    }
    let list: Value = serde_json::from_str(&get_ok(&server, "/api/patrols?month=2026-10")).unwrap();
    let list = list.as_array().unwrap();
    assert!(list.len() >= 2, "the demo has patrols in October");
    for p in list {
        let id = p["patrol_id"].as_str().unwrap();
        let short = p["short_id"].as_str().unwrap();
        let want = cli(&env, &db, &["show", "--json", id]);
        assert_eq!(get_ok(&server, &format!("/api/patrols/{id}")), want);
        // A short id resolves as on the command line.
        assert_eq!(get_ok(&server, &format!("/api/patrols/{short}")), want);
        // Its page names it, escapes it and carries its map's data.
        let page = get_ok(&server, &format!("/patrols/{id}"));
        assert!(
            page.contains(short) && page.contains("id=\"map-data\""),
            "{page}"
        );
    }
    // Errors are JSON with a status, never a panic.
    let (status, body) = http_get(&server.url("/api/patrols/ffffffff"));
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    let (status, body) = http_get(&server.url("/api/patrols?month=October"));
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("'October' is not a month (YYYY-MM)"),
        "{body}"
    );
    let (status, _) = http_get(&server.url("/api/report"));
    assert_eq!(status, 400);
    // The pages answer, the report page is the HTML report with a bar.
    for page in [
        "/",
        "/?month=2026-10&page=1",
        "/import",
        "/report?month=2026-10",
    ] {
        get_ok(&server, page);
    }
    let report = get_ok(&server, "/report?month=2026-10");
    let file = get_ok(&server, "/report.html?month=2026-10");
    assert_eq!(
        file,
        cli(
            &env,
            &db,
            &["report", "--month", "2026-10", "--format", "html"]
        )
    );
    assert!(report.contains("class=\"pn\"") && report.len() > file.len());
    assert_eq!(
        get_ok(&server, "/report.csv?month=2026-10"),
        cli(
            &env,
            &db,
            &["report", "--month", "2026-10", "--format", "csv"]
        )
    );
}

#[test]
fn an_upload_imports_as_the_cli_does_and_hostile_input_is_refused() {
    let file = data("field/clean/korita-zbevnica.gpx");
    let bytes = std::fs::read(&file).unwrap();
    let by_cli = Env::init();
    let want = by_cli
        .cmd()
        .current_dir(data("field/clean"))
        .args([
            "import",
            "--team",
            "Alpha",
            "--transport",
            "vehicle",
            "--headcount",
            "3",
            "--json",
            "korita-zbevnica.gpx",
        ])
        .output()
        .unwrap();
    let mut want: Value = serde_json::from_slice(&want.stdout).unwrap();

    let env = Env::init();
    let server = Server::start(&env.db);
    let post = |fields: &[(&str, &str)], files: &[(&str, &[u8])]| {
        let (ct, body) = multipart(fields, files);
        http_post(&server.url("/api/import"), &ct, &body)
    };
    let form = [
        ("team", "Alpha"),
        ("transport", "vehicle"),
        ("members", "3"),
    ];
    let (status, body) = post(&form, &[("korita-zbevnica.gpx", &bytes)]);
    assert_eq!(status, 200, "{body}");
    let mut got: Value = serde_json::from_str(&body).unwrap();
    let id = got[0]["patrol_id"].as_str().unwrap().to_owned();
    for v in [&mut want, &mut got] {
        for r in v.as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("patrol_id");
            r.as_object_mut().unwrap().remove("short_id");
        }
    }
    assert_eq!(got, want);
    assert_eq!(
        get_ok(&server, "/api/patrols"),
        cli(&env, &env.db, &["patrols", "--json"])
    );
    assert_eq!(
        get_ok(&server, &format!("/api/patrols/{id}")),
        cli(&env, &env.db, &["show", "--json", &id])
    );
    // The same file again: a duplicate, under a name with a path in it,
    // which is cut to its last part.
    let (status, body) = post(&form, &[("../../etc/k.gpx", &bytes)]);
    assert_eq!(status, 200, "{body}");
    let again: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(again[0]["file"], "k.gpx");
    assert_eq!(again[0]["status"], "duplicate");
    // A broken file fails with its line, the others of the upload go on.
    let (status, body) = post(
        &form,
        &[
            ("broken.gpx", b"<gpx>\n<trk><trkseg><trkpt lat=\"x\""),
            ("k2.gpx", &bytes),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let mixed: Value = serde_json::from_str(&body).unwrap();
    let broken = mixed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file"] == "broken.gpx")
        .unwrap();
    assert_eq!(broken["status"], "failed");
    assert!(
        broken["error"].as_str().unwrap().starts_with("broken.gpx:"),
        "{broken}"
    );
    assert!(
        !body.contains("patrol-upload-"),
        "no private folder in reports: {body}"
    );
    // Values the core's rules refuse; nothing imported.
    for (fields, why) in [
        (vec![("team", "Alpha"), ("transport", "horse")], "transport"),
        (vec![("team", "Alpha"), ("members", "0")], "members"),
        (vec![("team", "Alpha"), ("members", "1001")], "members"),
        (vec![("team", " ")], "team"),
    ] {
        let other = [0u8; 0];
        let (status, body) = post(&fields, &[("other.gpx", &bytes), ("empty.gpx", &other)]);
        assert_eq!(status, 400, "{fields:?}: {body}");
        assert!(body.contains(why), "{body}");
    }
    let (status, _) = post(&form, &[]);
    assert_eq!(status, 400);
    let patrols: Value = serde_json::from_str(&get_ok(&server, "/api/patrols")).unwrap();
    assert_eq!(
        patrols.as_array().unwrap().len(),
        1,
        "only the first import stayed"
    );
    // A body over the limit is refused.
    // (refused when its length is read: the connection may close before
    // the client has sent it all).
    let big = vec![b' '; patrol_serve_limit() + 1];
    let (ct, body) = multipart(&form, &[("big.gpx", &big)]);
    match ureq::post(server.url("/api/import"))
        .header("Content-Type", &ct)
        .send(&body[..])
    {
        Err(ureq::Error::StatusCode(413) | ureq::Error::Io(_)) => {}
        other => panic!("a body over the limit: {other:?}"),
    }
    // Another site's page cannot post here.
    let (ct, body) = multipart(&form, &[("x.gpx", &bytes)]);
    let resp = ureq::post(server.url("/api/import"))
        .header("Content-Type", &ct)
        .header("Origin", "http://evil.example")
        .send(&body[..]);
    assert!(
        matches!(resp, Err(ureq::Error::StatusCode(403))),
        "{resp:?}"
    );
    // Assets by exact name only.
    for path in [
        "/assets/../Cargo.toml",
        "/assets/leaflet/../../../Cargo.toml",
        "/assets/%2e%2e/Cargo.toml",
    ] {
        assert_eq!(http_get(&server.url(path)).0, 404, "{path}");
    }
    assert_eq!(http_get(&server.url("/assets/leaflet/leaflet.js")).0, 200);
}

/// The server's upload limit (64 MiB).
fn patrol_serve_limit() -> usize {
    64 * 1024 * 1024
}

#[test]
fn serve_refuses_to_listen_beyond_this_computer() {
    let env = Env::init();
    for addr in ["0.0.0.0:0", "[::]:0", "192.168.1.10:8080"] {
        let out = env
            .cmd()
            .args(["serve", "--listen", addr])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{addr}: {stderr}");
        assert!(
            stderr.contains("listens beyond this computer only with users")
                && stderr.contains("patrol user add"),
            "{stderr}"
        );
        assert!(!stderr.contains("listening on"), "{stderr}");
    }
    // A database that is not there is said before anything listens.
    let out = assert_cmd::Command::cargo_bin("patrol")
        .unwrap()
        .arg("--db")
        .arg(env.path("missing.gpkg"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such database"));
}

/// The observations of `patrol` as `patrol show --json` lists them.
pub(crate) fn shown_observations(env: &Env, db: &std::path::Path, patrol: &str) -> Vec<Value> {
    let shown: Value = serde_json::from_str(&cli(env, db, &["show", patrol, "--json"])).unwrap();
    shown["observations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The patrol command's stderr when it fails.
pub(crate) fn cli_refusal(db: &std::path::Path, args: &[&str]) -> String {
    let out = assert_cmd::Command::cargo_bin("patrol")
        .unwrap()
        .env_remove("PATROL_DB")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("runs");
    assert!(!out.status.success(), "{args:?} was accepted");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_observation_posted_is_stored_as_patrol_observe_stores_it_and_refusals_save_nothing() {
    let env = Env::new();
    env.cmd()
        .args(["demo", "--dir"])
        .arg(env.path("demo"))
        .assert()
        .success();
    let db = env.path("demo/thaplan.gpkg");
    let req = env.write(
        "req.toml",
        "[[attribute]]\nkey = \"tusks\"\nlabel = \"Tusks\"\ntype = \"boolean\"\n\n[[category]]\nkey = \"elephant_carcass\"\nlabel = \"Elephant carcass\"\nparent = \"carcass\"\n[[category.attributes]]\nkey = \"tusks\"\nrequired = true\n",
    );
    cli(&env, &db, &["data-model", "import", req.to_str().unwrap()]);
    let server = Server::start(&db);
    let patrols: Value = serde_json::from_str(&get_ok(&server, "/api/patrols")).unwrap();
    let patrol = patrols[0]["patrol_id"].as_str().unwrap().to_owned();

    let by_cli: Value = serde_json::from_str(&cli(
        &env,
        &db,
        &[
            "observe",
            "--patrol",
            &patrol,
            "--category",
            "snare",
            "--at",
            "14.2,102.1",
            "--time",
            "2026-10-04T08:15",
            "--note",
            "by the stream",
            "--attr",
            "count=3",
            "--attr",
            "removed=2",
            "--attr",
            "age=fresh",
            "--json",
        ],
    ))
    .unwrap();
    let url = server.url("/api/observations");
    let json = serde_json::json!({
        "patrol": patrol, "category": "snare", "lat": 14.2, "lon": "102.1",
        "time": "2026-10-04T08:15", "note": "by the stream",
        "attributes": {"count": 3, "removed": "2", "age": "fresh"},
    });
    let (status, body) = http_post(&url, "application/json", json.to_string().as_bytes());
    assert_eq!(status, 200, "{body}");
    let by_json: Value = serde_json::from_str(&body).unwrap();
    let form = format!(
        "patrol={patrol}&category=snare&lat=14.2&lon=102.1&time=2026-10-04T08%3A15&note=by+the+stream&attributes%5Bcount%5D=3&attributes%5Bremoved%5D=2&attributes%5Bage%5D=fresh&attributes%5Bpeople%5D="
    );
    let (status, body) = http_post(&url, "application/x-www-form-urlencoded", form.as_bytes());
    assert_eq!(status, 200, "{body}");
    let by_form: Value = serde_json::from_str(&body).unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let shown = shown_observations(&env, &db, &patrol);
    let stored = |answer: &Value| {
        let id = answer["observation_id"].as_str().unwrap();
        let mut o = shown
            .iter()
            .find(|o| o["observation_id"].as_str() == Some(id) || o["id"].as_str() == Some(id))
            .unwrap_or_else(|| panic!("{id} is shown: {shown:?}"))
            .clone();
        let o = o.as_object_mut().unwrap();
        for k in ["observation_id", "id", "short_id"] {
            o.remove(k);
        }
        Value::Object(o.clone())
    };
    for answer in [&by_json, &by_form] {
        assert_eq!(keys(answer), keys(&by_cli), "{answer}");
        assert_eq!(answer["patrol_id"], by_cli["patrol_id"]);
        assert_eq!(answer["category"], "snare");
        let id = answer["observation_id"].as_str().unwrap();
        assert!(id.ends_with(answer["short_id"].as_str().unwrap()));
        assert_eq!(
            stored(answer),
            stored(&by_cli),
            "stored as the CLI stores it"
        );
    }
    assert_eq!(
        stored(&by_cli)["attributes"],
        serde_json::json!({"age": "fresh", "count": 3.0, "removed": 2.0})
    );

    // Each refusal: 400 with the core's message (the CLI's), nothing saved.
    let before = shown.len();
    for (category, attrs, cli_attrs) in [
        (
            "snare",
            serde_json::json!({"count": "three"}),
            vec!["count=three"],
        ),
        (
            "snare",
            serde_json::json!({"age": "ancient"}),
            vec!["age=ancient"],
        ),
        (
            "snare",
            serde_json::json!({"count": "-1"}),
            vec!["count=-1"],
        ),
        ("elephant_carcass", serde_json::json!({}), vec![]),
        (
            "snare",
            serde_json::json!({"tusks": "yes"}),
            vec!["tusks=yes"],
        ),
    ] {
        let body = serde_json::json!({
            "patrol": patrol, "category": category, "lat": 14.2, "lon": 102.1, "attributes": attrs,
        });
        let (status, answer) = http_post(&url, "application/json", body.to_string().as_bytes());
        assert_eq!(status, 400, "{body}: {answer}");
        let error: Value = serde_json::from_str(&answer).unwrap();
        let error = error["error"].as_str().expect("an error").to_owned();
        let mut args = vec![
            "observe",
            "--patrol",
            &patrol,
            "--category",
            category,
            "--at",
            "14.2,102.1",
        ];
        for a in &cli_attrs {
            args.extend(["--attr", a]);
        }
        let said = cli_refusal(&db, &args);
        assert!(
            said.contains(&error),
            "the CLI says {said:?}, the API {error:?}"
        );
    }
    for (body, says) in [
        (
            serde_json::json!({"patrol": patrol, "category": "snare", "lat": 14.2}),
            "lon",
        ),
        (
            serde_json::json!({"patrol": patrol, "category": "snare", "lat": 99, "lon": 1}),
            "latitude",
        ),
        (
            serde_json::json!({"patrol": patrol, "category": "nothing", "lat": 1, "lon": 1}),
            "no category",
        ),
        (
            serde_json::json!({"patrol": patrol, "category": "snare", "lat": 1, "lon": 1, "time": "soon"}),
            "not a time",
        ),
    ] {
        let (status, answer) = http_post(&url, "application/json", body.to_string().as_bytes());
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer.contains(says), "{says}: {answer}");
    }
    assert_eq!(
        shown_observations(&env, &db, &patrol).len(),
        before,
        "nothing saved"
    );
}

/// Where the screenshots go (under the target folder).
pub(crate) fn shots() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_ranger_imports_a_gpx_sees_its_map_and_opens_the_report_in_chromium() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let env = Env::init();
    env.cmd()
        .args(["site", "boundary", "set"])
        .arg(crate::util::sample("thap-lan-boundary.geojson"))
        .assert()
        .success();
    let server = Server::start(&env.db);
    let shots = shots();

    browser.goto(&server.url("/import"));
    let input = browser.find("input#file");
    // A patrol inside the park (the sample boundary's), with waypoints.
    let gpx = crate::util::sample("outpost-a/2026-10-17-alpha-foot.gpx");
    browser.send_keys(&input, gpx.to_str().unwrap());
    browser.send_keys(&browser.find("#team"), "Alpha");
    browser.screenshot(&shots.join("import-form.png"));
    browser.click(&browser.find("#import-form button[type=submit]"));
    let table = browser.find("#result-table");
    let text = browser.text(&table);
    assert!(
        text.contains("2026-10-17-alpha-foot.gpx") && text.contains("imported"),
        "{text}"
    );
    browser.screenshot(&shots.join("import-result.png"));

    browser.click(&browser.find("#result-table a"));
    browser.find("#map .leaflet-overlay-pane path.track");
    let drawn = browser.script(
        "return Array.from(document.querySelectorAll('#map .leaflet-overlay-pane path.track')).map(p => p.getAttribute('d').length)",
    );
    let drawn = drawn.as_array().expect("paths");
    assert!(
        !drawn.is_empty() && drawn.iter().all(|d| d.as_u64().unwrap() > 20),
        "the track is drawn: {drawn:?}"
    );
    let boundary = browser.script(
        "return document.querySelectorAll('#map .leaflet-overlay-pane path:not(.track)').length",
    );
    assert!(boundary.as_u64().unwrap() >= 1, "the boundary is drawn");
    browser.screenshot(&shots.join("patrol.png"));

    let patrols: Value = serde_json::from_str(&get_ok(&server, "/api/patrols")).unwrap();
    let month: String = patrols[0]["first_date"].as_str().unwrap()[..7].to_owned();
    browser.goto(&server.url(&format!("/?month={month}")));
    let list = browser.text(&browser.find("#patrols"));
    assert!(list.contains("Alpha"), "{list}");
    browser.screenshot(&shots.join("patrols.png"));

    browser.goto(&server.url(&format!("/report?month={month}")));
    let h1 = browser.text(&browser.find("h1"));
    assert!(h1.contains("Thap Lan"), "{h1}");
    let save = browser.script("return document.getElementById('save').getAttribute('href')");
    assert_eq!(
        save.as_str().unwrap(),
        format!("/report.html?month={month}")
    );
    browser.screenshot(&shots.join("report.png"));
    browser.print_a4(&shots.join("report-a4.pdf"));
    eprintln!("screenshots in {}", shots.display());
}

#[test]
fn a_ranger_adds_a_snare_from_the_patrol_page_in_chromium() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let env = Env::init();
    env.cmd()
        .args(["site", "boundary", "set"])
        .arg(crate::util::sample("thap-lan-boundary.geojson"))
        .assert()
        .success();
    env.cmd()
        .arg("import")
        .arg(crate::util::sample("outpost-a/2026-10-17-alpha-foot.gpx"))
        .args(["--team", "Alpha"])
        .assert()
        .success();
    let server = Server::start(&env.db);
    let shots = shots();
    let patrols: Value = serde_json::from_str(&get_ok(&server, "/api/patrols")).unwrap();
    let patrol = patrols[0]["patrol_id"].as_str().unwrap().to_owned();
    let before: Value =
        serde_json::from_str(&get_ok(&server, &format!("/api/patrols/{patrol}"))).unwrap();
    let before = before["observations"].as_array().unwrap().len();

    browser.goto(&server.url(&format!("/patrols/{patrol}")));
    browser.find("#map .leaflet-overlay-pane path.track");
    browser.click(&browser.find("#obs-category option[value=snare]"));
    browser.send_keys(&browser.find("#attr-count"), "3");
    browser.send_keys(&browser.find("#attr-removed"), "2");
    let labels = browser.text(&browser.find("#obs-attributes"));
    assert!(
        labels.contains("Number found") && labels.contains("Age of the sign"),
        "{labels}"
    );
    browser.click(&browser.find("#map"));
    let lat = browser.script("return document.getElementById('obs-lat').value");
    assert!(!lat.as_str().unwrap().is_empty(), "the click set the place");
    browser.find("#map .leaflet-marker-pane img");
    browser.script("document.getElementById('add-observation').scrollIntoView()");
    browser.screenshot(&shots.join("observation-form.png"));
    browser.click(&browser.find("#obs-save"));
    // The page reloads on the new row.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let row = loop {
        let row = browser.script(
            "const r = document.querySelector('#observations tr:target'); return r ? r.innerText : null",
        );
        if let Some(r) = row.as_str() {
            break r.to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "no new row");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        row.contains("snare") && row.contains("count=3,") && row.contains("removed=2"),
        "{row}"
    );
    browser.screenshot(&shots.join("observation-saved.png"));
    browser.script("window.scrollTo(0, 0)");
    browser.screenshot(&shots.join("observation-on-map.png"));
    let after: Value =
        serde_json::from_str(&get_ok(&server, &format!("/api/patrols/{patrol}"))).unwrap();
    assert_eq!(after["observations"].as_array().unwrap().len(), before + 1);
    let drawn = browser.script("return document.querySelectorAll('#map .leaflet-overlay-pane path.leaflet-interactive').length");
    assert!(
        drawn.as_u64().unwrap() > before as u64,
        "the new one is on the map"
    );
}

#[test]
fn the_cli_importing_beside_the_server_waits_never_fails() {
    let env = Env::init();
    let server = Server::start(&env.db);
    let dir = crate::util::sample("outpost-a");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "gpx"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let (by_cli, by_web) = files.split_at(files.len() / 2);
    let db = env.db.clone();
    let cli_files = by_cli.to_vec();
    let cli = std::thread::spawn(move || {
        assert_cmd::Command::cargo_bin("patrol")
            .unwrap()
            .env_remove("PATROL_DB")
            .arg("--db")
            .arg(&db)
            .args(["--quiet", "import", "--team", "Bravo", "--json"])
            .args(&cli_files)
            .output()
            .unwrap()
    });
    let mut web = Vec::new();
    for f in by_web {
        let bytes = std::fs::read(f).unwrap();
        let name = f.file_name().unwrap().to_str().unwrap();
        let (ct, body) = multipart(&[("team", "Alpha")], &[(name, &bytes)]);
        let (status, text) = http_post(&server.url("/api/import"), &ct, &body);
        assert_eq!(status, 200, "{text}");
        web.push(serde_json::from_str::<Value>(&text).unwrap());
        // While the CLI may be writing, reads wait too.
        assert_eq!(http_get(&server.url("/api/patrols")).0, 200);
    }
    let out = cli.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    for r in cli
        .as_array()
        .unwrap()
        .iter()
        .chain(web.iter().flat_map(|v| v.as_array().unwrap()))
    {
        assert_ne!(r["status"], "failed", "{r}");
    }
    let all: Value = serde_json::from_str(&get_ok(&server, "/api/patrols")).unwrap();
    assert_eq!(all.as_array().unwrap().len(), files.len());
}

#[test]
fn what_a_file_or_a_person_typed_is_escaped_on_every_page() {
    let env = Env::init();
    let server = Server::start(&env.db);
    let bytes = std::fs::read(crate::util::sample("outpost-a/2026-10-01-alpha-foot.gpx")).unwrap();
    let team = "<script>alert(1)</script>\"'&";
    let (ct, body) = multipart(&[("team", team)], &[("<img src=x>.gpx", &bytes)]);
    let (status, text) = http_post(&server.url("/api/import"), &ct, &body);
    assert_eq!(status, 200, "{text}");
    let got: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(got[0]["file"], "_img src_x_.gpx");
    let id = got[0]["patrol_id"].as_str().unwrap();
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;";
    for page in [
        "/?month=2026-10".to_string(),
        format!("/patrols/{id}"),
        "/import".into(),
    ] {
        let html = get_ok(&server, &page);
        assert!(!html.contains("<script>alert"), "{page}: {html}");
        assert!(html.contains(escaped), "{page}: the team is shown, escaped");
    }
}

pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

pub(crate) fn add_user(env: &Env, name: &str, role: &str, password: &str) {
    env.cmd()
        .args(["user", "add", name, "--role", role, "--password-stdin"])
        .write_stdin(format!("{password}\n"))
        .assert()
        .success();
}

/// Log in through the form: the session cookie (`patrol_session=...`) and
/// the page's CSRF token.
pub(crate) fn log_in(server: &Server, name: &str, password: &str) -> (String, String) {
    let body = format!(
        "name={name}&password={}&next=%2F",
        password.replace(' ', "+")
    );
    let a = http(
        "POST",
        &server.url("/login"),
        &[],
        Some((FORM, body.as_bytes())),
    );
    assert_eq!(a.status, 303, "{a:?}");
    assert_eq!(a.location.as_deref(), Some("/"));
    let set = a
        .cookies
        .iter()
        .find(|c| c.starts_with("patrol_session="))
        .expect("a session cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.split("; ").any(|p| p == part), "{part}: {set}");
    }
    assert!(!set.contains("Secure"), "no TLS, no Secure: {set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    let page = http("GET", &server.url("/"), &[("Cookie", &cookie)], None);
    assert_eq!(page.status, 200, "{page:?}");
    let csrf = page
        .body
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the page carries its CSRF token")
        .to_owned();
    (cookie, csrf)
}

#[test]
fn beyond_this_computer_users_log_in_and_their_role_limits_them() {
    let env = Env::init();
    // Without users: refused, saying how to add one.
    let out = env
        .cmd()
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("patrol user add"), "{stderr}");
    add_user(&env, "Nok", "ranger", "ranger password 1");
    add_user(&env, "Somchai", "manager", "manager password 1");
    let server = Server::start_on(&env.db, "0.0.0.0:0");

    // Not logged in: pages go to the login page, the API answers 401; the
    // login page and the assets are open.
    for (path, next) in [
        ("/", "%2F"),
        ("/report", "%2Freport"),
        ("/import", "%2Fimport"),
    ] {
        let a = http("GET", &server.url(path), &[], None);
        assert_eq!(a.status, 303, "{path}");
        assert_eq!(a.location, Some(format!("/login?next={next}")), "{path}");
    }
    for path in ["/api/patrols", "/api/report?month=2026-10"] {
        let a = http("GET", &server.url(path), &[], None);
        assert_eq!(a.status, 401, "{path}");
        assert!(a.body.contains("log in"), "{}", a.body);
    }
    let file = std::fs::read(crate::util::sample("outpost-a/2026-10-01-alpha-foot.gpx")).unwrap();
    let (ct, upload) = multipart(&[("team", "Alpha")], &[("a.gpx", &file)]);
    // Small bodies for most refusals; a big one below.
    let (small_ct, small) = multipart(&[("team", "Alpha")], &[("a.gpx", b"<gpx/>")]);
    let a = http(
        "POST",
        &server.url("/api/import"),
        &[],
        Some((&small_ct, &small)),
    );
    assert_eq!(a.status, 401);
    let login = http("GET", &server.url("/login?next=%2Freport"), &[], None);
    assert_eq!(login.status, 200);
    assert!(login.body.contains("id=\"login-form\"") && login.body.contains("value=\"/report\""));
    assert_eq!(
        http("GET", &server.url("/assets/app.css"), &[], None).status,
        200
    );

    // A wrong password or name: one message, no cookie.
    for body in [
        "name=Nok&password=wrong+password+1",
        "name=Nobody&password=ranger+password+1",
    ] {
        let a = http(
            "POST",
            &server.url("/login"),
            &[],
            Some((FORM, body.as_bytes())),
        );
        assert_eq!(a.status, 401, "{body}");
        assert!(a.body.contains("wrong name or password"), "{}", a.body);
        assert!(a.cookies.is_empty(), "{:?}", a.cookies);
    }
    let bad_cookie = "patrol_session=00";
    assert_eq!(
        http("GET", &server.url("/"), &[("Cookie", bad_cookie)], None).status,
        303
    );

    // The ranger: reads, imports (with the CSRF token), no report.
    let (ranger, csrf) = log_in(&server, "Nok", "ranger password 1");
    let home = http("GET", &server.url("/"), &[("Cookie", &ranger)], None).body;
    assert!(
        home.contains("Nok (ranger)") && home.contains("id=\"logout\""),
        "{home}"
    );
    assert!(
        !home.contains("href=\"/report\""),
        "no report link for a ranger"
    );
    let refused = |headers: &[(&str, &str)]| {
        http(
            "POST",
            &server.url("/api/import"),
            headers,
            Some((&small_ct, &small)),
        )
    };
    let a = refused(&[("Cookie", &ranger)]);
    assert_eq!(a.status, 403, "{a:?}");
    assert!(a.body.contains("CSRF"), "{}", a.body);
    let a = refused(&[("Cookie", &ranger), ("X-CSRF-Token", "0123")]);
    assert_eq!(a.status, 403, "{a:?}");
    // Another site's page is refused even with the token.
    let a = refused(&[
        ("Cookie", &ranger),
        ("X-CSRF-Token", &csrf),
        ("Origin", "http://evil.example"),
    ]);
    assert_eq!(a.status, 403, "{a:?}");
    let a = http(
        "POST",
        &server.url("/api/import"),
        &[("Cookie", &ranger), ("X-CSRF-Token", &csrf)],
        Some((&ct, &upload)),
    );
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.body.contains("\"imported\""), "{}", a.body);
    // The import form posted without the page's script carries the token as
    // its first field: taken there, and only there.
    let form = |fields: &[(&str, &str)]| {
        let (ct, body) = multipart(fields, &[("a.gpx", &file)]);
        http(
            "POST",
            &server.url("/api/import"),
            &[("Cookie", &ranger)],
            Some((&ct, &body)),
        )
    };
    let a = form(&[("csrf", &csrf), ("team", "Alpha")]);
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.body.contains("\"duplicate\""), "{}", a.body);
    // A refusal is read whole by the client, however big the upload it
    // answers (the server reads what is sent first: no connection cut).
    let big = {
        let mut big = file.clone();
        while big.len() < 16 << 20 {
            big.extend_from_slice(&file);
        }
        big
    };
    let (big_ct, big_body) = multipart(&[("team", "Alpha")], &[("big.gpx", &big)]);
    for headers in [
        vec![("Cookie", ranger.as_str())],
        vec![
            ("Cookie", ranger.as_str()),
            ("Origin", "http://evil.example"),
        ],
    ] {
        let a = http(
            "POST",
            &server.url("/api/import"),
            &headers,
            Some((&big_ct, &big_body)),
        );
        assert_eq!(a.status, 403, "{a:?}");
    }
    for refused in [
        form(&[("csrf", "0123"), ("team", "Alpha")]),
        form(&[("team", "Alpha"), ("csrf", &csrf)]),
        form(&[("team", "Alpha")]),
    ] {
        assert_eq!(refused.status, 403, "{refused:?}");
        assert!(refused.body.contains("CSRF"), "{}", refused.body);
    }
    // A ranger records an observation with the page's token, and only with it.
    let imported: Value = serde_json::from_str(&a.body).unwrap();
    let patrol = imported[0]["patrol_id"].as_str().unwrap().to_owned();
    let page = http(
        "GET",
        &server.url(&format!("/patrols/{patrol}")),
        &[("Cookie", &ranger)],
        None,
    );
    assert!(
        page.body.contains("id=\"observation-form\""),
        "{}",
        page.body
    );
    let obs = serde_json::json!({
        "patrol": patrol, "category": "snare", "lat": 14.2, "lon": 102.1,
        "attributes": {"count": "3"},
    })
    .to_string();
    let post = |headers: &[(&str, &str)]| {
        http(
            "POST",
            &server.url("/api/observations"),
            headers,
            Some(("application/json", obs.as_bytes())),
        )
    };
    let a = post(&[("Cookie", &ranger)]);
    assert_eq!(a.status, 403, "{a:?}");
    assert!(a.body.contains("CSRF"), "{}", a.body);
    let a = post(&[("Cookie", &ranger), ("X-CSRF-Token", &csrf)]);
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.body.contains("\"observation_id\""), "{}", a.body);
    let form = http("GET", &server.url("/import"), &[("Cookie", &ranger)], None);
    assert!(
        form.body
            .contains(&format!("name=\"csrf\" value=\"{csrf}\""))
    );
    for path in ["/report?month=2026-10", "/report.csv?month=2026-10"] {
        let a = http("GET", &server.url(path), &[("Cookie", &ranger)], None);
        assert_eq!(a.status, 403, "{path}");
        assert!(
            a.body.contains("needs the manager role") && a.body.contains("Nok is a ranger"),
            "{}",
            a.body
        );
    }
    let a = http(
        "GET",
        &server.url("/api/report?month=2026-10"),
        &[("Cookie", &ranger)],
        None,
    );
    assert_eq!(a.status, 403);
    assert!(a.body.contains("\"error\""), "{}", a.body);

    // The manager makes the report.
    let (manager, _) = log_in(&server, "Somchai", "manager password 1");
    let a = http(
        "GET",
        &server.url("/report?month=2026-10"),
        &[("Cookie", &manager)],
        None,
    );
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.body.contains("Somchai (manager)") && a.body.contains("class=\"pn\""));
    assert_eq!(
        http(
            "GET",
            &server.url("/api/report?month=2026-10"),
            &[("Cookie", &manager)],
            None
        )
        .status,
        200
    );

    // Logging out needs the token too, then the cookie no longer works.
    let out = |body: String| {
        http(
            "POST",
            &server.url("/logout"),
            &[("Cookie", &ranger)],
            Some((FORM, body.as_bytes())),
        )
    };
    assert_eq!(out(String::new()).status, 403);
    let a = out(format!("csrf={csrf}"));
    assert_eq!(a.status, 303, "{a:?}");
    assert_eq!(a.location.as_deref(), Some("/login"));
    assert!(
        a.cookies.iter().any(|c| c.contains("Max-Age=0")),
        "{:?}",
        a.cookies
    );
    assert_eq!(
        http("GET", &server.url("/"), &[("Cookie", &ranger)], None).status,
        303
    );
    assert_eq!(
        http(
            "GET",
            &server.url("/api/patrols"),
            &[("Cookie", &ranger)],
            None
        )
        .status,
        401
    );
    // The manager's session is another's: it goes on.
    assert_eq!(
        http(
            "GET",
            &server.url("/api/patrols"),
            &[("Cookie", &manager)],
            None
        )
        .status,
        200
    );
}

#[test]
fn a_ranger_logs_in_through_the_form_imports_and_logs_out_in_chromium() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let env = Env::init();
    add_user(&env, "Nok", "ranger", "ranger password 1");
    add_user(&env, "Somchai", "manager", "manager password 1");
    let server = Server::start_on(&env.db, "0.0.0.0:0");
    let shots = shots();

    // The import page sends to the login page, which comes back to it.
    browser.goto(&server.url("/import"));
    browser.send_keys(&browser.find("#login-form #name"), "Nok");
    browser.send_keys(&browser.find("#login-form #password"), "wrong password 1");
    browser.click(&browser.find("#login-form button[type=submit]"));
    let error = browser.text(&browser.find("#login-error"));
    assert_eq!(error, "wrong name or password");
    // The name stays, the login page has no links to pages it would refuse.
    let name = browser.script("return document.getElementById('name').value");
    assert_eq!(name.as_str(), Some("Nok"));
    let links = browser.script("return document.querySelectorAll('header nav a').length");
    assert_eq!(links.as_u64(), Some(0));
    browser.send_keys(&browser.find("#login-form #password"), "ranger password 1");
    browser.screenshot(&shots.join("login.png"));
    browser.click(&browser.find("#login-form button[type=submit]"));
    let input = browser.find("input#file");
    let who = browser.text(&browser.find("#who"));
    assert_eq!(who, "Nok (ranger)");
    // The cookie is not the page's script's to read.
    let cookies = browser.script("return document.cookie");
    assert_eq!(cookies.as_str(), Some(""), "HttpOnly");

    // The form's script sends the CSRF token: the import goes through.
    let gpx = crate::util::sample("outpost-a/2026-10-17-alpha-foot.gpx");
    browser.send_keys(&input, gpx.to_str().unwrap());
    browser.send_keys(&browser.find("#team"), "Alpha");
    browser.click(&browser.find("#import-form button[type=submit]"));
    let text = browser.text(&browser.find("#result-table"));
    assert!(text.contains("imported"), "{text}");
    browser.screenshot(&shots.join("import-logged-in.png"));

    // The report is a manager's: the ranger is told so.
    browser.goto(&server.url("/report?month=2026-10"));
    let refusal = browser.text(&browser.find("p.error"));
    assert!(refusal.contains("needs the manager role"), "{refusal}");

    // Logging out ends the session: the next page is the login page.
    browser.goto(&server.url("/"));
    browser.click(&browser.find("#logout"));
    browser.find("#login-form");
    browser.goto(&server.url("/"));
    browser.find("#login-form");

    // A manager, sent to the login page by the report, comes back to it.
    browser.goto(&server.url("/report?month=2026-10"));
    browser.send_keys(&browser.find("#login-form #name"), "Somchai");
    browser.send_keys(&browser.find("#login-form #password"), "manager password 1");
    browser.click(&browser.find("#login-form button[type=submit]"));
    let bar = browser.text(&browser.find(".pn #who"));
    assert_eq!(bar, "Somchai (manager)");
    browser.find("#save");
    browser.screenshot(&shots.join("report-logged-in.png"));
}

/// A patrol that starts just after midnight on the 1st, local time, began on
/// the last day of the month before in UTC: the import result links the
/// month the list shows it in (the site's), not UTC's.
#[test]
fn the_import_result_links_the_local_month_of_the_patrol() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let env = Env::init();
    let server = Server::start(&env.db);
    let gpx = env.dir.path().join("first-of-november.gpx");
    let mut fixes = String::new();
    for i in 0..3 {
        let _ = write!(
            fixes,
            "<trkpt lat=\"14.{:03}\" lon=\"102.100\"><time>2026-10-31T17:{:02}:00Z</time></trkpt>",
            100 + i,
            30 + i
        );
    }
    std::fs::write(
        &gpx,
        format!(
            "<?xml version=\"1.0\"?><gpx version=\"1.1\" creator=\"test\" xmlns=\"http://www.topografix.com/GPX/1/1\"><trk><trkseg>{fixes}</trkseg></trk></gpx>"
        ),
    )
    .unwrap();
    browser.goto(&server.url("/import"));
    browser.send_keys(&browser.find("input#file"), gpx.to_str().unwrap());
    browser.send_keys(&browser.find("#team"), "Alpha");
    browser.click(&browser.find("#import-form button[type=submit]"));
    browser.find("#result-table");
    let links = browser.script(
        "return Array.from(document.querySelectorAll('#results a')).map(a => a.getAttribute('href'))",
    );
    let links: Vec<String> = links
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .filter(|h| h.starts_with("/?month="))
        .collect();
    assert_eq!(
        links,
        ["/?month=2026-11"],
        "in Asia/Bangkok it began on 1 November"
    );
    let list: Value = serde_json::from_str(&get_ok(&server, "/api/patrols?month=2026-11")).unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "the list shows it in November"
    );
}

/// The import form offers the people the site already has to tick, beside
/// other names typed, a leader and an objective: the patrol carries them as
/// `import --member` and `--leader` would.
#[test]
fn the_import_form_offers_the_sites_people() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let env = Env::init();
    env.cmd()
        .args(["import", "--team", "Alpha", "--headcount", "3"])
        .args(["--member", "Somchai,Nok,<b>Lek</b>"])
        .arg(crate::util::sample("outpost-a/2026-10-01-alpha-foot.gpx"))
        .assert()
        .success();
    let server = Server::start(&env.db);
    browser.goto(&server.url("/import"));
    let names = browser.text(&browser.find("#known-names"));
    assert!(
        names.contains("Nok") && names.contains("Somchai") && names.contains("<b>Lek</b>"),
        "{names}"
    );
    browser.click(&browser.find("#known-names input[value='Nok']"));
    browser.send_keys(&browser.find("#member-names"), "Pim, Dao");
    browser.send_keys(&browser.find("#leader"), "Nok");
    browser.send_keys(&browser.find("#objective"), "snare sweep");
    let members = browser.find("#members");
    browser.script("document.getElementById('members').value = ''");
    browser.send_keys(&members, "3");
    browser.send_keys(
        &browser.find("input#file"),
        crate::util::sample("outpost-a/2026-10-17-alpha-foot.gpx")
            .to_str()
            .unwrap(),
    );
    browser.send_keys(&browser.find("#team"), "Alpha");
    browser.click(&browser.find("#import-form button[type=submit]"));
    let text = browser.text(&browser.find("#result-table"));
    assert!(text.contains("imported"), "{text}");
    let list: Value = serde_json::from_str(&get_ok(&server, "/api/patrols?month=2026-10")).unwrap();
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["source_file"] == "2026-10-17-alpha-foot.gpx")
        .expect("the patrol")["patrol_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let d: Value = serde_json::from_str(&get_ok(&server, &format!("/api/patrols/{id}"))).unwrap();
    assert_eq!(
        d["legs"][0]["member_names"],
        serde_json::json!(["Nok", "Pim", "Dao"])
    );
    assert_eq!(d["legs"][0]["members"], 3);
    assert_eq!(d["leader"], "Nok");
    assert_eq!(d["objective"], "snare sweep");
}

/// The patrol list is chosen by team and transport as well as by month, and
/// its links to other months and pages keep the choice.
#[test]
fn the_list_is_chosen_by_team_and_transport() {
    let env = Env::new();
    env.cmd()
        .args(["demo", "--dir"])
        .arg(env.path("demo"))
        .assert()
        .success();
    let server = Server::start(&env.path("demo/thaplan.gpkg"));
    let rows = |page: &str| -> Vec<String> {
        page.split("<tr><td><a href=\"/patrols/")
            .skip(1)
            .map(|r| r.split("</tr>").next().unwrap().to_owned())
            .collect()
    };
    let all = rows(&get_ok(&server, "/?month=2026-10"));
    let bravo = rows(&get_ok(&server, "/?month=2026-10&team=Bravo"));
    assert!(!bravo.is_empty() && bravo.len() < all.len(), "{bravo:?}");
    assert!(
        bravo.iter().all(|r| r.contains("<td>Bravo</td>")),
        "{bravo:?}"
    );
    let vehicle = rows(&get_ok(&server, "/?month=2026-10&transport=vehicle"));
    assert!(!vehicle.is_empty() && vehicle.len() < all.len());
    assert!(vehicle.iter().all(|r| r.contains("vehicle")), "{vehicle:?}");
    let page = get_ok(&server, "/?month=2026-10&team=Bravo&transport=vehicle");
    assert!(
        page.contains("href=\"/?month=2026-09&amp;team=Bravo&amp;transport=vehicle\""),
        "the months' links keep the choice"
    );
    assert!(page.contains("<option value=\"Bravo\" selected>"));
    let none = get_ok(&server, "/?month=2026-10&team=Alpha&transport=vehicle");
    assert!(
        none.contains("No patrol of this team and transport"),
        "{none}"
    );
    let (status, body) = http_get(&server.url("/?month=2026-10&transport=rocket"));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("rocket"), "{body}");
}
