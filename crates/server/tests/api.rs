//! The JSON API of interchange.md section 4, route by route, in-process:
//! success, 400, 404, 409, 422 (line, field, nothing written), and the
//! OpenAPI description against the router.

#[macro_use]
mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;
use shareledger_ledger::{LedgerError, StoreError};
use shareledger_server::api::{OPENAPI, ROUTES};
use shareledger_server::ApiError;

on_both_engines! {
    async fn the_openapi_document_describes_every_route_of_the_router_and_no_other(k: Kind) {
        let t = TestServer::harbour_on(k);
        let r = t.router();
        let a = get(&r, "/api/openapi.json").await;
        assert_eq!(a.status, 200);
        let doc: Value = a.json();
        assert_eq!(doc, serde_json::from_str::<Value>(OPENAPI).unwrap());
        let described: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .map(move |m| (m.clone(), path.clone()))
            })
            .collect();
        let listed: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(described, listed, "OpenAPI paths vs api::ROUTES");

        // The router's own route table (its source) is the same list.
        let src = include_str!("../src/api.rs");
        let mut routed = BTreeSet::new();
        let mut rest = src;
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + 7..];
            let path = rest.split('"').nth(1).unwrap().to_string();
            let after_path = rest.splitn(3, '"').nth(2).unwrap();
            let method: String = after_path
                .split('(')
                .next()
                .unwrap()
                .chars()
                .filter(|c| c.is_ascii_alphabetic())
                .collect();
            routed.insert((method, path));
        }
        assert_eq!(routed, listed, "router's .route(...) calls vs api::ROUTES");

        // And every listed route answers (not the fallback).
        for (method, path) in ROUTES {
            let uri = path.replace("{issuer}", "08888").replace("{form}", "nddr");
            let a = send(&r, &method.to_uppercase(), &uri, &[JSON], "{}").await;
            assert!(
                !a.body.contains("no such page or API route"),
                "{method} {uri} is not routed: {}",
                a.body
            );
        }
        let a = get(&r, "/api/nope").await;
        assert_eq!(a.status, 404);
        assert!(a.error()["message"].as_str().unwrap().contains("no such"));
    }
}

on_both_engines! {
    async fn issuers_lists_each_issuer_with_what_is_due(k: Kind) {
        let t = TestServer::harbour_on(k);
        let r = t.router();
        let a = get(&r, "/api/issuers?now=2025-06-16T09:00:00%2B08:00").await;
        assert_eq!(a.status, 200, "{}", a.body);
        let list = a.json();
        let ids: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["issuer"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["00700", "08888"]);
        let h = &list[1];
        assert_eq!(h["name"], "Example Harbour Holdings Limited");
        assert!(h["returns_due"].is_array());
        // The Monthly Return for May 2025 is overdue by 16 June.
        assert_eq!(h["next_due"]["form"], "monthly");
        assert_eq!(h["next_due"]["overdue"], true);

        let a = get(&r, "/api/issuers?now=yesterday").await;
        assert_eq!(a.status, 400);
        assert_eq!(a.error()["field"], "now");
    }
}

on_both_engines! {
    async fn status_is_the_status_document(k: Kind) {
        let t = TestServer::harbour_on(k);
        let r = t.router();
        let a = get(&r, "/api/issuers/08888/status?now=2025-06-16").await;
        assert_eq!(a.status, 200, "{}", a.body);
        let s = a.json();
        assert_eq!(s["issuer"]["id"], "08888");
        assert_eq!(s["as_of"], "2025-06-16");
        assert_eq!(
            s["classes"][0]["balances"]["issued_excluding_treasury"],
            1200000000
        );
        let a = get(&r, "/api/issuers/99999/status").await;
        assert_eq!(a.status, 404);
        assert!(a.error()["message"].as_str().unwrap().contains("99999"));
        let a = get(&r, "/api/issuers/08888/status?now=2025-13-01").await;
        assert_eq!(a.status, 400);
        assert_eq!(a.error()["field"], "now");
    }
}

