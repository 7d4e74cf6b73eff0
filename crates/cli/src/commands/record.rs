//! `record TYPE --field value ...`: one event from flags named after its
//! fields (kebab-case), e.g. `record shares-repurchased --trade-date 2022-11-07`.
//! Nested fields are dotted: `--signatory.name`, `--par-value.amount`.
//!
//! The flags of each type come from `shareledger_ledger::fields` (checked against the
//! core by its tests). Exit status: 2 for a malformed command line (unknown
//! type or flag, a missing required flag, a flag without its value); 1 for a
//! value the core cannot read or an event the ledger refuses.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::Args;
use serde_json::{Map, Value};
use shareledger_core::amount::ungroup_thousands;
use shareledger_core::event::parse_object;

use shareledger_ledger::fields::{self, EventSpec, Field, Kind, ENVELOPE};
use shareledger_ledger::log::{recorded_json, stored_json};
use shareledger_ledger::{AppendOptions, Engine, Ledger};

use super::{default_actor, now};
use crate::CliError;

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The event type, e.g. shares-repurchased (listed below).
    #[arg(value_name = "TYPE", value_parser = type_parser(), hide_possible_values = true)]
    pub event_type: Option<String>,
    /// Show the event and its findings without writing.
    #[arg(long)]
    pub dry_run: bool,
    /// Record it even though an equal event of the issuer is already recorded (two identical purchases on one day).
    #[arg(long)]
    pub allow_duplicate: bool,
    /// What to print of the recorded event: one line (text), or the event as stored, with its position, id and hash (json).
    #[arg(long, value_enum)]
    pub format: Option<crate::ReportFormat>,
    /// The fields: --field-name value (nested: --signatory.name value). `record TYPE --help` lists them.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "--FIELD VALUE"
    )]
    pub fields: Vec<String>,
}

/// The event types as clap values (kebab-case, snake_case accepted), so that
/// shell completion offers them.
fn type_parser() -> PossibleValuesParser {
    static NAMES: OnceLock<Vec<(&'static str, &'static str, &'static str)>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        fields::SPECS
            .iter()
            .map(|s| {
                let kebab: &'static str = Box::leak(s.command_name().into_boxed_str());
                (kebab, s.name, s.summary)
            })
            .collect()
    });
    PossibleValuesParser::new(
        names
            .iter()
            .map(|(kebab, snake, summary)| PossibleValue::new(*kebab).alias(*snake).help(*summary)),
    )
}

/// `record --help`'s closing text: an example and every type.
pub fn after_help() -> String {
    format!(
        "Example:\n  shareledger record shares-repurchased --issuer 02121 --class H --trade-date 2022-11-07 \\\n    \
         --shares 4300 --currency HKD --highest-price 21.55 --lowest-price 21.35 --total-paid 92569\n  \
         shareledger record shares-repurchased --help        # the fields of one type\n\n\
         Nested fields are dotted: --signatory.name \"Xiao Lei\" --signatory.title \"Joint Company Secretary\".\n\
         Prints the event as stored (JSON) and any rule findings it raises; --dry-run writes nothing.\n\
         Exit status: 1 a value or the event was refused; 2 the command line is malformed.\n\n{}",
        fields::types_help()
    )
}

/// What the flags after the type say besides fields.
#[derive(Debug, Default)]
pub struct Extras {
    pub dry_run: bool,
    pub allow_duplicate: bool,
    pub db: Option<std::path::PathBuf>,
    pub help: bool,
    /// `--format` given after the type.
    pub format: Option<crate::ReportFormat>,
}

/// A top-level field (or envelope field) of `spec` by JSON name.
fn lookup(spec: &EventSpec, name: &str) -> Option<&'static Field> {
    spec.field(name)
        .or_else(|| ENVELOPE.iter().find(|f| f.name == name))
}

/// The short list of a type's flags, for error messages.
pub fn flag_list(spec: &EventSpec) -> String {
    let mut flags = Vec::new();
    for f in spec.fields {
        match f.kind {
            Kind::Object(subs) => {
                for s in subs {
                    flags.push(format!("{}.{}", f.flag(), s.flag_name()));
                }
            }
            _ => flags.push(format!("{}{}", f.flag(), if f.required { "*" } else { "" })),
        }
    }
    format!(
        "{} takes: {} (* required; also --id, --recorded-at, --actor, --note, --dry-run). See `shareledger record {} --help`.",
        spec.command_name(),
        flags.join(" "),
        spec.command_name()
    )
}

