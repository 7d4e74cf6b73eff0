//! JSON lines of events (interchange.md section 1): one event per line;
//! blank lines and lines starting with `#` are skipped.

use std::io::BufRead;

use shareledger_core::event::parse_line;

use crate::append::Lines;
use crate::error::{LedgerError, Rejection};

/// Read every line: (line number, event), or the first bad line's refusal.
pub fn read_lines(reader: impl BufRead) -> Result<Lines, LedgerError> {
    read_lines_with(reader, |_| {})
}

/// As [`read_lines`], calling `progress` with the bytes of each line read
/// (for a front end's progress bar).
pub fn read_lines_with(
    reader: impl BufRead,
    mut progress: impl FnMut(u64),
) -> Result<Lines, LedgerError> {
    let mut lines = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| {
            LedgerError::from(Rejection {
                line: Some(n),
                event_type: None,
                field: None,
                kind: "input".into(),
                message: format!("cannot be read: {e}"),
                hint: None,
            })
        })?;
        progress(line.len() as u64 + 1);
        // A byte-order mark at the start of the file (editors on Windows
        // write one) is not part of the first line.
        let line = if n == 1 {
            line.strip_prefix('\u{feff}').unwrap_or(&line)
        } else {
            &line
        };
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let incoming = parse_line(t).map_err(|e| LedgerError::from(Rejection::decode(n, e)))?;
        lines.push((n, incoming));
    }
    Ok(lines)
}
