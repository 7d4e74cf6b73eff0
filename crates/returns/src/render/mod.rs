//! Renderers: a document in, text out. They sit apart from the documents and
//! read only their serialized form, through templates (`templates/`, compiled
//! into the binary) and a few filters that print figures as the forms do.
//!
//! * `text`: reads like the filed form (sections, row captions, "07 November 2022", "559,304,838");
//! * `md`: Markdown tables;
//! * `html`: one self-contained printable A4 page, no external assets;
//! * `json`: the public contract of interchange.md section 3.

use std::str::FromStr;

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};
use serde::Serialize;

use crate::dates::{format_long_date, thousands};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Html,
    Markdown,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "html" => Ok(Format::Html),
            "md" | "markdown" => Ok(Format::Markdown),
            other => Err(format!(
                "unknown format `{other}`: use text, json, html or md"
            )),
        }
    }
}

/// Which document a template renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Nddr,
    Monthly,
    Balance,
}

impl DocKind {
    fn stem(self) -> &'static str {
        match self {
            DocKind::Nddr => "nddr",
            DocKind::Monthly => "monthly",
            DocKind::Balance => "balance",
        }
    }
}

const TEMPLATES: &[(&str, &str)] = &[
    ("nddr.txt", include_str!("../../templates/nddr.txt")),
    ("ff305.txt", include_str!("../../templates/ff305.txt")),
    ("ff305.md", include_str!("../../templates/ff305.md")),
    ("ff305.html", include_str!("../../templates/ff305.html")),
    ("monthly.txt", include_str!("../../templates/monthly.txt")),
    ("balance.txt", include_str!("../../templates/balance.txt")),
    ("nddr.md", include_str!("../../templates/nddr.md")),
    ("monthly.md", include_str!("../../templates/monthly.md")),
    ("balance.md", include_str!("../../templates/balance.md")),
    ("nddr.html", include_str!("../../templates/nddr.html")),
    ("monthly.html", include_str!("../../templates/monthly.html")),
    ("balance.html", include_str!("../../templates/balance.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("form.css", include_str!("../../templates/form.css")),
    (
        "confirmations.txt",
        include_str!("../../templates/confirmations.txt"),
    ),
];

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .expect("templates are valid (tested)");
    }
    env.add_filter("num", num);
    env.add_filter("date", date);
    env.add_filter("money", money);
    env.add_filter("amount", amount);
    env.add_filter("ljust", ljust);
    env.add_filter("rjust", rjust);
    env.add_filter("amount_diff", amount_diff);
    env.add_filter("mdcell", mdcell);
    env.add_filter("wrap", wrap);
    env.add_function("cells", cells);
    env
}

/// Render `doc` as `format`.
pub fn render<T: Serialize>(kind: DocKind, doc: &T, format: Format) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(doc).expect("documents serialize");
            s.push('\n');
            s
        }
        _ => {
            let ext = match format {
                Format::Text => "txt",
                Format::Markdown => "md",
                Format::Html => "html",
                Format::Json => unreachable!(),
            };
            let env = environment();
            let doc = Value::from_serialize(doc);
            // The NDDR has two forms: FF304 (`nddr.*`) and FF305 (`ff305.*`),
            // whose wording and layout differ throughout.
            let ff305 = kind == DocKind::Nddr
                && doc
                    .get_attr("form")
                    .is_ok_and(|f| f.as_str() == Some("FF305"));
            let stem = if ff305 { "ff305" } else { kind.stem() };
            let name = format!("{stem}.{ext}");
            let tmpl = env
                .get_template(&name)
                .expect("every document has every template");
            tmpl.render(minijinja::context! { doc => doc })
                .unwrap_or_else(|e| panic!("template {name} failed on a valid document: {e:#}"))
        }
    }
}

