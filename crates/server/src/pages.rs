//! The pages for people: server-rendered HTML (minijinja templates compiled
//! in), a small stylesheet and script served from the binary, forms that
//! post back with a CSRF token. Each page calls the ledger as the API does;
//! a refusal is shown in the core's words beside the field it names.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Datelike, NaiveDate};
use minijinja::{context, Environment, Value as Ctx};
use serde_json::{Map, Value};
use shareledger_core::event::{parse_object, MARKET_STREAM};
use shareledger_core::state::IssuerState;
use shareledger_ledger::fields::{self, EventSpec, Field, Kind};
use shareledger_ledger::import::broker_csv;
use shareledger_ledger::log::recorded_json;
use shareledger_ledger::time::{hk, parse_instant};
use shareledger_ledger::{
    default_threads, AppendOptions, AuditOptions, Chain, Lines, ReadFilter, Rejection,
};
use shareledger_returns::dates::thousands;
use shareledger_returns::render::Format;

use crate::api::{issuer_summary, may_record_lines, return_request, Params};
use crate::auth::{Caller, Login, COOKIE};
use crate::error::ApiError;
use crate::{now, Shared, Source};

const CSS: &str = include_str!("../assets/app.css");
const JS: &str = include_str!("../assets/app.js");

/// The pages' routes.
pub fn routes<S: Source>() -> Router<Shared<S>> {
    Router::new()
        .route("/", get(start::<S>))
        .route("/issuers/{issuer}", get(issuer_page::<S>))
        .route("/record", get(record_index::<S>))
        .route(
            "/record/{kind}",
            get(record_form::<S>).post(record_post::<S>),
        )
        .route("/issuers/{issuer}/returns/{form}", get(returns_page::<S>))
        .route(
            "/issuers/{issuer}/returns/{form}/filed",
            post(filed_post::<S>),
        )
        .route(
            "/issuers/{issuer}/trades",
            get(trades_page::<S>).post(trades_post::<S>),
        )
        .route("/log", get(log_page::<S>))
        .route("/log/void", post(void_post::<S>))
        .route("/audit", get(audit_page::<S>))
        .route("/users", get(users_page::<S>).post(user_add::<S>))
        .route("/users/disable", post(user_disable::<S>))
        .route("/login", get(login_page).post(login_post::<S>))
        .route("/logout", post(logout::<S>))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
        .into_response()
}

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, text) in [
            ("base.html", include_str!("../templates/base.html")),
            ("login.html", include_str!("../templates/login.html")),
            ("start.html", include_str!("../templates/start.html")),
            ("issuer.html", include_str!("../templates/issuer.html")),
            (
                "record_index.html",
                include_str!("../templates/record_index.html"),
            ),
            ("record.html", include_str!("../templates/record.html")),
            ("returns.html", include_str!("../templates/returns.html")),
            ("log.html", include_str!("../templates/log.html")),
            ("audit.html", include_str!("../templates/audit.html")),
            ("trades.html", include_str!("../templates/trades.html")),
            ("error.html", include_str!("../templates/error.html")),
            ("users.html", include_str!("../templates/users.html")),
        ] {
            env.add_template(name, text)
                .unwrap_or_else(|e| panic!("template {name}: {e}"));
        }
        env
    })
}

fn render(name: &str, ctx: Ctx) -> Response {
    render_status(StatusCode::OK, name, ctx)
}

fn render_status(status: StatusCode, name: &str, ctx: Ctx) -> Response {
    match env().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the page {name} could not be rendered: {e}"),
        )
            .into_response(),
    }
}

/// A template value from anything serializable. (Through serde_json, whose
/// numbers of arbitrary precision would otherwise reach the template as
/// serde_json's private map.)
fn jv<T: serde::Serialize + ?Sized>(t: &T) -> Ctx {
    fn conv(v: Value) -> Ctx {
        match v {
            Value::Null => Ctx::from(()),
            Value::Bool(b) => Ctx::from(b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    Ctx::from(u)
                } else if let Some(i) = n.as_i64() {
                    Ctx::from(i)
                } else {
                    Ctx::from(n.to_string())
                }
            }
            Value::String(s) => Ctx::from(s),
            Value::Array(a) => Ctx::from(a.into_iter().map(conv).collect::<Vec<_>>()),
            Value::Object(m) => m.into_iter().map(|(k, v)| (k, conv(v))).collect(),
        }
    }
    conv(serde_json::to_value(t).unwrap_or(Value::Null))
}

fn caller_ctx(c: &Caller) -> Ctx {
    jv(&serde_json::json!({
        "name": c.name,
        "role": c.role.name(),
        "single_user": c.single_user,
        "csrf": c.csrf.clone().unwrap_or_default(),
        "is_clerk": c.is_clerk(),
        "is_officer": c.is_officer(),
        "is_admin": c.role == shareledger_ledger::access::Role::Admin && !c.single_user,
    }))
}

/// An error shown at the top of a page (not beside a field).
fn error_ctx(e: &ApiError) -> Ctx {
    let mut b = e.body()["error"].clone();
    b["field"] = Value::Null;
    jv(&b)
}

/// A page's failure: a login for 401, else the error page.
fn fail(caller: Option<&Caller>, e: ApiError, path: &str) -> Response {
    if e.status == StatusCode::UNAUTHORIZED {
        return Redirect::to(&format!("/login?next={}", encode(path))).into_response();
    }
    let status = e.status;
    render_status(
        status,
        "error.html",
        context! {
            title => format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("")),
            caller => caller.map(caller_ctx).unwrap_or_else(|| jv(&serde_json::json!({"name": "", "single_user": true}))),
            error => error_ctx(&e),
            status => status.as_u16(),
        },
    )
}

/// Percent-encode a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

macro_rules! caller_or_login {
    ($app:expr, $headers:expr, $path:expr) => {
        match $app.caller(&$headers).await {
            Ok(c) => c,
            Err(e) => return fail(None, e, &$path),
        }
    };
}

macro_rules! page_try {
    ($caller:expr, $path:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return fail(Some(&$caller), e, &$path),
        }
    };
}

/// "08:30 Mon 07 Nov 2022" from an RFC 3339 time.
fn long_time(t: &str) -> String {
    DateTime::parse_from_rfc3339(t)
        .map(|t| hk(&t).format("%H:%M %a %d %b %Y").to_string())
        .unwrap_or_else(|_| t.to_string())
}

fn hk_now_text() -> String {
    hk(&now()).format("%H:%M %a %d %b %Y").to_string()
}

fn due_label(form: &str) -> &'static str {
    if form == "nddr" {
        "NDDR"
    } else {
        "Monthly Return"
    }
}

fn due_period(form: &str, date: NaiveDate) -> String {
    if form == "nddr" {
        date.format("%d %b %Y").to_string()
    } else {
        date.format("%B %Y").to_string()
    }
}

fn due_href(issuer: &str, form: &str, date: NaiveDate) -> String {
    if form == "nddr" {
        format!("/issuers/{issuer}/returns/nddr?date={date}")
    } else {
        format!(
            "/issuers/{issuer}/returns/monthly?month={}-{:02}",
            date.year(),
            date.month()
        )
    }
}

/// The returns of `s` that must be filed again because a correction
/// contradicts what was filed (the status's amendment lines), each with
/// its link, its reason and the position of the filing it amends.
fn amendments_due(s: &shareledger_ledger::Status) -> Vec<Value> {
    s.returns_due
        .iter()
        .filter(|r| r.amends.is_some())
        .map(|r| {
            serde_json::json!({
                "label": format!("{} {}", due_label(r.form), due_period(r.form, r.date)),
                "href": due_href(&s.issuer.id, r.form, r.date),
                "why": r.events.join("; "),
            })
        })
        .collect()
}

