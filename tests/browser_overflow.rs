//! No table cell of an HTML form overflows (issue 13): each HTML return —
//! both seed returns (FF304 NDDR, 2022 FF301) and the long-label example
//! (examples/harbour-lantern-2024.jsonl: FF305 with Parts A and B, Sections
//! II and III; a July 2024 FF301 with options, warrants, a conversion and
//! "Transfer of treasury shares (share award scheme: 2024 Share Award
//! Scheme)") — is rendered by the built binary, and a test copy of the page,
//! with a script appended, is loaded in headless Chromium (`--dump-dom`).
//! The script compares every `td`/`th`'s `scrollWidth` with its
//! `clientWidth`, and every table's right edge with its container's, at two
//! widths: the screen page (A4-sized window) and the A4 print text width
//! (180 mm: 210 mm less the 15 mm margins of form.css), and writes what it
//! found into the DOM, which Chromium prints. A page with a cell made to
//! overflow is checked alongside, so a checker that found nothing is caught.
//!
//! Chromium is found and run as `--format pdf` finds and runs it
//! (`shareledger_cli::pdf::{find_browser, run_headless}`). Without one the
//! test says "skipped" and passes — except under CI (`CI` set), where it
//! fails: the check must have run.
//!
//! `SHARELEDGER_SCREENSHOTS=1 cargo test --test browser_overflow` also writes
//! the long-label returns' screenshots to docs/screenshots/.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use shareledger_cli::pdf::{find_browser, run_headless};

use common::{ok, seed_ledger, ROOT};

const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);

/// A4 at 96 dpi.
const WIDTH: u32 = 794;
const HEIGHT: u32 = 1123;

/// Appended to the test copy of a page: checks every cell at two widths and
/// writes the findings into `<pre id="overflow-report">`, one line each
/// (`OVERFLOW ...`), then `CHECKED <layout> <cells> cells <tables> tables`.
const CHECK_SCRIPT: &str = r#"
<script>
(function () {
  var lines = ["HEIGHT " + document.documentElement.scrollHeight];
  function describe(el) {
    var text = (el.textContent || "").replace(/\s+/g, " ").trim();
    return el.tagName.toLowerCase() + " \"" + text.slice(0, 80) + "\"";
  }
  function check(layout) {
    var cells = document.querySelectorAll("td, th");
    for (var i = 0; i < cells.length; i++) {
      var c = cells[i];
      // 1 px of slack for sub-pixel rounding.
      if (c.scrollWidth > c.clientWidth + 1) {
        lines.push("OVERFLOW " + layout + " " + describe(c) + " scrollWidth " + c.scrollWidth + " > clientWidth " + c.clientWidth);
      }
    }
    var tables = document.querySelectorAll("table");
    for (var j = 0; j < tables.length; j++) {
      var t = tables[j];
      var box = t.parentElement.getBoundingClientRect();
      var style = getComputedStyle(t.parentElement);
      var right = box.right - parseFloat(style.paddingRight) - parseFloat(style.borderRightWidth);
      var r = t.getBoundingClientRect().right;
      if (r > right + 1) {
        lines.push("OVERFLOW " + layout + " table." + t.className + " right " + Math.round(r) + " > container " + Math.round(right));
      }
    }
    lines.push("CHECKED " + layout + " " + cells.length + " cells " + tables.length + " tables");
  }
  check("screen");
  // The A4 print text width: 210 mm less 2 x 15 mm margins.
  document.body.style.maxWidth = "180mm";
  document.body.style.width = "180mm";
  document.body.style.padding = "0";
  document.body.getBoundingClientRect();
  check("a4-print-width");
  var pre = document.createElement("pre");
  pre.id = "overflow-report";
  pre.textContent = lines.join("\n");
  document.body.appendChild(pre);
})();
</script>
"#;

