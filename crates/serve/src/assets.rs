//! The files the pages load, built into the binary and served by their
//! exact name only: nothing on disk is ever read, so no path can escape.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::web::AppError;

/// (name under /assets/, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/app.js"),
    ),
    (
        "leaflet/leaflet.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/leaflet/leaflet.js"),
    ),
    (
        "leaflet/leaflet.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/leaflet/leaflet.css"),
    ),
    (
        "leaflet/images/marker-icon.png",
        "image/png",
        include_bytes!("../assets/leaflet/images/marker-icon.png"),
    ),
    (
        "leaflet/images/marker-icon-2x.png",
        "image/png",
        include_bytes!("../assets/leaflet/images/marker-icon-2x.png"),
    ),
    (
        "leaflet/images/marker-shadow.png",
        "image/png",
        include_bytes!("../assets/leaflet/images/marker-shadow.png"),
    ),
    (
        "leaflet/images/layers.png",
        "image/png",
        include_bytes!("../assets/leaflet/images/layers.png"),
    ),
    (
        "leaflet/images/layers-2x.png",
        "image/png",
        include_bytes!("../assets/leaflet/images/layers-2x.png"),
    ),
];

/// An asset by its exact name.
pub fn find(name: &str) -> Option<(&'static str, &'static [u8])> {
    ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, t, b)| (*t, *b))
}

/// `GET /assets/{name}`.
pub async fn serve(Path(name): Path<String>) -> Result<Response, AppError> {
    let (content_type, bytes) = find(&name).ok_or_else(|| {
        AppError::new(
            axum::http::StatusCode::NOT_FOUND,
            format!("no asset {name}"),
        )
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            // Built into this binary: the same until it is replaced.
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn only_exact_names_are_served() {
        assert!(find("app.js").is_some());
        assert!(find("leaflet/leaflet.js").is_some());
        for bad in [
            "../Cargo.toml",
            "leaflet/../app.js",
            "/app.js",
            "APP.JS",
            "",
            "leaflet/LICENSE",
        ] {
            assert!(find(bad).is_none(), "{bad}");
        }
    }
}