fn flash_of(q: &Params) -> Option<String> {
    q.get("flash").cloned().filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------- start

/// The start page's row of an issuer, and the key the list is sorted by:
/// overdue first, then by the next deadline, then by id.
fn start_row(s: &shareledger_ledger::Status) -> ((bool, String, String), Value) {
    let next = s
        .returns_due
        .iter()
        .min_by_key(|r| (!r.overdue, r.deadline.clone()));
    let key = (
        !next.is_some_and(|r| r.overdue),
        next.map(|r| r.deadline.clone())
            .unwrap_or_else(|| "~".into()),
        s.issuer.id.clone(),
    );
    let sum = issuer_summary(s);
    let row = serde_json::json!({
        "issuer": sum["issuer"],
        "name": sum["name"],
        "overdue": sum["overdue"],
        "next": next.map(|r| serde_json::json!({
            "label": format!(
                "{}{} {}",
                if r.amends.is_some() { "Amendment: " } else { "" },
                due_label(r.form),
                due_period(r.form, r.date)
            ),
            "href": due_href(&s.issuer.id, r.form, r.date),
            "deadline": long_time(&r.deadline),
            "overdue": r.overdue,
        })),
        "more": match s.returns_due.len() {
            0 | 1 => String::new(),
            n => format!("{} more", n - 1),
        },
        "amendments": amendments_due(s),
    });
    (key, row)
}

async fn start<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    let caller = caller_or_login!(app, headers, "/");
    let at = now();
    let c = caller.clone();
    // Each issuer's row (and the key it is sorted by) is taken from its
    // status at once, so only the rows are held, not every whole status.
    let mut list = page_try!(
        caller,
        "/",
        app.with_ledger(move |l| {
            let mut out = Vec::new();
            for id in l.issuers()? {
                if c.sees(&id) {
                    out.push(start_row(&l.status(&id, at)?));
                }
            }
            Ok(out)
        })
        .await
    );
    // Overdue first, then by the next deadline.
    list.sort_by(|a, b| a.0.cmp(&b.0));
    let rows: Vec<Value> = list.into_iter().map(|(_, row)| row).collect();
    render(
        "start.html",
        context! {
            title => "Issuers",
            caller => caller_ctx(&caller),
            issuers => jv(&rows),
            now => hk_now_text(),
            flash => flash_of(&q),
        },
    )
}

// ---------------------------------------------------------------- issuer

/// A hand-written SVG step chart of issued shares (and pending
/// cancellation) of one class over its history.
pub fn chart(state: &IssuerState, class: &str, today: NaiveDate) -> String {
    let Some(c) = state.class(class) else {
        return String::new();
    };
    let Some(start) = c.opening().map(|o| o.date) else {
        return String::new();
    };
    let mut dates: BTreeSet<NaiveDate> = state
        .live_events()
        .filter(|r| r.event.class() == Some(class))
        .filter_map(|r| r.event.effective_date())
        .filter(|d| *d >= start && *d <= today)
        .collect();
    dates.insert(start);
    dates.insert(today.max(start));
    // Per date: issued, pending cancellation, and shares bought under the
    // mandate in force then (as `status` counts them).
    let points: Vec<(NaiveDate, u64, u64, u64)> = dates
        .iter()
        .filter_map(|d| {
            let used = c
                .mandate_in_force(*d)
                .map(|m| c.repurchased_under(m, *d).1)
                .unwrap_or(0);
            c.balances_as_of(*d).map(|b| {
                (
                    *d,
                    b.issued_excluding_treasury,
                    b.pending_cancellation,
                    used,
                )
            })
        })
        .collect();
    if points.len() < 2 {
        return String::new();
    }
    let (w, h, left, right, top) = (760.0f64, 360.0f64, 110.0f64, 20.0f64, 34.0f64);
    let panel = 80.0f64;
    let x0 = points[0].0;
    let span = (points[points.len() - 1].0 - x0).num_days().max(1) as f64;
    let x = |d: NaiveDate| left + (d - x0).num_days() as f64 / span * (w - left - right);
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="Issued shares, pending cancellation and the mandate used of class {class} over time" xmlns="http://www.w3.org/2000/svg"><style>text{{font:11px system-ui,sans-serif;fill:#5b6573}} .t{{font-weight:600;fill:#1d2430}}</style>"#
    );
    for (i, (title, pick, colour)) in [
        ("Issued shares (excluding treasury)", 0usize, "#0b5cad"),
        ("Pending cancellation", 1usize, "#b3261e"),
        ("Bought under the repurchase mandate", 2usize, "#1e7b34"),
    ]
    .into_iter()
    .enumerate()
    {
        let y_top = top + i as f64 * (panel + 30.0);
        let vals: Vec<u64> = points
            .iter()
            .map(|p| match pick {
                0 => p.1,
                1 => p.2,
                _ => p.3,
            })
            .collect();
        let (lo, hi) = (
            *vals.iter().min().expect("points"),
            *vals.iter().max().expect("points"),
        );
        let flat = lo == hi;
        let y = |v: u64| {
            if flat {
                y_top + panel / 2.0
            } else {
                y_top + panel - (v - lo) as f64 / (hi - lo) as f64 * panel
            }
        };
        svg.push_str(&format!(
            r#"<text class="t" x="{left}" y="{}">{title}</text>"#,
            y_top - 8.0
        ));
        svg.push_str(&format!(
            r##"<line x1="{left}" y1="{yb}" x2="{xr}" y2="{yb}" stroke="#d9dee5"/>"##,
            yb = y_top + panel,
            xr = w - right,
        ));
        let labels: Vec<u64> = if flat { vec![lo] } else { vec![hi, lo] };
        for v in labels {
            svg.push_str(&format!(
                r#"<text x="{tx}" y="{ty:.1}" text-anchor="end">{t}</text>"#,
                tx = left - 6.0,
                ty = y(v) + 4.0,
                t = thousands(v),
            ));
        }
        let mut path = String::new();
        for (j, (d, ..)) in points.iter().enumerate() {
            let v = vals[j];
            if j == 0 {
                path.push_str(&format!("M{:.1},{:.1}", x(*d), y(v)));
            } else {
                path.push_str(&format!(" H{:.1} V{:.1}", x(*d), y(v)));
            }
        }
        svg.push_str(&format!(
            r#"<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>"#
        ));
    }
    svg.push_str(&format!(
        r#"<text x="{left}" y="{}">{}</text><text x="{}" y="{}" text-anchor="end">{}</text></svg>"#,
        h - 4.0,
        points[0].0.format("%d %b %Y"),
        w - right,
        h - 4.0,
        points[points.len() - 1].0.format("%d %b %Y"),
    ));
    svg
}

async fn issuer_page<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Path(issuer): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    let path = format!("/issuers/{issuer}");
    let caller = caller_or_login!(app, headers, path);
    page_try!(caller, path, caller.must_see(&issuer));
    let at = now();
    let id = issuer.clone();
    let (status, charts) = page_try!(
        caller,
        path,
        app.with_ledger(move |l| {
            let status = l.status(&id, at)?;
            let register = l.load_issuer(&id, None)?;
            let state = register.issuer(&id).ok_or_else(|| {
                shareledger_ledger::LedgerError::NotFound(format!("no issuer `{id}`"))
            })?;
            let charts: HashMap<String, String> = state
                .classes()
                .keys()
                .map(|c| (c.clone(), chart(state, c, status.as_of)))
                .collect();
            Ok((status, charts))
        })
        .await
    );
    let classes: Vec<Value> = status
        .classes
        .iter()
        .map(|c| {
            serde_json::json!({
                "class": c.class,
                "class_of_shares": c.class_of_shares,
                "balances": c.balances.as_ref().map(|b| serde_json::json!({
                    "issued": thousands(b.issued_excluding_treasury),
                    "treasury": thousands(b.treasury),
                    "total": thousands(b.total),
                    "authorised": b.authorised.map(thousands).unwrap_or_else(|| "N/A".into()),
                    "pending": thousands(b.pending_cancellation),
                })),
                "pending": c.pending_cancellation.iter().map(|p| serde_json::json!({
                    "date": p.trade_date.format("%d %b %Y").to_string(),
                    "shares": thousands(p.shares),
                })).collect::<Vec<_>>(),
                "mandate": c.mandate.as_ref().map(|m| serde_json::json!({
                    "resolution_date": m.resolution_date.format("%d %b %Y").to_string(),
                    "authorised": thousands(m.authorised_shares),
                    "used": thousands(m.used),
                    "left": thousands(m.left),
                    "expiry": m.expiry_date.map(|d| d.format("%d %b %Y").to_string()),
                    "pct": (m.used.saturating_mul(100)).checked_div(m.authorised_shares).unwrap_or(100).min(100),
                })),
                "moratorium": c.moratorium.as_ref().map(|m| serde_json::json!({
                    "until": m.until.format("%d %b %Y").to_string(),
                    "last": m.last_repurchase.format("%d %b %Y").to_string(),
                    "in_force": m.in_force,
                })),
                "chart": charts.get(&c.class).cloned().unwrap_or_default(),
            })
        })
        .collect();
    let mut due: Vec<&shareledger_ledger::status::ReturnDue> = status.returns_due.iter().collect();
    due.sort_by_key(|r| (!r.overdue, r.deadline.clone()));
    let due: Vec<Value> = due
        .iter()
        .map(|r| {
            serde_json::json!({
                "label": due_label(r.form),
                "period": due_period(r.form, r.date),
                "deadline": long_time(&r.deadline),
                "overdue": r.overdue,
                "events": r.events,
                "href": due_href(&issuer, r.form, r.date),
                "amendment": r.amends.is_some(),
            })
        })
        .collect();
    let filed = |f: &Option<shareledger_ledger::status::Filed>| match f {
        Some(f) => format!("{} (submitted {})", f.date, long_time(&f.submitted_at)),
        None => "none recorded".into(),
    };
    render(
        "issuer.html",
        context! {
            title => format!("{} {}", status.issuer.id, status.issuer.name),
            caller => caller_ctx(&caller),
            s => jv(&status),
            classes => jv(&classes),
            due => jv(&due),
            last_nddr => filed(&status.last_filed.nddr),
            last_monthly => filed(&status.last_filed.monthly),
            now => hk_now_text(),
            flash => flash_of(&q),
        },
    )
}