on_both_engines! {
    async fn balance_is_the_balance_document(k: Kind) {
        let t = TestServer::with_on(k, HARBOUR);
        let r = t.router();
        let before = shareledger_server::now().to_rfc3339();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let a = send(&r, "POST", "/api/events", &[NDJSON], REPURCHASE).await;
        assert_eq!(a.status, 201, "{}", a.body);
        let a = get(&r, "/api/issuers/08888/balance?as_of=2025-06-13").await;
        assert_eq!(a.status, 200, "{}", a.body);
        let b = a.json();
        assert_eq!(b["issuer"], "08888");
        assert_eq!(b["as_of"], "2025-06-13");
        assert_eq!(b["classes"][0]["class"], "ORD");
        assert_eq!(b["classes"][0]["pending_cancellation"], 700000);
        // known_at before the repurchase was recorded: not pending then.
        let a = get(
            &r,
            &format!(
                "/api/issuers/08888/balance?as_of=2025-06-13&known_at={}",
                before.replace('+', "%2B")
            ),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.json()["classes"][0]["pending_cancellation"], 0);
        // Known at a time before the issuer was recorded: no such issuer then.
        let a = get(
            &r,
            "/api/issuers/08888/balance?as_of=2025-06-13&known_at=2025-06-01",
        )
        .await;
        assert_eq!(a.status, 404, "{}", a.body);
        let a = get(&r, "/api/issuers/08888/balance?as_of=13/06/2025").await;
        assert_eq!(a.status, 400);
        assert_eq!(a.error()["field"], "as_of");
        assert_eq!(get(&r, "/api/issuers/99999/balance").await.status, 404);
    }
}

