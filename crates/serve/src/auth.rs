//! Users who log in, when the server listens beyond this computer (issue
//! 11): the login form, sessions kept in memory (a random token in an
//! HttpOnly, SameSite=Strict cookie), a CSRF token per session on every
//! change, and the role rule ([`patrol_core::role::Role::may`]) asked for
//! every route by [`need`]. On loopback there are no sessions and none of
//! this applies.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use patrol_core::role::{Action, Role};
use patrol_report::html::escape;

use crate::Shared;
use crate::web::{AppError, HTML, with_store};

/// The session cookie's name.
pub const COOKIE: &str = "patrol_session";
/// The header the pages' script sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The hidden form field the pages' forms send it in.
pub const CSRF_FIELD: &str = "csrf";

/// The session's CSRF token as a form's hidden field (nothing on loopback,
/// where nobody logs in).
pub fn csrf_field(who: &Who) -> String {
    who.0.as_ref().map_or_else(String::new, |s| {
        format!(
            "<input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">",
            escape(&s.csrf)
        )
    })
}
/// A session unused this long ends.
pub const IDLE: Duration = Duration::from_secs(12 * 60 * 60);
/// How long a wrong name or password waits before its answer.
const FAILED_DELAY: Duration = Duration::from_millis(800);
/// The largest form body read for its CSRF field or its login.
const MAX_FORM: usize = 64 * 1024;

/// A logged-in user's session.
#[derive(Clone, Debug)]
pub struct Session {
    pub name: String,
    pub role: Role,
    /// The token every change must carry.
    pub csrf: String,
    expires: Instant,
}

/// Passwords checked at once: argon2 is slow on purpose, and a flood of
/// logins waits its turn instead of taking every blocking thread. A wrong
/// password keeps its turn through its delay, so guesses come a few a
/// second at most, however many are sent at once.
const CHECKS_AT_ONCE: usize = 2;

/// The sessions, by token: in memory, so a restart logs everyone out.
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    checking: tokio::sync::Semaphore,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            map: Mutex::default(),
            checking: tokio::sync::Semaphore::new(CHECKS_AT_ONCE),
        }
    }
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new session for `name`: its token and the session.
    pub fn start(&self, name: String, role: Role) -> Result<(String, Session), AppError> {
        let token = random_token()?;
        let session = Session {
            name,
            role,
            csrf: random_token()?,
            expires: Instant::now() + IDLE,
        };
        let mut map = self.lock();
        let now = Instant::now();
        map.retain(|_, s| s.expires > now);
        map.insert(token.clone(), session.clone());
        Ok((token, session))
    }

    /// The session of `token` if it has not expired (its idle time starts
    /// again).
    pub fn get(&self, token: &str) -> Option<Session> {
        let mut map = self.lock();
        let now = Instant::now();
        match map.get_mut(token) {
            Some(s) if s.expires > now => {
                s.expires = now + IDLE;
                Some(s.clone())
            }
            Some(_) => {
                map.remove(token);
                None
            }
            None => None,
        }
    }

    /// End the session of `token`.
    pub fn end(&self, token: &str) {
        self.lock().remove(token);
    }
}

/// 32 bytes from the operating system's generator, as hex.
fn random_token() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| {
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("no random bytes: {e}"),
        )
    })?;
    let mut hex = String::with_capacity(64);
    for b in bytes {
        let _ = write!(hex, "{b:02x}");
    }
    Ok(hex)
}

/// Whether two tokens are equal, in time that does not depend on where
/// they differ.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Who asks, for the pages' header and forms: nobody on loopback (no login).
#[derive(Clone, Debug, Default)]
pub struct Who(pub Option<Session>);

impl Who {
    /// Whether the asker may do `action` (on loopback: everything).
    pub fn may(&self, action: Action) -> bool {
        self.0.as_ref().is_none_or(|s| s.role.may(action))
    }