// ---------------------------------------------------------------- record

fn title_of(spec: &EventSpec) -> String {
    label_of(spec.name)
}

fn label_of(name: &str) -> String {
    let t = name.replace('_', " ");
    let mut c = t.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => t,
    }
}

/// The inputs of a form for `spec`: one per field (objects flattened as
/// `parent.sub`), with the values given and the refusal beside its field.
fn form_fields(
    spec: &EventSpec,
    values: &HashMap<String, String>,
    error: Option<&ApiError>,
) -> (Vec<Value>, bool) {
    let mut out = Vec::new();
    let mut placed = false;
    let error_field = error.and_then(|e| e.field.clone()).map(|f| {
        // `multi_counter[0].currency` → `multi_counter`
        let clean: String = f.split('[').next().unwrap_or(&f).to_string();
        clean
    });
    let mut push = |name: String, f: &Field, group_start: Option<String>, group_end: bool| {
        let (input, options, inputmode): (&str, Vec<&str>, Option<&str>) = match f.kind {
            Kind::Date => ("date", vec![], None),
            Kind::Time => ("datetime-local", vec![], None),
            Kind::Count => ("text", vec![], Some("numeric")),
            Kind::Amount => ("text", vec![], Some("decimal")),
            Kind::Bool => ("select", vec!["true", "false"], None),
            Kind::Choice(words) => ("select", words.to_vec(), None),
            _ => ("text", vec![], None),
        };
        let err = match (&error_field, error) {
            (Some(ef), Some(e)) if *ef == name || ef.starts_with(&format!("{name}.")) => {
                placed = true;
                Some(serde_json::json!({"message": e.message, "hint": e.hint}))
            }
            _ => None,
        };
        out.push(serde_json::json!({
            "name": name,
            "label": label_of(name.rsplit('.').next().unwrap_or(&name)),
            "required": f.required,
            "input": input,
            "options": options,
            "inputmode": inputmode,
            "help": f.help_line(),
            "example": f.example,
            "value": values.get(&name).cloned().unwrap_or_default(),
            "error": err,
            "group_start": group_start,
            "group_end": group_end,
        }));
    };
    for f in spec.fields {
        match f.kind {
            Kind::Object(subs) => {
                for (i, s) in subs.iter().enumerate() {
                    push(
                        format!("{}.{}", f.name, s.name),
                        s,
                        (i == 0).then(|| format!("{} — {}", label_of(f.name), f.help)),
                        i + 1 == subs.len(),
                    );
                }
            }
            _ => push(f.name.to_string(), f, None, false),
        }
    }
    (out, placed)
}

/// A form's text as the JSON value of its field. Only the form's shape is
/// handled here (commas in numbers, a local time given without its offset,
/// lists): whether the value is acceptable is the core's to say, so a value
/// that does not convert is passed on as text for the core to refuse.
fn form_value(f: &Field, raw: &str) -> Value {
    let v = raw.trim();
    match f.kind {
        Kind::Count => {
            let digits: String = v
                .chars()
                .filter(|c| !matches!(c, ',' | '_' | ' '))
                .collect();
            digits
                .parse::<u64>()
                .map(|n| Value::Number(n.into()))
                .unwrap_or_else(|_| Value::String(v.to_string()))
        }
        Kind::Bool => match v {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(v.to_string()),
        },
        Kind::Amount => Value::String(v.replace(',', "")),
        Kind::Currency => Value::String(v.to_ascii_uppercase()),
        Kind::Dates => Value::Array(
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
        Kind::Time => {
            // <input type=datetime-local> gives 2022-11-07T19:05: Hong Kong time.
            if v.len() == 16 {
                Value::String(format!("{v}:00+08:00"))
            } else if v.len() == 19 && !v.ends_with('Z') {
                Value::String(format!("{v}+08:00"))
            } else {
                Value::String(v.to_string())
            }
        }
        Kind::Counters => {
            let mut list = Vec::new();
            for c in v.split(',').filter(|c| !c.trim().is_empty()) {
                match c.split_once(':') {
                    Some((code, cur)) => list.push(serde_json::json!({
                        "stock_code": code.trim(),
                        "currency": cur.trim().to_ascii_uppercase(),
                    })),
                    None => return Value::String(v.to_string()),
                }
            }
            Value::Array(list)
        }
        _ => Value::String(v.to_string()),
    }
}

/// The event's JSON object from a form.
fn form_object(spec: &EventSpec, form: &HashMap<String, String>) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("type".into(), Value::String(spec.name.into()));
    for f in spec.fields {
        match f.kind {
            Kind::Object(subs) => {
                let mut obj = Map::new();
                for s in subs {
                    if let Some(v) = form
                        .get(&format!("{}.{}", f.name, s.name))
                        .filter(|v| !v.trim().is_empty())
                    {
                        obj.insert(s.name.into(), form_value(s, v));
                    }
                }
                if !obj.is_empty() {
                    map.insert(f.name.into(), Value::Object(obj));
                }
            }
            _ => {
                if let Some(v) = form.get(f.name).filter(|v| !v.trim().is_empty()) {
                    map.insert(f.name.into(), form_value(f, v));
                }
            }
        }
    }
    if let Some(n) = form.get("note").filter(|v| !v.trim().is_empty()) {
        map.insert("note".into(), Value::String(n.trim().to_string()));
    }
    map
}