on_both_engines! {
    async fn returns_in_every_format_and_their_errors(k: Kind) {
        let t = TestServer::with_on(k, &format!("{HARBOUR}{REPURCHASE}\n"));
        let r = t.router();
        let a = get(&r, "/api/issuers/08888/returns/nddr?date=2025-06-13").await;
        assert_eq!(a.status, 200, "{}", a.body);
        let d = a.json();
        assert_eq!(d["form"], "FF305");
        assert_eq!(d["issuer"]["id"], "08888");
        assert_eq!(d["section_ii"][0]["repurchases"][0]["shares"], 700000);
        let a = get(
            &r,
            "/api/issuers/08888/returns/nddr?date=2025-06-13&format=html",
        )
        .await;
        assert_eq!(a.status, 200);
        assert!(a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(a.body.contains("<html"), "{}", &a.body[..200]);
        for f in ["md", "text"] {
            let a = get(
                &r,
                &format!("/api/issuers/08888/returns/nddr?date=2025-06-13&format={f}"),
            )
            .await;
            assert_eq!(a.status, 200, "{f}");
            assert!(a.body.contains("700,000"), "{f}: {}", a.body);
        }
        let a = get(
            &r,
            "/api/issuers/08888/returns/nddr?date=2025-06-13&form=FF304",
        )
        .await;
        assert_eq!(a.json()["form"], "FF304");
        let a = get(
            &r,
            "/api/issuers/08888/returns/nddr?date=2025-06-13&form=FF999",
        )
        .await;
        assert_eq!(a.status, 400);
        assert_eq!(a.error()["field"], "form");
        let a = get(&r, "/api/issuers/08888/returns/nddr").await;
        assert_eq!(a.status, 400);
        assert_eq!(a.error()["field"], "date");
        let a = get(
            &r,
            "/api/issuers/08888/returns/nddr?date=2025-06-13&format=xls",
        )
        .await;
        assert_eq!(a.status, 400);
        assert_eq!(a.error()["field"], "format");
        let a = get(&r, "/api/issuers/99999/returns/nddr?date=2025-06-13").await;
        assert_eq!(a.status, 404);

        let a = get(&r, "/api/issuers/08888/returns/monthly?month=2025-06").await;
        assert_eq!(a.status, 200, "{}", a.body);
        let m = a.json();
        assert_eq!(m["form"], "FF301");
        assert_eq!(m["month_ended"], "2025-06-30");
        let a = get(&r, "/api/issuers/08888/returns/monthly?month=2025-6x").await;
        assert_eq!(a.status, 400);
        assert_eq!(a.error()["field"], "month");
        let a = get(&r, "/api/issuers/08888/returns/monthly").await;
        assert_eq!(a.status, 400);
        // A month before the ledger's history cannot be produced: 422.
        let a = get(&r, "/api/issuers/08888/returns/monthly?month=2020-01").await;
        assert_eq!(a.status, 422, "{}", a.body);
    }
}

on_both_engines! {
    async fn posting_events_appends_all_or_nothing(k: Kind) {
        let t = TestServer::with_on(k, HARBOUR);
        let r = t.router();
        let before = t.count();

        // A dry run decides and writes nothing.
        let a = send(
            &r,
            "POST",
            "/api/events?dry_run=true",
            &[NDJSON],
            REPURCHASE,
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.json()["appended"], 1);
        assert_eq!(a.json()["events"][0]["shares"], 700000);
        assert_eq!(t.count(), before);

        // Line 2 refused: 422 with line and field, and line 1 not written either.
        let bad = REPURCHASE.replace("2025-06-13", "2025-04-29");
        let body = format!("{REPURCHASE}\n{bad}\n");
        let a = send(&r, "POST", "/api/events", &[NDJSON], &body).await;
        assert_eq!(a.status, 422, "{}", a.body);
        let e = a.error();
        assert_eq!(e["line"], 2);
        assert_eq!(e["field"], "trade_date");
        assert!(e["message"].as_str().unwrap().contains("2025-04-29"), "{e}");
        assert!(e["hint"].is_string());
        assert_eq!(t.count(), before, "nothing written");

        // A line that does not decode: 422 naming the line and field.
        let a = send(
            &r,
            "POST",
            "/api/events",
            &[NDJSON],
            &REPURCHASE.replace("\"shares\":700000", "\"shares\":\"many\""),
        )
        .await;
        assert_eq!(a.status, 422, "{}", a.body);
        assert_eq!(a.error()["line"], 1);
        assert_eq!(a.error()["field"], "shares");
        assert_eq!(t.count(), before);

        // Malformed requests: 400 / 415, nothing written.
        let a = send(
            &r,
            "POST",
            "/api/events?dry_run=maybe",
            &[NDJSON],
            REPURCHASE,
        )
        .await;
        assert_eq!(a.status, 400);
        assert_eq!(a.error()["field"], "dry_run");
        let a = send(
            &r,
            "POST",
            "/api/events",
            &[("content-type", "text/plain")],
            REPURCHASE,
        )
        .await;
        assert_eq!(a.status, 415);
        let a = send(
            &r,
            "POST",
            "/api/events?allow_duplicate=sometimes",
            &[NDJSON],
            REPURCHASE,
        )
        .await;
        assert_eq!(a.status, 400);
        assert_eq!(t.count(), before);

        // Appended: 201 with the positions.
        let a = send(
            &r,
            "POST",
            "/api/events?allow_duplicate=true",
            &[NDJSON],
            &format!("# a comment\n{REPURCHASE}\n"),
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.body);
        let s = a.json();
        assert_eq!(s["appended"], 1);
        assert_eq!(s["first_position"], before + 1);
        assert_eq!(s["last_position"], before + 1);
        assert_eq!(t.count(), before + 1);

        // The same id twice with other content: refused, nothing written.
        let log = get(&r, "/api/log?issuer=08888&after=4").await;
        let stored: Value = serde_json::from_str(log.body.lines().next().unwrap()).unwrap();
        let id = stored["id"].as_str().unwrap();
        let again = REPURCHASE.replace("{", &format!("{{\"id\":\"{id}\","));
        let changed = again.replace("700000", "700001");
        let a = send(&r, "POST", "/api/events", &[NDJSON], &changed).await;
        assert_eq!(a.status, 422, "{}", a.body);
        assert_eq!(t.count(), before + 1);
        // The same id with the same content: a no-op.
        let a = send(&r, "POST", "/api/events", &[NDJSON], &again).await;
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.json()["appended"], 0);
        assert_eq!(a.json()["duplicates"], 1);
        assert_eq!(t.count(), before + 1);

        // The users' stream is not an issuer's.
        let a = send(
            &r,
            "POST",
            "/api/events",
            &[NDJSON],
            r#"{"type":"issuer_registered","issuer":"$access","name":"x"}"#,
        )
        .await;
        assert_eq!(a.status, 422, "{}", a.body);
        assert_eq!(a.error()["field"], "issuer");
    }
}

