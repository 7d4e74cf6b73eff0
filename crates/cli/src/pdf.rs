//! `--format pdf`: the HTML form printed to PDF by a headless Chromium.
//!
//! The HTML rendering is already one self-contained A4 page (no scripts, no
//! external assets, print CSS); the browser only lays it out and prints it,
//! exactly as `tests/browser.rs` checks. The browser is found at
//! `$SHARELEDGER_CHROMIUM`, else `/usr/bin/chromium`, else `chromium`,
//! `chromium-browser`, `google-chrome` on `PATH`. Without one, the command
//! fails with a message saying how to get one, and nothing is written or
//! recorded. Each run has its own empty profile in a temporary directory,
//! is killed after [`TIMEOUT`], and its output must start with `%PDF-`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::CliError;

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

fn no_browser(detail: &str) -> CliError {
    CliError::refused(format!(
        "--format pdf prints the HTML form with a headless Chromium, and {detail}: install it \
         (Debian/Ubuntu: apt-get install chromium) or set SHARELEDGER_CHROMIUM to the browser's \
         path; or use --format html and print the page from any browser. Nothing was written."
    ))
}

/// Print `html` to PDF bytes.
pub fn print(html: &str) -> Result<Vec<u8>, CliError> {
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
    let dir = tempfile::tempdir()
        .map_err(|e| CliError::refused(format!("cannot make a temporary directory: {e}")))?;
    let page = dir.path().join("return.html");
    let out = dir.path().join("return.pdf");
    std::fs::write(&page, html)
        .map_err(|e| CliError::refused(format!("cannot write {}: {e}", page.display())))?;

    let mut child = Command::new(&browser)
        .args([
            "--headless",
            // Our own page only: no scripts, no network, no external assets.
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-pdf-header-footer",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", out.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| no_browser(&format!("{} could not be started ({e})", browser.display())))?;
    // Drain stderr on a thread so a chatty browser never blocks on the pipe.
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(CliError::refused(format!(
                    "{} did not finish printing the PDF within {} s; nothing was written: \
                     use --format html and print the page from a browser",
                    browser.display(),
                    TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(25)),
            Err(e) => return Err(CliError::refused(format!("waiting for the browser: {e}"))),
        }
    };
    let log = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    let pdf = std::fs::read(&out).unwrap_or_default();
    if !status.success() || !pdf.starts_with(b"%PDF-") {
        let tail: String = log.lines().rev().take(5).collect::<Vec<_>>().join("\n");
        return Err(CliError::refused(format!(
            "{} did not print the PDF ({status}); nothing was written. Its last words:\n{tail}",
            browser.display()
        )));
    }
    Ok(pdf)
}