async fn record_index<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    let caller = caller_or_login!(app, headers, "/record");
    let types: Vec<Value> = fields::SPECS
        .iter()
        .map(|s| serde_json::json!({"name": s.name, "title": title_of(s), "summary": s.summary}))
        .collect();
    render(
        "record_index.html",
        context! {
            title => "Record",
            caller => caller_ctx(&caller),
            types => jv(&types),
            issuer => q.get("issuer").cloned(),
        },
    )
}

#[allow(clippy::too_many_arguments)]
fn record_page(
    caller: &Caller,
    spec: &EventSpec,
    values: &HashMap<String, String>,
    error: Option<&ApiError>,
    preview: Option<String>,
    findings: Vec<String>,
    status: StatusCode,
) -> Response {
    let (fields, placed) = form_fields(spec, values, error);
    let top_error = error.filter(|_| !placed).map(|e| {
        let mut e = e.body()["error"].clone();
        e["field"] = Value::Null;
        e
    });
    render_status(
        status,
        "record.html",
        context! {
            title => title_of(spec),
            caller => caller_ctx(caller),
            spec => jv(&serde_json::json!({"name": spec.name, "title": title_of(spec), "summary": spec.summary})),
            fields => jv(&fields),
            note => values.get("note").cloned().unwrap_or_default(),
            error => top_error.map(|e| jv(&e)),
            preview => preview,
            findings => findings,
            flash => values.get("flash").cloned(),
        },
    )
}

async fn record_form<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Path(kind): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    let path = format!("/record/{kind}");
    let caller = caller_or_login!(app, headers, path);
    let Some(spec) = fields::spec(&kind) else {
        return fail(
            Some(&caller),
            ApiError {
                status: StatusCode::NOT_FOUND,
                ..ApiError::internal(format!("no event type `{kind}`"))
            },
            &path,
        );
    };
    if !caller.is_clerk() {
        page_try!(caller, path, caller.may_record(None));
    }
    if let Some(i) = q.get("issuer").filter(|i| !i.is_empty()) {
        page_try!(caller, path, caller.must_see(i));
    }
    record_page(&caller, spec, &q, None, None, vec![], StatusCode::OK)
}

async fn record_post<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Path(kind): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let path = format!("/record/{kind}");
    let caller = caller_or_login!(app, headers, path);
    page_try!(
        caller,
        path,
        crate::api::check_csrf(&caller, form.get("csrf").map(String::as_str).or(Some("")))
    );
    let Some(spec) = fields::spec(&kind) else {
        return fail(
            Some(&caller),
            ApiError {
                status: StatusCode::NOT_FOUND,
                ..ApiError::internal(format!("no event type `{kind}`"))
            },
            &path,
        );
    };
    let check_only = form.get("action").map(String::as_str) == Some("check");
    let object = form_object(spec, &form);
    let incoming = match parse_object(object) {
        Ok(i) => i,
        Err(e) => {
            let err = ApiError::from(Rejection::decode(1, e));
            return record_page(
                &caller,
                spec,
                &form,
                Some(&err),
                None,
                vec![],
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let lines: Lines = vec![(1, incoming)];
    if let Err(e) = may_record_lines(&caller, &lines) {
        return record_page(&caller, spec, &form, Some(&e), None, vec![], e.status);
    }
    let issuer = lines[0].1.event.issuer().map(str::to_string);
    let actor = caller.name.clone();
    let result = app
        .with_ledger(move |l| {
            let at = now();
            let options = AppendOptions {
                keep_events: true,
                findings: true,
                ..AppendOptions::dry_run(check_only)
            };
            let mut summary = l.append(lines, at, &actor, options)?;
            let findings = std::mem::take(&mut summary.findings);
            Ok((summary, findings))
        })
        .await;
    match result {
        Err(e) => record_page(&caller, spec, &form, Some(&e), None, vec![], e.status),
        Ok((summary, findings)) => {
            // A bounded digest (a few findings of each rule, the rest
            // counted; several overdue returns summed up), as `record` prints.
            let mut lines: Vec<String> = findings
                .kept()
                .map(|f| format!("{:?} {}: {}", f.severity, f.rule, f.message))
                .collect();
            lines.extend(findings.more().map(|(issuer, rule, n)| {
                format!("{n} more finding(s) of rule {rule} for {issuer}: see the audit")
            }));
            lines.extend(findings.overdue().map(|(issuer, o)| {
                format!(
                    "{:?} 13.25A/13.25B: {} returns of {issuer}{} are not recorded as filed and past their deadline: see the issuer's page",
                    o.worst,
                    o.count,
                    match (o.first, o.last) {
                        (Some(a), Some(b)) if a != b => format!(" dated {a} to {b}"),
                        (Some(a), _) => format!(" dated {a}"),
                        _ => String::new(),
                    }
                )
            }));
            let findings = lines;
            if check_only {
                let preview = summary
                    .events
                    .first()
                    .map(|r| serde_json::to_string_pretty(&recorded_json(r)).unwrap_or_default());
                return record_page(
                    &caller,
                    spec,
                    &form,
                    None,
                    preview,
                    findings,
                    StatusCode::OK,
                );
            }
            let position = summary
                .first_position
                .map(|p| format!(" at log position {p}"))
                .unwrap_or_else(|| " (already recorded)".into());
            let mut flash = format!("Recorded {}{position}.", spec.name.replace('_', " "));
            if !findings.is_empty() {
                flash.push_str(&format!(" Rule findings: {}", findings.join("; ")));
            }
            let to = match issuer {
                Some(i) => format!("/issuers/{i}?flash={}", encode(&flash)),
                None => format!("/log?flash={}", encode(&flash)),
            };
            Redirect::to(&to).into_response()
        }
    }
}

// ---------------------------------------------------------------- returns

/// One row of a filing sheet.
#[derive(Debug, serde::Serialize)]
pub struct SheetRow {
    /// A section heading (no value).
    pub heading: Option<String>,
    /// Where the value sits.
    pub label: String,
    /// The value, as the document has it.
    pub value: String,
}

/// A JSON value with its keys in document order.
#[derive(Debug)]
enum Ordered {
    Null,
    Scalar(String),
    Arr(Vec<Ordered>),
    Obj(Vec<(String, Ordered)>),
}

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Null)
            }
            fn visit_none<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Ordered, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(Ordered::Arr(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Ordered, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = a.next_key::<String>()? {
                    if k == "$serde_json::private::Number" {
                        // serde_json's arbitrary-precision number: its text.
                        let n: String = a.next_value()?;
                        return Ok(Ordered::Scalar(n));
                    }
                    v.push((k, a.next_value()?));
                }
                Ok(Ordered::Obj(v))
            }
        }
        d.deserialize_any(V)
    }
}