    /// Whether the asker may use the route of `method` and `path` as far as
    /// its role goes ([`need`] says): for the links and buttons a page shows.
    pub fn may_use(&self, method: &Method, path: &str) -> bool {
        match need(method, path) {
            Need::May(action) => self.may(action),
            Need::Public | Need::Session => true,
        }
    }
}

/// What a route needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Anyone: the login page and its post, the static assets.
    Public,
    /// A session (logging out).
    Session,
    /// A session whose role may do the action.
    May(Action),
}

/// What the route of `method` and `path` needs: the one table of who may
/// do what (a path not listed is read, and answered 404).
pub fn need(method: &Method, path: &str) -> Need {
    let write = method != Method::GET && method != Method::HEAD;
    match path {
        "/login" => Need::Public,
        _ if path.starts_with("/assets/") && !write => Need::Public,
        "/logout" => Need::Session,
        "/import" | "/api/import" | "/api/observations" => Need::May(Action::Record),
        "/report" | "/report.html" | "/report.csv" | "/api/report" => Need::May(Action::Report),
        // An observation's edit form is a manager's, as its changes are.
        _ if path.starts_with("/observations/") && path.ends_with("/edit") => {
            Need::May(Action::Edit)
        }
        // The export (a copy of everything, and what the next delta export
        // starts after), merges and resolutions: the coordinator's.
        "/sync/export.gpkg" | "/api/merge" | "/api/conflicts/resolve" => Need::May(Action::Sync),
        _ if write => Need::May(Action::Edit),
        _ => Need::May(Action::Read),
    }
}

/// The session token in the request's cookies.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == COOKIE).then(|| v.to_owned())
        })
}

/// The boundary of a `multipart/form-data` content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        let v = v.trim().trim_matches('"');
        (k.trim().eq_ignore_ascii_case("boundary") && !v.is_empty() && v.len() <= 70)
            .then(|| v.to_owned())
    })
}

/// What the beginning of a multipart body says of its CSRF token.
#[derive(Debug, PartialEq, Eq)]
enum FirstField {
    /// More of the body is needed to tell.
    More,
    /// The first field is the token.
    Token(String),
    /// The first field is another, or the body is not a form's.
    NoToken,
}