#[test]
fn a_concurrent_change_is_409_with_retry() {
    let e = ApiError::from(LedgerError::from(StoreError::VersionConflict {
        stream: "08888".into(),
        expected: shareledger_ledger::ExpectedVersion::Exact(3),
        actual: 4,
    }));
    assert_eq!(e.status, 409);
    assert!(e.hint.unwrap().contains("retry"));
}

on_both_engines! {
    async fn filing_a_return_records_it_with_its_digest_and_it_is_no_longer_due(k: Kind) {
        let t = TestServer::with_on(k, &format!("{HARBOUR}{REPURCHASE}\n"));
        let r = t.router();
        let due = |s: &Value| -> Vec<String> {
            s["returns_due"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    format!(
                        "{} {}",
                        d["form"].as_str().unwrap(),
                        d["date"].as_str().unwrap()
                    )
                })
                .collect()
        };
        let s = get(&r, "/api/issuers/08888/status?now=2025-06-14")
            .await
            .json();
        assert!(due(&s).contains(&"nddr 2025-06-13".to_string()), "{s}");
        let before = t.count();

        let uri = "/api/issuers/08888/returns/nddr/filed";
        let a = send(
            &r,
            "POST",
            uri,
            &[JSON],
            r#"{"submitted_at":"2025-06-13T19:05:00+08:00"}"#,
        )
        .await;
        assert_eq!(a.status, 400);
        assert_eq!(a.error()["field"], "date");
        let a = send(
            &r,
            "POST",
            uri,
            &[JSON],
            r#"{"date":"2025-06-13","submitted_at":"soon"}"#,
        )
        .await;
        assert_eq!(a.status, 400);
        assert_eq!(a.error()["field"], "submitted_at");
        let a = send(
            &r,
            "POST",
            uri,
            &[JSON],
            r#"{"date":"2025-06-13","colour":"red"}"#,
        )
        .await;
        assert_eq!(a.status, 400);
        let a = send(&r, "POST", uri, &[JSON], "not json").await;
        assert_eq!(a.status, 400);
        let a = send(
            &r,
            "POST",
            "/api/issuers/99999/returns/nddr/filed",
            &[JSON],
            r#"{"date":"2025-06-13"}"#,
        )
        .await;
        assert_eq!(a.status, 404);
        let a = send(
            &r,
            "POST",
            "/api/issuers/08888/returns/annual/filed",
            &[JSON],
            r#"{"date":"2025-06-13"}"#,
        )
        .await;
        assert_eq!(a.status, 400);
        assert_eq!(t.count(), before, "nothing written by an error");

        let a = send(
            &r,
            "POST",
            uri,
            &[JSON],
            r#"{"date":"2025-06-13","submitted_at":"2025-06-13T19:05:00+08:00","status":"New Submission"}"#,
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.body);
        let f = a.json();
        assert_eq!(f["appended"], 1);
        assert_eq!(f["first_position"], before + 1);
        assert_eq!(f["form"], "FF305");
        assert_eq!(f["digest"].as_str().unwrap().len(), 64);
        let log = get(&r, &format!("/api/log?after={before}")).await;
        let filed: Value = serde_json::from_str(log.body.trim()).unwrap();
        assert_eq!(filed["type"], "return_filed");
        assert_eq!(filed["digest"], f["digest"]);
        assert_eq!(filed["submitted_at"], "2025-06-13T19:05:00+08:00");

        let s = get(&r, "/api/issuers/08888/status?now=2025-06-14")
            .await
            .json();
        assert!(!due(&s).contains(&"nddr 2025-06-13".to_string()), "{s}");

        // The audit proves the filing against the log.
        let a = get(&r, "/api/audit?issuer=08888&now=2025-06-14").await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.json()["chain"], "intact");

        // The Monthly Return, by month.
        let a = send(
            &r,
            "POST",
            "/api/issuers/08888/returns/monthly/filed",
            &[JSON],
            r#"{"month":"2025-06","submitted_at":"2025-07-02T10:00:00+08:00"}"#,
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.json()["form"], "FF301");
        // The Status line is the filer's to set (interchange.md section 4).
        let a = send(
            &r,
            "POST",
            uri,
            &[JSON],
            r#"{"date":"2025-06-13","status":"Amended Submission","submitted_at":"2025-06-14T10:00:00+08:00"}"#,
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.json()["status"], "Amended Submission", "{}", a.body);
    }
}

