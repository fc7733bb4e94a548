//! `patrol serve --basemap FILE`: an MBTiles file's tiles served by z/x/y,
//! what is not a tile answered 404, a file that is not a basemap refused
//! before anything listens, and in Chromium the patrol map drawing tiles.

use std::ffi::OsStr;
use std::path::Path;

use serde_json::Value;

use crate::serve::{get_ok, shots};
use crate::util::{Browser, Env, Server};

/// A real 256-pixel tile: pale land with a grid line every 32 pixels.
const PNG: &[u8] = include_bytes!("data/basemap-tile.png");

/// An MBTiles file with every tile of zoom 0..=2 (`tile(z, x, y)` its
/// bytes), rows stored TMS-style as the format has them.
fn mbtiles(path: &Path, tile: impl Fn(u8, u32, u32) -> Vec<u8>) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE metadata (name TEXT, value TEXT);
         CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
         INSERT INTO metadata VALUES ('name', 'Thap Lan survey'), ('format', 'png'),
           ('minzoom', '0'), ('maxzoom', '2'), ('bounds', '-180,-85,180,85'),
           ('attribution', '<img src=x onerror=alert(1)> the survey');",
    )
    .unwrap();
    for z in 0..=2u8 {
        for x in 0..1u32 << z {
            for y in 0..1u32 << z {
                let row = (1u32 << z) - 1 - y;
                conn.execute(
                    "INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)",
                    rusqlite::params![z, x, row, tile(z, x, y)],
                )
                .unwrap();
            }
        }
    }
}