/// The CSRF token of a multipart body that begins `head`, when its first
/// field is the token.
fn first_field(head: &[u8], boundary: &str) -> FirstField {
    let open = format!("--{boundary}\r\n");
    if head.len() < open.len() {
        // More is needed, unless what came is not the start of a form.
        return if open.as_bytes().starts_with(head) {
            FirstField::More
        } else {
            FirstField::NoToken
        };
    }
    let Some(rest) = head.strip_prefix(open.as_bytes()) else {
        return FirstField::NoToken;
    };
    let Some(end) = find(rest, b"\r\n\r\n") else {
        return FirstField::More;
    };
    let headers = String::from_utf8_lossy(&rest[..end]).to_ascii_lowercase();
    let named = headers.lines().any(|l| {
        l.starts_with("content-disposition:")
            && l.contains("form-data")
            && l.split(';')
                .any(|p| p.trim() == format!("name=\"{CSRF_FIELD}\""))
    });
    if !named || headers.contains("filename") {
        return FirstField::NoToken;
    }
    let value = &rest[end + 4..];
    let close = format!("\r\n--{boundary}");
    let Some(stop) = find(value, close.as_bytes()) else {
        return FirstField::More;
    };
    std::str::from_utf8(&value[..stop])
        .map_or(FirstField::NoToken, |t| FirstField::Token(t.to_owned()))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `a=b&c=d` decoded (`+` a space, `%XX` a byte).
pub fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &[u8]) -> String {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < s.len() => {
                    match std::str::from_utf8(&s[i + 1..i + 3])
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                    {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split(|&b| b == b'&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let mut it = kv.splitn(2, |&b| b == b'=');
            let k = decode(it.next().unwrap_or(b""));
            let v = decode(it.next().unwrap_or(b""));
            (k, v)
        })
        .collect()
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// A refusal as the route answers: JSON for the API, a page otherwise.
fn refuse(path: &str, who: &Who, e: AppError) -> Response {
    if is_api(path) {
        e.into_response()
    } else {
        crate::pages::error_page(who, &e)
    }
}

/// In front of every route (after [`crate::web::guard`]): on loopback,
/// nobody logs in; otherwise a session for all but [`Need::Public`], its
/// CSRF token on every change, and a role that may.
pub async fn gate(State(state): State<Shared>, request: Request, next: Next) -> Response {
    match admit(&state, request).await {
        Ok(request) => next.run(request).await,
        Err((refusal, body)) => {
            // What the client still sends is read first, so that it reads
            // the refusal instead of a connection cut while it sends.
            if let Some(body) = body {
                drain(body).await;
            }
            refusal
        }
    }
}

/// Read a body to its end, and throw it away (bounded by the upload limit
/// in front of every route).
pub(crate) async fn drain(body: Body) {
    use futures_util::StreamExt as _;
    let mut stream = body.into_data_stream();
    let mut read = 0usize;
    while let Some(Ok(chunk)) = stream.next().await {
        read += chunk.len();
        if read > crate::MAX_UPLOAD_BYTES {
            break;
        }
    }
}

/// A refusal, with what is left of the request's body to read first.
type Refused = (Response, Option<Body>);

/// The request as the route takes it, or why not.
async fn admit(state: &Shared, mut request: Request) -> Result<Request, Refused> {
    let Some(sessions) = &state.sessions else {
        request.extensions_mut().insert(Who::default());
        return Ok(request);
    };
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let session = cookie_token(request.headers()).and_then(|t| sessions.get(&t));
    let need = need(&method, &path);
    if need == Need::Public {
        request.extensions_mut().insert(Who(session));
        return Ok(request);
    }
    let Some(session) = session else {
        let refusal = if is_api(&path) {
            AppError::new(
                StatusCode::UNAUTHORIZED,
                "log in first (the login page is /login)",
            )
            .into_response()
        } else {
            see_other(&format!("/login?next={}", crate::pages::enc(&path)))
        };
        return Err((refusal, Some(request.into_body())));
    };
    let who = Who(Some(session.clone()));
    if method != Method::GET && method != Method::HEAD {
        let mut given = request
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if given.is_none() && form {
            let (parts, body) = request.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
                let refusal = refuse(
                    &path,
                    &who,
                    AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "the form is too large"),
                );
                return Err((refusal, None));
            };
            given = form_fields(&bytes)
                .into_iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v);
            request = Request::from_parts(parts, Body::from(bytes));
        }
        // A form posted without the page's script (an upload: multipart)
        // carries its token as its first field: read before the files,
        // which stream on to the route as they came.
        let boundary = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(multipart_boundary);
        if given.is_none()
            && let Some(boundary) = boundary
        {
            use futures_util::StreamExt as _;
            let (parts, body) = request.into_parts();
            let mut stream = body.into_data_stream();
            let mut head = Vec::new();
            while head.len() < MAX_FORM {
                match first_field(&head, &boundary) {
                    FirstField::Token(t) => {
                        given = Some(t);
                        break;
                    }
                    FirstField::NoToken => break,
                    FirstField::More => match stream.next().await {
                        Some(Ok(chunk)) => head.extend_from_slice(&chunk),
                        _ => break,
                    },
                }
            }
            let head = futures_util::stream::once(std::future::ready(Ok::<_, axum::Error>(
                Bytes::from(head),
            )));
            request = Request::from_parts(parts, Body::from_stream(head.chain(stream)));
        }
        if !given.is_some_and(|g| same_token(&g, &session.csrf)) {
            let refusal = refuse(
                &path,
                &who,
                AppError::new(
                    StatusCode::FORBIDDEN,
                    "this change did not carry the page's CSRF token (reload the page and try again)",
                ),
            );
            return Err((refusal, Some(request.into_body())));
        }
    }
    if let Need::May(action) = need
        && !session.role.may(action)
    {
        let least = Role::least(action);
        let refusal = refuse(
            &path,
            &who,
            AppError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "this needs the {least} role{}; {} is a {}",
                    if least == Role::Coordinator {
                        ""
                    } else {
                        " or higher"
                    },
                    session.name,
                    session.role
                ),
            ),
        );
        return Err((refusal, Some(request.into_body())));
    }
    request.extensions_mut().insert(who);
    Ok(request)
}

fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response()
}

/// A `next` that stays on this server (a path, never `//host`).
pub(crate) fn local_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".into(),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct LoginParams {
    pub next: Option<String>,
}

fn login_page(next: &str, error: Option<&str>, name: &str) -> String {
    let mut b = String::from("<h1>Log in</h1>");
    if let Some(e) = error {
        let _ = write!(b, "<p class=\"error\" id=\"login-error\">{}</p>", escape(e));
    }
    let _ = write!(
        b,
        "<form id=\"login-form\" method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"next\" value=\"{}\"><div class=\"form-grid\"><label for=\"name\">Name</label><input id=\"name\" name=\"name\" value=\"{}\" required autocomplete=\"username\" autofocus><label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" required autocomplete=\"current-password\"><span></span><span><button type=\"submit\">Log in</button></span></div></form><p class=\"muted\">Users are added on the server's computer: <code>patrol user add NAME --role ranger|manager|coordinator</code>.</p>",
        escape(next),
        escape(name)
    );
    crate::pages::layout(
        &Who::default(),
        "patrol",
        "Log in",
        crate::pages::Nav::Hidden,
        &b,
        "",
    )
}

/// `GET /login`: the form (on loopback, where nobody logs in: the patrols).
pub async fn login_form(
    State(state): State<Shared>,
    axum::extract::Query(p): axum::extract::Query<LoginParams>,
) -> Response {
    if state.sessions.is_none() {
        return see_other("/");
    }
    let next = local_next(p.next.as_deref());
    ([(header::CONTENT_TYPE, HTML)], login_page(&next, None, "")).into_response()
}

/// `POST /login`, a form of `name`, `password`, `next`: a session and its
/// cookie, or one message for a wrong name or password (after a delay).
pub async fn login(State(state): State<Shared>, body: Bytes) -> Response {
    if state.sessions.is_none() {
        return see_other("/");
    }
    let fields = form_fields(&body);
    let field = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (name, password) = (field("name"), field("password"));
    let next = local_next(Some(&field("next")));
    let checked = name.clone();
    let sessions = state.sessions.as_ref().expect("checked above");
    let Ok(_turn) = sessions.checking.acquire().await else {
        return crate::pages::error_page(
            &Who::default(),
            &AppError::new(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping"),
        );
    };
    let role = with_store(&state, move |store| {
        Ok(store.verify_user(&checked, &password)?)
    })
    .await;
    let role = match role {
        Ok(r) => r,
        Err(e) => return crate::pages::error_page(&Who::default(), &e),
    };
    let Some(role) = role else {
        tokio::time::sleep(FAILED_DELAY).await;
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, HTML)],
            login_page(&next, Some("wrong name or password"), &name),
        )
            .into_response();
    };
    let (token, _) = match sessions.start(name, role) {
        Ok(s) => s,
        Err(e) => return crate::pages::error_page(&Who::default(), &e),
    };
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, next),
            (
                header::SET_COOKIE,
                format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"),
            ),
        ],
    )
        .into_response()
}