fn humanize(key: &str) -> String {
    match key {
        "section_i" => "Section I".into(),
        "section_ii" => "Section II".into(),
        "section_iii" => "Section III".into(),
        k => label_of(k),
    }
}

fn flatten(v: &Ordered, trail: &str, depth: usize, rows: &mut Vec<SheetRow>) {
    match v {
        Ordered::Null => {}
        Ordered::Scalar(s) => rows.push(SheetRow {
            heading: None,
            label: trail.to_string(),
            value: s.clone(),
        }),
        Ordered::Arr(items) => {
            for (i, item) in items.iter().enumerate() {
                // Name an item by its class, label or date where it has one.
                let name = match item {
                    Ordered::Obj(kv) => kv
                        .iter()
                        .find(|(k, _)| k == "class" || k == "label" || k == "type")
                        .and_then(|(k, v)| match v {
                            Ordered::Scalar(s) if k == "class" => Some(format!("class {s}")),
                            Ordered::Scalar(s) => Some(s.clone()),
                            _ => None,
                        }),
                    _ => None,
                };
                let here = format!(
                    "{trail} › {}",
                    name.map(|n| format!("{} ({n})", i + 1))
                        .unwrap_or_else(|| (i + 1).to_string())
                );
                flatten(item, &here, depth + 1, rows);
            }
        }
        Ordered::Obj(kv) => {
            for (k, v) in kv {
                let here = if trail.is_empty() {
                    humanize(k)
                } else {
                    format!("{trail} › {}", humanize(k))
                };
                if depth == 0 && matches!(v, Ordered::Arr(_) | Ordered::Obj(_)) {
                    rows.push(SheetRow {
                        heading: Some(humanize(k)),
                        label: String::new(),
                        value: String::new(),
                    });
                }
                flatten(v, &here, depth + 1, rows);
            }
        }
    }
}

/// Every value of a return's JSON document, in the order the document
/// (and so the form) gives them.
pub fn filing_sheet(json: &str) -> Vec<SheetRow> {
    let mut rows = Vec::new();
    if let Ok(v) = serde_json::from_str::<Ordered>(json) {
        flatten(&v, "", 0, &mut rows);
    }
    rows
}

async fn returns_page<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Path((issuer, form)): Path<(String, String)>,
    Query(q): Query<Params>,
) -> Response {
    let path = format!("/issuers/{issuer}/returns/{form}");
    let caller = caller_or_login!(app, headers, path);
    page_try!(caller, path, caller.must_see(&issuer));
    if form != "nddr" && form != "monthly" {
        return fail(
            Some(&caller),
            ApiError::bad_request("form", format!("`{form}` is not a return: nddr or monthly")),
            &path,
        );
    }
    let at = now();
    let id = issuer.clone();
    let status = page_try!(
        caller,
        path,
        app.with_ledger(move |l| Ok(l.status(&id, at)?)).await
    );
    let due: Vec<Value> = status
        .returns_due
        .iter()
        .filter(|r| r.form == form)
        .map(|r| {
            serde_json::json!({
                "period": due_period(r.form, r.date),
                "href": due_href(&issuer, r.form, r.date),
                "overdue": r.overdue,
                "date": r.date,
            })
        })
        .collect();
    // The parameters, defaulting to the first return of this kind due.
    let mut params = q.clone();
    if let Some(l) = q.get("layout").filter(|l| !l.is_empty()) {
        params.insert("form".into(), l.clone());
    } else {
        params.remove("form");
    }
    if let Some(first) = status.returns_due.iter().find(|r| r.form == form) {
        if form == "nddr" {
            params
                .entry("date".into())
                .or_insert(first.date.to_string());
        } else {
            params.entry("month".into()).or_insert(format!(
                "{}-{:02}",
                first.date.year(),
                first.date.month()
            ));
        }
    }
    let wanted = params
        .get(if form == "nddr" { "date" } else { "month" })
        .is_some_and(|v| !v.is_empty());
    let mut produced = None;
    let mut error = None;
    if wanted {
        match return_request(&issuer, &form, &params) {
            Ok(req) => match app.with_ledger(move |l| Ok(l.produce(&req, None)?)).await {
                Ok(p) => produced = Some(p),
                Err(e) => error = Some(e),
            },
            Err(e) => error = Some(e),
        }
    }
    let mut api = format!("/api/issuers/{issuer}/returns/{form}?");
    for k in ["date", "month", "form", "submitted"] {
        if let Some(v) = params.get(k).filter(|v| !v.is_empty()) {
            api.push_str(&format!("{k}={}&", encode(v)));
        }
    }
    let api = api.trim_end_matches('&').to_string();
    let title = if form == "nddr" {
        "Next Day Disclosure Return"
    } else {
        "Monthly Return"
    };
    render(
        "returns.html",
        context! {
            title => format!("{title} {issuer}"),
            caller => caller_ctx(&caller),
            issuer => issuer,
            form => form,
            form_title => title,
            date => params.get("date").cloned().unwrap_or_default(),
            month => params.get("month").cloned().unwrap_or_default(),
            layout => q.get("layout").cloned().unwrap_or_default(),
            submitted => q.get("submitted").cloned().unwrap_or_default(),
            submitted_now => hk(&now()).format("%Y-%m-%dT%H:%M").to_string(),
            due => jv(&due),
            produced => produced.is_some(),
            html => produced.as_ref().map(|p| p.render(Format::Html)),
            sheet => jv(&produced.as_ref().map(|p| filing_sheet(&p.json)).unwrap_or_default()),
            api => api,
            error => error.as_ref().map(error_ctx),
        },
    )
}

async fn filed_post<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Path((issuer, form)): Path<(String, String)>,
    Form(body): Form<HashMap<String, String>>,
) -> Response {
    let path = format!("/issuers/{issuer}/returns/{form}");
    let caller = caller_or_login!(app, headers, path);
    page_try!(
        caller,
        path,
        crate::api::check_csrf(&caller, body.get("csrf").map(String::as_str).or(Some("")))
    );
    page_try!(caller, path, caller.must_see(&issuer));
    page_try!(caller, path, caller.may_file());
    let req = page_try!(caller, path, return_request(&issuer, &form, &body));
    let submitted_at = match body.get("submitted_at").filter(|s| !s.is_empty()) {
        Some(s) => {
            // A time input's value, completed to RFC 3339 as the forms do.
            let t = match form_value(
                &Field {
                    name: "submitted_at",
                    kind: Kind::Time,
                    required: true,
                    help: "",
                    example: "",
                },
                s,
            ) {
                Value::String(t) => t,
                other => other.to_string(),
            };
            page_try!(
                caller,
                path,
                parse_instant("submitted_at", &t).map_err(ApiError::from)
            )
        }
        None => now(),
    };
    let actor = caller.name.clone();
    let filed = page_try!(
        caller,
        path,
        app.with_ledger(move |l| Ok(l.mark_filed(&req, submitted_at, now(), &actor)?))
            .await
    );
    let flash = format!(
        "Marked the {} of {} as filed (submitted {}), at log position {}.",
        filed.produced.layout,
        filed.produced.date.format("%d %b %Y"),
        hk(&submitted_at).format("%H:%M %d %b %Y"),
        filed.position
    );
    Redirect::to(&format!("/issuers/{issuer}?flash={}", encode(&flash))).into_response()
}

// ---------------------------------------------------------------- trades

async fn trades_page<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Path(issuer): Path<String>,
) -> Response {
    let path = format!("/issuers/{issuer}/trades");
    let caller = caller_or_login!(app, headers, path);
    page_try!(caller, path, caller.may_record(Some(&issuer)));
    trades_render(&app, &caller, &issuer, &HashMap::new(), None, None).await
}