fn example_of(f: &Field) -> String {
    match f.kind {
        Kind::Object(subs) => subs
            .iter()
            .map(|s| format!("{}.{} {}", f.flag(), s.flag_name(), quoted(s.example)))
            .collect::<Vec<_>>()
            .join(" "),
        _ => format!("{} {}", f.flag(), quoted(f.example)),
    }
}

fn quoted(s: &str) -> String {
    if s.contains(' ') {
        format!("\"{s}\"")
    } else {
        s.to_string()
    }
}

fn unknown_flag(spec: &EventSpec, flag: &str) -> CliError {
    let given = flag.trim_start_matches('-').replace('_', "-");
    let mut candidates: Vec<String> = Vec::new();
    for f in spec.fields.iter().chain(ENVELOPE) {
        match f.kind {
            Kind::Object(subs) => {
                for s in subs {
                    candidates.push(format!("{}.{}", f.flag_name(), s.flag_name()));
                }
            }
            _ => candidates.push(f.flag_name()),
        }
    }
    let best = candidates
        .iter()
        .map(|c| (fields::distance(&given, c), c))
        .min();
    let hint = match best {
        Some((d, c)) if d <= 3.max(given.len() / 4) => format!(" (did you mean --{c}?)"),
        _ => String::new(),
    };
    CliError::usage(format!(
        "unknown flag {flag} for {}{hint}\n{}",
        spec.command_name(),
        flag_list(spec)
    ))
}

/// The flags after the type, read.
#[derive(Debug)]
pub struct Flags {
    /// The event's JSON object (with `type`).
    pub object: Map<String, Value>,
    /// The text of each flag as given, by JSON path (`signatory.name`).
    pub raw: BTreeMap<String, String>,
    pub extras: Extras,
}

/// Turn the flags after the type into the event's JSON object, with the raw
/// text of each flag (by JSON path) for messages.
pub fn fields_to_object(spec: &EventSpec, args: &[String]) -> Result<Flags, CliError> {
    let mut map = Map::new();
    map.insert("type".into(), Value::String(spec.name.into()));
    let mut raw = BTreeMap::new();
    let mut extras = Extras::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--help" || arg == "-h" {
            extras.help = true;
            continue;
        }
        if arg == "--dry-run" {
            extras.dry_run = true;
            continue;
        }
        if arg == "--allow-duplicate" {
            extras.allow_duplicate = true;
            continue;
        }
        let Some(body) = arg.strip_prefix("--") else {
            return Err(CliError::usage(format!(
                "`{arg}` is not a flag: give fields as --field-name value, and quote a value with spaces (--name \"Qingdao AInnovation\")\n{}",
                flag_list(spec)
            )));
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => {
                let next = args.get(i).filter(|v| !v.starts_with("--"));
                let Some(v) = next else {
                    let ex = resolve(spec, body)
                        .map(|(f, sub)| example_of(sub.unwrap_or(f)))
                        .unwrap_or_else(|| format!("--{body} VALUE"));
                    return Err(CliError::usage(format!(
                        "--{body} needs a value, e.g. {ex}"
                    )));
                };
                i += 1;
                (body.to_string(), v.clone())
            }
        };
        if name == "db" {
            extras.db = Some(value.into());
            continue;
        }
        if name == "format" {
            extras.format = Some(match value.as_str() {
                "text" => crate::ReportFormat::Text,
                "json" => crate::ReportFormat::Json,
                other => {
                    return Err(CliError::usage(format!(
                        "--format {other}: give --format text (one line, the default) or --format json (the event as stored)"
                    )))
                }
            });
            continue;
        }
        let Some((top, sub)) = resolve(spec, &name) else {
            return Err(unknown_flag(spec, &format!("--{name}")));
        };
        let field = sub.unwrap_or(top);
        let flag = match sub {
            Some(s) => format!("{}.{}", top.flag(), s.flag_name()),
            None => top.flag(),
        };
        let typed = convert(field, &flag, &value, own_price(args, &flag).as_deref())?;
        raw.insert(
            match sub {
                Some(s) => format!("{}.{}", top.name, s.name),
                None => top.name.to_string(),
            },
            value.clone(),
        );
        let target = match sub {
            Some(_) => {
                let entry = map
                    .entry(top.name.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                entry.as_object_mut().ok_or_else(|| {
                    CliError::usage(format!(
                        "{flag}: {} is given both whole and field by field: use one way",
                        top.flag()
                    ))
                })?
            }
            None => &mut map,
        };
        if target.insert(field.name.to_string(), typed).is_some() {
            return Err(CliError::usage(format!(
                "{flag} is given twice: give each field once"
            )));
        }
    }
    if extras.help {
        return Ok(Flags {
            object: map,
            raw,
            extras,
        });
    }
    // Every required field, and the required fields of any object begun.
    let mut missing = Vec::new();
    for f in spec.fields {
        match (map.get(f.name), f.kind) {
            (None, _) if f.required => missing.push(example_of(f)),
            (Some(Value::Object(given)), Kind::Object(subs)) => {
                for s in subs
                    .iter()
                    .filter(|s| s.required && !given.contains_key(s.name))
                {
                    missing.push(format!(
                        "{}.{} {}",
                        f.flag(),
                        s.flag_name(),
                        quoted(s.example)
                    ));
                }
            }
            _ => {}
        }
    }
    if !missing.is_empty() {
        return Err(CliError::usage(format!(
            "{} needs {}: add {}\n{}",
            spec.command_name(),
            if missing.len() == 1 {
                "a required flag".to_string()
            } else {
                format!("{} required flags", missing.len())
            },
            missing.join(" "),
            flag_list(spec)
        )));
    }
    Ok(Flags {
        object: map,
        raw,
        extras,
    })
}

