//! JSON lines of events (interchange.md section 1): one event per line;
//! blank lines and lines starting with `#` are skipped.
//!
//! [`stream_lines`] reads one line at a time (what `import` hands to
//! [`crate::append::append`], so a file of any size is imported in bounded
//! memory); [`read_lines`] collects them, for small inputs.

use std::io::BufRead;

use shareledger_core::event::{parse_line, Incoming};

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
    progress: impl FnMut(u64),
) -> Result<Lines, LedgerError> {
    stream_lines(reader, progress).collect()
}

/// The events of `reader`, one line at a time: (line number, event), or the
/// refusal of a bad line (after which nothing more is read). `progress` is
/// called with the bytes of each line read.
pub fn stream_lines<R: BufRead, P: FnMut(u64)>(
    reader: R,
    progress: P,
) -> impl Iterator<Item = Result<(usize, Incoming), LedgerError>> {
    StreamLines {
        reader,
        progress,
        buf: String::new(),
        n: 0,
        done: false,
    }
}

struct StreamLines<R, P> {
    reader: R,
    progress: P,
    /// The line being read, its buffer reused.
    buf: String,
    n: usize,
    done: bool,
}

impl<R: BufRead, P: FnMut(u64)> Iterator for StreamLines<R, P> {
    type Item = Result<(usize, Incoming), LedgerError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.n += 1;
            let n = self.n;
            self.buf.clear();
            let read = match self.reader.read_line(&mut self.buf) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(read) => read,
                Err(e) => {
                    self.done = true;
                    return Some(Err(LedgerError::from(Rejection {
                        line: Some(n),
                        event_type: None,
                        field: None,
                        kind: "input".into(),
                        message: format!("cannot be read: {e}"),
                        hint: None,
                    })));
                }
            };
            let _ = read;
            let line = self.buf.strip_suffix('\n').unwrap_or(&self.buf);
            let line = line.strip_suffix('\r').unwrap_or(line);
            (self.progress)(line.len() as u64 + 1);
            // A byte-order mark at the start of the file (editors on Windows
            // write one) is not part of the first line.
            let line = if n == 1 {
                line.strip_prefix('\u{feff}').unwrap_or(line)
            } else {
                line
            };
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            return Some(match parse_line(t) {
                Ok(incoming) => Ok((n, incoming)),
                Err(e) => {
                    self.done = true;
                    Err(LedgerError::from(Rejection::decode(n, e)))
                }
            });
        }
        None
    }
}
