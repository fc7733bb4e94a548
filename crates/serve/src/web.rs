//! What every route shares: the guard in front of them, errors as answers,
//! store work on a blocking thread.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use patrol_store::{Store, StoreError};

use crate::Shared;

/// The page's own origin only: no script, style, image or connection from
/// anywhere else, no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Whether a Host header names this computer (a page of another site that
/// made its name point here, DNS rebinding, names another host): a loopback
/// name, or the address listened on (any IP address when listening on all
/// of them, 0.0.0.0 or ::); never another name.
fn local_host(host: &str, listen: std::net::IpAddr) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || listen.is_unspecified() || ip == listen)
}

/// Whether the server answers a request with this Host header. On loopback,
/// where nobody logs in, only names of this computer ([`local_host`]): a
/// page of another site that made its name point here (DNS rebinding) would
/// otherwise read and change everything. Beyond it every route but the login
/// needs a session, whose cookie a browser sends only to the name the person
/// logged in on: any name is answered then, so people reach the laptop by its
/// name on the network (`ranger-laptop.local:8080`) as well as by its address.
fn host_allowed(host: &str, listen: std::net::IpAddr, logins: bool) -> bool {
    if logins {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
    } else {
        local_host(host, listen)
    }
}

/// In front of every route: requests named for this computer only, changes
/// only from our own pages (another site's page cannot post a form here),
/// and the headers that keep the pages to themselves.
pub async fn guard(
    axum::extract::State(state): axum::extract::State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !host_allowed(host, state.listen, state.sessions.is_some()) {
        return AppError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "this server answers requests for its own address only (localhost, or the IP address it listens on)",
        )
        .into_response();
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let same_site = headers
            .get("sec-fetch-site")
            .is_some_and(|v| v == "same-origin");
        // A form our page posts says `Origin: null` (the pages' referrer
        // policy is no-referrer): taken when the browser says the post is
        // from this origin.
        let same = |v: &HeaderValue| {
            v.to_str()
                .is_ok_and(|o| o == format!("http://{host}") || (o == "null" && same_site))
        };
        let origin_ok = headers.get(header::ORIGIN).is_none_or(same);
        let site_ok = headers
            .get("sec-fetch-site")
            .is_none_or(|v| v == "same-origin" || v == "none");
        if !(origin_ok && site_ok) {
            let refusal = AppError::new(
                StatusCode::FORBIDDEN,
                "changes are taken from this app's own pages only",
            )
            .into_response();
            // Read what the client still sends, so that it reads this.
            crate::auth::drain(request.into_body()).await;
            return refusal;
        }
    }
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// A request that could not be answered: a status and a message for a
/// person. The API answers `{"error": message}`; pages an HTML page.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub message: String,
}

impl AppError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        AppError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        let status = match e {
            StoreError::NoSuchRecord { .. } => StatusCode::NOT_FOUND,
            StoreError::Invalid(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        AppError::new(status, e.to_string())
    }
}

impl From<patrol_core::metrics::BadPeriod> for AppError {
    fn from(e: patrol_core::metrics::BadPeriod) -> Self {
        AppError::bad_request(e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message });
        let mut text = serde_json::to_string_pretty(&body).unwrap_or_default();
        text.push('\n');
        (self.status, [(header::CONTENT_TYPE, JSON)], text).into_response()
    }
}

pub const JSON: &str = "application/json; charset=utf-8";
pub const HTML: &str = "text/html; charset=utf-8";

/// A JSON body as the CLI prints it (`serde_json::to_string_pretty` and a
/// newline): byte for byte the same.
pub fn json_body<T: serde::Serialize>(value: &T) -> Result<Response, AppError> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| AppError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    text.push('\n');
    Ok(([(header::CONTENT_TYPE, JSON)], text).into_response())
}

/// A body of `content_type`.
pub fn body(content_type: &'static str, bytes: impl Into<Body>) -> Response {
    ([(header::CONTENT_TYPE, content_type)], bytes.into()).into_response()
}

/// Run `f` on a store of its own, on a blocking thread (a `Store` is not
/// `Sync`; SQLite's busy timeout waits for a writer beside us).
pub async fn with_store<T: Send + 'static>(
    state: &Shared,
    f: impl FnOnce(&mut Store) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let db = state.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = Store::open(&db)?;
        f(&mut store)
    })
    .await
    .map_err(|e| AppError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::{host_allowed, local_host};

    #[test]
    fn beyond_loopback_a_name_on_the_network_is_answered() {
        let all: std::net::IpAddr = "0.0.0.0".parse().unwrap();
        for ok in [
            "ranger-laptop.local:8080",
            "192.168.1.2:8080",
            "[fe80::1]:8080",
        ] {
            assert!(host_allowed(ok, all, true), "{ok}");
        }
        assert!(!host_allowed("ranger-laptop.local:8080", all, false));
        for not in ["", "a b", "x/y", "evil\r\n"] {
            assert!(!host_allowed(not, all, true), "{not:?}");
        }
    }

    #[test]
    fn only_names_of_this_computer_are_local() {
        let lo: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        let all: std::net::IpAddr = "0.0.0.0".parse().unwrap();
        let lan: std::net::IpAddr = "192.168.1.2".parse().unwrap();
        assert!(local_host("192.168.1.2:8080", all) && local_host("192.168.1.2:8080", lan));
        assert!(!local_host("192.168.1.3:8080", lan) && !local_host("evil.example", all));
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "127.0.0.2",
        ] {
            assert!(local_host(ok, lo), "{ok}");
        }
        for not in [
            "",
            "evil.example:8080",
            "192.168.1.2:8080",
            "localhost.evil:80",
        ] {
            assert!(!local_host(not, lo), "{not}");
        }
    }
}