fn bad(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

/// 559304838 → "559,304,838"; none → "".
fn num(v: Value) -> Result<String, Error> {
    if v.is_none() || v.is_undefined() {
        return Ok(String::new());
    }
    let n =
        i128::try_from(v.clone()).map_err(|_| bad(format!("num: {v} is not a whole number")))?;
    Ok(thousands(n))
}

/// "2022-11-07" → "07 November 2022"; none → "".
fn date(v: Value) -> Result<String, Error> {
    if v.is_none() || v.is_undefined() {
        return Ok(String::new());
    }
    let s = v
        .as_str()
        .ok_or_else(|| bad(format!("date: {v} is not a date")))?;
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| bad(format!("date: {s}: {e}")))?;
    Ok(format_long_date(d, true))
}

/// "92569.50" → "92,569.50" (an amount's integer part with thousands separators).
fn amount(v: Value) -> Result<String, Error> {
    if v.is_none() || v.is_undefined() {
        return Ok(String::new());
    }
    let s = v
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (s.clone(), None),
    };
    let n: i128 = int
        .parse()
        .map_err(|_| bad(format!("amount: {s} is not a decimal")))?;
    let int = if int.starts_with('-') && n == 0 {
        "-0".to_string()
    } else {
        thousands(n)
    };
    Ok(match frac {
        Some(f) => format!("{int}.{f}"),
        None => int,
    })
}

/// {"currency": "HKD", "amount": "92569"} → "HKD 92,569"; none → "".
fn money(v: Value) -> Result<String, Error> {
    if v.is_none() || v.is_undefined() {
        return Ok(String::new());
    }
    let currency = v.get_attr("currency")?;
    let amt = v.get_attr("amount")?;
    Ok(format!(
        "{} {}",
        currency.as_str().unwrap_or_default(),
        amount(amt)?
    ))
}

/// The difference of two money values' amounts, exactly: `a | amount_diff(b)`
/// is a.amount − b.amount as a decimal string ("1000"); none if either is none.
fn amount_diff(a: Value, b: Value) -> Result<Value, Error> {
    if a.is_none() || a.is_undefined() || b.is_none() || b.is_undefined() {
        return Ok(Value::from(()));
    }
    let parse = |v: &Value| -> Result<rust_decimal::Decimal, Error> {
        let amt = v.get_attr("amount")?;
        let s = amt
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| amt.to_string());
        rust_decimal::Decimal::from_str(&s)
            .map_err(|e| bad(format!("amount_diff: {s} is not a decimal: {e}")))
    };
    Ok(Value::from((parse(&a)? - parse(&b)?).to_string()))
}

/// Text for a Markdown table cell: pipes and angle brackets escaped, line
/// breaks as spaces.
fn mdcell(v: Value) -> String {
    if v.is_none() || v.is_undefined() {
        return String::new();
    }
    let s = v
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string());
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\r', '\n'], " ")
}

fn ljust(v: Value, width: usize) -> String {
    let s = if v.is_none() || v.is_undefined() {
        String::new()
    } else {
        v.to_string()
    };
    format!("{s:<width$}")
}

fn rjust(v: Value, width: usize) -> String {
    let s = if v.is_none() || v.is_undefined() {
        String::new()
    } else {
        v.to_string()
    };
    format!("{s:>width$}")
}

fn plain(v: &Value) -> String {
    if v.is_none() || v.is_undefined() {
        String::new()
    } else {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    }
}

/// Break `text` at spaces into lines of at most `width` characters (a word
/// longer than `width` is cut), so a long label stays inside its column.
fn wrap_text(text: &str, width: usize) -> Vec<String> {
    wrap_hanging(text, width, width)
}