/// Whether `v` reads as an amount (a price the user gave, fit to be shown
/// back as an example).
fn well_formed_price(v: &str) -> bool {
    ungroup_thousands(v)
        .and_then(|d| d.parse::<shareledger_core::amount::Amount>().ok())
        .is_some()
}

/// A price the user gave in this command for another flag than `except`
/// (`--highest-price 1.20`), well formed: the example for a price field, in
/// the user's own figures (the demo company's 21.35 means nothing to an
/// issuer trading at 1.20).
fn own_price(args: &[String], except: &str) -> Option<String> {
    args.iter().enumerate().find_map(|(i, a)| {
        let (flag, value) = match a.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (a.as_str(), args.get(i + 1).cloned()),
        };
        (flag.starts_with("--") && flag.ends_with("-price") && flag != except)
            .then_some(value)
            .flatten()
            .filter(|v| well_formed_price(v))
    })
}

/// The field a flag names (`trade-date`, `signatory.name`): (top, sub).
fn resolve(spec: &EventSpec, name: &str) -> Option<(&'static Field, Option<&'static Field>)> {
    let path: Vec<String> = name.split('.').map(|p| p.replace('-', "_")).collect();
    let top = lookup(spec, &path[0])?;
    match (path.len(), top.kind) {
        (1, _) => Some((top, None)),
        (2, Kind::Object(subs)) => subs
            .iter()
            .find(|s| s.name == path[1])
            .map(|s| (top, Some(s))),
        _ => None,
    }
}