async fn trades_render<S: Source>(
    app: &Shared<S>,
    caller: &Caller,
    issuer: &str,
    form: &HashMap<String, String>,
    preview: Option<(Vec<Value>, String, usize)>,
    error: Option<ApiError>,
) -> Response {
    let id = issuer.to_string();
    let classes: Vec<String> = app
        .with_ledger(move |l| {
            let r = l.load_issuer(&id, None)?;
            Ok(r.issuer(&id)
                .map(|s| s.classes().keys().cloned().collect())
                .unwrap_or_default())
        })
        .await
        .unwrap_or_default();
    let (rows, layout, duplicates) = preview.unwrap_or_default();
    let status = error.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK);
    render_status(
        status,
        "trades.html",
        context! {
            title => format!("Broker's CSV {issuer}"),
            caller => caller_ctx(caller),
            issuer => issuer,
            classes => classes,
            class => form.get("class").cloned().unwrap_or_default(),
            purpose => form.get("purpose").cloned().unwrap_or_else(|| "cancellation".into()),
            currency => form.get("currency").cloned().unwrap_or_else(|| "HKD".into()),
            ignore => form.get("ignore").cloned().unwrap_or_default(),
            csv => form.get("csv").cloned().unwrap_or_default(),
            rows => jv(&rows),
            layout => layout,
            duplicates => duplicates,
            error => error.as_ref().map(error_ctx),
        },
    )
}

async fn trades_post<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Path(issuer): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let path = format!("/issuers/{issuer}/trades");
    let caller = caller_or_login!(app, headers, path);
    page_try!(
        caller,
        path,
        crate::api::check_csrf(&caller, form.get("csrf").map(String::as_str).or(Some("")))
    );
    page_try!(caller, path, caller.may_record(Some(&issuer)));
    let confirm = form.get("action").map(String::as_str) == Some("confirm");
    let currency =
        match broker_csv::currency(form.get("currency").map(String::as_str).unwrap_or("HKD")) {
            Ok(c) => c,
            Err(m) => {
                let e = ApiError::bad_request("currency", m);
                return trades_render(&app, &caller, &issuer, &form, None, Some(e)).await;
            }
        };
    let defaults = broker_csv::Defaults {
        method: broker_csv::word("on_exchange").expect("a method"),
        exchange: None,
        purpose: broker_csv::word(
            form.get("purpose")
                .map(String::as_str)
                .unwrap_or("cancellation"),
        )
        .unwrap_or_else(|| broker_csv::word("cancellation").expect("a purpose")),
        currency,
        date_format: broker_csv::DateFormat::Iso,
    };
    let ignore: Vec<String> = form
        .get("ignore")
        .map(|s| {
            s.split(',')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let csv = form.get("csv").cloned().unwrap_or_default();
    let class = form.get("class").cloned().unwrap_or_default();
    let id = issuer.clone();
    let actor = caller.name.clone();
    let result = app
        .with_ledger(move |l| {
            let parsed = broker_csv::parse(csv.as_bytes(), &defaults, &ignore)?;
            let events = broker_csv::events(&parsed, &id, &class)?;
            let keys: Vec<broker_csv::Key> = events.iter().map(|(k, _)| k.clone()).collect();
            let lines: Lines = events
                .into_iter()
                .enumerate()
                .map(|(i, (_, inc))| (i + 1, inc))
                .collect();
            let summary = l
                .append(lines, now(), &actor, AppendOptions::dry_run(!confirm))
                .map_err(|e| {
                    let mut api = ApiError::from(e);
                    if let Some(k) = api.line.and_then(|n| keys.get(n - 1)) {
                        api.message = format!("the trades of {}: {}", k.date, api.message);
                    }
                    api
                })?;
            let rows: Vec<Value> = parsed
                .groups
                .iter()
                .map(|(k, g)| {
                    serde_json::json!({
                        "date": k.date,
                        "method": broker_csv::method_name(k.method),
                        "purpose": broker_csv::purpose_name(k.purpose),
                        "shares": thousands(g.shares),
                        "high": g.high.to_string(),
                        "low": g.low.to_string(),
                        "total": format!("{} {}", k.currency, broker_csv::money(g.total)),
                        "rows": broker_csv::row_ranges(&g.rows),
                    })
                })
                .collect();
            Ok((rows, parsed.layout.describe().to_string(), summary))
        })
        .await;
    match result {
        Err(e) => trades_render(&app, &caller, &issuer, &form, None, Some(e)).await,
        Ok((rows, layout, summary)) => {
            if confirm {
                let flash = format!(
                    "Recorded {} repurchase{} from the broker's file{}.",
                    summary.appended,
                    if summary.appended == 1 { "" } else { "s" },
                    if summary.duplicates > 0 {
                        format!(
                            " ({} already recorded by an earlier upload, skipped)",
                            summary.duplicates
                        )
                    } else {
                        String::new()
                    }
                );
                Redirect::to(&format!("/issuers/{issuer}?flash={}", encode(&flash))).into_response()
            } else {
                trades_render(
                    &app,
                    &caller,
                    &issuer,
                    &form,
                    Some((rows, layout, summary.duplicates)),
                    None,
                )
                .await
            }
        }
    }
}

// ---------------------------------------------------------------- log

async fn log_page<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    let caller = caller_or_login!(app, headers, "/log");
    let issuer = q.get("issuer").cloned().filter(|s| !s.is_empty());
    if let Some(i) = &issuer {
        page_try!(caller, "/log", caller.must_see(i));
    }
    let kind = q.get("type").cloned().filter(|s| !s.is_empty());
    let after: u64 = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let limit: usize = q
        .get("limit")
        .and_then(|a| a.parse().ok())
        .unwrap_or(100)
        .clamp(1, 1000);
    let c = caller.clone();
    let (issuers, rows, last) = page_try!(
        caller,
        "/log",
        app.with_ledger(move |l| {
            let issuers: Vec<String> = l.issuers()?.into_iter().filter(|i| c.sees(i)).collect();
            // What has been voided (anywhere in the log).
            let mut voided = BTreeSet::new();
            for row in l.events(&ReadFilter {
                stream: issuer.clone(),
                ..ReadFilter::default()
            }) {
                let row = row?;
                if row.event_type == "event_voided" {
                    if let Ok(v) = serde_json::from_str::<Value>(&row.payload) {
                        if let Some(id) = v["voided_id"].as_str() {
                            voided.insert(id.to_string());
                        }
                    }
                }
            }
            let mut rows = Vec::new();
            let mut last = None;
            for row in l.events(&ReadFilter {
                stream: issuer.clone(),
                from_position: after,
                ..ReadFilter::default()
            }) {
                let row = row?;
                if !shareledger_ledger::access::is_register_stream(&row.stream)
                    || !(c.sees(&row.stream) || row.stream == MARKET_STREAM)
                    || kind.as_ref().is_some_and(|k| *k != row.event_type)
                {
                    continue;
                }
                if rows.len() >= limit {
                    last = Some(rows.len());
                    break;
                }
                let mut details: Map<String, Value> =
                    serde_json::from_str(&row.payload).unwrap_or_default();
                for k in ["type", "issuer"] {
                    details.remove(k);
                }
                let recorded = DateTime::parse_from_rfc3339(&row.recorded_at)
                    .map(|t| hk(&t).format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|_| row.recorded_at.clone());
                rows.push(serde_json::json!({
                    "position": row.position,
                    "id": row.id,
                    "recorded_at": recorded,
                    "issuer": if row.stream == MARKET_STREAM { String::new() } else { row.stream.clone() },
                    "type": row.event_type,
                    "date": row.effective_date,
                    "actor": row.actor,
                    "details": Value::Object(details).to_string(),
                    "voided": voided.contains(&row.id),
                    "voidable": row.event_type != "event_voided" && !voided.contains(&row.id),
                }));
            }
            Ok((issuers, rows, last))
        })
        .await
    );
    let next = last.and_then(|_| rows.last()).map(|r| {
        format!(
            "/log?issuer={}&type={}&after={}&limit={limit}",
            encode(q.get("issuer").map(String::as_str).unwrap_or("")),
            encode(q.get("type").map(String::as_str).unwrap_or("")),
            r["position"]
        )
    });
    let types: Vec<&str> = shareledger_core::event::EVENT_TYPES.to_vec();
    render(
        "log.html",
        context! {
            title => "Log",
            caller => caller_ctx(&caller),
            issuers => issuers,
            issuer => q.get("issuer").cloned().unwrap_or_default(),
            types => types,
            type => q.get("type").cloned().unwrap_or_default(),
            after => q.get("after").cloned().unwrap_or_default(),
            limit => limit,
            events => jv(&rows),
            next => next,
            flash => flash_of(&q),
            error => q.get("error").map(|m| jv(&serde_json::json!({"message": m}))),
        },
    )
}