on_both_engines! {
    async fn the_log_is_json_lines_as_log_format_json(k: Kind) {
        let t = TestServer::harbour_on(k);
        let r = t.router();
        let a = get(&r, "/api/log").await;
        assert_eq!(a.status, 200);
        assert_eq!(a.headers["content-type"], "application/x-ndjson");
        let lines: Vec<Value> = a
            .body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 7);
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(l["position"], i as u64 + 1);
            for k in ["id", "recorded_at", "actor", "hash", "type"] {
                assert!(l.get(k).is_some(), "{k} in {l}");
            }
        }
        let a = get(&r, "/api/log?issuer=00700").await;
        assert_eq!(a.body.lines().count(), 3);
        let a = get(&r, "/api/log?after=2&limit=3").await;
        let pos: Vec<u64> = a
            .body
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["position"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(pos, [3, 4, 5]);
        let a = get(&r, "/api/log?after=x").await;
        assert_eq!(a.status, 400);
        assert_eq!(a.error()["field"], "after");
        let a = get(&r, "/api/log?limit=-1").await;
        assert_eq!(a.status, 400);
    }
}

on_both_engines! {
    async fn audit_is_the_audit_document(k: Kind) {
        let t = TestServer::harbour_on(k);
        let r = t.router();
        let a = get(&r, "/api/audit?now=2025-06-01").await;
        assert_eq!(a.status, 200, "{}", a.body);
        let d = a.json();
        assert_eq!(d["chain"], "intact");
        assert_eq!(d["events"], 7);
        assert!(d["findings"].is_array());
        assert_eq!(get(&r, "/api/audit?issuer=99999").await.status, 404);
        assert_eq!(get(&r, "/api/audit?now=never").await.status, 400);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_return_as_pdf_is_printed_by_chromium_or_says_why_not() {
    let t = TestServer::with(&format!("{HARBOUR}{REPURCHASE}\n"));
    let r = t.router();
    let a = get(
        &r,
        "/api/issuers/08888/returns/nddr?date=2025-06-13&format=pdf",
    )
    .await;
    if shareledger_server::pdf::find_browser().is_some_and(|b| b.is_file()) {
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.headers["content-type"], "application/pdf");
        assert!(a.body.starts_with("%PDF-"));
    } else {
        assert_eq!(a.status, 503, "{}", a.body);
        assert!(a.error()["message"].as_str().unwrap().contains("Chromium"));
    }
    let a = get(
        &r,
        "/api/issuers/08888/returns/nddr?date=2025-06-13&format=html&download=true",
    )
    .await;
    assert_eq!(
        a.headers["content-disposition"],
        "attachment; filename=\"08888-FF305-2025-06-13.html\""
    );
}

on_both_engines! {
    async fn the_issuer_page_shows_balances_with_separators_and_a_chart(k: Kind) {
        let t = TestServer::with_on(k, &format!("{HARBOUR}{REPURCHASE}\n"));
        let r = t.router();
        let a = get(&r, "/issuers/08888").await;
        assert_eq!(a.status, 200);
        assert!(a.body.contains("1,200,000,000"));
        assert!(a.body.contains("repurchased on 13 Jun 2025"));
        assert!(a
            .body
            .contains("<strong>700,000</strong> used of 120,000,000"));
        let svg = a
            .body
            .split("<svg class=\"chart\"")
            .nth(1)
            .expect("a chart");
        for title in [
            "Issued shares (excluding treasury)",
            "Pending cancellation",
            "Bought under the repurchase mandate",
        ] {
            assert!(svg.contains(title), "{title}");
        }
        // Pending cancellation and the mandate used step up to 700,000.
        assert_eq!(svg.matches(">700,000<").count(), 2, "{svg}");
        assert_eq!(get(&r, "/issuers/99999").await.status, 404);
    }
}

on_both_engines! {
    async fn the_start_page_lists_the_amendments_due(k: Kind) {
        let t = TestServer::with_on(k, &format!("{HARBOUR}{OTHER}{REPURCHASE}\n"));
        let r = t.router();
        let a = send(
            &r,
            "POST",
            "/api/issuers/08888/returns/nddr/filed",
            &[JSON],
            r#"{"date":"2025-06-13","submitted_at":"2025-06-13T19:05:00+08:00"}"#,
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.body);
        // (The template escapes the slashes of the link.)
        let amend_link =
            r#"returns&#x2f;nddr?date=2025-06-13" title="NDDR for 2025-06-13 must be filed again"#;
        let page = get(&r, "/").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("<th>Amendments due</th>"), "{}", page.body);
        assert!(!page.body.contains(amend_link), "nothing to amend yet: {}", page.body);
        assert!(!page.body.contains("AMEND"), "{}", page.body);

        // A correction after the filing: the repurchase the NDDR reported
        // is voided, so the NDDR filed no longer matches the log.
        let log = get(&r, "/api/log?issuer=08888").await;
        let repurchase: Value = log
            .body
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|e| e["type"] == "shares_repurchased")
            .unwrap();
        let void = serde_json::json!({
            "type": "event_voided",
            "issuer": "08888",
            "voided_id": repurchase["id"],
            "reason": "the broker cancelled the trade",
        });
        let a = send(&r, "POST", "/api/events", &[NDJSON], &void.to_string()).await;
        assert_eq!(a.status, 201, "{}", a.body);

        let page = get(&r, "/").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(amend_link), "{}", page.body);
        // Once, for 08888; the other issuer has nothing to amend.
        assert_eq!(page.body.matches("AMEND</span>").count(), 1, "{}", page.body);
        assert_eq!(page.body.matches(r#"<span class="muted">none</span>"#).count(), 1);
        // The issuer page says which line of its due list is an amendment.
        let page = get(&r, "/issuers/08888").await;
        assert!(page.body.contains("AMENDMENT"), "{}", page.body);
    }
}