/// A flag's text as the JSON value of its field.
fn convert(
    field: &Field,
    flag: &str,
    value: &str,
    own_price: Option<&str>,
) -> Result<Value, CliError> {
    let example = own_price
        .filter(|_| field.name.ends_with("price"))
        .unwrap_or(field.example);
    let bad = |what: String| {
        CliError::refused(format!(
            "{flag} `{value}`: {what}; for example {flag} {}",
            quoted(example)
        ))
    };
    Ok(match field.kind {
        // Plain digits, or thousands grouped with commas (`1,000`); never
        // a comma elsewhere (`4,30` is not 430).
        Kind::Count => Value::Number(
            ungroup_thousands(value)
                .filter(|d| !d.contains('.'))
                .and_then(|d| d.parse::<u64>().ok())
                .ok_or_else(|| {
                    bad(format!(
                        "{} is expected: digits, optionally grouped in thousands with commas like 1,000",
                        field.kind.describe()
                    ))
                })?
                .into(),
        ),
        Kind::Bool => Value::Bool(match value.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" => true,
            "false" | "no" | "n" => false,
            _ => return Err(bad("true or false is expected".into())),
        }),
        Kind::Amount => Value::String(ungroup_thousands(value).ok_or_else(|| {
            bad("a plain decimal amount is expected: digits with at most one decimal point, optionally grouped in thousands with commas like 92,569.50".into())
        })?),
        Kind::Currency => Value::String(value.to_ascii_uppercase()),
        Kind::Choice(_) => Value::String(value.replace('-', "_").to_ascii_lowercase()),
        Kind::Dates | Kind::Uuids => Value::Array(
            value
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| Value::String(s.trim().to_string()))
                .collect(),
        ),
        Kind::Object(_) => {
            let v: Value = serde_json::from_str(value).map_err(|_| {
                bad(format!(
                    "give its fields one by one ({}) or a JSON object",
                    example_of(field)
                ))
            })?;
            if !v.is_object() {
                return Err(bad("a JSON object is expected".into()));
            }
            v
        }
        Kind::Counters => {
            if value.trim_start().starts_with('[') {
                serde_json::from_str(value).map_err(|e| bad(format!("not valid JSON ({e})")))?
            } else {
                let mut list = Vec::new();
                for c in value.split(',').filter(|c| !c.trim().is_empty()) {
                    let (code, cur) = c
                        .split_once(':')
                        .ok_or_else(|| bad("write each counter as CODE:CURRENCY".into()))?;
                    list.push(serde_json::json!({
                        "stock_code": code.trim(),
                        "currency": cur.trim().to_ascii_uppercase()
                    }));
                }
                Value::Array(list)
            }
        }
        Kind::Text | Kind::Date | Kind::Time | Kind::Uuid => Value::String(value.to_string()),
    })
}

/// A core field path (`presentation.percent_decimals`, `multi_counter[0].currency`)
/// as the flag that gives it, and an example.
pub fn flag_for_path(spec: &EventSpec, path: &str) -> (String, String) {
    let clean: String = {
        let mut out = String::new();
        let mut skip = false;
        for c in path.chars() {
            match c {
                '[' => skip = true,
                ']' => skip = false,
                _ if !skip => out.push(c),
                _ => {}
            }
        }
        out
    };
    let parts: Vec<&str> = clean.split('.').filter(|p| !p.is_empty()).collect();
    let Some(top) = parts.first().and_then(|p| lookup(spec, p)) else {
        let flag = format!("--{}", clean.replace('_', "-"));
        return (flag.clone(), format!("{flag} VALUE"));
    };
    if let (Some(sub), Kind::Object(subs)) = (parts.get(1), top.kind) {
        if let Some(s) = subs.iter().find(|s| s.name == *sub) {
            let flag = format!("{}.{}", top.flag(), s.flag_name());
            return (flag.clone(), format!("{flag} {}", quoted(s.example)));
        }
    }
    (top.flag(), example_of(top))
}

/// Rewrite "field `x`" in a message of the core or the ledger as the flag,
/// with the value given and an accepted example.
pub fn flagged(spec: &EventSpec, message: &str, raw: &BTreeMap<String, String>) -> String {
    let msg = message.trim_start_matches("line 1: ");
    let Some((before, rest)) = msg.split_once("field `") else {
        return msg.to_string();
    };
    let Some((path, after)) = rest.split_once('`') else {
        return msg.to_string();
    };
    let (flag, mut example) = flag_for_path(spec, path);
    let clean_path: String = path.split('[').next().unwrap_or(path).to_string();
    if clean_path.ends_with("price") {
        // Another price the user gave, in their own figures.
        if let Some(p) = raw
            .iter()
            .find(|(k, v)| k.ends_with("price") && **k != clean_path && well_formed_price(v))
            .map(|(_, v)| v)
        {
            example = format!("{flag} {p}");
        }
    }
    let given = raw
        .get(path)
        .or_else(|| raw.get(&clean_path))
        .map(|v| format!(" `{v}`"))
        .unwrap_or_default();
    format!("{before}{flag}{given}{after} (for example {example})")
}

