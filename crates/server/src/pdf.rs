//! Returns as PDF (`--format pdf`, `format=pdf`): the HTML form printed by a
//! headless Chromium. One runner for the command line, the web app and the
//! browser tests.
//!
//! The HTML rendering is already one self-contained A4 page (no scripts, no
//! external assets, print CSS); the browser only lays it out and prints it,
//! exactly as `tests/browser.rs` checks. The browser is found at
//! `$SHARELEDGER_CHROMIUM`, else `/usr/bin/chromium`, else `chromium`,
//! `chromium-browser`, `google-chrome` on `PATH`. Without one, the command
//! fails with a message saying how to get one, and nothing is written or
//! recorded. Each run has its own empty profile in a temporary directory,
//! is killed after [`TIMEOUT`], and its output must start with `%PDF-`.
//! [`find_browser`] and [`run_headless`] are also what `tests/browser.rs`
//! checks the forms with, so the test and the command drive one browser one way.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long the browser may take to print one return.
pub const TIMEOUT: Duration = Duration::from_secs(90);

/// Names tried on `PATH`, in order.
const NAMES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// The browser to print with, if any.
pub fn find_browser() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SHARELEDGER_CHROMIUM") {
        // An explicit choice is used or reported, never silently replaced.
        return Some(PathBuf::from(p));
    }
    let fixed = Path::new("/usr/bin/chromium");
    if fixed.is_file() {
        return Some(fixed.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| NAMES.iter().map(move |n| dir.join(n)))
        .find(|candidate| candidate.is_file())
}

fn no_browser(detail: &str) -> String {
    format!(
        "a PDF is the HTML form printed by a headless Chromium, and {detail}: install it \
         (Debian/Ubuntu: apt-get install chromium) or set SHARELEDGER_CHROMIUM to the browser's \
         path; or take the HTML form and print it from any browser. Nothing was written."
    )
}

/// Print `html` to PDF bytes.
pub fn print(html: &str) -> Result<Vec<u8>, String> {
    let browser = find_browser().ok_or_else(|| {
        no_browser(&format!(
            "none was found (looked for /usr/bin/chromium and {} on PATH)",
            NAMES.join(", ")
        ))
    })?;
    if !browser.is_file() {
        return Err(no_browser(&format!(
            "SHARELEDGER_CHROMIUM names {}, which is not a file",
            browser.display()
        )));
    }
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let page = dir.path().join("return.html");
    let out = dir.path().join("return.pdf");
    std::fs::write(&page, html).map_err(|e| format!("cannot write {}: {e}", page.display()))?;

    let profile = dir.path().join("profile");
    let action = [format!("--print-to-pdf={}", out.display())];
    let output = run_headless(&browser, &profile, &page, &action, TIMEOUT).map_err(|e| {
        format!("{e}; nothing was written: take the HTML form and print it from a browser")
    })?;
    let status = output.status;
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    let pdf = std::fs::read(&out).unwrap_or_default();
    if !status.success() || !pdf.starts_with(b"%PDF-") {
        let tail: String = log.lines().rev().take(5).collect::<Vec<_>>().join("\n");
        return Err(format!(
            "{} did not print the PDF ({status}); nothing was written: take the HTML form and \
             print it from a browser{}",
            browser.display(),
            if tail.is_empty() {
                String::new()
            } else {
                format!(". Its last words:\n{tail}")
            }
        ));
    }
    Ok(pdf)
}

/// Run `browser` headless on the local file `page` with the `action` flags
/// (`--print-to-pdf=FILE`, `--screenshot=FILE`, `--dump-dom`...), a new
/// profile in `profile`, and no network features; killed after `timeout`.
/// Its exit status and what it printed, or why it could not run.
pub fn run_headless(
    browser: &Path,
    profile: &Path,
    page: &Path,
    action: &[String],
    timeout: Duration,
) -> Result<Output, String> {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            // Our own page only: no scripts, no network, no external assets.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(action)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{} could not be started ({e})", browser.display()))?;
    // Drain the pipes on threads so a chatty browser never blocks on them.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out_reader = drain(Box::new(child.stdout.take().expect("stdout is piped")));
    let err_reader = drain(Box::new(child.stderr.take().expect("stderr is piped")));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} did not finish within {} s",
                    browser.display(),
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(25)),
            Err(e) => return Err(format!("waiting for {}: {e}", browser.display())),
        }
    };
    Ok(Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}
