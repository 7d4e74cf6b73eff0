//! The JSON API of interchange.md section 4. Every document is the one the
//! command line prints with `--format json`; every error is
//! `{"error": {"line", "field", "message", "hint"}}` with 400 (malformed
//! request), 401/403 (users), 404, 409 (retry), 422 (refused); nothing is
//! written by a request answered with an error.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::{json, Value};
use shareledger_core::event::Event;
use shareledger_ledger::import::jsonl::read_lines;
use shareledger_ledger::log::{recorded_json, stored_json};
use shareledger_ledger::time::{hk, parse_instant, parse_time, store_time};
use shareledger_ledger::{
    default_threads, AppendOptions, AuditOptions, Lines, ReadFilter, ReturnKind, ReturnRequest,
};
use shareledger_returns::render::{render, DocKind, Format};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::{now, Shared, Source};

/// The OpenAPI description of this API, served at `/api/openapi.json`.
pub const OPENAPI: &str = include_str!("../assets/openapi.json");

/// Every API route: (method, path as the router writes it).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/openapi.json"),
    ("get", "/api/issuers"),
    ("get", "/api/issuers/{issuer}/status"),
    ("get", "/api/issuers/{issuer}/balance"),
    ("get", "/api/issuers/{issuer}/returns/nddr"),
    ("get", "/api/issuers/{issuer}/returns/monthly"),
    ("post", "/api/issuers/{issuer}/returns/{form}/filed"),
    ("post", "/api/events"),
    ("get", "/api/log"),
    ("get", "/api/audit"),
];

/// The API's routes.
pub fn routes<S: Source>() -> Router<Shared<S>> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/issuers", get(issuers::<S>))
        .route("/api/issuers/{issuer}/status", get(status::<S>))
        .route("/api/issuers/{issuer}/balance", get(balance::<S>))
        .route("/api/issuers/{issuer}/returns/nddr", get(nddr::<S>))
        .route("/api/issuers/{issuer}/returns/monthly", get(monthly::<S>))
        .route(
            "/api/issuers/{issuer}/returns/{form}/filed",
            post(filed::<S>),
        )
        .route("/api/events", post(events::<S>))
        .route("/api/log", get(log::<S>))
        .route("/api/audit", get(audit::<S>))
        .fallback(not_found)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        line: None,
        field: None,
        kind: "not_found".into(),
        message: format!("no such page or API route: {}", uri.path()),
        hint: Some("the API is described at /api/openapi.json".into()),
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// Query parameters.
pub type Params = HashMap<String, String>;

fn param<'a>(q: &'a Params, name: &str) -> Option<&'a str> {
    q.get(name).map(String::as_str).filter(|s| !s.is_empty())
}

/// A time parameter (`now`, `known_at`): RFC 3339 or a date.
pub fn time_param(
    q: &Params,
    name: &'static str,
) -> Result<Option<DateTime<FixedOffset>>, ApiError> {
    Ok(param(q, name).map(|t| parse_time(name, t)).transpose()?)
}

/// A date parameter, `YYYY-MM-DD`.
pub fn date_param(q: &Params, name: &'static str) -> Result<Option<NaiveDate>, ApiError> {
    param(q, name)
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                ApiError::bad_request(
                    name,
                    format!("{name} `{d}` is not a date: write it as YYYY-MM-DD, like 2022-11-07"),
                )
            })
        })
        .transpose()
}

fn bool_param(q: &Params, name: &'static str) -> Result<bool, ApiError> {
    match param(q, name) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(v) => Err(ApiError::bad_request(
            name,
            format!("{name} `{v}` is not true or false"),
        )),
    }
}

fn required<'a>(q: &'a Params, name: &str, example: &str) -> Result<&'a str, ApiError> {
    param(q, name).ok_or_else(|| {
        ApiError::bad_request(
            name,
            format!("the parameter {name} is required, e.g. ?{name}={example}"),
        )
    })
}

fn json_text(text: String, status: StatusCode) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

fn pretty(v: &impl serde::Serialize) -> Result<String, ApiError> {
    serde_json::to_string_pretty(v)
        .map(|mut s| {
            s.push('\n');
            s
        })
        .map_err(|e| ApiError::internal(format!("a document cannot be written as JSON: {e}")))
}