/// `POST /logout`: the session ends, the cookie is cleared.
pub async fn logout(State(state): State<Shared>, request: Request) -> Response {
    if let (Some(sessions), Some(token)) = (&state.sessions, cookie_token(request.headers())) {
        sessions.end(&token);
    }
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/login".to_owned()),
            (
                header::SET_COOKIE,
                format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
            ),
        ],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_forms_first_field_gives_its_token() {
        let b = "----b7";
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=\"----b7\"").as_deref(),
            Some(b)
        );
        assert_eq!(multipart_boundary("text/plain; boundary=x"), None);
        let body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n--{b}\r\nContent-Disposition: form-data; name=\"team\"\r\n\r\nA\r\n--{b}--\r\n"
        );
        assert_eq!(
            first_field(body.as_bytes(), b),
            FirstField::Token("tok".into())
        );
        // Cut anywhere before the token's end: more is needed.
        let cut = body.find("tok").unwrap() + 3;
        for n in 0..cut + 2 {
            assert_eq!(
                first_field(&body.as_bytes()[..n], b),
                FirstField::More,
                "{n}"
            );
        }
        // Another first field, a file named csrf, or not a form: no token.
        let other = body.replacen("name=\"csrf\"", "name=\"team\"", 1);
        assert_eq!(first_field(other.as_bytes(), b), FirstField::NoToken);
        let file = body.replacen("name=\"csrf\"", "name=\"csrf\"; filename=\"t\"", 1);
        assert_eq!(first_field(file.as_bytes(), b), FirstField::NoToken);
        assert_eq!(first_field(b"GET / HTTP", b), FirstField::NoToken);
    }

    #[test]
    fn every_route_asks_the_role_rule() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(need(&get, "/login"), Need::Public);
        assert_eq!(need(&post, "/login"), Need::Public);
        assert_eq!(need(&get, "/assets/app.css"), Need::Public);
        assert_eq!(need(&post, "/logout"), Need::Session);
        assert_eq!(need(&get, "/"), Need::May(Action::Read));
        assert_eq!(need(&get, "/api/patrols/x"), Need::May(Action::Read));
        // The basemap's tiles are the map's: read, as the patrol page is.
        assert_eq!(need(&get, "/tiles/12/3210/1876"), Need::May(Action::Read));
        assert_eq!(need(&post, "/api/import"), Need::May(Action::Record));
        assert_eq!(need(&post, "/api/observations"), Need::May(Action::Record));
        assert_eq!(need(&get, "/report.csv"), Need::May(Action::Report));
        assert_eq!(need(&post, "/anything"), Need::May(Action::Edit));
        // Editing, deleting and restoring: a manager's.
        for path in [
            "/api/patrols/x/edit",
            "/api/patrols/x/delete",
            "/api/patrols/x/restore",
            "/api/observations/x/edit",
            "/api/observations/x/delete",
            "/api/observations/x/restore",
        ] {
            assert_eq!(need(&post, path), Need::May(Action::Edit), "{path}");
        }
        assert_eq!(need(&get, "/observations/x/edit"), Need::May(Action::Edit));
        assert_eq!(need(&get, "/history/x"), Need::May(Action::Read));
        assert_eq!(need(&get, "/api/history/x"), Need::May(Action::Read));
        assert_eq!(need(&get, "/deleted"), Need::May(Action::Read));
        for path in ["/sync/export.gpkg", "/api/merge", "/api/conflicts/resolve"] {
            assert_eq!(need(&post, path), Need::May(Action::Sync), "{path}");
            assert_eq!(need(&get, path), Need::May(Action::Sync), "{path}");
        }
        for path in [
            "/sync",
            "/api/ledger",
            "/api/conflicts",
            "/check",
            "/api/check",
        ] {
            assert_eq!(need(&get, path), Need::May(Action::Read), "{path}");
        }
    }

    #[test]
    fn tokens_forms_and_next() {
        let a = random_token().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token().unwrap());
        assert!(same_token(&a, &a.clone()) && !same_token(&a, "x"));
        assert_eq!(
            form_fields(b"name=Som+chai&password=a%26b%3D&x"),
            [
                ("name".into(), "Som chai".into()),
                ("password".into(), "a&b=".into()),
                ("x".into(), String::new())
            ]
        );
        assert_eq!(form_fields(b"a=%4"), [("a".into(), "%4".into())]);
        assert_eq!(local_next(Some("//evil.example")), "/");
        assert_eq!(local_next(Some("/report")), "/report");
        let s = Sessions::default();
        let (t, _) = s.start("Nok".into(), Role::Ranger).unwrap();
        assert_eq!(s.get(&t).unwrap().name, "Nok");
        s.end(&t);
        assert!(s.get(&t).is_none());
    }
}
