//! The Origin allow-list: CORS for `--allow-origin`, and which browser
//! origins may call the API, open SSE streams and WebSockets.

use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::limits::Limits;

/// The CORS layer for the allow-list: no `Access-Control-Allow-Origin` at all
/// when the list is empty (same origin only).
pub fn cors(limits: &Limits) -> CorsLayer {
    let origins: Vec<HeaderValue> = limits
        .allow_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([header::CONTENT_TYPE, "last-event-id".parse().unwrap()])
        // Scripts of allowed origins may read how long to back off (a 429 or
        // 503's `Retry-After`); the client obeys it.
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}

/// Is the request's `Origin` the server's own (same scheme-less host as the
/// `Host` header)? A request without `Origin` does not come from a browser
/// page of another site and counts as same-origin.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let (Ok(origin), Some(host)) = (
        origin.to_str(),
        headers.get(header::HOST).and_then(|h| h.to_str().ok()),
    ) else {
        return false;
    };
    let origin = origin.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    origin.strip_prefix("http://") == Some(host.as_str())
        || origin.strip_prefix("https://") == Some(host.as_str())
}

/// Same-origin, or an `Origin` on the `--allow-origin` list.
pub fn origin_allowed(limits: &Limits, headers: &HeaderMap) -> bool {
    if same_origin(headers) {
        return true;
    }
    headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| {
            let o = o.to_ascii_lowercase();
            limits.allow_origins.contains(&o)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn origins() {
        let limits = Limits {
            allow_origins: vec!["http://good.example".into()],
            ..Limits::default()
        };
        let host = ("host", "pay.example:8080");
        assert!(same_origin(&headers(&[host])));
        assert!(same_origin(&headers(&[
            host,
            ("origin", "http://pay.example:8080")
        ])));
        assert!(same_origin(&headers(&[
            host,
            ("origin", "HTTPS://pay.example:8080")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "http://pay.example")
        ])));
        assert!(!same_origin(&headers(&[host, ("origin", "null")])));
        assert!(!same_origin(&headers(&[(
            "origin",
            "http://pay.example:8080"
        )])));
        let good = headers(&[host, ("origin", "http://good.example")]);
        assert!(!same_origin(&good));
        assert!(origin_allowed(&limits, &good));
        let evil = headers(&[host, ("origin", "http://evil.example")]);
        assert!(!origin_allowed(&limits, &evil));
        assert!(!origin_allowed(&Limits::default(), &good));
    }
}