/// What is due for an issuer, as the issuer list and the start page show it.
pub fn issuer_summary(status: &shareledger_ledger::Status) -> Value {
    let next = status
        .returns_due
        .iter()
        .min_by_key(|r| (!r.overdue, r.deadline.clone()));
    json!({
        "issuer": status.issuer.id,
        "name": status.issuer.name,
        "overdue": status.returns_due.iter().any(|r| r.overdue),
        "next_due": next.map(|r| json!({"form": r.form, "date": r.date, "deadline": r.deadline, "overdue": r.overdue})),
        "returns_due": status.returns_due,
        "last_filed": status.last_filed,
    })
}

async fn issuers<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Result<Response, ApiError> {
    let caller = app.caller(&headers).await?;
    let at = time_param(&q, "now")?.unwrap_or_else(now);
    let list = app
        .with_ledger(move |l| {
            let mut out = Vec::new();
            for id in l.issuers()? {
                if caller.sees(&id) {
                    out.push(issuer_summary(&l.status(&id, at)?));
                }
            }
            Ok(out)
        })
        .await?;
    Ok(json_text(pretty(&list)?, StatusCode::OK))
}

async fn status<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Path(issuer): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response, ApiError> {
    app.caller(&headers).await?.must_see(&issuer)?;
    let at = time_param(&q, "now")?.unwrap_or_else(now);
    let s = app.with_ledger(move |l| Ok(l.status(&issuer, at)?)).await?;
    Ok(json_text(pretty(&s)?, StatusCode::OK))
}

async fn balance<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Path(issuer): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response, ApiError> {
    app.caller(&headers).await?.must_see(&issuer)?;
    let known = time_param(&q, "known_at")?;
    let as_of = date_param(&q, "as_of")?.unwrap_or_else(|| hk(&now()).date_naive());
    let class = param(&q, "class").map(str::to_string);
    let doc = app
        .with_ledger(move |l| Ok(l.balance(&issuer, class.as_deref(), as_of, known.as_ref())?))
        .await?;
    Ok(json_text(
        render(DocKind::Balance, &doc, Format::Json),
        StatusCode::OK,
    ))
}

/// The format of a return: a renderer, or PDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnFormat {
    /// One of the document renderings.
    Doc(Format),
    /// The HTML form printed by a headless Chromium.
    Pdf,
}

fn return_format(q: &Params) -> Result<ReturnFormat, ApiError> {
    Ok(match param(q, "format").unwrap_or("json") {
        "json" => ReturnFormat::Doc(Format::Json),
        "html" => ReturnFormat::Doc(Format::Html),
        "md" => ReturnFormat::Doc(Format::Markdown),
        "text" => ReturnFormat::Doc(Format::Text),
        "pdf" => ReturnFormat::Pdf,
        other => {
            return Err(ApiError::bad_request(
                "format",
                format!("format `{other}` is not one of json, html, md, text, pdf"),
            ))
        }
    })
}

fn content_type(f: Format) -> &'static str {
    match f {
        Format::Json => "application/json",
        Format::Html => "text/html; charset=utf-8",
        Format::Markdown => "text/markdown; charset=utf-8",
        Format::Text => "text/plain; charset=utf-8",
    }
}

/// The return's request from the API's parameters.
pub fn return_request(issuer: &str, form: &str, q: &Params) -> Result<ReturnRequest, ApiError> {
    let kind = match form {
        "nddr" => {
            let date = required(q, "date", "2022-11-07")?;
            let date = date_param(&[("date".to_string(), date.to_string())].into(), "date")?
                .expect("given");
            ReturnKind::nddr(date, param(q, "form"))?
        }
        "monthly" => ReturnKind::monthly(required(q, "month", "2022-11")?)?,
        other => {
            return Err(ApiError::bad_request(
                "form",
                format!("`{other}` is not a return: use nddr or monthly"),
            ))
        }
    };
    Ok(ReturnRequest {
        issuer: issuer.to_string(),
        kind,
        submitted: date_param(q, "submitted")?,
        status: q.get("status").cloned(),
    })
}