/// As [`wrap_text`], the first line at most `first` characters, the others
/// at most `rest`.
fn wrap_hanging(text: &str, first: usize, rest: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let width = |lines: &Vec<String>| if lines.is_empty() { first } else { rest }.max(1);
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let w = width(&lines);
            let used = line.chars().count();
            if used > 0 && used + 1 + word.len() <= w {
                line.push(' ');
                line.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            if word.len() <= w {
                line.extend(word.iter());
                break;
            }
            let tail = word.split_off(w);
            lines.push(word.iter().collect());
            word = tail;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `label | wrap(width, hang)`: the lines of the label, each at most `width`
/// characters; lines after the first are indented by `hang` (default 0)
/// spaces, within the same width.
fn wrap(v: Value, width: usize, hang: Option<usize>) -> Vec<String> {
    let hang = hang.unwrap_or(0).min(width.saturating_sub(1));
    let mut lines = wrap_hanging(&plain(&v), width, width - hang);
    for l in lines.iter_mut().skip(1) {
        *l = format!("{:hang$}{l}", "");
    }
    lines
}

/// `cells(values, widths, align, hang)`: one row of a text table. Each value
/// is wrapped inside its column's width (`align`: one letter a column, `l` or
/// `r`), columns are two spaces apart, and the row takes as many lines as its
/// longest cell; trailing spaces are trimmed. `hang` (default 0) indents the
/// first column's continuation lines, so a wrapped "1). label" reads under
/// its label.
fn cells(
    values: Vec<Value>,
    widths: Vec<usize>,
    align: &str,
    hang: Option<usize>,
) -> Result<String, Error> {
    if values.len() != widths.len() || align.chars().count() != widths.len() {
        return Err(bad(format!(
            "cells: {} values, {} widths and {} alignments",
            values.len(),
            widths.len(),
            align.chars().count()
        )));
    }
    let hang = hang.unwrap_or(0);
    let columns: Vec<Vec<String>> = values
        .iter()
        .zip(&widths)
        .enumerate()
        .map(|(i, (v, w))| {
            if i > 0 || hang == 0 || hang >= *w {
                return wrap_text(&plain(v), *w);
            }
            // The first line at full width, the rest indented by `hang`.
            let mut lines = wrap_hanging(&plain(v), *w, *w - hang);
            for l in lines.iter_mut().skip(1) {
                *l = format!("{:hang$}{l}", "");
            }
            lines
        })
        .collect();
    let height = columns.iter().map(Vec::len).max().unwrap_or(1);
    let mut out = Vec::with_capacity(height);
    for i in 0..height {
        let mut line = String::new();
        for (c, ((col, w), a)) in columns.iter().zip(&widths).zip(align.chars()).enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let text = col.get(i).map(String::as_str).unwrap_or("");
            if a == 'r' {
                line.push_str(&format!("{text:>w$}"));
            } else {
                line.push_str(&format!("{text:<w$}"));
            }
        }
        out.push(line.trim_end().to_string());
    }
    Ok(out.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_every_line_inside_the_width() {
        let label = "Transfer of treasury shares: share award scheme (2024 Share Award Scheme)";
        let lines = wrap_text(label, 30);
        assert_eq!(
            lines,
            [
                "Transfer of treasury shares:",
                "share award scheme (2024 Share",
                "Award Scheme)"
            ]
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 30));
        assert_eq!(lines.join(" "), label);
        assert_eq!(wrap_text("short", 30), ["short"]);
        assert_eq!(wrap_text("", 30), [""]);
        assert_eq!(wrap_text("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(
            wrap(Value::from("1). Transfer of treasury shares"), 16, Some(4)),
            ["1). Transfer of", "    treasury", "    shares"]
        );
    }

    #[test]
    fn cells_align_and_wrap_each_column() {
        let row = cells(
            vec![
                Value::from("Transfer of treasury shares: share award scheme"),
                Value::from("1,000"),
                Value::from(()),
            ],
            vec![20, 8, 4],
            "lrr",
            None,
        )
        .expect("a row");
        assert_eq!(
            row,
            "Transfer of treasury     1,000\nshares: share award\nscheme"
        );
        assert!(cells(vec![Value::from("a")], vec![1, 2], "ll", None).is_err());
        // A hanging indent for the first column's continuation lines.
        let row = cells(
            vec![
                Value::from("1). Transfer of treasury shares: share award"),
                Value::from("1,000"),
            ],
            vec![20, 6],
            "lr",
            Some(4),
        )
        .expect("a row");
        assert_eq!(
            row,
            "1). Transfer of        1,000\n    treasury shares:\n    share award"
        );
    }
}