/// The PostgreSQL source's pool: one connection serves requests one after
/// another; a burst opens more, and at most `PG_IDLE_CONNECTIONS` stay.
#[tokio::test(flavor = "multi_thread")]
async fn the_postgresql_pool_reuses_its_connections_and_keeps_few() {
    if !Kind::Postgres.available() {
        return;
    }
    let t = TestServer::harbour_on(Kind::Postgres);
    let Db::Postgres(url) = &t.db else {
        unreachable!()
    };
    let app = std::sync::Arc::new(tokio::task::block_in_place(|| {
        shareledger_server::App::new(shareledger_server::PgDatabase::new(url.clone())).unwrap()
    }));
    assert_eq!(app.source.idle(), 1, "App::new read the users");
    for _ in 0..5 {
        let n = app.with_ledger(|l| Ok(l.issuers()?.len())).await.unwrap();
        assert_eq!(n, 2);
        assert_eq!(app.source.idle(), 1, "one connection, reused");
    }
    let burst: Vec<_> = (0..24)
        .map(|_| {
            let app = std::sync::Arc::clone(&app);
            tokio::spawn(async move {
                app.with_ledger(|l| {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    Ok(l.issuers()?.len())
                })
                .await
                .unwrap()
            })
        })
        .collect();
    for b in burst {
        assert_eq!(b.await.unwrap(), 2);
    }
    assert_eq!(
        app.source.idle(),
        shareledger_server::PG_IDLE_CONNECTIONS,
        "the burst's extra connections were closed"
    );
}