async fn a_return<S: Source>(
    app: Shared<S>,
    headers: HeaderMap,
    issuer: String,
    form: &str,
    q: Params,
) -> Result<Response, ApiError> {
    app.caller(&headers).await?.must_see(&issuer)?;
    let req = return_request(&issuer, form, &q)?;
    let known = time_param(&q, "known_at")?;
    let format = return_format(&q)?;
    let produced = app
        .with_ledger(move |l| Ok(l.produce(&req, known.as_ref())?))
        .await?;
    match format {
        ReturnFormat::Doc(f) => {
            let mut res = (
                [(header::CONTENT_TYPE, content_type(f))],
                produced.render(f),
            )
                .into_response();
            if bool_param(&q, "download")? {
                let ext = match f {
                    Format::Json => "json",
                    Format::Html => "html",
                    Format::Markdown => "md",
                    Format::Text => "txt",
                };
                let name = format!("{issuer}-{}-{}.{ext}", produced.layout, produced.date);
                if let Ok(v) = format!("attachment; filename=\"{name}\"").parse() {
                    res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
                }
            }
            Ok(res)
        }
        ReturnFormat::Pdf => {
            let html = produced.render(Format::Html);
            let pdf = tokio::task::spawn_blocking(move || crate::pdf::print(&html))
                .await
                .map_err(|e| ApiError::internal(format!("the PDF worker failed: {e}")))?
                .map_err(|e| ApiError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    kind: "pdf".into(),
                    ..ApiError::internal(e)
                })?;
            Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
        }
    }
}

async fn nddr<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Path(issuer): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response, ApiError> {
    a_return(app, headers, issuer, "nddr", q).await
}

async fn monthly<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Path(issuer): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response, ApiError> {
    a_return(app, headers, issuer, "monthly", q).await
}

/// Is this POST's CSRF token right (cookie sessions only)?
pub fn check_csrf(caller: &Caller, given: Option<&str>) -> Result<(), ApiError> {
    match &caller.csrf {
        Some(expected) if caller.single_user => {
            // Without users the API's own POSTs need JSON bodies (a
            // preflighted type), so a header is not required there; a
            // token given must still be right.
            match given {
                Some(g) if g != expected => Err(ApiError::forbidden(
                    "the form is out of date: reload the page",
                )),
                _ => Ok(()),
            }
        }
        Some(expected) => {
            if given == Some(expected.as_str()) {
                Ok(())
            } else {
                Err(ApiError::forbidden(
                    "missing or wrong CSRF token (send the page's token as X-CSRF-Token): reload the page",
                ))
            }
        }
        None => Ok(()),
    }
}

fn header_csrf(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-csrf-token").and_then(|v| v.to_str().ok())
}

/// Only JSON bodies (a type a browser must preflight: a web page elsewhere
/// cannot post one here).
fn require_type(headers: &HeaderMap, allowed: &[&str]) -> Result<(), ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let base = ct.split(';').next().unwrap_or("").trim();
    if allowed.contains(&base) {
        Ok(())
    } else {
        Err(ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            line: None,
            field: None,
            kind: "content_type".into(),
            message: format!(
                "the body's Content-Type is `{ct}`: send {}",
                allowed.join(" or ")
            ),
            hint: None,
        })
    }
}

async fn filed<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Path((issuer, form)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let caller = app.caller(&headers).await?;
    check_csrf(&caller, header_csrf(&headers))?;
    caller.must_see(&issuer)?;
    caller.may_file()?;
    require_type(&headers, &["application/json"])?;
    let body: serde_json::Map<String, Value> = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "body",
            format!("the body is not a JSON object ({e}): send {{\"date\" or \"month\", \"submitted_at\", \"status\"}}"),
        )
    })?;
    let mut q = Params::new();
    for (k, v) in &body {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Null => continue,
            other => other.to_string(),
        };
        match k.as_str() {
            "date" | "month" | "submitted_at" | "status" | "form" | "submitted" => {
                q.insert(k.clone(), text);
            }
            other => {
                return Err(ApiError::bad_request(
                    other,
                    format!("unknown field `{other}`: the body takes date (nddr) or month (monthly), submitted_at, status, form, submitted"),
                ))
            }
        }
    }
    let req = return_request(&issuer, &form, &q)?;
    let submitted_at = param(&q, "submitted_at")
        .map(|s| parse_instant("submitted_at", s))
        .transpose()?
        .unwrap_or_else(now);
    let actor = caller.name.clone();
    let filed = app
        .with_ledger(move |l| Ok(l.mark_filed(&req, submitted_at, now(), &actor)?))
        .await?;
    Ok(json_text(
        pretty(&json!({
            "appended": 1,
            "first_position": filed.position,
            "last_position": filed.position,
            "form": filed.produced.layout,
            "date": filed.produced.date,
            "submitted_at": hk(&submitted_at).to_rfc3339(),
            "digest": filed.digest,
            "status": filed.produced.status(),
            "amends": filed.produced.amends(),
        }))?,
        StatusCode::CREATED,
    ))
}

