//! Users and roles over HTTP: 401 without credentials, 403 for what a role
//! may not do (and nothing written), the actor of what is recorded is the
//! user, sessions with CSRF tokens, throttled logins, single-user mode only
//! for localhost.

#[macro_use]
mod common;

use common::*;
use serde_json::Value;
use shareledger_ledger::access::Role;

const PW: &str = "a long enough passphrase";

fn with_users(k: Kind) -> TestServer {
    let t = TestServer::harbour_on(k);
    t.add_user("ann", Role::Auditor, None, PW);
    t.add_user("clerk1", Role::Clerk, Some(&["08888"]), PW);
    t.add_user("olive", Role::Officer, Some(&["08888"]), PW);
    t.add_user("root", Role::Admin, None, PW);
    t
}

on_both_engines! {
    async fn without_credentials_every_route_is_401_and_pages_ask_to_log_in(k: Kind) {
        let t = with_users(k);
        let r = t.router();
        for (method, path) in shareledger_server::api::ROUTES {
            if *path == "/api/openapi.json" {
                continue;
            }
            let uri = path.replace("{issuer}", "08888").replace("{form}", "nddr");
            let a = send(&r, &method.to_uppercase(), &uri, &[JSON], "{}").await;
            assert_eq!(a.status, 401, "{method} {uri}: {}", a.body);
            assert_eq!(a.error()["kind"], "unauthorized");
        }
        let a = get(&r, "/issuers/08888").await;
        assert_eq!(a.status, 303);
        assert_eq!(a.headers["location"], "/login?next=/issuers/08888");
        // A wrong password is 401 too.
        let a = send(
            &r,
            "GET",
            "/api/issuers",
            &[("authorization", &basic("ann", "nope"))],
            "",
        )
        .await;
        assert_eq!(a.status, 401);
    }
}

