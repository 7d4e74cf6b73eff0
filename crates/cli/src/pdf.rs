//! `--format pdf`: the HTML form printed to PDF by a headless Chromium, with
//! the one runner the web app and the browser tests use too
//! (`shareledger_server::pdf`).

pub use shareledger_server::pdf::{find_browser, run_headless, TIMEOUT};

use crate::CliError;

/// Print `html` to PDF bytes. The runner's advice to take the HTML form
/// instead is said here as the flag that gives it.
pub fn print(html: &str) -> Result<Vec<u8>, CliError> {
    shareledger_server::pdf::print(html).map_err(|m| {
        CliError::refused(m.replace(
            "take the HTML form and print it",
            "use --format html and print the page",
        ))
    })
}