/// May `caller` record every one of `lines`? (Roles, before the ledger
/// judges the events.) Through the web, the actor is the caller: a line
/// naming another actor is refused.
pub fn may_record_lines(caller: &Caller, lines: &Lines) -> Result<(), ApiError> {
    for (n, inc) in lines {
        let issuer = inc.event.issuer();
        caller.may_record(issuer).map_err(|mut e| {
            e.line = Some(*n);
            e
        })?;
        if matches!(inc.event, Event::EventVoided(_) | Event::ReturnFiled(_)) {
            caller.may_file().map_err(|mut e| {
                e.line = Some(*n);
                e
            })?;
        }
        if !caller.single_user {
            if let Some(a) = &inc.actor {
                if *a != caller.name {
                    return Err(ApiError::from(shareledger_ledger::Rejection::field(
                        Some(*n),
                        "actor",
                        "input",
                        format!("actor `{a}` is not the user logged in ({})", caller.name),
                        "leave actor out: what you record through the web app is recorded as yours",
                    )));
                }
            }
        }
    }
    Ok(())
}

async fn events<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<Params>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let caller = app.caller(&headers).await?;
    check_csrf(&caller, header_csrf(&headers))?;
    if !caller.is_clerk() {
        caller.may_record(None)?;
    }
    require_type(
        &headers,
        &[
            "application/x-ndjson",
            "application/jsonl",
            "application/json",
        ],
    )?;
    let dry_run = bool_param(&q, "dry_run")?;
    let allow_duplicate = bool_param(&q, "allow_duplicate")?;
    let lines = read_lines(body.as_ref())?;
    may_record_lines(&caller, &lines)?;
    let actor = caller.name.clone();
    let summary = app
        .with_ledger(move |l| {
            let options = AppendOptions {
                allow_duplicate,
                keep_events: dry_run,
                ..AppendOptions::dry_run(dry_run)
            };
            Ok(l.append(lines, now(), &actor, options)?)
        })
        .await?;
    let mut out = json!({
        "appended": summary.appended,
        "first_position": summary.first_position,
        "last_position": summary.last_position,
        "duplicates": summary.duplicates,
    });
    if dry_run {
        out["dry_run"] = Value::Bool(true);
        out["events"] = Value::Array(summary.events.iter().map(recorded_json).collect());
    }
    Ok(json_text(
        pretty(&out)?,
        if dry_run {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
    ))
}

async fn log<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Result<Response, ApiError> {
    let caller = app.caller(&headers).await?;
    let issuer = param(&q, "issuer").map(str::to_string);
    if let Some(i) = &issuer {
        caller.must_see(i)?;
    }
    let after = match param(&q, "after") {
        Some(a) => a.parse::<u64>().map_err(|_| {
            ApiError::bad_request("after", format!("after `{a}` is not a log position"))
        })?,
        None => 0,
    };
    let limit = match param(&q, "limit") {
        Some(a) => Some(a.parse::<usize>().map_err(|_| {
            ApiError::bad_request("limit", format!("limit `{a}` is not a number of events"))
        })?),
        None => None,
    };
    let known = time_param(&q, "known_at")?;
    let text = app
        .with_ledger(move |l| {
            let filter = ReadFilter {
                stream: issuer,
                from_position: after,
                recorded_until: known.as_ref().map(store_time),
                ..ReadFilter::default()
            };
            let mut out = String::new();
            let mut n = 0;
            for row in l.events(&filter) {
                if limit.is_some_and(|lim| n >= lim) {
                    break;
                }
                let row = row?;
                if !shareledger_ledger::access::is_register_stream(&row.stream)
                    || !(caller.sees(&row.stream)
                        || row.stream == shareledger_core::event::MARKET_STREAM)
                {
                    continue;
                }
                out.push_str(&stored_json(&row)?.to_string());
                out.push('\n');
                n += 1;
            }
            Ok(out)
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], text).into_response())
}

async fn audit<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Result<Response, ApiError> {
    let caller = app.caller(&headers).await?;
    let issuer = param(&q, "issuer").map(str::to_string);
    match &issuer {
        Some(i) => caller.must_see(i)?,
        None if caller.issuers.is_some() => {
            return Err(ApiError::bad_request(
                "issuer",
                "give issuer: you may audit only your issuers, one at a time",
            ))
        }
        None => {}
    }
    let at = time_param(&q, "now")?.unwrap_or_else(now);
    let report = app
        .with_ledger(move |l| {
            let options = AuditOptions {
                only: issuer.as_deref(),
                expect: None,
                threads: default_threads(),
            };
            Ok(l.audit(&options, at, &|_, _| {})?)
        })
        .await?;
    Ok(json_text(pretty(&report)?, StatusCode::OK))
}