on_both_engines! {
    async fn each_role_may_do_what_it_may_and_nothing_more(k: Kind) {
        let t = with_users(k);
        let r = t.router();
        let auth = |n: &str| basic(n, PW);
        let before = t.count();

        // An auditor reads every issuer, records nothing.
        let a = send(
            &r,
            "GET",
            "/api/issuers",
            &[("authorization", &auth("ann"))],
            "",
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.json().as_array().unwrap().len(), 2);
        let a = send(
            &r,
            "POST",
            "/api/events",
            &[("authorization", &auth("ann")), NDJSON],
            REPURCHASE,
        )
        .await;
        assert_eq!(a.status, 403, "{}", a.body);
        assert_eq!(t.count(), before);

        // A clerk sees and records only their issuers.
        let a = send(
            &r,
            "GET",
            "/api/issuers",
            &[("authorization", &auth("clerk1"))],
            "",
        )
        .await;
        let ids: Vec<String> = a
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["issuer"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, ["08888"]);
        let a = send(
            &r,
            "GET",
            "/api/issuers/00700/status",
            &[("authorization", &auth("clerk1"))],
            "",
        )
        .await;
        assert_eq!(a.status, 403);
        let a = send(
            &r,
            "GET",
            "/api/log",
            &[("authorization", &auth("clerk1"))],
            "",
        )
        .await;
        assert!(
            a.body.lines().all(|l| !l.contains("\"00700\"")),
            "{}",
            a.body
        );
        let other = REPURCHASE.replace("08888", "00700");
        let a = send(
            &r,
            "POST",
            "/api/events",
            &[("authorization", &auth("clerk1")), NDJSON],
            &other,
        )
        .await;
        assert_eq!(a.status, 403);
        assert_eq!(a.error()["line"], 1);
        let a = send(
            &r,
            "POST",
            "/api/events",
            &[("authorization", &auth("clerk1")), NDJSON],
            r#"{"type":"market_closed","date":"2025-06-16","reason":"typhoon"}"#,
        )
        .await;
        assert_eq!(
            a.status, 403,
            "a market closure is for users of every issuer"
        );
        // Recording as somebody else is refused.
        let as_other = REPURCHASE.replace("{", "{\"actor\":\"olive\",");
        let a = send(
            &r,
            "POST",
            "/api/events",
            &[("authorization", &auth("clerk1")), NDJSON],
            &as_other,
        )
        .await;
        assert_eq!(a.status, 422);
        assert_eq!(a.error()["field"], "actor");
        assert_eq!(t.count(), before);
        // Their own issuer: recorded, as them.
        let a = send(
            &r,
            "POST",
            "/api/events",
            &[("authorization", &auth("clerk1")), NDJSON],
            REPURCHASE,
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.body);
        let log = send(
            &r,
            "GET",
            &format!("/api/log?after={before}"),
            &[("authorization", &auth("root"))],
            "",
        )
        .await;
        let rec: Value = serde_json::from_str(log.body.trim()).unwrap();
        assert_eq!(rec["actor"], "clerk1");
        let position = before + 1;
        // A clerk may neither file nor void.
        let filed = r#"{"date":"2025-06-13","submitted_at":"2025-06-13T19:05:00+08:00"}"#;
        let a = send(
            &r,
            "POST",
            "/api/issuers/08888/returns/nddr/filed",
            &[("authorization", &auth("clerk1")), JSON],
            filed,
        )
        .await;
        assert_eq!(a.status, 403);
        let void = format!(
            r#"{{"type":"event_voided","issuer":"08888","voided_id":"{}","reason":"twice"}}"#,
            rec["id"].as_str().unwrap()
        );
        let a = send(
            &r,
            "POST",
            "/api/events",
            &[("authorization", &auth("clerk1")), NDJSON],
            &void,
        )
        .await;
        assert_eq!(a.status, 403);
        assert_eq!(t.count(), position);

        // An officer files and voids, for their issuers.
        let a = send(
            &r,
            "POST",
            "/api/issuers/00700/returns/nddr/filed",
            &[("authorization", &auth("olive")), JSON],
            filed,
        )
        .await;
        assert_eq!(a.status, 403);
        let a = send(
            &r,
            "POST",
            "/api/issuers/08888/returns/nddr/filed",
            &[("authorization", &auth("olive")), JSON],
            filed,
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.body);
        let a = send(
            &r,
            "POST",
            "/api/events",
            &[("authorization", &auth("olive")), NDJSON],
            &void,
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(t.count(), position + 2);
    }
}

on_both_engines! {
    async fn a_session_needs_its_csrf_token_to_post_and_logins_are_throttled(k: Kind) {
        let t = with_users(k);
        let r = t.router();
        let a = send(
            &r,
            "POST",
            "/login",
            &[("content-type", "application/x-www-form-urlencoded")],
            &format!(
                "name=clerk1&password={}&next=/issuers/08888",
                PW.replace(' ', "+")
            ),
        )
        .await;
        assert_eq!(a.status, 303, "{}", a.body);
        assert_eq!(a.headers["location"], "/issuers/08888");
        let cookie = a.headers["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        let session = cookie.split(';').next().unwrap().to_string();

        // The page carries the token; a POST without it is refused.
        let page = send(
            &r,
            "GET",
            "/record/shares_repurchased?issuer=08888",
            &[("cookie", &session)],
            "",
        )
        .await;
        assert_eq!(page.status, 200);
        let token = page
            .body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        assert_eq!(token.len(), 64);
        let before = t.count();
        let a = send(
            &r,
            "POST",
            "/api/events",
            &[("cookie", &session), NDJSON],
            REPURCHASE,
        )
        .await;
        assert_eq!(a.status, 403, "{}", a.body);
        let a = send(
            &r,
            "POST",
            "/api/events",
            &[("cookie", &session), ("x-csrf-token", "wrong"), NDJSON],
            REPURCHASE,
        )
        .await;
        assert_eq!(a.status, 403);
        assert_eq!(t.count(), before);
        let a = send(
            &r,
            "POST",
            "/api/events",
            &[("cookie", &session), ("x-csrf-token", &token), NDJSON],
            REPURCHASE,
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.body);
        // A form post without the token: refused.
        let a = send(
            &r,
            "POST",
            "/record/market_closed",
            &[
                ("cookie", &session),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            "date=2025-06-16&reason=typhoon",
        )
        .await;
        assert_eq!(a.status, 403);

        // The officer's actions are not offered to a clerk.
        let page = send(&r, "GET", "/log?issuer=08888", &[("cookie", &session)], "").await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("Void…"), "a clerk is offered Void");
        let page = send(
            &r,
            "GET",
            "/issuers/08888/returns/nddr?date=2025-06-13",
            &[("cookie", &session)],
            "",
        )
        .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(!page.body.contains("Mark as filed"));

        // Five wrong passwords lock the name, even against the right one.
        for _ in 0..5 {
            let a = send(
                &r,
                "POST",
                "/login",
                &[("content-type", "application/x-www-form-urlencoded")],
                "name=olive&password=wrong",
            )
            .await;
            assert_eq!(a.status, 401);
        }
        let a = send(
            &r,
            "POST",
            "/login",
            &[("content-type", "application/x-www-form-urlencoded")],
            &format!("name=olive&password={}", PW.replace(' ', "+")),
        )
        .await;
        assert_eq!(a.status, 429);
        let a = send(
            &r,
            "GET",
            "/api/issuers",
            &[("authorization", &basic("olive", PW))],
            "",
        )
        .await;
        assert_eq!(a.status, 401, "Basic credentials are throttled too");

        // A disabled user cannot log in; their session ends.
        on_ledger!(&t.db, |ledger| ledger
            .record_access(
                shareledger_ledger::access::AccessEvent::UserDisabled {
                    name: "clerk1".into(),
                },
                shareledger_server::now(),
                "root",
            )
            .unwrap());
        let a = send(&r, "GET", "/api/issuers", &[("cookie", &session)], "").await;
        assert_eq!(a.status, 401);
    }
}

on_both_engines! {
    async fn without_users_only_localhost_is_answered_and_forms_need_the_token(k: Kind) {
        let t = TestServer::harbour_on(k);
        let r = t.router();
        let a = get(&r, "/api/issuers").await;
        assert_eq!(a.status, 200);
        let a = send(
            &r,
            "GET",
            "/api/issuers",
            &[("host", "evil.example:8080")],
            "",
        )
        .await;
        assert_eq!(a.status, 403, "DNS rebinding");
        let page = get(&r, "/").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("single user"));
        let a = send(
            &r,
            "POST",
            "/record/market_closed",
            &[("content-type", "application/x-www-form-urlencoded")],
            "date=2025-06-16&reason=typhoon",
        )
        .await;
        assert_eq!(a.status, 403, "a cross-site form post");
        assert!(!shareledger_server::is_loopback(
            &"0.0.0.0:8080".parse().unwrap()
        ));
        let anywhere = "0.0.0.0:0".parse().unwrap();
        let e = tokio::task::block_in_place(|| match &t.db {
            Db::Sqlite(p) => shareledger_server::serve(p.clone(), anywhere),
            Db::Postgres(u) => {
                shareledger_server::serve_at::<shareledger_ledger::PgStore>(u, anywhere)
            }
        })
        .unwrap_err();
        assert!(e.contains("no user is configured"), "{e}");
    }
}

on_both_engines! {
    async fn user_records_are_in_the_chain_and_out_of_the_register(k: Kind) {
        let t = with_users(k);
        on_ledger!(&t.db, |ledger| {
            let users = ledger.users().unwrap();
            assert_eq!(users.len(), 4);
            assert_eq!(
                users["clerk1"].issuers.as_deref(),
                Some(&["08888".to_string()][..])
            );
            assert!(users["ann"].password_hash.starts_with("$argon2id$"));
            assert_eq!(ledger.issuers().unwrap(), ["00700", "08888"]);
            // The chain covers them; the audit replays around them.
            let report = ledger
                .audit(&Default::default(), shareledger_server::now(), &|_, _| {})
                .unwrap();
            assert_eq!(report.events, 11);
            assert!(matches!(report.chain, shareledger_ledger::Chain::Intact(_)));
            // A second user of one name is refused.
            let mut ledger = ledger;
            let e = ledger
                .record_access(
                    shareledger_ledger::access::AccessEvent::UserAdded {
                        name: "ann".into(),
                        role: Role::Admin,
                        issuers: None,
                        password_hash: "x".into(),
                    },
                    shareledger_server::now(),
                    "root",
                )
                .unwrap_err();
            assert!(e.to_string().contains("already exists"), "{e}");
        })
    }
}

on_both_engines! {
    async fn an_admin_manages_users_in_the_browser_and_others_may_not(k: Kind) {
        let t = with_users(k);
        let r = t.router();
        let form = ("content-type", "application/x-www-form-urlencoded");
        for who in ["ann", "clerk1", "olive"] {
            let a = send(
                &r,
                "GET",
                "/users",
                &[("authorization", &basic(who, PW))],
                "",
            )
            .await;
            assert_eq!(a.status, 403, "{who}");
            let a = send(
                &r,
                "POST",
                "/users",
                &[("authorization", &basic(who, PW)), form],
                "name=mallory&role=admin&password=0123456789ab",
            )
            .await;
            assert_eq!(a.status, 403, "{who}");
        }
        let admin = basic("root", PW);
        let a = send(&r, "GET", "/users", &[("authorization", &admin)], "").await;
        assert_eq!(a.status, 200);
        assert!(a.body.contains("clerk1"));
        let a = send(
            &r,
            "POST",
            "/users",
            &[("authorization", &admin), form],
            "name=new.clerk&role=clerk&issuers=08888&password=short",
        )
        .await;
        assert_eq!(a.status, 400, "a short password");
        let a = send(
            &r,
            "POST",
            "/users",
            &[("authorization", &admin), form],
            "name=new.clerk&role=clerk&issuers=08888&password=0123456789ab",
        )
        .await;
        assert_eq!(a.status, 303, "{}", a.body);
        let users = on_ledger!(&t.db, |l| l.users().unwrap());
        assert_eq!(users["new.clerk"].role, Role::Clerk);
        assert_eq!(
            users["new.clerk"].issuers.as_deref(),
            Some(&["08888".to_string()][..])
        );
        // The new user logs in at once.
        let a = send(
            &r,
            "GET",
            "/api/issuers",
            &[("authorization", &basic("new.clerk", "0123456789ab"))],
            "",
        )
        .await;
        assert_eq!(a.status, 200);
        let a = send(
            &r,
            "POST",
            "/users/disable",
            &[("authorization", &admin), form],
            "name=new.clerk",
        )
        .await;
        assert_eq!(a.status, 303);
        let a = send(
            &r,
            "GET",
            "/api/issuers",
            &[("authorization", &basic("new.clerk", "0123456789ab"))],
            "",
        )
        .await;
        assert_eq!(a.status, 401);
        // Who did it is in the chain.
        let log: Vec<_> = on_ledger!(&t.db, |l| l
            .events(&shareledger_ledger::ReadFilter::stream("$access"))
            .map(|r| r.unwrap())
            .collect());
        assert_eq!(log.last().unwrap().event_type, "user_disabled");
        assert_eq!(log.last().unwrap().actor, "root");
    }
}