/// A page whose one date cell is made to overflow (a fixed layout, a narrow
/// column, a date that may not wrap): the checker must report it.
const BROKEN_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><style>
table { table-layout: fixed; width: 300px; border-collapse: collapse; }
td { border: 1px solid #000; padding: 2px; }
td.date { white-space: nowrap; }
</style></head><body>
<table class="broken"><colgroup><col style="width: 20%"><col style="width: 80%"></colgroup>
<tr><td class="date">04 March 2025</td><td>20 June 2024</td></tr></table>
</body></html>
"#;

fn chromium() -> Option<PathBuf> {
    find_browser().filter(|p| p.is_file())
}

fn ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The test copy of a page: the check script before `</body>`.
fn with_check(html: &str) -> String {
    let at = html.rfind("</body>").expect("the page has a body");
    format!("{}{CHECK_SCRIPT}{}", &html[..at], &html[at..])
}

/// What the script reported, from Chromium's DOM.
fn report(dom: &str) -> Vec<String> {
    let start = dom
        .find("<pre id=\"overflow-report\">")
        .unwrap_or_else(|| panic!("the check script did not run (no report in the DOM):\n{dom}"));
    let body = &dom[start + "<pre id=\"overflow-report\">".len()..];
    let end = body.find("</pre>").expect("the report ends");
    body[..end]
        .replace("&quot;", "\"")
        .replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&amp;", "&")
        .lines()
        .map(str::to_string)
        .collect()
}

/// Load `html` (with the check) in Chromium; the report lines.
fn check_page(
    chromium: &Path,
    dir: &Path,
    stem: &str,
    html: &str,
    screenshot: Option<&Path>,
) -> Vec<String> {
    let page = dir.join(format!("{stem}.html"));
    std::fs::write(&page, with_check(html)).expect("write the test page");
    let profile = dir.join(format!("profile-{stem}"));
    let flags = vec![
        format!("--window-size={WIDTH},{HEIGHT}"),
        "--dump-dom".to_string(),
    ];
    let out = run_headless(chromium, &profile, &page, &flags, CHROMIUM_TIMEOUT)
        .unwrap_or_else(|e| panic!("chromium on {stem}: {e}"));
    assert!(
        out.status.success(),
        "chromium failed on {stem}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = report(&String::from_utf8_lossy(&out.stdout));
    if let Some(target) = screenshot {
        // The page as a person sees it: without the check script, A4 wide
        // and as tall as the whole return.
        let height: u32 = lines
            .iter()
            .find_map(|l| l.strip_prefix("HEIGHT "))
            .and_then(|h| h.trim().parse().ok())
            .unwrap_or(HEIGHT);
        let plain = dir.join(format!("{stem}-plain.html"));
        std::fs::write(&plain, html).expect("write the page");
        let png = dir.join(format!("{stem}.png"));
        let profile = dir.join(format!("profile-{stem}-shot"));
        let flags = vec![
            format!("--window-size={WIDTH},{height}"),
            format!("--screenshot={}", png.display()),
        ];
        let shot = run_headless(chromium, &profile, &plain, &flags, CHROMIUM_TIMEOUT)
            .unwrap_or_else(|e| panic!("chromium screenshot of {stem}: {e}"));
        assert!(shot.status.success(), "screenshot of {stem}");
        std::fs::create_dir_all(target.parent().expect("a parent")).expect("mkdir");
        std::fs::copy(&png, target).expect("save the screenshot");
        println!("saved {}", target.display());
    }
    lines
}

#[test]
fn no_table_cell_of_an_html_form_overflows_in_chromium() {
    let Some(chromium) = chromium() else {
        if ci() {
            panic!(
                "CI: no Chromium could be found ($SHARELEDGER_CHROMIUM, /usr/bin/chromium, PATH): \
                 the overflow check must run in CI (apt-get install chromium)"
            );
        }
        println!("skipped: chromium not installed (apt-get install -y chromium)");
        return;
    };
    let save = std::env::var_os("SHARELEDGER_SCREENSHOTS").is_some_and(|v| v != "0");
    let shots = Path::new(ROOT).join("docs/screenshots");

    // The checker itself finds an overflowing cell.
    let scratch = tempfile::tempdir().expect("temp dir");
    let broken = check_page(&chromium, scratch.path(), "broken", BROKEN_PAGE, None);
    assert!(
        broken
            .iter()
            .any(|l| l.starts_with("OVERFLOW screen td \"04 March 2025\"")),
        "the checker must report a cell made to overflow: {broken:?}"
    );

    let (dir, seed_db) = seed_ledger();
    let long_db = dir.path().join("long.db");
    let example = Path::new(ROOT).join("examples/harbour-lantern-2024.jsonl");
    ok(&long_db, &["import", example.to_str().expect("UTF-8 path")]);
    let events_db = dir.path().join("events.db");
    let events = Path::new(ROOT).join("examples/harbour-dual-class-2024.jsonl");
    ok(
        &events_db,
        &["import", events.to_str().expect("UTF-8 path")],
    );

    let pages: [(&str, &Path, &[&str], Option<&str>); 7] = [
        (
            "seed-nddr",
            &seed_db,
            &[
                "return",
                "nddr",
                "--issuer",
                "02121",
                "--date",
                "2022-11-07",
            ],
            None,
        ),
        (
            "seed-monthly",
            &seed_db,
            &[
                "return", "monthly", "--issuer", "02121", "--month", "2022-11",
            ],
            None,
        ),
        (
            "ff305-long-labels",
            &long_db,
            &[
                "return",
                "nddr",
                "--issuer",
                "06789",
                "--date",
                "2024-07-12",
            ],
            Some("ff305-2024-07-12.png"),
        ),
        (
            "monthly-long-labels",
            &long_db,
            &[
                "return", "monthly", "--issuer", "06789", "--month", "2024-07",
            ],
            Some("monthly-2024-07.png"),
        ),
        (
            // A reclassification, a consolidation, warrants, convertibles
            // and another arrangement (issue #13).
            "ff305-share-capital-events",
            &events_db,
            &[
                "return",
                "nddr",
                "--issuer",
                "09988",
                "--date",
                "2024-07-15",
            ],
            Some("ff305-events-2024-07-15.png"),
        ),
        (
            "monthly-share-capital-events",
            &events_db,
            &[
                "return", "monthly", "--issuer", "09988", "--month", "2024-07",
            ],
            Some("monthly-events-2024-07.png"),
        ),
        (
            // "30 September 2024": the longest dates in Part III (E).
            "monthly-long-dates",
            &long_db,
            &[
                "return", "monthly", "--issuer", "06789", "--month", "2024-09",
            ],
            None,
        ),
    ];
    let mut failures = Vec::new();
    for (stem, db, args, screenshot) in pages {
        let mut a = args.to_vec();
        a.extend_from_slice(&["--format", "html"]);
        let html = ok(db, &a);
        let target = screenshot.filter(|_| save).map(|s| shots.join(s));
        let lines = check_page(&chromium, dir.path(), stem, &html, target.as_deref());
        let checked: Vec<&String> = lines.iter().filter(|l| l.starts_with("CHECKED ")).collect();
        assert_eq!(checked.len(), 2, "{stem}: both widths checked: {lines:?}");
        for c in &checked {
            let cells: usize = c
                .split_whitespace()
                .nth(2)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            assert!(cells > 20, "{stem}: too few cells checked: {c}");
        }
        failures.extend(
            lines
                .iter()
                .filter(|l| l.starts_with("OVERFLOW"))
                .map(|l| format!("{stem}: {l}")),
        );
        println!(
            "{stem}: {}",
            checked
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    assert!(
        failures.is_empty(),
        "table cells overflow:\n{}",
        failures.join("\n")
    );
}
