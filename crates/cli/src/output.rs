//! Writing to standard output and standard error without ever panicking
//! (`println!` and `eprintln!` panic when the write fails): every write is
//! fallible and its failure becomes a [`CliError`].
//!
//! * A closed pipe (`shareledger audit | head -5`) ends the program quietly
//!   with status [`BROKEN_PIPE`] (128 + SIGPIPE, as a shell reports a
//!   program killed by it): nothing more can be said to a reader who left.
//! * Any other write error (a full disk, `/dev/full`) is exit 1 with a
//!   message on standard error, where standard error can still be written.
//!
//! The macros [`out!`](crate::out), [`outln!`](crate::outln),
//! [`note!`](crate::note) return `Result<(), CliError>`: use them with `?`.
//! After a commit, a failed write is still an error (never a panic, never
//! exit 0): the message says that what was written stays written.

use std::fmt;
use std::io::{ErrorKind, Write};

use crate::CliError;

/// The exit status of a program whose reader closed the pipe.
pub const BROKEN_PIPE: u8 = 141;

/// What a failed write of `what` (`"standard output"`) becomes.
pub fn write_error(what: &str, e: &std::io::Error) -> CliError {
    if e.kind() == ErrorKind::BrokenPipe {
        CliError {
            message: String::new(),
            code: BROKEN_PIPE,
        }
    } else {
        CliError::refused(format!(
            "cannot write to {what}: {e}: free space or give another destination (anything already recorded in the ledger stays recorded; `shareledger log` shows it)"
        ))
    }
}

/// Text made safe for a terminal: every control character but a newline
/// and a tab (an ANSI escape sequence stored in a name or a note, which
/// would otherwise recolour, move or hide what follows) is shown as its
/// escape, `\u001b`, instead of being sent raw. The escape is JSON's, so
/// a JSON text stays valid and means the same.
pub fn sanitize(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    // The control characters are C0 (bytes below 0x20), DEL (0x7f) and C1
    // (U+0080–U+009F, UTF-8 0xc2 0x80–0x9f): a text without those bytes has
    // none, found without decoding it (an audit's findings go through here).
    let maybe = |b: &u8| (*b < 0x20 && *b != b'\n' && *b != b'\t') || *b == 0x7f || *b == 0xc2;
    if !text.as_bytes().iter().any(maybe) || !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Write to standard output (control characters escaped: [`sanitize`]) and
/// flush.
pub fn stdout_fmt(args: fmt::Arguments<'_>) -> Result<(), CliError> {
    let text = args.to_string();
    stdout_bytes(sanitize(&text).as_bytes())
}

/// Write bytes to standard output and flush.
pub fn stdout_bytes(bytes: &[u8]) -> Result<(), CliError> {
    let mut o = std::io::stdout().lock();
    o.write_all(bytes)
        .and_then(|()| o.flush())
        .map_err(|e| write_error("standard output", &e))
}

/// Write to standard error (messages for the person at the terminal;
/// control characters escaped: [`sanitize`]).
pub fn stderr_fmt(args: fmt::Arguments<'_>) -> Result<(), CliError> {
    let text = args.to_string();
    let mut o = std::io::stderr().lock();
    o.write_all(sanitize(&text).as_bytes())
        .and_then(|()| o.flush())
        .map_err(|e| write_error("standard error", &e))
}

/// Write `error: MESSAGE` to standard error, as well as it can: the last
/// thing the program says, so a failure here has nowhere to go.
pub fn report_error(message: &str) {
    let mut o = std::io::stderr().lock();
    let _ = writeln!(o, "error: {}", sanitize(message)).and_then(|()| o.flush());
}

/// `print!` that returns `Result<(), CliError>` instead of panicking.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::stdout_fmt(format_args!($($arg)*))
    };
}

/// `println!` that returns `Result<(), CliError>` instead of panicking.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::output::stdout_fmt(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::stdout_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` that returns `Result<(), CliError>` instead of panicking.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::output::stderr_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_but_lines_and_tabs_kept() {
        assert_eq!(sanitize("Acme\tLtd\n"), "Acme\tLtd\n");
        assert_eq!(
            sanitize("\u{1b}[31mEvil\u{1b}[0m Ltd\r\u{9b}2J\u{7f}"),
            "\\u001b[31mEvil\\u001b[0m Ltd\\u000d\\u009b2J\\u007f"
        );
        assert_eq!(sanitize("中文 Ltd"), "中文 Ltd");
    }

    #[test]
    fn the_byte_scan_finds_every_control_character() {
        // Each character of the first 0x3000 (C0, DEL, C1, Latin-1, and
        // multi-byte ones), alone and between ASCII: escaped exactly when
        // it is a control character other than a line feed or a tab.
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let escaped = c.is_control() && c != '\n' && c != '\t';
            for text in [c.to_string(), format!("a{c}b")] {
                let out = sanitize(&text);
                assert_eq!(
                    out.contains(&format!("\\u{:04x}", c as u32)),
                    escaped,
                    "U+{:04X} in {text:?} gave {out:?}",
                    c as u32
                );
                assert_eq!(matches!(out, std::borrow::Cow::Borrowed(_)), !escaped);
            }
        }
    }
}
