//! `patrol serve`'s Sync and Check pages: the API against the CLI's JSON
//! (merge, ledger, conflicts, check), the export download merged elsewhere,
//! hostile uploads, the coordinator's role beyond this computer, and a real
//! headless Chromium merging a file and keeping a version of a conflict.

use std::path::Path;

use serde_json::Value;

use crate::serve::{add_user, cli, log_in, shots};
use crate::sync::{import, other, site_with_two_outposts};
use crate::util::{Browser, Env, Server, http, http_get, multipart};

const FORM: &str = "application/x-www-form-urlencoded";

fn get_ok(server: &Server, path: &str) -> String {
    let (status, body) = http_get(&server.url(path));
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// The CLI's stdout for `args` run in `dir`, whatever its exit code (a
/// merge with a file rejected, a check with problems, exit 1).
fn cli_in(db: &Path, dir: &Path, args: &[&str]) -> String {
    let out = assert_cmd::Command::cargo_bin("patrol")
        .unwrap()
        .env_remove("PATROL_DB")
        .current_dir(dir)
        .arg("--quiet")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("runs");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The CLI's stderr for `args`, which it refuses.
fn cli_refusal(db: &Path, args: &[&str]) -> String {
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

/// POST files to `/api/merge` (with extra headers): the status and body.
fn post_merge(server: &Server, headers: &[(&str, &str)], files: &[(&str, &[u8])]) -> (u16, String) {
    let (ct, body) = multipart(&[], files);
    let a = http(
        "POST",
        &server.url("/api/merge"),
        headers,
        Some((&ct, &body)),
    );
    (a.status, a.body)
}

/// An answer whose body is bytes (the export download).
struct Download {
    status: u16,
    content_type: String,
    disposition: String,
    length: Option<u64>,
    bytes: Vec<u8>,
}

/// `method` `url` with headers and a form body: the answer as bytes.
fn download(method: &str, url: &str, headers: &[(&str, &str)], form: &str) -> Download {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        .build()
        .into();
    let resp = if method == "GET" {
        let mut r = agent.get(url);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.call()
    } else {
        let mut r = agent.post(url);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.header("Content-Type", FORM).send(form.as_bytes())
    }
    .expect("an answer");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let length = header("content-length").parse().ok();
    let status = resp.status().as_u16();
    let mut resp = resp;
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .expect("a body");
    Download {
        status,
        content_type,
        disposition,
        length,
        bytes,
    }
}

/// An outpost with two patrols and its export, `a-export.gpkg`, in the
/// office's folder; the office's database has merged nothing yet.
fn office_and_an_export() -> (Env, Env, std::path::PathBuf) {
    let (central, a, _b) = site_with_two_outposts();
    import(&a, "a1.gpx", 14.2, 4);
    import(&a, "a2.gpx", 14.3, 5);
    let export = central.path("a-export.gpkg");
    a.cmd()
        .arg("export")
        .arg("--out")
        .arg(&export)
        .assert()
        .success();
    (central, a, export)
}

#[test]
fn a_merge_by_the_web_answers_what_merge_json_prints_and_the_ledger_and_check_are_the_clis() {
    let (central, _a, export) = office_and_an_export();
    let bytes = std::fs::read(&export).unwrap();
    // Two copies of the office's database: one merges by the web, the
    // other by the CLI.
    let web = other(&central, "web.gpkg");
    let by_cli = other(&central, "cli.gpkg");
    std::fs::copy(&central.db, &web.db).unwrap();
    std::fs::copy(&central.db, &by_cli.db).unwrap();
    let server = Server::start(&web.db);
    let dir = central.dir.path();
    for want_status in ["merged", "duplicate"] {
        let (status, body) = post_merge(&server, &[], &[("a-export.gpkg", &bytes)]);
        assert_eq!(status, 200, "{body}");
        let want = cli_in(&by_cli.db, dir, &["merge", "--json", "a-export.gpkg"]);
        assert_eq!(body, want, "the web's merge is the CLI's");
        let got: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(got[0]["status"], want_status, "{got}");
    }
    let same = |args: &[&str]| cli(&web, &web.db, args);
    assert_eq!(
        same(&["patrols", "--json"]),
        cli(&by_cli, &by_cli.db, &["patrols", "--json"])
    );
    assert_eq!(get_ok(&server, "/api/ledger"), same(&["ledger", "--json"]));
    let ledger: Value = serde_json::from_str(&get_ok(&server, "/api/ledger")).unwrap();
    assert_eq!(ledger.as_array().unwrap().len(), 1);
    assert_eq!(ledger[0]["file_name"], "a-export.gpkg");
    assert_eq!(
        get_ok(&server, "/api/conflicts"),
        same(&["conflicts", "--json"])
    );
    assert_eq!(
        get_ok(&server, "/api/check"),
        cli_in(&web.db, dir, &["check", "--json"])
    );
    // The page shows the ledger.
    let page = get_ok(&server, "/sync");
    assert!(
        page.contains("id=\"ledger-table\"") && page.contains("a-export.gpkg"),
        "{page}"
    );
    assert!(page.contains("id=\"no-conflicts\""));
}

#[test]
fn the_export_download_merges_into_another_database_with_the_same_patrols() {
    let (central, a, _) = office_and_an_export();
    let tmp = tempfile::tempdir_in(central.dir.path()).unwrap();
    let server = Server::start_with(&a.db, "127.0.0.1:0", &[], &[("TMPDIR", tmp.path())]);
    // A GET changes nothing: the export is a POST (it remembers what was
    // exported), from this app's pages only.
    let d = download("GET", &server.url("/sync/export.gpkg"), &[], "");
    assert_eq!(d.status, 405);
    let d = download(
        "POST",
        &server.url("/sync/export.gpkg"),
        &[("Origin", "http://evil.example")],
        "",
    );
    assert_eq!(d.status, 403);

    let d = download("POST", &server.url("/sync/export.gpkg"), &[], "");
    assert_eq!(d.status, 200, "{}", String::from_utf8_lossy(&d.bytes));
    assert_eq!(d.content_type, "application/geopackage+sqlite3");
    assert_eq!(d.length, Some(d.bytes.len() as u64));
    let name = d
        .disposition
        .split("filename=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("a file name: {}", d.disposition));
    assert!(
        d.disposition.starts_with("attachment;")
            && name.starts_with("Thap-Lan-20")
            && Path::new(name).extension() == Some("gpkg".as_ref())
            && name.len() == "Thap-Lan-YYYY-MM-DD.gpkg".len(),
        "{}",
        d.disposition
    );
    assert!(d.bytes.starts_with(b"SQLite format 3\0"));
    // The temporary file is gone once sent.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_dir(tmp.path()).unwrap().next().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "left behind: {:?}",
            std::fs::read_dir(tmp.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect::<Vec<_>>()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let file = central.path(name);
    std::fs::write(&file, &d.bytes).unwrap();
    let (r, code) = central.json(&["merge", "--json", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r[0]["status"], "merged", "{r}");
    let ids = |env: &Env| {
        let (list, _) = env.json(&["patrols", "--json"]);
        let mut ids: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["patrol_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&central).len(), 2);
    assert_eq!(ids(&central), ids(&a));
    for id in ids(&a) {
        let show = |env: &Env| cli(env, &env.db, &["show", "--json", &id]);
        assert_eq!(show(&central), show(&a), "patrol {id}");
    }
}

#[test]
fn a_hostile_file_gets_its_error_and_changes_nothing_and_a_good_one_beside_it_merges() {
    let (central, _a, export) = office_and_an_export();
    let good = std::fs::read(&export).unwrap();
    let server = Server::start(&central.db);
    let junk = "\u{1}garbage".repeat(1000);
    // Junk alone: rejected as the CLI rejects it, nothing changed.
    let dir = tempfile::tempdir_in(central.dir.path()).unwrap();
    std::fs::write(dir.path().join("junk.gpkg"), &junk).unwrap();
    let (status, body) = post_merge(&server, &[], &[("junk.gpkg", junk.as_bytes())]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        cli_in(&central.db, dir.path(), &["merge", "--json", "junk.gpkg"])
    );
    let got: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(got[0]["status"], "rejected");
    assert!(
        got[0]["error"].as_str().unwrap().starts_with("junk.gpkg: "),
        "{got}"
    );
    // A file cut short, one that names a path, and a good one: each its own result.
    let half = &good[..good.len() / 2];
    let (status, body) = post_merge(
        &server,
        &[],
        &[
            ("../../etc/half.gpkg", half),
            ("junk.gpkg", junk.as_bytes()),
            ("a-export.gpkg", &good),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("patrol-merge-"), "no private folder: {body}");
    let got: Value = serde_json::from_str(&body).unwrap();
    let got = got.as_array().unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0]["file"], "half.gpkg");
    assert_eq!(got[0]["status"], "rejected", "{got:?}");
    assert!(got[0]["error"].as_str().unwrap().starts_with("half.gpkg: "));
    assert_eq!(got[1]["status"], "rejected");
    assert_eq!(got[2]["status"], "merged");
    assert!(got[2]["records_added"].as_u64().unwrap() > 0, "{got:?}");
    let ledger: Value = serde_json::from_str(&get_ok(&server, "/api/ledger")).unwrap();
    assert_eq!(ledger.as_array().unwrap().len(), 1, "only the good file");
    let patrols = get_ok(&server, "/api/patrols");
    // No file: a 400; a body over the limit: refused whole (413, or the
    // connection closed as it is read), nothing merged.
    let (status, _) = post_merge(&server, &[], &[]);
    assert_eq!(status, 400);
    let big = vec![b' '; 64 * 1024 * 1024 + 1];
    let (ct, body) = multipart(&[], &[("big.gpkg", &big)]);
    match ureq::post(server.url("/api/merge"))
        .header("Content-Type", &ct)
        .send(&body[..])
    {
        Err(ureq::Error::StatusCode(413) | ureq::Error::Io(_)) => {}
        other => panic!("a body over the limit: {other:?}"),
    }
    assert_eq!(get_ok(&server, "/api/patrols"), patrols);
    assert_eq!(
        serde_json::from_str::<Value>(&get_ok(&server, "/api/ledger"))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn beyond_this_computer_a_manager_is_refused_sync_and_a_coordinator_may() {
    let (central, _a, export) = office_and_an_export();
    let good = std::fs::read(&export).unwrap();
    add_user(&central, "Somchai", "manager", "manager password 1");
    add_user(&central, "Kanya", "coordinator", "coordinator password 1");
    let server = Server::start_on(&central.db, "0.0.0.0:0");
    let small: &[u8] = b"SQLite format 3\0";

    let (manager, csrf) = log_in(&server, "Somchai", "manager password 1");
    let m = [
        ("Cookie", manager.as_str()),
        ("X-CSRF-Token", csrf.as_str()),
    ];
    let (status, body) = post_merge(&server, &m, &[("a.gpkg", small)]);
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("needs the coordinator role") && body.contains("Somchai is a manager"),
        "{body}"
    );
    let a = http(
        "POST",
        &server.url("/api/conflicts/resolve"),
        &m,
        Some(("application/json", b"{\"record\":\"x\",\"keep\":\"y\"}")),
    );
    assert_eq!(a.status, 403, "{a:?}");
    let d = download(
        "POST",
        &server.url("/sync/export.gpkg"),
        &[("Cookie", manager.as_str())],
        &format!("csrf={csrf}"),
    );
    assert_eq!(d.status, 403);
    // The manager reads the ledger, the conflicts and the check; the page
    // has no buttons for them.
    for path in ["/api/ledger", "/api/conflicts", "/api/check", "/check"] {
        let a = http("GET", &server.url(path), &[("Cookie", &manager)], None);
        assert_eq!(a.status, 200, "{path}: {a:?}");
    }
    let page = http("GET", &server.url("/sync"), &[("Cookie", &manager)], None);
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("id=\"merge-form\"") && !page.body.contains("id=\"export-form\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("href=\"/sync\"") && page.body.contains("href=\"/check\""));
    let ledger = http(
        "GET",
        &server.url("/api/ledger"),
        &[("Cookie", &manager)],
        None,
    );
    assert_eq!(ledger.body, "[]\n", "nothing merged");

    // The coordinator: with the page's token only.
    let (coordinator, csrf) = log_in(&server, "Kanya", "coordinator password 1");
    let (status, body) = post_merge(&server, &[("Cookie", &coordinator)], &[("a.gpkg", small)]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("CSRF"), "{body}");
    let page = http(
        "GET",
        &server.url("/sync"),
        &[("Cookie", &coordinator)],
        None,
    );
    assert!(
        page.body.contains("id=\"merge-form\"")
            && page
                .body
                .contains(&format!("name=\"csrf\" value=\"{csrf}\"")),
        "{}",
        page.body
    );
    let c = [
        ("Cookie", coordinator.as_str()),
        ("X-CSRF-Token", csrf.as_str()),
    ];
    let (status, body) = post_merge(&server, &c, &[("a-export.gpkg", &good)]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"merged\""), "{body}");
    // The export form posts the token as a field.
    let d = download(
        "POST",
        &server.url("/sync/export.gpkg"),
        &[("Cookie", coordinator.as_str())],
        &format!("csrf={csrf}"),
    );
    assert_eq!(d.status, 200);
    assert!(d.bytes.starts_with(b"SQLite format 3\0"));
    // No password hash travels in the file.
    let file = central.path("out.gpkg");
    std::fs::write(&file, &d.bytes).unwrap();
    let users: i64 = rusqlite::Connection::open(&file)
        .unwrap()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(users, 0);
}

/// An office whose outposts edited one observation two ways and whose
/// exports it merged: (office, patrol, observation).
fn office_with_a_conflict() -> (Env, String, String) {
    let (central, a, b) = site_with_two_outposts();
    let patrol = import(&a, "a1.gpx", 14.2, 4);
    let ea = central.path("a.out");
    a.cmd()
        .arg("export")
        .arg("--out")
        .arg(&ea)
        .assert()
        .success();
    b.cmd().arg("merge").arg(&ea).assert().success();
    let (shown, _) = b.json(&["show", "--json", &patrol]);
    let obs = shown["observations"][0]["observation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (env, category) in [(&a, "carcass"), (&b, "gunshot")] {
        env.cmd()
            .args(["edit", "observation", &obs, "--category", category])
            .assert()
            .success();
    }
    let (fa, fb) = (central.path("a2.out"), central.path("b2.out"));
    a.cmd()
        .arg("export")
        .arg("--out")
        .arg(&fa)
        .assert()
        .success();
    b.cmd()
        .arg("export")
        .arg("--out")
        .arg(&fb)
        .assert()
        .success();
    central
        .cmd()
        .arg("merge")
        .arg(&fa)
        .arg(&fb)
        .assert()
        .success();
    (central, patrol, obs)
}

#[test]
fn conflicts_are_shown_side_by_side_and_one_version_is_kept_with_the_button() {
    let (central, patrol, obs) = office_with_a_conflict();
    let server = Server::start(&central.db);
    let listed = get_ok(&server, "/api/conflicts");
    assert_eq!(listed, cli(&central, &central.db, &["conflicts", "--json"]));
    let list: Value = serde_json::from_str(&listed).unwrap();
    let heads = list[0]["heads"].as_array().unwrap();
    assert_eq!(heads.len(), 2);
    let keep = heads
        .iter()
        .find(|h| h["summary"].as_str().unwrap().contains("carcass"))
        .expect("the carcass head")["version_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A version that is not a head: refused as the CLI refuses it.
    let url = server.url("/api/conflicts/resolve");
    let bad = serde_json::json!({"record": obs, "keep": "ffff"}).to_string();
    let a = http(
        "POST",
        &url,
        &[],
        Some(("application/json", bad.as_bytes())),
    );
    assert_eq!(a.status, 400, "{a:?}");
    let error: Value = serde_json::from_str(&a.body).unwrap();
    let error = error["error"].as_str().unwrap();
    assert!(error.contains("is not a head"), "{error}");
    let said = cli_refusal(
        &central.db,
        &["conflicts", "resolve", &obs, "--keep", "ffff"],
    );
    assert!(
        said.contains(error),
        "the CLI says {said:?}, the API {error:?}"
    );
    let a = http("POST", &url, &[], Some(("application/json", b"{}")));
    assert_eq!(a.status, 400, "{a:?}");
    let a = http("POST", &url, &[], Some(("application/json", b"[")));
    assert_eq!(a.status, 400, "{a:?}");
    // Both heads side by side, each with its content and a button.
    let page = get_ok(&server, "/sync");
    assert_eq!(page.matches("data-version=").count(), 2, "{page}");
    assert!(page.contains("carcass") && page.contains("gunshot"));
    assert_eq!(page.matches("Keep this version").count(), 2);

    let resolved = if let Some(browser) = Browser::start() {
        browser.goto(&server.url("/sync"));
        let i = browser.script(
                "return Array.from(document.querySelectorAll('.heads > .head')).findIndex(h => h.textContent.includes('carcass'))",
            );
        let i = i.as_u64().expect("the carcass head is shown");
        browser.script("document.getElementById('conflicts').scrollIntoView(); return null;");
        browser.screenshot(&shots().join("sync-conflict.png"));
        browser.click(&browser.find(&format!(
            ".heads > .head:nth-child({}) .keep-form button",
            i + 1
        )));
        let said = browser.text(&browser.find("#resolved"));
        assert!(said.contains(&keep), "{said}");
        browser.find("#no-conflicts");
        browser.screenshot(&shots().join("sync-resolved.png"));
        true
    } else {
        let body = serde_json::json!({"record": obs, "keep": keep}).to_string();
        let a = http(
            "POST",
            &url,
            &[],
            Some(("application/json", body.as_bytes())),
        );
        assert_eq!(a.status, 200, "{a:?}");
        let r: Value = serde_json::from_str(&a.body).unwrap();
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "kept_version_id",
                "kind",
                "record_id",
                "short_id",
                "version_id"
            ]
        );
        assert_eq!(r["kept_version_id"], keep.as_str());
        false
    };
    eprintln!("resolved in the browser: {resolved}");
    assert_eq!(cli(&central, &central.db, &["conflicts", "--json"]), "[]\n");
    let (shown, _) = central.json(&["show", "--json", &patrol]);
    assert_eq!(shown["observations"][0]["category"], "carcass");
    assert!(get_ok(&server, "/sync").contains("id=\"no-conflicts\""));
}

#[test]
fn a_coordinator_drops_an_export_on_the_sync_page_and_sees_its_result_in_chromium() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let (central, _a, export) = office_and_an_export();
    let junk = central.write("junk.gpkg", &"\u{1}garbage".repeat(100));
    let server = Server::start(&central.db);
    browser.goto(&server.url("/sync"));
    let nav = browser.text(&browser.find("header nav"));
    assert!(nav.contains("Sync") && nav.contains("Check"), "{nav}");
    browser.find("#export-form button");
    let input = browser.find("input#merge-file");
    browser.send_keys(
        &input,
        &format!("{}\n{}", export.to_str().unwrap(), junk.to_str().unwrap()),
    );
    let chosen = browser.text(&browser.find("#merge-chosen"));
    assert!(chosen.contains("2 files"), "{chosen}");
    browser.screenshot(&shots().join("sync-chosen.png"));
    browser.click(&browser.find("#merge-button"));
    let text = browser.text(&browser.find("#merge-table"));
    assert!(
        text.contains("a-export.gpkg") && text.contains("merged"),
        "{text}"
    );
    assert!(
        text.contains("junk.gpkg") && text.contains("rejected") && text.contains("not a SQLite"),
        "{text}"
    );
    // The ledger below is put in anew: it names the file merged.
    let ledger = browser.text(&browser.find("#ledger-table"));
    assert!(ledger.contains("a-export.gpkg"), "{ledger}");
    browser.screenshot(&shots().join("sync-merged.png"));
    // The check page links the patrols its findings name.
    browser.goto(&server.url("/check"));
    browser.find("#findings");
}

#[test]
fn the_check_page_is_check_json_with_each_named_patrol_linked() {
    let env = Env::new();
    env.cmd()
        .args(["demo", "--dir"])
        .arg(env.path("demo"))
        .assert()
        .success();
    let db = env.path("demo/thaplan.gpkg");
    let server = Server::start(&db);
    let want = cli_in(&db, env.dir.path(), &["check", "--json"]);
    assert_eq!(get_ok(&server, "/api/check"), want);
    let findings: Value = serde_json::from_str(&want).unwrap();
    let page = get_ok(&server, "/check");
    assert_eq!(
        page.matches("<tr class=\"sev-").count(),
        findings.as_array().unwrap().len()
    );
    let mut named = 0;
    for f in findings.as_array().unwrap() {
        let detail = f["detail"].as_str().unwrap();
        for part in detail.split("patrol ").skip(1) {
            let Some(id) = part.get(..36) else { continue };
            let uuid = id.len() == 36
                && id.char_indices().all(|(i, c)| {
                    if [8, 13, 18, 23].contains(&i) {
                        c == '-'
                    } else {
                        c.is_ascii_hexdigit()
                    }
                });
            if uuid {
                named += 1;
                // Linked by its short id (the whole one in the title).
                let short = &id[id.len() - 8..];
                assert!(
                    page.contains(&format!(
                        "<a href=\"/patrols/{id}\" title=\"{id}\">{short}</a>"
                    )),
                    "{id} is linked"
                );
                assert_eq!(http_get(&server.url(&format!("/patrols/{id}"))).0, 200);
            }
        }
    }
    eprintln!("{named} patrols named by the findings");
}
