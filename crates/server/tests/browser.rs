//! The web app in a real headless Chromium driven over WebDriver (Debian's
//! `chromium` and `chromium-driver`, as `.ci/run` installs them): a person's
//! path through the pages, clicking and typing as they would.
//!
//! Without a browser or its driver the tests say "skipped" and pass, except
//! in CI (`CI` set), where they fail: CI must run them.
//!
//! `SHARELEDGER_SCREENSHOTS=DIR` (absolute) saves a screenshot of each main page there
//! (docs/screenshots/ holds the ones of the last run that was asked to).

#[macro_use]
mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use shareledger_ledger::access::Role;

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for n in names {
        let fixed = Path::new("/usr/bin").join(n);
        if fixed.is_file() {
            return Some(fixed);
        }
        if let Some(p) = std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
        {
            return Some(p);
        }
    }
    None
}

/// Skip (or, in CI, fail) when the browser cannot be had.
fn unavailable(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("the browser test cannot run in CI: {why}; .ci/run installs chromium and chromium-driver");
    }
    eprintln!("skipped: {why} (apt-get install chromium chromium-driver)");
}

struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver on a free port, and a session of headless Chromium.
async fn browser() -> Option<(Driver, Client)> {
    let Some(chromium) = find(&["chromium", "chromium-browser", "google-chrome"]) else {
        unavailable("no Chromium found");
        return None;
    };
    let Some(driver) = find(&["chromedriver"]) else {
        unavailable("no chromedriver found");
        return None;
    };
    let port = free_port();
    let child = match Command::new(&driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            unavailable(&format!("{} could not start: {e}", driver.display()));
            return None;
        }
    };
    let driver = Driver { child, port };
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1600", "--no-first-run", "--disable-extensions"],
        }),
    );
    let start = Instant::now();
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
        {
            Ok(c) => return Some((driver, c)),
            Err(e) if start.elapsed() > Duration::from_secs(30) => {
                unavailable(&format!("the browser did not start: {e}"));
                return None;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// The app on a free port of this machine.
async fn serve(t: &TestServer) -> String {
    let app = t.router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://127.0.0.1:{}", addr.port())
}

async fn shot(c: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("SHARELEDGER_SCREENSHOTS") {
        let png = c.screenshot().await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(format!("web-{name}.png")), png).unwrap();
    }
}

async fn set(c: &Client, css: &str, value: &str) {
    // Dates and times: the value as the input holds it (typing into a date
    // input depends on the browser's locale).
    c.execute(
        "document.querySelector(arguments[0]).value = arguments[1];",
        vec![Value::from(css), Value::from(value)],
    )
    .await
    .unwrap();
}

async fn type_in(c: &Client, css: &str, text: &str) {
    let e = wait_for(c, css).await;
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

/// The element, once the page shows it (a click's navigation may still be
/// loading).
async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

async fn text(c: &Client, css: &str) -> String {
    wait_for(c, css).await.text().await.unwrap()
}

async fn click(c: &Client, css: &str) {
    wait_for(c, css).await.click().await.unwrap();
}

async fn fill_repurchase(c: &Client, date: &str) {
    type_in(c, "#f-class", "ORD").await;
    set(c, "#f-trade_date", date).await;
    type_in(c, "#f-shares", "700,000").await;
    type_in(c, "#f-currency", "HKD").await;
    type_in(c, "#f-highest_price", "3.15").await;
    type_in(c, "#f-lowest_price", "3.10").await;
    type_in(c, "#f-total_paid", "2,184,500").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_company_secretary_records_produces_and_files_in_the_browser() {
    let t = TestServer::harbour();
    let Some((_driver, c)) = browser().await else {
        return;
    };
    let base = serve(&t).await;

    // Start: the issuers, with what is due.
    c.goto(&format!("{base}/")).await.unwrap();
    let issuers = text(&c, "#issuers").await;
    assert!(
        issuers.contains("Example Harbour Holdings Limited"),
        "{issuers}"
    );
    shot(&c, "start").await;

    // A refused entry: its message beside the field, nothing written.
    let before = t.count();
    c.goto(&format!("{base}/issuers/08888")).await.unwrap();
    click(&c, "a[href^='/record/shares_repurchased']").await;
    fill_repurchase(&c, "2025-04-29").await;
    click(&c, "#record-button").await;
    let err = text(&c, "#e-trade_date").await;
    assert!(
        err.contains("2025-04-29") && err.contains("opening balance"),
        "{err}"
    );
    // The values typed are still there to correct.
    let shares = c
        .find(Locator::Css("#f-shares"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(shares.as_deref(), Some("700,000"));
    shot(&c, "record-refused").await;
    assert_eq!(t.count(), before, "a refused entry writes nothing");

    // Corrected: recorded, and seen on the issuer page.
    set(&c, "#f-trade_date", "2025-06-13").await;
    click(&c, "#record-button").await;
    let flash = text(&c, "p.flash").await;
    assert!(flash.contains("Recorded shares repurchased"), "{flash}");
    assert_eq!(t.count(), before + 1);
    let balances = text(&c, "#balances-ORD").await;
    assert!(
        balances.contains("Pending cancellation 700,000"),
        "{balances}"
    );
    assert!(
        balances.contains("repurchased on 13 Jun 2025 700,000"),
        "{balances}"
    );
    let due = text(&c, "#due").await;
    assert!(due.contains("NDDR") && due.contains("13 Jun 2025"), "{due}");
    shot(&c, "issuer").await;

    // The NDDR: its figures on the page, then marked filed.
    c.goto(&format!(
        "{base}/issuers/08888/returns/nddr?date=2025-06-13"
    ))
    .await
    .unwrap();
    let form_text: Value = c
        .execute(
            "return document.querySelector('iframe.return').contentDocument.body.innerText;",
            vec![],
        )
        .await
        .unwrap();
    let form_text = form_text.as_str().unwrap();
    assert!(form_text.contains("700,000"), "{form_text}");
    assert!(form_text.contains("1,200,000,000"), "{form_text}");
    let sheet = text(&c, "#filing-sheet").await;
    assert!(
        sheet.contains("700000") && sheet.contains("Copy"),
        "{sheet}"
    );
    shot(&c, "nddr").await;
    set(&c, "input[name=submitted_at]", "2025-06-13T19:05").await;
    click(&c, "#mark-filed").await;
    let flash = text(&c, "p.flash").await;
    assert!(
        flash.contains("Marked the FF305 of 13 Jun 2025 as filed"),
        "{flash}"
    );
    let due = text(&c, "#due").await;
    assert!(
        !due.contains("13 Jun 2025"),
        "the NDDR left the due list: {due}"
    );
    let filed: Value = serde_json::from_str(
        &shareledger_ledger::Ledger::open(t.file())
            .unwrap()
            .events(&shareledger_ledger::ReadFilter::default())
            .last()
            .unwrap()
            .unwrap()
            .payload,
    )
    .unwrap();
    assert_eq!(filed["type"], "return_filed");
    assert_eq!(filed["submitted_at"], "2025-06-13T19:05:00+08:00");

    // A broker's CSV: preview (nothing written), then confirm.
    let csv = "date,time,shares,price,reference\n2025-06-16,09:30:15,200000,3.12,EX-1\n2025-06-16,10:05:42,150000,3.15,EX-2\n";
    c.goto(&format!("{base}/issuers/08888/trades"))
        .await
        .unwrap();
    type_in(&c, "#csv", csv).await;
    let count = t.count();
    click(&c, "#preview-button").await;
    let preview = text(&c, "#trades-preview").await;
    assert!(
        preview.contains("2025-06-16") && preview.contains("350,000"),
        "{preview}"
    );
    assert_eq!(t.count(), count, "a preview writes nothing");
    shot(&c, "broker-csv").await;
    click(&c, "#confirm-button").await;
    let flash = text(&c, "p.flash").await;
    assert!(flash.contains("Recorded 1 repurchase"), "{flash}");
    assert_eq!(t.count(), count + 1);

    // The log; a correction: void the upload's repurchase with a reason.
    c.goto(&format!("{base}/log?issuer=08888")).await.unwrap();
    let log = text(&c, "#log").await;
    assert!(log.contains("return_filed"), "{log}");
    shot(&c, "log").await;
    let last = count + 1;
    click(&c, &format!("#event-{last} details.void summary")).await;
    click(&c, &format!("#event-{last} details.void button")).await;
    // The reason is required: nothing was sent.
    assert_eq!(t.count(), last);
    type_in(
        &c,
        &format!("#event-{last} input[name=reason]"),
        "the broker's file was a test file",
    )
    .await;
    click(&c, &format!("#event-{last} details.void button")).await;
    // The correction flow: the voided event's form, filled, to correct.
    let flash = text(&c, "p.flash").await;
    assert!(flash.contains("Voided"), "{flash}");
    assert_eq!(t.count(), last + 1);
    assert_eq!(
        c.current_url().await.unwrap().path(),
        "/record/shares_repurchased"
    );
    let shares = wait_for(&c, "#f-shares").await.prop("value").await.unwrap();
    assert_eq!(shares.as_deref(), Some("350000"));
    let date = wait_for(&c, "#f-trade_date")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(date.as_deref(), Some("2025-06-16"));
    shot(&c, "correction").await;
    c.goto(&format!("{base}/log?issuer=08888")).await.unwrap();
    let row = c
        .find(Locator::Css(&format!("#event-{last}")))
        .await
        .unwrap()
        .attr("class")
        .await
        .unwrap();
    assert_eq!(row.as_deref(), Some("voided"));
    c.goto(&format!("{base}/issuers/08888")).await.unwrap();
    let balances = text(&c, "#balances-ORD").await;
    assert!(
        balances.contains("Pending cancellation 700,000"),
        "{balances}"
    );
    assert!(!balances.contains("16 Jun 2025"), "{balances}");
    // The audit: the chain intact; the Monthly Returns since May 2025 were
    // never filed here (errors, rule 13.25B), the NDDR of 13 June was filed
    // on time (no 13.25A finding for it).
    c.goto(&format!("{base}/audit")).await.unwrap();
    assert_eq!(text(&c, "#audit-result").await, "The audit found errors.");
    let figures = text(&c, "table.figures").await;
    assert!(figures.contains("Hash chain intact"), "{figures}");
    let findings = text(&c, "#findings").await;
    assert!(
        findings.contains("13.25B") && findings.contains("2025-05-31"),
        "{findings}"
    );
    assert!(
        !findings
            .lines()
            .any(|l| l.contains("13.25A") && l.contains("2025-06-13")),
        "{findings}"
    );
    shot(&c, "audit").await;

    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clerk_is_not_offered_the_officers_actions_and_forcing_them_is_refused() {
    let t = TestServer::with(&format!("{HARBOUR}{REPURCHASE}\n"));
    t.add_user(
        "clerk1",
        Role::Clerk,
        Some(&["08888"]),
        "a long enough passphrase",
    );
    let Some((_driver, c)) = browser().await else {
        return;
    };
    let base = serve(&t).await;
    c.goto(&format!("{base}/issuers/08888")).await.unwrap();
    // Asked to log in first.
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    type_in(&c, "input[name=name]", "clerk1").await;
    type_in(&c, "input[name=password]", "a long enough passphrase").await;
    click(&c, "form button").await;
    assert!(text(&c, "header.top").await.contains("clerk1 · clerk"));
    assert_eq!(c.current_url().await.unwrap().path(), "/issuers/08888");

    c.goto(&format!("{base}/log?issuer=08888")).await.unwrap();
    assert!(!c.source().await.unwrap().contains("Void…"));
    c.goto(&format!(
        "{base}/issuers/08888/returns/nddr?date=2025-06-13"
    ))
    .await
    .unwrap();
    assert!(c.find(Locator::Css("#mark-filed")).await.is_err());

    // Forced: the page's own token, posted by hand.
    let before = t.count();
    let status: Value = c
        .execute_async(
            "const done = arguments[0];
             const csrf = document.querySelector('input[name=csrf]').value;
             fetch('/issuers/08888/returns/nddr/filed', {method: 'POST',
               headers: {'content-type': 'application/x-www-form-urlencoded'},
               body: 'csrf=' + csrf + '&date=2025-06-13&submitted_at=2025-06-13T19:05'})
             .then(r => done(r.status));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, 403);
    assert_eq!(t.count(), before);
    c.close().await.unwrap();
}

/// Record one event through its form (`/record/KIND?issuer=…`): each
/// `(field, value)` typed (dates set), then Record; the flash says it.
async fn record_by_form(c: &Client, base: &str, kind: &str, fields: &[(&str, &str)]) {
    c.goto(&format!("{base}/record/{kind}?issuer=08888"))
        .await
        .unwrap();
    for (name, value) in fields {
        let css = format!("#f-{name}");
        if name.ends_with("date") {
            set(c, &css, value).await;
        } else {
            type_in(c, &css, value).await;
        }
    }
    click(c, "#record-button").await;
    let flash = text(c, "p.flash").await;
    assert!(
        flash.contains(&format!("Recorded {}", kind.replace('_', " "))),
        "{kind}: {flash}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issuer_is_registered_its_monthly_return_filed_and_a_correction_makes_it_due_again() {
    let t = TestServer::with("");
    let Some((_driver, c)) = browser().await else {
        return;
    };
    let base = serve(&t).await;

    // An empty ledger: the start page offers to register an issuer.
    c.goto(&format!("{base}/")).await.unwrap();
    click(&c, "a[href='/record/issuer_registered']").await;
    type_in(&c, "#f-issuer", "08888").await;
    type_in(&c, "#f-name", "Example Harbour Holdings Limited").await;
    click(&c, "#record-button").await;
    let flash = text(&c, "p.flash").await;
    assert!(flash.contains("Recorded issuer registered"), "{flash}");
    assert_eq!(t.count(), 1);
    assert_eq!(c.current_url().await.unwrap().path(), "/issuers/08888");

    // Its class, opening balance and mandate, each by its form.
    record_by_form(
        &c,
        &base,
        "share_class_defined",
        &[("class", "ORD"), ("class_of_shares", "Ordinary shares")],
    )
    .await;
    record_by_form(
        &c,
        &base,
        "opening_balance",
        &[
            ("class", "ORD"),
            ("date", "2025-05-30"),
            ("issued_shares", "1,200,000,000"),
        ],
    )
    .await;
    record_by_form(
        &c,
        &base,
        "repurchase_mandate_granted",
        &[
            ("class", "ORD"),
            ("resolution_date", "2025-05-22"),
            ("issued_shares_at_resolution", "1,200,000,000"),
        ],
    )
    .await;
    c.goto(&format!("{base}/record/shares_repurchased?issuer=08888"))
        .await
        .unwrap();
    fill_repurchase(&c, "2025-06-13").await;
    click(&c, "#record-button").await;
    assert!(text(&c, "p.flash")
        .await
        .contains("Recorded shares repurchased"));
    assert_eq!(t.count(), 5);
    c.goto(&format!("{base}/")).await.unwrap();
    let issuers = text(&c, "#issuers").await;
    assert!(
        issuers.contains("Example Harbour Holdings Limited"),
        "{issuers}"
    );

    // The Monthly Return for June 2025: its figures, then marked filed.
    c.goto(&format!("{base}/issuers/08888")).await.unwrap();
    let due = text(&c, "#due").await;
    assert!(due.contains("June 2025"), "{due}");
    c.goto(&format!(
        "{base}/issuers/08888/returns/monthly?month=2025-06"
    ))
    .await
    .unwrap();
    let form_text: Value = c
        .execute(
            "return document.querySelector('iframe.return').contentDocument.body.innerText;",
            vec![],
        )
        .await
        .unwrap();
    let form_text = form_text.as_str().unwrap();
    assert!(form_text.contains("1,200,000,000"), "{form_text}");
    assert!(form_text.contains("700,000"), "{form_text}");
    shot(&c, "monthly").await;
    set(&c, "input[name=submitted_at]", "2025-07-02T10:00").await;
    click(&c, "#mark-filed").await;
    let flash = text(&c, "p.flash").await;
    assert!(
        flash.contains("Marked the") && flash.contains("Jun 2025 as filed"),
        "{flash}"
    );
    assert_eq!(t.count(), 6);
    let due = text(&c, "#due").await;
    assert!(
        !due.contains("June 2025"),
        "the Monthly Return left the due list: {due}"
    );
    c.goto(&format!("{base}/")).await.unwrap();
    let amendments = text(&c, "#issuers td.amendments").await;
    assert_eq!(amendments, "none");

    // A correction: the repurchase voided, with its reason, from the log.
    c.goto(&format!("{base}/log?issuer=08888")).await.unwrap();
    click(&c, "#event-5 details.void summary").await;
    type_in(
        &c,
        "#event-5 input[name=reason]",
        "recorded against the wrong issuer",
    )
    .await;
    click(&c, "#event-5 details.void button").await;
    let flash = text(&c, "p.flash").await;
    assert!(flash.contains("Voided"), "{flash}");
    assert_eq!(t.count(), 7);
    let voided: Value = serde_json::from_str(
        &shareledger_ledger::Ledger::open(t.file())
            .unwrap()
            .events(&shareledger_ledger::ReadFilter::default())
            .last()
            .unwrap()
            .unwrap()
            .payload,
    )
    .unwrap();
    assert_eq!(voided["type"], "event_voided");
    assert_eq!(voided["reason"], "recorded against the wrong issuer");

    // The Monthly Return filed no longer matches the log: the start page
    // lists its amendment, which leads to the return.
    c.goto(&format!("{base}/")).await.unwrap();
    let amendments = text(&c, "#issuers td.amendments").await;
    assert!(
        amendments.contains("Monthly Return June 2025") && amendments.contains("AMEND"),
        "{amendments}"
    );
    shot(&c, "start-amendments").await;
    click(&c, "#issuers td.amendments a").await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        "/issuers/08888/returns/monthly"
    );
    c.close().await.unwrap();
}
