//! `patrol serve`, editing (issue 11): the API's edits, deletes, restores
//! and histories against the CLI's JSON on the same database; refusals
//! (bad values, a ranger, a missing CSRF token) that save nothing; a real
//! headless Chromium editing a patrol and deleting, restoring and editing
//! an observation; `patrol history` as users read it.

use serde_json::Value;

use crate::serve::{FORM, add_user, cli, cli_refusal, get_ok, log_in, shots};
use crate::util::{Browser, Env, Server, http, http_post, sample};

const JSON: &str = "application/json";

/// The demo's database, a patrol with observations and another patrol.
fn demo() -> (Env, std::path::PathBuf, String, String) {
    let env = Env::new();
    env.cmd()
        .args(["demo", "--dir"])
        .arg(env.path("demo"))
        .assert()
        .success();
    let db = env.path("demo/thaplan.gpkg");
    let patrols: Value = serde_json::from_str(&cli(&env, &db, &["patrols", "--json"])).unwrap();
    let ids: Vec<String> = patrols
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["observations"].as_u64().unwrap_or(0) >= 2)
        .map(|p| p["patrol_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.len() >= 2, "the demo has patrols with observations");
    (env, db, ids[0].clone(), ids[1].clone())
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn post_json(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let (status, text) = http_post(&server.url(path), JSON, body.to_string().as_bytes());
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    (status, v)
}

fn observations(env: &Env, db: &std::path::Path, patrol: &str) -> Vec<Value> {
    crate::serve::shown_observations(env, db, patrol)
}

#[test]
fn the_api_edits_deletes_restores_and_tells_histories_as_the_cli_does() {
    let (env, db, patrol, other) = demo();
    let server = Server::start(&db);
    let obs = observations(&env, &db, &patrol);
    let (o1, o2) = (
        obs[0]["observation_id"].as_str().unwrap().to_owned(),
        obs[1]["observation_id"].as_str().unwrap().to_owned(),
    );

    // A patrol's edit: the CLI's body, by the same struct.
    let (status, web) = post_json(
        &server,
        &format!("/api/patrols/{patrol}/edit"),
        &serde_json::json!({"team": "Bravo", "members": 3, "transport": "Vehicle"}),
    );
    assert_eq!(status, 200, "{web}");
    assert_eq!(web["changed"], true);
    assert_eq!(web["kind"], "patrol");
    assert_eq!(web["record_id"], patrol.as_str());
    let by_cli: Value = serde_json::from_str(&cli(
        &env,
        &db,
        &["edit", "patrol", &patrol, "--team", "Charlie", "--json"],
    ))
    .unwrap();
    assert_eq!(keys(&web), keys(&by_cli));
    // The same again: no change, the head's version, as the CLI says.
    let (status, same) = post_json(
        &server,
        &format!("/api/patrols/{}/edit", &patrol[patrol.len() - 8..]),
        &serde_json::json!({"team": "Charlie"}),
    );
    assert_eq!(status, 200, "{same}");
    assert_eq!(same["changed"], false);
    assert_eq!(same["version_id"], by_cli["version_id"]);
    let shown: Value =
        serde_json::from_str(&get_ok(&server, &format!("/api/patrols/{patrol}"))).unwrap();
    assert_eq!(shown["team"], "Charlie");
    assert_eq!(shown["members"], 3);
    assert_eq!(shown["transport"], serde_json::json!(["vehicle"]));

    // An observation's edit: note, attributes, and a move to another patrol.
    let (status, web) = post_json(
        &server,
        &format!("/api/observations/{o1}/edit"),
        &serde_json::json!({"note": "two wires", "category": "snare", "attributes": {"count": 3}}),
    );
    assert_eq!(status, 200, "{web}");
    let by_cli: Value = serde_json::from_str(&cli(
        &env,
        &db,
        &[
            "edit",
            "observation",
            &o2,
            "--note",
            "by the stream",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(keys(&web), keys(&by_cli));
    let o = observations(&env, &db, &patrol)
        .into_iter()
        .find(|o| o["observation_id"] == o1.as_str())
        .unwrap();
    assert_eq!(o["note"], "two wires");
    assert_eq!(o["attributes"]["count"], 3.0);
    let (status, moved) = post_json(
        &server,
        &format!("/api/observations/{o2}/edit"),
        &serde_json::json!({"patrol": &other[other.len() - 8..]}),
    );
    assert_eq!(status, 200, "{moved}");
    assert!(
        observations(&env, &db, &other)
            .iter()
            .any(|o| o["observation_id"] == o2.as_str())
    );

    // Delete and restore: the CLI's bodies; the history as `history --json`.
    let (status, deleted) = post_json(
        &server,
        &format!("/api/observations/{o1}/delete"),
        &Value::Null,
    );
    assert_eq!(status, 200, "{deleted}");
    let by_cli: Value =
        serde_json::from_str(&cli(&env, &db, &["delete", "observation", &o2, "--json"])).unwrap();
    assert_eq!(keys(&deleted), keys(&by_cli));
    assert_eq!(deleted["kind"], "observation");
    assert!(
        !observations(&env, &db, &patrol)
            .iter()
            .any(|o| o["observation_id"] == o1.as_str())
    );
    for id in [&o1, &o2, &patrol] {
        assert_eq!(
            get_ok(&server, &format!("/api/history/{id}")),
            cli(&env, &db, &["history", id, "--json"]),
            "{id}"
        );
    }
    let history: Value =
        serde_json::from_str(&get_ok(&server, &format!("/api/history/{o1}"))).unwrap();
    assert_eq!(history["deleted"], true);
    let versions = history["versions"].as_array().unwrap();
    let last = versions.last().unwrap();
    assert_eq!(last["version_id"], deleted["version_id"]);
    assert!(last["deleted"] == true && last["shown"] == true && last["head"] == true);
    assert!(versions.iter().any(|v| v["content"]["note"] == "two wires"));
    // The deleted observation stays on its patrol's page, to restore.
    let short = deleted["short_id"].as_str().unwrap();
    let page = get_ok(&server, &format!("/patrols/{patrol}"));
    assert!(
        page.contains(&format!("id=\"deleted-{short}\""))
            && page.contains(&format!("id=\"restore-{short}\"")),
        "{page}"
    );
    let history_page = get_ok(&server, &format!("/history/{o1}"));
    assert!(
        history_page.contains("id=\"history\"") && history_page.contains("two wires"),
        "{history_page}"
    );
    let (status, restored) = post_json(
        &server,
        &format!("/api/observations/{o1}/restore"),
        &Value::Null,
    );
    assert_eq!(status, 200, "{restored}");
    assert_eq!(keys(&restored), keys(&by_cli));
    let (status, again) = post_json(
        &server,
        &format!("/api/observations/{o1}/restore"),
        &Value::Null,
    );
    assert_eq!(status, 400);
    assert!(again["error"].as_str().unwrap().contains("is not deleted"));
    let back = observations(&env, &db, &patrol)
        .into_iter()
        .find(|o| o["observation_id"] == o1.as_str())
        .expect("restored");
    assert_eq!(back["note"], "two wires");

    // A patrol deleted is still reachable, to restore it.
    let (status, gone) = post_json(
        &server,
        &format!("/api/patrols/{other}/delete"),
        &Value::Null,
    );
    assert_eq!(status, 200, "{gone}");
    let page = get_ok(&server, &format!("/patrols/{other}"));
    assert!(
        page.contains("id=\"deleted\"") && page.contains("id=\"patrol-restore\""),
        "{page}"
    );
    assert!(get_ok(&server, "/deleted").contains(&format!("/patrols/{other}")));
    let (status, _) = post_json(
        &server,
        &format!("/api/patrols/{other}/restore"),
        &Value::Null,
    );
    assert_eq!(status, 200);
    assert!(get_ok(&server, &format!("/patrols/{other}")).contains("id=\"patrol-edit-form\""));

    // A form without the script: a redirect to its `next`.
    let body = format!("team=Delta&members=&next=%2Fpatrols%2F{patrol}");
    let a = http(
        "POST",
        &server.url(&format!("/api/patrols/{patrol}/edit")),
        &[],
        Some((FORM, body.as_bytes())),
    );
    assert_eq!(a.status, 303, "{a:?}");
    assert_eq!(a.location, Some(format!("/patrols/{patrol}")));
}

#[test]
fn a_value_the_rules_refuse_is_a_400_with_their_message_and_nothing_is_saved() {
    let (env, db, patrol, _) = demo();
    let server = Server::start(&db);
    let obs = observations(&env, &db, &patrol);
    let o = obs
        .iter()
        .find(|o| o["category"] == "snare")
        .unwrap_or(&obs[0])["observation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before_patrol = cli(&env, &db, &["show", &patrol, "--json"]);
    let before_history = (
        cli(&env, &db, &["history", &patrol, "--json"]),
        cli(&env, &db, &["history", &o, "--json"]),
    );
    for (body, says) in [
        (serde_json::json!({"members": 0}), "members"),
        (serde_json::json!({"members": "many"}), "members"),
        (serde_json::json!({"transport": "horse"}), "transport"),
        (serde_json::json!({"date": "04/10/2026"}), "date"),
        // The demo's tracks have times: a date is refused by the store.
        (
            serde_json::json!({"team": "Echo", "date": "2026-10-04"}),
            "its track has times",
        ),
    ] {
        let (status, answer) = post_json(&server, &format!("/api/patrols/{patrol}/edit"), &body);
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(says),
            "{says}: {answer}"
        );
    }
    for (body, cli_args, status_wanted) in [
        (
            serde_json::json!({"category": "nothing"}),
            vec!["--category", "nothing"],
            400,
        ),
        (
            serde_json::json!({"attributes": {"count": "three"}}),
            vec!["--attr", "count=three"],
            400,
        ),
        (
            serde_json::json!({"lat": 99, "lon": 1}),
            vec!["--at", "99,1"],
            400,
        ),
        (
            serde_json::json!({"time": "soon"}),
            vec!["--time", "soon"],
            400,
        ),
        (
            serde_json::json!({"patrol": "ffffffff"}),
            vec!["--patrol", "ffffffff"],
            404,
        ),
    ] {
        let (status, answer) = post_json(&server, &format!("/api/observations/{o}/edit"), &body);
        assert_eq!(status, status_wanted, "{body}: {answer}");
        let error = answer["error"].as_str().expect("an error").to_owned();
        let mut args = vec!["edit", "observation", &o];
        args.extend(cli_args);
        let said = cli_refusal(&db, &args);
        assert!(
            said.contains(&error),
            "the CLI says {said:?}, the API {error:?}"
        );
    }
    let (status, answer) = post_json(
        &server,
        &format!("/api/observations/{o}/edit"),
        &serde_json::json!({"lat": 14.2}),
    );
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("lat and lon"));
    let (status, _) = http_post(
        &server.url(&format!("/api/observations/{o}/edit")),
        JSON,
        b"[not json",
    );
    assert_eq!(status, 400);
    // A form's refusal is a page that says why, escaped.
    let body = "transport=%3Cb%3Ehorse&next=%2F";
    let a = http(
        "POST",
        &server.url(&format!("/api/patrols/{patrol}/edit")),
        &[],
        Some((FORM, body.as_bytes())),
    );
    assert_eq!(a.status, 400, "{a:?}");
    assert!(
        a.body.contains("<p class=\"error\">") && a.body.contains("&lt;b&gt;horse"),
        "{}",
        a.body
    );
    // Unknown records: 404.
    let (status, _) = post_json(&server, "/api/observations/ffffffff/delete", &Value::Null);
    assert_eq!(status, 404);
    assert_eq!(
        http("GET", &server.url("/api/history/ffffffff"), &[], None).status,
        404
    );
    assert_eq!(cli(&env, &db, &["show", &patrol, "--json"]), before_patrol);
    assert_eq!(
        (
            cli(&env, &db, &["history", &patrol, "--json"]),
            cli(&env, &db, &["history", &o, "--json"]),
        ),
        before_history,
        "nothing saved"
    );
}

#[test]
fn beyond_this_computer_a_ranger_may_not_edit_and_every_change_needs_the_csrf_token() {
    let env = Env::init();
    env.cmd()
        .arg("import")
        .arg(sample("outpost-a/2026-10-17-alpha-foot.gpx"))
        .args(["--team", "Alpha"])
        .assert()
        .success();
    let patrols: Value = serde_json::from_str(&cli(&env, &env.db, &["patrols", "--json"])).unwrap();
    let patrol = patrols[0]["patrol_id"].as_str().unwrap().to_owned();
    let added: Value = serde_json::from_str(&cli(
        &env,
        &env.db,
        &[
            "observe",
            "--patrol",
            &patrol,
            "--category",
            "snare",
            "--at",
            "14.2,102.1",
            "--json",
        ],
    ))
    .unwrap();
    let obs = added["observation_id"].as_str().unwrap().to_owned();
    add_user(&env, "Nok", "ranger", "ranger password 1");
    add_user(&env, "Somchai", "manager", "manager password 1");
    let server = Server::start_on(&env.db, "0.0.0.0:0");
    let before = cli(&env, &env.db, &["history", &patrol, "--json"]);
    let edit = serde_json::json!({"team": "Bravo"}).to_string();
    let post = |path: &str, headers: &[(&str, &str)]| {
        http(
            "POST",
            &server.url(path),
            headers,
            Some((JSON, edit.as_bytes())),
        )
    };

    // A ranger reads the history, and is refused every change.
    let (ranger, ranger_csrf) = log_in(&server, "Nok", "ranger password 1");
    let page = http(
        "GET",
        &server.url(&format!("/patrols/{patrol}")),
        &[("Cookie", &ranger)],
        None,
    );
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("patrol-edit-form") && page.body.contains("id=\"patrol-history\""),
        "a ranger sees no edit form"
    );
    let a = http(
        "GET",
        &server.url(&format!("/api/history/{patrol}")),
        &[("Cookie", &ranger)],
        None,
    );
    assert_eq!(a.status, 200, "{a:?}");
    for path in [
        format!("/api/patrols/{patrol}/edit"),
        format!("/api/patrols/{patrol}/delete"),
        format!("/api/observations/{obs}/edit"),
        format!("/api/observations/{obs}/delete"),
    ] {
        let a = post(
            &path,
            &[("Cookie", &ranger), ("X-CSRF-Token", &ranger_csrf)],
        );
        assert_eq!(a.status, 403, "{path}: {a:?}");
        assert!(
            a.body.contains("needs the manager role") && a.body.contains("Nok is a ranger"),
            "{}",
            a.body
        );
    }
    let a = http(
        "GET",
        &server.url(&format!("/observations/{obs}/edit")),
        &[("Cookie", &ranger)],
        None,
    );
    assert_eq!(a.status, 403);

    // A manager: not without the page's token, nor with another's.
    let (manager, csrf) = log_in(&server, "Somchai", "manager password 1");
    let path = format!("/api/patrols/{patrol}/edit");
    for headers in [
        vec![("Cookie", manager.as_str())],
        vec![("Cookie", manager.as_str()), ("X-CSRF-Token", "0123")],
        vec![("Cookie", manager.as_str()), ("X-CSRF-Token", &ranger_csrf)],
    ] {
        let a = post(&path, &headers);
        assert_eq!(a.status, 403, "{a:?}");
        assert!(a.body.contains("CSRF"), "{}", a.body);
    }
    let a = http(
        "POST",
        &server.url(&path),
        &[("Cookie", &manager)],
        Some((
            FORM,
            format!("team=Bravo&next=%2Fpatrols%2F{patrol}").as_bytes(),
        )),
    );
    assert_eq!(a.status, 403, "a form without its csrf field: {a:?}");
    assert_eq!(
        cli(&env, &env.db, &["history", &patrol, "--json"]),
        before,
        "nothing saved"
    );
    // With it: the change is made.
    let page = http(
        "GET",
        &server.url(&format!("/patrols/{patrol}")),
        &[("Cookie", &manager)],
        None,
    );
    assert!(
        page.body.contains("id=\"patrol-edit-form\"")
            && page
                .body
                .contains(&format!("name=\"csrf\" value=\"{csrf}\"")),
        "the manager's form carries the token"
    );
    let a = post(&path, &[("Cookie", &manager), ("X-CSRF-Token", &csrf)]);
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.body.contains("\"changed\": true"), "{}", a.body);
    let a = http(
        "POST",
        &server.url(&format!("/api/observations/{obs}/delete")),
        &[("Cookie", &manager)],
        Some((
            FORM,
            format!("csrf={csrf}&next=%2Fpatrols%2F{patrol}").as_bytes(),
        )),
    );
    assert_eq!(a.status, 303, "{a:?}");
    let a = http(
        "GET",
        &server.url(&format!("/observations/{obs}/edit")),
        &[("Cookie", &manager)],
        None,
    );
    assert_eq!(
        a.status, 400,
        "a deleted observation is restored, not edited"
    );
    assert!(a.body.contains("is deleted"), "{}", a.body);
}

#[test]
fn a_manager_edits_a_patrol_and_deletes_restores_and_edits_an_observation_in_chromium() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let env = Env::init();
    env.cmd()
        .arg("import")
        .arg(sample("outpost-a/2026-10-17-alpha-foot.gpx"))
        .args(["--team", "Alpha"])
        .assert()
        .success();
    let patrols: Value = serde_json::from_str(&cli(&env, &env.db, &["patrols", "--json"])).unwrap();
    let patrol = patrols[0]["patrol_id"].as_str().unwrap().to_owned();
    let added: Value = serde_json::from_str(&cli(
        &env,
        &env.db,
        &[
            "observe",
            "--patrol",
            &patrol,
            "--category",
            "snare",
            "--at",
            "14.2,102.1",
            "--attr",
            "count=2",
            "--note",
            "by the stream",
            "--json",
        ],
    ))
    .unwrap();
    let obs = added["observation_id"].as_str().unwrap().to_owned();
    let short = added["short_id"].as_str().unwrap().to_owned();
    let server = Server::start(&env.db);
    let shots = shots();

    // The patrol's team.
    browser.goto(&server.url(&format!("/patrols/{patrol}")));
    browser.click(&browser.find("#patrol-edit summary"));
    let team = browser.find("#edit-team");
    browser.clear(&team);
    browser.send_keys(&team, "Bravo <b>");
    browser.screenshot(&shots.join("edit-patrol.png"));
    browser.click(&browser.find("#patrol-save"));
    browser.wait_until("return document.querySelector('h1').textContent.includes('Bravo <b>')");
    let shown: Value =
        serde_json::from_str(&cli(&env, &env.db, &["show", &patrol, "--json"])).unwrap();
    assert_eq!(shown["team"], "Bravo <b>");

    // A value refused: its message on the page, nothing saved.
    browser.click(&browser.find("#patrol-edit summary"));
    browser.script("document.getElementById('edit-members').removeAttribute('max'); return null");
    let members = browser.find("#edit-members");
    browser.clear(&members);
    browser.send_keys(&members, "5000");
    browser.click(&browser.find("#patrol-save"));
    let error = browser.text(&browser.find("#patrol-edit-form .result .error"));
    assert!(error.contains("members"), "{error}");
    let after: Value =
        serde_json::from_str(&cli(&env, &env.db, &["show", &patrol, "--json"])).unwrap();
    assert_eq!(after["members"], shown["members"]);

    // Delete the observation, then restore it.
    browser.goto(&server.url(&format!("/patrols/{patrol}")));
    browser.click(&browser.find(&format!("#delete-{short}")));
    browser.find(&format!("#deleted-{short}"));
    assert!(
        !observations(&env, &env.db, &patrol)
            .iter()
            .any(|o| o["observation_id"] == obs.as_str())
    );
    browser.screenshot(&shots.join("deleted-observation.png"));
    browser.click(&browser.find(&format!("#restore-{short}")));
    browser.wait_until(&format!(
        "return !document.getElementById('deleted-{short}') && !!document.getElementById('obs-{short}')"
    ));

    // Its edit page: the attributes of its category, filled; a new note.
    browser.goto(&server.url(&format!("/observations/{obs}/edit")));
    let count = browser.script("return document.getElementById('attr-count').value");
    assert_eq!(count.as_str(), Some("2"));
    let note = browser.find("#obs-note");
    browser.clear(&note);
    browser.send_keys(&note, "two wires");
    let count = browser.find("#attr-count");
    browser.clear(&count);
    browser.send_keys(&count, "4");
    browser.screenshot(&shots.join("edit-observation.png"));
    browser.click(&browser.find("#obs-edit-save"));
    browser.wait_until(&format!(
        "return location.pathname === '/patrols/{patrol}' && !!document.getElementById('obs-{short}') && document.getElementById('obs-{short}').textContent.includes('two wires')"
    ));
    let o = observations(&env, &env.db, &patrol)
        .into_iter()
        .find(|o| o["observation_id"] == obs.as_str())
        .unwrap();
    assert_eq!(o["note"], "two wires");
    assert_eq!(o["attributes"]["count"], 4.0);
    assert_eq!(o["lat"], 14.2, "what was not changed stays as it was");

    // Its history: added, deleted, restored, edited.
    browser.click(&browser.find(&format!("#obs-{short} a[href^='/history/']")));
    let table = browser.text(&browser.find("#history"));
    assert!(
        table.contains("deleted") && table.contains("shown") && table.contains("two wires"),
        "{table}"
    );
    let rows = browser.script("return document.querySelectorAll('#history tr').length");
    assert_eq!(rows.as_u64(), Some(5), "a header and four versions");
    browser.screenshot(&shots.join("history.png"));
}

#[test]
fn patrol_history_as_users_read_it() {
    let env = Env::init();
    env.cmd()
        .arg("import")
        .arg(sample("outpost-a/2026-10-17-alpha-foot.gpx"))
        .args(["--team", "Alpha"])
        .assert()
        .success();
    let patrols: Value = serde_json::from_str(&cli(&env, &env.db, &["patrols", "--json"])).unwrap();
    let patrol = patrols[0]["patrol_id"].as_str().unwrap().to_owned();
    let added: Value = serde_json::from_str(&cli(
        &env,
        &env.db,
        &[
            "observe",
            "--patrol",
            &patrol,
            "--category",
            "snare",
            "--at",
            "14.2,102.1",
            "--json",
        ],
    ))
    .unwrap();
    let obs = added["observation_id"].as_str().unwrap().to_owned();
    cli(
        &env,
        &env.db,
        &["edit", "observation", &obs, "--note", "two wires"],
    );
    cli(&env, &env.db, &["delete", "observation", &obs]);
    let history: Value =
        serde_json::from_str(&cli(&env, &env.db, &["history", &obs, "--json"])).unwrap();
    let short = |id: &str| id[id.len() - 8..].to_owned();
    let mut shorts = vec![(short(&obs), "[OBS]")];
    let names = ["[V1]", "[V2]", "[V3]"];
    for (v, name) in history["versions"].as_array().unwrap().iter().zip(names) {
        shorts.push((short(v["version_id"].as_str().unwrap()), name));
        shorts.push((short(v["device_id"].as_str().unwrap()), "[DEVICE]"));
    }
    shorts.sort();
    shorts.dedup();
    let mut settings = crate::snapshots::settings(&[env.dir.path()], &shorts);
    settings.add_filter(r"\b20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "[NOW]");
    let run = |args: &[&str]| {
        crate::snapshots::shown(&env.cmd().env("COLUMNS", "100").args(args).output().unwrap())
    };
    settings.bind(|| {
        insta::assert_snapshot!("history_observation", run(&["history", &short(&obs)]));
        insta::assert_snapshot!("error_history_unknown", run(&["history", "fffff"]));
    });
}
