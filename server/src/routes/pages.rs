//! What a phone sees: the pay-link page and the QR code that points at it.
//!
//! The order number is user data. It only ever enters the page HTML-escaped
//! inside a `data-` attribute; the script reads it back with `dataset` and
//! URL-encodes it for the fetch, so no order number can break out into markup
//! or script.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use qrcode::render::svg;
use qrcode::QrCode;

use super::{pay_url, OrderNo};
use crate::error::ApiError;
use crate::AppState;

/// `GET /pay-link/{no}` — a self-contained page with a big "Pay now" button
/// that POSTs `/orders/{no}/pay`. Served for unknown orders too (the button
/// then reports "unknown order"), with status 404.
pub async fn pay_link(State(state): State<AppState>, OrderNo(no): OrderNo) -> Response {
    let known = match state.store.get(&no).await {
        Ok(order) => order.is_some(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let page = PAY_PAGE.replace("{{ORDER_NO}}", &html_escape(&no));
    let status = if known {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    (status, [(header::CACHE_CONTROL, "no-store")], Html(page)).into_response()
}

/// `GET /orders/{no}/qr.svg` — QR code of the order's `pay_url`.
pub async fn qr_svg(
    State(state): State<AppState>,
    headers: HeaderMap,
    OrderNo(no): OrderNo,
) -> Result<Response, ApiError> {
    if state.store.get(&no).await?.is_none() {
        return Err(ApiError::unknown_order());
    }
    let url = pay_url(&state, &headers, &no);
    let code = QrCode::new(url.as_bytes())
        .map_err(|e| ApiError::Internal(format!("QR code: {e}").into()))?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(240, 240)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], image).into_response())
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const PAY_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay order</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; padding: 24px; background: #f5f6f8; color: #222; }
  main { max-width: 420px; margin: 10vh auto; background: #fff; border-radius: 12px; padding: 24px; box-shadow: 0 2px 12px rgba(0,0,0,.08); text-align: center; }
  h1 { font-size: 1.3rem; margin: 0 0 8px; }
  .no { font-family: ui-monospace, monospace; word-break: break-all; background: #f0f0f0; padding: 6px 10px; border-radius: 6px; display: inline-block; }
  button { display: block; width: 100%; margin-top: 24px; padding: 18px; font-size: 1.3rem; border: 0; border-radius: 10px; background: #07c160; color: #fff; }
  button:disabled { background: #9bd8b5; }
  #result { margin-top: 16px; min-height: 1.5em; font-size: 1.1rem; }
  .ok { color: #07803f; } .err { color: #c0392b; }
</style>
</head>
<body>
<main id="app" data-order-no="{{ORDER_NO}}">
  <h1>Pay order</h1>
  <div class="no" id="no">{{ORDER_NO}}</div>
  <button id="pay" type="button">Pay now</button>
  <div id="result" role="status" aria-live="polite"></div>
</main>
<script>
(function () {
  var orderNo = document.getElementById("app").dataset.orderNo;
  var button = document.getElementById("pay");
  var result = document.getElementById("result");
  function show(text, ok) { result.textContent = text; result.className = ok ? "ok" : "err"; }
  button.addEventListener("click", function () {
    button.disabled = true;
    show("Paying\u2026", true);
    fetch("/orders/" + encodeURIComponent(orderNo) + "/pay", { method: "POST" })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (body) {
          if (res.ok && body.status === "paid") {
            show("Paid \u2713 You can go back to the checkout page.", true);
          } else {
            show("Could not pay: " + (body.error || ("HTTP " + res.status)), false);
            button.disabled = false;
          }
        });
      })
      .catch(function (e) { show("Network error: " + e, false); button.disabled = false; });
  });
})();
</script>
</body>
</html>
"#;