async fn void_post<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let caller = caller_or_login!(app, headers, "/log");
    page_try!(
        caller,
        "/log",
        crate::api::check_csrf(&caller, form.get("csrf").map(String::as_str).or(Some("")))
    );
    page_try!(caller, "/log", caller.may_file());
    let mut map = Map::new();
    map.insert("type".into(), "event_voided".into());
    for k in ["issuer", "voided_id", "reason"] {
        if let Some(v) = form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            map.insert(k.into(), v.into());
        }
    }
    let issuer = form.get("issuer").cloned().unwrap_or_default();
    let back = |m: &str, key: &str| {
        Redirect::to(&format!(
            "/log?issuer={}&{key}={}",
            encode(&issuer),
            encode(m)
        ))
        .into_response()
    };
    let incoming = match parse_object(map) {
        Ok(i) => i,
        Err(e) => return back(&ApiError::from(Rejection::decode(1, e)).message, "error"),
    };
    let lines: Lines = vec![(1, incoming)];
    if let Err(e) = may_record_lines(&caller, &lines) {
        return fail(Some(&caller), e, "/log");
    }
    let actor = caller.name.clone();
    let voided_id = form.get("voided_id").cloned().unwrap_or_default();
    match app
        .with_ledger(move |l| {
            let s = l.append(lines, now(), &actor, AppendOptions::default())?;
            Ok((s, l.find_by_id(&voided_id)?))
        })
        .await
    {
        Ok((s, voided)) => {
            let flash = format!(
                "Voided (log position {}). The form below holds the voided event: correct it and record it, or leave this page if nothing replaces it.",
                s.first_position.unwrap_or_default()
            );
            match voided.and_then(|row| correction_form(&row.event_type, &row.payload)) {
                Some(query) => {
                    Redirect::to(&format!("{query}&flash={}", encode(&flash))).into_response()
                }
                None => back(
                    &format!(
                        "Voided (log position {}).",
                        s.first_position.unwrap_or_default()
                    ),
                    "flash",
                ),
            }
        }
        Err(e) => back(&e.message, "error"),
    }
}

/// The record form of `event_type` filled with a voided event's values:
/// the correction flow (void, then record the event as it should have been).
fn correction_form(event_type: &str, payload: &str) -> Option<String> {
    let spec = fields::spec(event_type)?;
    let v: Map<String, Value> = serde_json::from_str(payload).ok()?;
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(a) => Some(
            a.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => format!(
                        "{}:{}",
                        o.get("stock_code").and_then(Value::as_str).unwrap_or(""),
                        o.get("currency").and_then(Value::as_str).unwrap_or("")
                    ),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    };
    let mut q = format!("/record/{}?", spec.name);
    for f in spec.fields {
        match (v.get(f.name), f.kind) {
            (Some(Value::Object(o)), Kind::Object(subs)) => {
                for sub in subs {
                    if let Some(t) = o.get(sub.name).and_then(text) {
                        q.push_str(&format!("{}.{}={}&", f.name, sub.name, encode(&t)));
                    }
                }
            }
            (Some(x), _) => {
                if let Some(t) = text(x) {
                    q.push_str(&format!("{}={}&", f.name, encode(&t)));
                }
            }
            _ => {}
        }
    }
    if let Some(n) = v.get("note").and_then(Value::as_str) {
        q.push_str(&format!("note={}&", encode(n)));
    }
    Some(q.trim_end_matches('&').to_string())
}

// ---------------------------------------------------------------- audit

async fn audit_page<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    let caller = caller_or_login!(app, headers, "/audit");
    let issuer = q.get("issuer").cloned().filter(|s| !s.is_empty());
    match &issuer {
        Some(i) => page_try!(caller, "/audit", caller.must_see(i)),
        None if caller.issuers.is_some() => {
            let first = caller.issuers.as_ref().and_then(|l| l.first()).cloned();
            if let Some(f) = first {
                return Redirect::to(&format!("/audit?issuer={}", encode(&f))).into_response();
            }
        }
        None => {}
    }
    let at = now();
    let only = issuer.clone();
    let (report, checkpoint) = page_try!(
        caller,
        "/audit",
        app.with_ledger(move |l| {
            let options = AuditOptions {
                only: only.as_deref(),
                expect: None,
                threads: default_threads(),
            };
            let report = l.audit(&options, at, &|_, _| {})?;
            let checkpoint = l.checkpoint().ok().flatten();
            Ok((report, checkpoint))
        })
        .await
    );
    let (chain_ok, broken_at) = match report.chain {
        Chain::Intact(_) => (true, None),
        Chain::Broken { broken_at } => (false, Some(broken_at)),
    };
    render(
        "audit.html",
        context! {
            title => "Audit",
            caller => caller_ctx(&caller),
            issuer => issuer,
            report => jv(&report),
            chain_ok => chain_ok,
            broken_at => broken_at,
            events => thousands(report.events),
            checkpoint => checkpoint.map(|(p, h)| format!("{p}:{h}")).unwrap_or_else(|| "none (the chain does not verify, or the ledger is empty)".into()),
        },
    )
}

// ---------------------------------------------------------------- login

fn safe_next(next: Option<&String>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.clone(),
        _ => "/".into(),
    }
}

async fn login_page(Query(q): Query<Params>) -> Response {
    render(
        "login.html",
        context! { next => safe_next(q.get("next")), name => "", message => None::<String> },
    )
}

async fn login_post<S: Source>(
    State(app): State<Shared<S>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let name = form.get("name").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let next = safe_next(form.get("next"));
    let a = app.clone();
    let n = name.clone();
    let outcome = app
        .with_ledger(move |l| {
            let users = l.users()?;
            Ok(a.auth.login(&users, &n, &password))
        })
        .await;
    let refuse = |status: StatusCode, message: &str| {
        render_status(
            status,
            "login.html",
            context! { next => next.clone(), name => name.clone(), message => message },
        )
    };
    match outcome {
        Ok(Login::Ok(token)) => {
            let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
            (
                [(header::SET_COOKIE, cookie)],
                Redirect::to(&next),
            )
                .into_response()
        }
        Ok(Login::Refused) => refuse(StatusCode::UNAUTHORIZED, "Wrong name or password."),
        Ok(Login::Locked) => refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed logins for this name: try again in 15 minutes, or ask your administrator.",
        ),
        Err(e) => refuse(e.status, &e.message),
    }
}