/// `--voided-id @15` or `--voided-id 3f2b8c1e`: the id of the event the
/// person means (by log position, or by the start of its id as `log` prints
/// it), looked up in the issuer's stream (the market calendar's without
/// `--issuer`). A whole id is left as it is.
fn resolve_references<S: Engine>(
    db: &std::path::Path,
    spec: &EventSpec,
    mut fields: Vec<String>,
) -> Result<Vec<String>, CliError> {
    if spec.name != "event_voided" {
        return Ok(fields);
    }
    let value_of = |fields: &[String], flag: &str| -> Option<(usize, String)> {
        fields.iter().enumerate().find_map(|(i, a)| {
            if a == flag {
                fields.get(i + 1).map(|v| (i + 1, v.clone()))
            } else {
                a.strip_prefix(&format!("{flag}="))
                    .map(|v| (i, v.to_string()))
            }
        })
    };
    let Some((at, reference)) = value_of(&fields, "--voided-id") else {
        return Ok(fields);
    };
    if uuid::Uuid::parse_str(reference.trim()).is_ok() {
        return Ok(fields);
    }
    let stream = value_of(&fields, "--issuer")
        .map(|(_, v)| v)
        .unwrap_or_else(|| shareledger_core::event::MARKET_STREAM.to_string());
    let db = value_of(&fields, "--db").map_or_else(|| db.to_path_buf(), |(_, v)| v.into());
    let id = Ledger::<S>::open_existing_at(&super::location(&db))?
        .resolve_event(&stream, &reference)
        .map_err(|e| {
            let e = CliError::from(e);
            CliError {
                message: e.message.replace("field `voided_id`", "--voided-id"),
                code: e.code,
            }
        })?;
    fields[at] = if fields[at].starts_with("--voided-id=") {
        format!("--voided-id={id}")
    } else {
        id.to_string()
    };
    Ok(fields)
}

pub fn run<S: Engine>(db: &std::path::Path, args: RecordArgs) -> Result<(), CliError> {
    let Some(event_type) = args.event_type.as_deref() else {
        return Err(CliError::usage(format!(
            "record needs an event type, e.g. `shareledger record shares-repurchased --help`\n\n{}",
            fields::types_help()
        )));
    };
    let spec = fields::spec(event_type).ok_or_else(|| {
        CliError::usage(format!(
            "unknown event type `{event_type}`\n\n{}",
            fields::types_help()
        ))
    })?;
    let fields = resolve_references::<S>(db, spec, args.fields)?;
    let Flags {
        object: map,
        raw,
        extras,
    } = fields_to_object(spec, &fields)?;
    if extras.help {
        crate::out!("{}", spec.help())?;
        return Ok(());
    }
    let dry_run = args.dry_run || extras.dry_run;
    let db = extras.db.as_deref().unwrap_or(db);
    let incoming = parse_object(map).map_err(|e| {
        let f = e.field.clone().unwrap_or_default();
        let (flag, example) = flag_for_path(spec, &f);
        let given = raw
            .get(f.split('[').next().unwrap_or(&f))
            .map(|v| format!(" `{v}`"))
            .unwrap_or_default();
        let kind = resolve(spec, &f.replace('_', "-")).map(|(top, sub)| sub.unwrap_or(top).kind);
        if let (Some(Kind::Choice(words)), false) = (kind, e.message.contains("missing")) {
            return CliError::refused(format!(
                "{flag}{given}: use one of {} (for example {example})",
                words.join(", ")
            ));
        }
        CliError::refused(format!(
            "{}{}; {} (for example {example})",
            if f.is_empty() {
                String::new()
            } else {
                format!("{flag}{given}: ")
            },
            e.message,
            e.hint,
        ))
    })?;
    let (mut ledger, _scratch) = super::open_for_append::<S>(db, dry_run)?;
    let summary = ledger
        .append(
            vec![(1, incoming)],
            now(),
            &default_actor(),
            AppendOptions {
                dry_run,
                allow_duplicate: args.allow_duplicate || extras.allow_duplicate,
                pipeline: None,
                keep_events: true,
                findings: true,
                ..AppendOptions::default()
            },
        )
        .map_err(|e| {
            let e = CliError::from(e);
            CliError {
                message: flagged(spec, &e.message, &raw),
                code: e.code,
            }
        })?;
    let format = extras
        .format
        .or(args.format)
        .unwrap_or(crate::ReportFormat::Text);
    for rec in &summary.events {
        match format {
            crate::ReportFormat::Json => {
                let stored = match rec.position {
                    Some(_) => ledger.find_by_id(&rec.id.to_string())?,
                    None => None,
                };
                let v = match &stored {
                    Some(row) => stored_json(row)?,
                    None => recorded_json(rec),
                };
                super::print_json_line(&v)?;
            }
            crate::ReportFormat::Text => {
                crate::outln!("{}", one_line(rec))?;
            }
        }
        match rec.position {
            Some(p) => crate::note!(
                "recorded {} at log position {p} in {}",
                rec.event.type_name(),
                ledger.location()
            )?,
            None => crate::note!(
                "dry run: {} accepted; nothing written to {}",
                rec.event.type_name(),
                ledger.location()
            )?,
        }
    }
    if summary.duplicates > 0 {
        crate::note!("already recorded (same id and content): nothing written")?;
    }
    super::audit::print_findings(&summary.findings)?;
    Ok(())
}

