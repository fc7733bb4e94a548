use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// A scratch directory with a database path in it.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl Env {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let db = dir.path().join("patrol.gpkg");
        Env { dir, db }
    }

    /// A fresh database for Thap Lan.
    pub fn init() -> Self {
        let env = Env::new();
        env.cmd()
            .args(["init", "--site", "Thap Lan", "--timezone", "Asia/Bangkok"])
            .assert()
            .success();
        env
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("patrol").expect("the patrol binary");
        c.arg("--db")
            .arg(&self.db)
            .arg("--quiet")
            .env_remove("PATROL_DB");
        c
    }

    /// Run and parse stdout as JSON, whatever the exit code.
    pub fn json(&self, args: &[&str]) -> (Value, i32) {
        let out = self.cmd().args(args).output().expect("runs");
        let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (v, out.status.code().unwrap_or(-1))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write");
        p
    }
}

pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

pub fn sample(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/samples")
        .join(rel)
}

/// A small GPX 1.1 file: one segment of (lat, lon, time) points and named waypoints.
pub fn gpx(
    points: &[(f64, f64, Option<&str>)],
    waypoints: &[(f64, f64, &str, Option<&str>)],
) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">"#,
    );
    for (lat, lon, name, time) in waypoints {
        let _ = write!(s, r#"<wpt lat="{lat}" lon="{lon}"><name>{name}</name>"#);
        if let Some(t) = time {
            let _ = write!(s, "<time>{t}</time>");
        }
        s.push_str("</wpt>\n");
    }
    s.push_str("<trk><trkseg>\n");
    for (lat, lon, time) in points {
        let _ = write!(s, r#"<trkpt lat="{lat}" lon="{lon}">"#);
        if let Some(t) = time {
            let _ = write!(s, "<time>{t}</time>");
        }
        s.push_str("</trkpt>\n");
    }
    s.push_str("</trkseg></trk></gpx>\n");
    s
}

// ---- patrol serve: the server, an HTTP client, a WebDriver session ----

/// `patrol serve --listen 127.0.0.1:0` on a database, stopped when dropped.
pub struct Server {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`, as its `listening on` line said.
    pub base: String,
}

impl Server {
    pub fn start(db: &Path) -> Self {
        Self::start_on(db, "127.0.0.1:0")
    }

    /// `patrol serve --listen ADDR`; a server on all addresses (0.0.0.0)
    /// is talked to at 127.0.0.1.
    pub fn start_on(db: &Path, listen: &str) -> Self {
        Self::start_with(db, listen, &[], &[])
    }

    /// `patrol serve --listen ADDR` with more arguments (e.g. `--basemap F`)
    /// and more environment (e.g. `TMPDIR`).
    pub fn start_with(
        db: &Path,
        listen: &str,
        more: &[&std::ffi::OsStr],
        envs: &[(&str, &Path)],
    ) -> Self {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("patrol"))
            .arg("--db")
            .arg(db)
            .args(["serve", "--listen", listen])
            .args(more)
            .envs(envs.iter().copied())
            .env_remove("PATROL_DB")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("patrol serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = std::io::BufReader::new(stderr).lines();
        let first = lines.next().expect("a line on stderr").expect("readable");
        let base = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("not a listening line: {first}"))
            .replace("//0.0.0.0:", "//127.0.0.1:");
        // Keep reading stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        .build()
        .into()
}

fn read(mut resp: ureq::http::Response<ureq::Body>) -> (u16, String) {
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_string()
        .expect("a text body");
    (status, text)
}

/// GET: the status and the body.
pub fn http_get(url: &str) -> (u16, String) {
    read(agent().get(url).call().expect("an answer"))
}

/// POST a body of a content type: the status and the body.
pub fn http_post(url: &str, content_type: &str, body: &[u8]) -> (u16, String) {
    read(
        agent()
            .post(url)
            .header("Content-Type", content_type)
            .send(body)
            .expect("an answer"),
    )
}

/// An answer with the headers a login test reads.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// `Location`, if any.
    pub location: Option<String>,
    /// Every `Set-Cookie`.
    pub cookies: Vec<String>,
    pub body: String,
}

/// A request that follows no redirect: `method` GET or POST, with extra
/// headers (e.g. `Cookie`, `X-CSRF-Token`) and, for a POST, a body of a
/// content type.
pub fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> Answer {
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
        let (ct, bytes) = body.unwrap_or(("application/x-www-form-urlencoded", b""));
        r.header("Content-Type", ct).send(bytes)
    }
    .expect("an answer");
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let cookies = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let (status, body) = read(resp);
    Answer {
        status,
        location,
        cookies,
        body,
    }
}

/// A multipart/form-data body of text fields and files (name, bytes).
pub fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----patrol-test-boundary-7d3f";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/gpx+xml\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Headless Chromium driven through chromedriver's W3C WebDriver API.
pub struct Browser {
    driver: std::process::Child,
    base: String,
    session: String,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// A browser at 1366x768, or `None` (with a loud line) when chromium
    /// or chromedriver is missing; with `CI` set a missing browser fails.
    pub fn start() -> Option<Browser> {
        let (chromium, driver) = ("/usr/bin/chromium", "/usr/bin/chromedriver");
        if !(Path::new(chromium).exists() && Path::new(driver).exists()) {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI: {chromium} and {driver} are needed (apt-get install chromium chromium-driver)"
            );
            eprintln!(
                "\n********** SKIPPED: the browser test needs {chromium} and {driver} (apt-get install chromium chromium-driver) **********\n"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let mut browser = Browser {
            driver: child,
            base,
            session: String::new(),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Ok(resp) = agent().get(&format!("{}/status", browser.base)).call() {
                let (_, text) = read(resp);
                if serde_json::from_str::<Value>(&text)
                    .is_ok_and(|v| v["value"]["ready"] == Value::Bool(true))
                {
                    break;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "chromedriver never got ready"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1366,768",
                         "--hide-scrollbars", "--force-device-scale-factor=1"]
            }
        }}});
        let v = browser.call("POST", "/session", Some(&caps));
        v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .clone_into(&mut browser.session);
        Some(browser)
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let resp = match method {
            "GET" => agent().get(&url).call(),
            "DELETE" => agent().delete(&url).call(),
            _ => agent()
                .post(&url)
                .header("Content-Type", "application/json")
                .send(
                    serde_json::to_vec(body.unwrap_or(&serde_json::json!({})))
                        .expect("json")
                        .as_slice(),
                ),
        }
        .expect("chromedriver answers");
        let (_, text) = read(resp);
        let v: Value = serde_json::from_str(&text).expect("JSON from chromedriver");
        if path == "/session" {
            return v["value"].clone();
        }
        v
    }

    fn s(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    pub fn goto(&self, url: &str) {
        let v = self.call(
            "POST",
            &self.s("/url"),
            Some(&serde_json::json!({"url": url})),
        );
        assert!(v["value"].is_null(), "navigation to {url}: {v}");
    }

    /// The first element matching a CSS selector, waited for (10 s).
    pub fn find(&self, css: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let v = self.call(
                "POST",
                &self.s("/element"),
                Some(&serde_json::json!({"using": "css selector", "value": css})),
            );
            if let Some(id) = v["value"][ELEMENT].as_str() {
                return id.to_owned();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no element {css}: {v}\npage: {}",
                self.script("return document.body ? document.body.innerText : ''")
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    pub fn send_keys(&self, element: &str, text: &str) {
        let v = self.call(
            "POST",
            &self.s(&format!("/element/{element}/value")),
            Some(&serde_json::json!({"text": text})),
        );
        assert!(v["value"].is_null(), "keys: {v}");
    }

    /// Empty an input.
    pub fn clear(&self, element: &str) {
        let v = self.call("POST", &self.s(&format!("/element/{element}/clear")), None);
        assert!(v["value"].is_null(), "clear: {v}");
    }

    /// Wait (10 s) until a script returns true.
    pub fn wait_until(&self, script: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.script(script) != Value::Bool(true) {
            assert!(
                std::time::Instant::now() < deadline,
                "never true: {script}\npage: {}",
                self.script("return document.body ? document.body.innerText : ''")
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    pub fn click(&self, element: &str) {
        let v = self.call("POST", &self.s(&format!("/element/{element}/click")), None);
        assert!(v["value"].is_null(), "click: {v}");
    }

    pub fn text(&self, element: &str) -> String {
        let v = self.call("GET", &self.s(&format!("/element/{element}/text")), None);
        v["value"].as_str().unwrap_or_default().to_owned()
    }

    /// Run a script in the page; its return value.
    pub fn script(&self, script: &str) -> Value {
        let v = self.call(
            "POST",
            &self.s("/execute/sync"),
            Some(&serde_json::json!({"script": script, "args": []})),
        );
        v["value"].clone()
    }

    /// A PNG of the window, written to `path`.
    pub fn screenshot(&self, path: &Path) {
        let v = self.call("GET", &self.s("/screenshot"), None);
        let png = base64(v["value"].as_str().expect("a screenshot"));
        std::fs::write(path, png).expect("write the screenshot");
    }

    /// The page printed on A4 (PDF), written to `path`.
    pub fn print_a4(&self, path: &Path) {
        let v = self.call(
            "POST",
            &self.s("/print"),
            Some(&serde_json::json!({"page": {"width": 21.0, "height": 29.7}, "background": true})),
        );
        let pdf = base64(v["value"].as_str().expect("a PDF"));
        std::fs::write(path, pdf).expect("write the PDF");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = agent()
                .delete(&format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Standard base64 (with padding) to bytes.
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    for chunk in clean.chunks(4) {
        let data: Vec<u8> = chunk.iter().copied().filter(|&c| c != b'=').collect();
        let mut n = 0u32;
        for (i, &c) in data.iter().enumerate() {
            n |= value(c) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..data.len().saturating_sub(1)]);
    }
    out
}