async fn logout<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Ok(c) = app.caller(&headers).await {
        if crate::api::check_csrf(&c, form.get("csrf").map(String::as_str).or(Some(""))).is_ok() {
            app.auth.logout(&headers);
        }
    }
    (
        [(
            header::SET_COOKIE,
            format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

// ---------------------------------------------------------------- users

fn must_admin(c: &Caller) -> Result<(), ApiError> {
    if c.role == shareledger_ledger::access::Role::Admin && !c.single_user {
        Ok(())
    } else if c.single_user {
        Err(ApiError::forbidden(
            "this server runs without users: add the first one from the command line (shareledger user add NAME --role admin)",
        ))
    } else {
        Err(ApiError::forbidden(format!(
            "{} is not an admin: managing users needs the role admin",
            c.name
        )))
    }
}

async fn users_render<S: Source>(
    app: &Shared<S>,
    caller: &Caller,
    form: &HashMap<String, String>,
    error: Option<ApiError>,
    flash: Option<String>,
) -> Response {
    let users = match app.with_ledger(|l| Ok(l.users()?)).await {
        Ok(u) => u,
        Err(e) => return fail(Some(caller), e, "/users"),
    };
    let rows: Vec<Value> = users
        .values()
        .map(|u| {
            serde_json::json!({
                "name": u.name,
                "role": u.role.name(),
                "issuers": u.issuers.as_ref().map(|l| l.join(",")),
                "disabled": u.disabled,
                "position": u.position,
            })
        })
        .collect();
    render_status(
        error.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK),
        "users.html",
        context! {
            title => "Users",
            caller => caller_ctx(caller),
            users => jv(&rows),
            form => jv(form),
            error => error.as_ref().map(|e| {
                let mut b = e.body()["error"].clone();
                b["field"] = Value::Null;
                jv(&b)
            }),
            flash => flash,
        },
    )
}

async fn users_page<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    let caller = caller_or_login!(app, headers, "/users");
    page_try!(caller, "/users", must_admin(&caller));
    users_render(&app, &caller, &HashMap::new(), None, flash_of(&q)).await
}

async fn user_add<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let caller = caller_or_login!(app, headers, "/users");
    page_try!(
        caller,
        "/users",
        crate::api::check_csrf(&caller, form.get("csrf").map(String::as_str).or(Some("")))
    );
    page_try!(caller, "/users", must_admin(&caller));
    let mut shown = form.clone();
    shown.remove("password");
    shown.remove("csrf");
    let password = form.get("password").cloned().unwrap_or_default();
    if password.chars().count() < 10 {
        let e = ApiError::bad_request(
            "password",
            "the password is shorter than 10 characters: choose a longer one",
        );
        return users_render(&app, &caller, &shown, Some(e), None).await;
    }
    let Some(role) = form
        .get("role")
        .and_then(|r| shareledger_ledger::access::Role::parse(r))
    else {
        let e = ApiError::bad_request("role", "choose auditor, clerk, officer or admin");
        return users_render(&app, &caller, &shown, Some(e), None).await;
    };
    let issuers: Vec<String> = form
        .get("issuers")
        .map(|s| {
            s.split(',')
                .map(|i| i.trim().to_string())
                .filter(|i| !i.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let hash =
        match tokio::task::spawn_blocking(move || crate::auth::hash_password(&password)).await {
            Ok(Ok(h)) => h,
            _ => {
                let e = ApiError::internal("the password could not be hashed");
                return users_render(&app, &caller, &shown, Some(e), None).await;
            }
        };
    let name = form.get("name").cloned().unwrap_or_default();
    let event = shareledger_ledger::access::AccessEvent::UserAdded {
        name: name.clone(),
        role,
        issuers: (!issuers.is_empty()).then_some(issuers),
        password_hash: hash,
    };
    let actor = caller.name.clone();
    match app
        .with_ledger(move |l| Ok(l.record_access(event, now(), &actor)?))
        .await
    {
        Ok(p) => Redirect::to(&format!(
            "/users?flash={}",
            encode(&format!("Added {name} at log position {p}."))
        ))
        .into_response(),
        Err(e) => users_render(&app, &caller, &shown, Some(e), None).await,
    }
}

async fn user_disable<S: Source>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let caller = caller_or_login!(app, headers, "/users");
    page_try!(
        caller,
        "/users",
        crate::api::check_csrf(&caller, form.get("csrf").map(String::as_str).or(Some("")))
    );
    page_try!(caller, "/users", must_admin(&caller));
    let name = form.get("name").cloned().unwrap_or_default();
    let event = shareledger_ledger::access::AccessEvent::UserDisabled { name: name.clone() };
    let actor = caller.name.clone();
    match app
        .with_ledger(move |l| Ok(l.record_access(event, now(), &actor)?))
        .await
    {
        Ok(p) => Redirect::to(&format!(
            "/users?flash={}",
            encode(&format!("Disabled {name} at log position {p}."))
        ))
        .into_response(),
        Err(e) => users_render(&app, &caller, &HashMap::new(), Some(e), None).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filing_sheet_keeps_the_documents_order_and_skips_nulls() {
        let rows = filing_sheet(
            r#"{"form":"FF305","issuer":{"id":"08888","name":"X"},"amends":null,
                "section_i":[{"class":"ORD","shares":700000,"price":"3.1207"}]}"#,
        );
        let got: Vec<(String, String)> = rows
            .iter()
            .map(|r| match &r.heading {
                Some(h) => (format!("# {h}"), String::new()),
                None => (r.label.clone(), r.value.clone()),
            })
            .collect();
        let want: Vec<(String, String)> = [
            ("Form", "FF305"),
            ("# Issuer", ""),
            ("Issuer › Id", "08888"),
            ("Issuer › Name", "X"),
            ("# Section I", ""),
            ("Section I › 1 (class ORD) › Class", "ORD"),
            ("Section I › 1 (class ORD) › Shares", "700000"),
            ("Section I › 1 (class ORD) › Price", "3.1207"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_voided_event_becomes_its_form_filled() {
        let q = correction_form(
            "share_class_defined",
            r#"{"type":"share_class_defined","issuer":"02121","class":"H","class_of_shares":"Ordinary shares","par_value":{"currency":"RMB","amount":"1"},"multi_counter":[{"stock_code":"82121","currency":"RMB"}]}"#,
        )
        .unwrap();
        assert!(
            q.starts_with("/record/share_class_defined?issuer=02121&class=H&"),
            "{q}"
        );
        assert!(q.contains("class_of_shares=Ordinary%20shares"), "{q}");
        assert!(
            q.contains("par_value.currency=RMB&par_value.amount=1"),
            "{q}"
        );
        assert!(q.contains("multi_counter=82121%3ARMB"), "{q}");
    }

    #[test]
    fn form_values_keep_the_cores_judgement() {
        let f = |kind| Field {
            name: "x",
            kind,
            required: true,
            help: "",
            example: "",
        };
        assert_eq!(form_value(&f(Kind::Count), "4,300"), Value::from(4300u64));
        // Not a number: passed on as text for the core to refuse in its words.
        assert_eq!(form_value(&f(Kind::Count), "many"), Value::from("many"));
        assert_eq!(
            form_value(&f(Kind::Time), "2022-11-07T19:05"),
            Value::from("2022-11-07T19:05:00+08:00")
        );
        assert_eq!(
            form_value(&f(Kind::Amount), "92,569.50"),
            Value::from("92569.50")
        );
    }
}