/// The recorded event in one line: its log position (or "dry run"), the
/// last 8 characters of its id (what `log` shows and `--voided-id` takes),
/// its type and its fields as recorded (`--format json` prints it whole).
fn one_line(rec: &shareledger_core::Recorded) -> String {
    let at = rec
        .position
        .map_or_else(|| "dry run:".to_string(), |p| format!("@{p}"));
    let id = rec.id.to_string();
    let short = id.get(id.len().saturating_sub(8)..).unwrap_or(&id);
    let fields = match rec.event.to_value() {
        Value::Object(m) => m
            .into_iter()
            .filter(|(k, _)| k != "type")
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k} {s}"),
                v => format!("{k} {v}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    crate::output::sanitize(&format!("{at} {short} {}: {fields}", rec.event.type_name()))
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn nested_and_typed_flags() {
        let spec = fields::spec("share-class-defined").unwrap();
        let map = fields_to_object(
            spec,
            &args(&[
                "--issuer",
                "02121",
                "--class",
                "H",
                "--class-of-shares",
                "Ordinary shares",
                "--par-value.currency",
                "rmb",
                "--par-value.amount=1",
                "--multi-counter",
                "80700:RMB",
                "--authorised-shares",
                "559,304,838",
            ]),
        )
        .unwrap()
        .object;
        assert_eq!(map["par_value"]["currency"], "RMB");
        assert_eq!(map["par_value"]["amount"], "1");
        assert_eq!(map["multi_counter"][0]["stock_code"], "80700");
        assert_eq!(map["authorised_shares"], 559304838);
        parse_object(map).unwrap();
    }

    #[test]
    fn unknown_flag_suggests_and_lists() {
        let spec = fields::spec("shares-repurchased").unwrap();
        let e = fields_to_object(spec, &args(&["--trade-dat", "2022-11-07"])).unwrap_err();
        assert_eq!(e.code, 2);
        assert!(
            e.message.contains("did you mean --trade-date?"),
            "{}",
            e.message
        );
        assert!(e.message.contains("--total-paid"), "{}", e.message);
    }

    #[test]
    fn missing_required_flags_are_named_with_examples() {
        let spec = fields::spec("opening-balance").unwrap();
        let e = fields_to_object(spec, &args(&["--issuer", "02121", "--class", "H"])).unwrap_err();
        assert_eq!(e.code, 2);
        assert!(e.message.contains("--date 2022-05-10"), "{}", e.message);
        assert!(
            e.message.contains("--issued-shares 559304838"),
            "{}",
            e.message
        );
    }

    #[test]
    fn core_paths_become_flags() {
        let spec = fields::spec("issuer-registered").unwrap();
        assert_eq!(
            flag_for_path(spec, "presentation.percent_decimals").0,
            "--presentation.percent-decimals"
        );
        let spec = fields::spec("share-class-defined").unwrap();
        assert_eq!(
            flag_for_path(spec, "multi_counter[0].currency").0,
            "--multi-counter"
        );
    }
}