/// GET: the status, the headers asked for and the body's bytes.
fn get_bytes(url: &str, headers: &[&str]) -> (u16, Vec<Option<String>>, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into();
    let mut resp = agent.get(url).call().expect("an answer");
    let status = resp.status().as_u16();
    let got = headers
        .iter()
        .map(|h| {
            resp.headers()
                .get(*h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .collect();
    let body = resp.body_mut().read_to_vec().expect("a body");
    (status, got, body)
}

fn tile_bytes(z: u8, x: u32, y: u32) -> Vec<u8> {
    let mut b = PNG.to_vec();
    // Each tile its own bytes (after the image's end, which viewers ignore).
    b.extend_from_slice(format!("{z}/{x}/{y}").as_bytes());
    b
}

#[test]
fn tiles_are_served_by_zxy_and_what_is_no_tile_is_404() {
    let env = Env::init();
    let file = env.path("park.mbtiles");
    mbtiles(&file, tile_bytes);
    let server = Server::start_with(
        &env.db,
        "127.0.0.1:0",
        &[OsStr::new("--basemap"), file.as_os_str()],
        &[],
    );

    for (z, x, y) in [(0, 0, 0), (1, 0, 1), (2, 3, 0), (2, 1, 2)] {
        let (status, h, body) = get_bytes(
            &server.url(&format!("/tiles/{z}/{x}/{y}")),
            &["content-type", "cache-control"],
        );
        assert_eq!(status, 200, "{z}/{x}/{y}");
        assert_eq!(body, tile_bytes(z, x, y), "{z}/{x}/{y}: the file's bytes");
        assert_eq!(h[0].as_deref(), Some("image/png"));
        assert_eq!(h[1].as_deref(), Some("max-age=86400"));
    }
    // Beyond the file's zoom levels, off the grid, not numbers, traversal.
    for path in [
        "/tiles/3/0/0",
        "/tiles/2/4/0",
        "/tiles/2/0/4",
        "/tiles/1/-1/0",
        "/tiles/1/0/0.png",
        "/tiles/99999999999/0/0",
        "/tiles/a/b/c",
        "/tiles/0/0",
        "/tiles/0/0/0/0",
        "/tiles/../Cargo.toml",
        "/tiles/0/%2e%2e/0",
        "/tiles/+0/0/0",
    ] {
        let (status, _, body) = get_bytes(&server.url(path), &[]);
        assert_eq!(status, 404, "{path}: {}", String::from_utf8_lossy(&body));
    }

    // The patrol page's map data says what to draw; the attribution is text.
    env.cmd()
        .arg("import")
        .arg(crate::util::sample("outpost-a/2026-10-17-alpha-foot.gpx"))
        .args(["--team", "Alpha"])
        .assert()
        .success();
    let patrols: Value = serde_json::from_str(&get_ok(&server, "/api/patrols")).unwrap();
    let id = patrols[0]["patrol_id"].as_str().unwrap();
    let page = get_ok(&server, &format!("/patrols/{id}"));
    let data = page
        .split("<script type=\"application/json\" id=\"map-data\">")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .expect("the map's data");
    let data: Value = serde_json::from_str(data).unwrap();
    assert_eq!(
        data["basemap"],
        serde_json::json!({
            "format": "png", "minzoom": 0, "maxzoom": 2,
            "bounds": [-180.0, -85.0, 180.0, 85.0],
            "attribution": "<img src=x onerror=alert(1)> the survey",
            "name": "Thap Lan survey",
        })
    );
    assert!(!page.contains("<img src=x"), "escaped in the page");
}

#[test]
fn a_pmtiles_file_is_served_as_well() {
    // Written by the pmtiles Python package (its generator beside it).
    let env = Env::init();
    let file = crate::util::data("basemap-reference.pmtiles");
    let server = Server::start_with(
        &env.db,
        "127.0.0.1:0",
        &[OsStr::new("--basemap"), file.as_os_str()],
        &[],
    );
    let sig = b"\x89PNG\r\n\x1a\n";
    for (z, x, y, label) in [(0, 0, 0, "0/0/0"), (2, 1, 3, "2/1/3"), (3, 5, 2, "3/5/2")] {
        let (status, h, body) = get_bytes(
            &server.url(&format!("/tiles/{z}/{x}/{y}")),
            &["content-type"],
        );
        assert_eq!(
            (status, h[0].as_deref()),
            (200, Some("image/png")),
            "{z}/{x}/{y}"
        );
        assert_eq!(body, [&sig[..], label.as_bytes()].concat());
    }
    // Tile id 60 (3/5/6) was left out of the file; zoom 4 is beyond it.
    for path in ["/tiles/3/5/6", "/tiles/4/0/0"] {
        assert_eq!(get_bytes(&server.url(path), &[]).0, 404, "{path}");
    }
}

#[test]
fn without_a_basemap_the_map_is_plain_and_tiles_are_404() {
    let env = Env::init();
    let server = Server::start(&env.db);
    let (status, _, body) = get_bytes(&server.url("/tiles/0/0/0"), &[]);
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("--basemap"));
}

#[test]
fn a_file_that_is_no_basemap_is_refused_before_listening() {
    let env = Env::init();
    let refusal = |file: &Path| {
        let out = env
            .cmd()
            .args(["serve", "--listen", "127.0.0.1:0", "--basemap"])
            .arg(file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(!stderr.contains("listening on"), "{stderr}");
        assert!(stderr.contains(&file.display().to_string()), "{stderr}");
        stderr
    };
    let text = env.write("notes.mbtiles", "not a map at all\n");
    assert!(refusal(&text).contains("neither an MBTiles (SQLite) nor a PMTiles file"));
    // The patrol database is SQLite, but no MBTiles.
    assert!(refusal(&env.db).contains("not an MBTiles file (no tiles table)"));
    let vector = env.path("vector.mbtiles");
    mbtiles(&vector, |_, _, _| vec![0x1f, 0x8b, 8, 0]);
    rusqlite::Connection::open(&vector)
        .unwrap()
        .execute(
            "UPDATE metadata SET value = 'pbf' WHERE name = 'format'",
            [],
        )
        .unwrap();
    assert!(refusal(&vector).contains("raster MBTiles or PMTiles"));
    assert!(refusal(&env.path("missing.pmtiles")).contains("missing.pmtiles"));
}

#[test]
fn the_patrol_map_draws_the_basemap_tiles_in_chromium() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let env = Env::init();
    env.cmd()
        .arg("import")
        .arg(crate::util::sample("outpost-a/2026-10-17-alpha-foot.gpx"))
        .args(["--team", "Alpha"])
        .assert()
        .success();
    let file = env.path("park.mbtiles");
    mbtiles(&file, tile_bytes);
    let server = Server::start_with(
        &env.db,
        "127.0.0.1:0",
        &[OsStr::new("--basemap"), file.as_os_str()],
        &[],
    );
    let patrols: Value = serde_json::from_str(&get_ok(&server, "/api/patrols")).unwrap();
    let id = patrols[0]["patrol_id"].as_str().unwrap();
    browser.goto(&server.url(&format!("/patrols/{id}")));
    browser.find("#map .leaflet-overlay-pane path.track");
    // Zoomed in on the patrol, the map asks for the zoom-2 tiles (the
    // file's deepest) and draws them larger.
    browser.wait_until(
        "return Array.from(document.querySelectorAll('#map img.leaflet-tile')).some(i => i.complete && i.naturalWidth > 0 && /\\/tiles\\/2\\/\\d+\\/\\d+$/.test(i.src))",
    );
    let attribution = browser.text(&browser.find("#map .leaflet-control-attribution"));
    assert!(
        attribution.contains("<img src=x onerror=alert(1)> the survey"),
        "shown as text: {attribution}"
    );
    let injected = browser
        .script("return document.querySelectorAll('#map .leaflet-control-attribution img').length");
    assert_eq!(injected, Value::from(0));
    browser.screenshot(&shots().join("patrol-basemap.png"));
}
