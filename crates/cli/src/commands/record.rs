//! `record TYPE --field value ...`: one event from flags named after its
//! fields (kebab-case), e.g. `record shares-repurchased --trade-date 2022-11-07`.

use clap::Args;
use serde_json::{Map, Value};
use shareledger_core::event::{parse_object, EVENT_TYPES};
use shareledger_store::Store;

use super::{default_actor, now};
use crate::ledger;
use crate::CliError;

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The event type, e.g. shares-repurchased (see interchange.md section 1).
    pub event_type: String,
    /// Show the event and its findings without writing.
    #[arg(long)]
    pub dry_run: bool,
    /// The fields: --field-name value (nested: --signatory.name value).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "--FIELD VALUE"
    )]
    pub fields: Vec<String>,
}

/// Fields that hold whole numbers.
const INTEGERS: &[&str] = &[
    "shares",
    "options",
    "issued_shares",
    "treasury_shares",
    "issued_shares_at_resolution",
    "authorised_shares",
    "repurchased_before_ledger",
    "outstanding_options",
    "percent_decimals",
    "price_decimals",
];
const BOOLS: &[&str] = &[
    "primary_listing",
    "listed",
    "by_director",
    "cancelled",
    "percent_on_carried_lines",
];
const LISTS: &[&str] = &["trade_dates"];

/// An accepted example value for a field, for error messages.
pub fn example(field: &str) -> &'static str {
    match field {
        f if INTEGERS.contains(&f) => "4300",
        f if BOOLS.contains(&f) => "true",
        "trade_dates" => "2022-11-07,2022-11-08",
        "recorded_at" | "submitted_at" => "2022-11-07T18:30:00+08:00",
        f if f.ends_with("date") || f == "date" || f == "publication_deadline" => "2022-11-07",
        "currency" => "HKD",
        f if f.ends_with("price") || f.starts_with("total_") || f == "amount" => "21.55",
        "method" => "on_exchange",
        "purpose" => "cancellation",
        "kind" => "placing",
        "form" => "nddr",
        "issuer" => "02121",
        "class" => "H",
        _ => "text",
    }
}

fn flag(field: &str) -> String {
    format!("--{}", field.replace('_', "-"))
}

/// Turn `--a-b value` pairs into a JSON object for `type`.
pub fn fields_to_object(event_type: &str, args: &[String]) -> Result<Map<String, Value>, CliError> {
    let mut map = Map::new();
    map.insert("type".into(), Value::String(event_type.into()));
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let Some(name) = arg.strip_prefix("--") else {
            return Err(CliError::usage(format!(
                "`{arg}` is not a flag: give fields as --field-name value"
            )));
        };
        let (name, value) = match name.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => {
                i += 1;
                let v = args.get(i).ok_or_else(|| {
                    CliError::usage(format!(
                        "--{name} needs a value, e.g. --{name} {}",
                        example(&name.replace('-', "_"))
                    ))
                })?;
                (name.to_string(), v.clone())
            }
        };
        i += 1;
        let path: Vec<String> = name.split('.').map(|p| p.replace('-', "_")).collect();
        let leaf = path.last().expect("non-empty").clone();
        let typed = if INTEGERS.contains(&leaf.as_str()) {
            Value::Number(value.parse::<u64>().map_err(|_| {
                CliError::refused(format!("--{name} `{value}`: a whole non-negative number is expected, e.g. --{name} {}", example(&leaf)))
            })?.into())
        } else if BOOLS.contains(&leaf.as_str()) {
            Value::Bool(match value.as_str() {
                "true" | "yes" => true,
                "false" | "no" => false,
                _ => {
                    return Err(CliError::refused(format!(
                        "--{name} `{value}`: true or false is expected"
                    )))
                }
            })
        } else if LISTS.contains(&leaf.as_str()) {
            Value::Array(
                value
                    .split(',')
                    .map(|s| Value::String(s.trim().to_string()))
                    .collect(),
            )
        } else if value.starts_with('{') || value.starts_with('[') {
            serde_json::from_str(&value).map_err(|e| {
                CliError::refused(format!("--{name}: `{value}` is not valid JSON: {e}"))
            })?
        } else {
            Value::String(value)
        };
        // Insert at the dotted path.
        let mut target = &mut map;
        for part in &path[..path.len() - 1] {
            let entry = target
                .entry(part.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            target = entry.as_object_mut().ok_or_else(|| {
                CliError::usage(format!(
                    "--{name}: {part} is given both as a value and as an object"
                ))
            })?;
        }
        if target.insert(leaf.clone(), typed).is_some() {
            return Err(CliError::usage(format!("--{name} is given twice")));
        }
    }
    Ok(map)
}

pub fn run(db: &std::path::Path, args: RecordArgs) -> Result<(), CliError> {
    let event_type = args.event_type.replace('-', "_");
    if !EVENT_TYPES.contains(&event_type.as_str()) {
        return Err(CliError::usage(format!(
            "unknown event type `{}`: use one of {}",
            args.event_type,
            EVENT_TYPES
                .iter()
                .map(|t| t.replace('_', "-"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut fields = args.fields.clone();
    let dry_run = args.dry_run || {
        let before = fields.len();
        fields.retain(|f| f != "--dry-run");
        fields.len() != before
    };
    let map = fields_to_object(&event_type, &fields)?;
    let incoming = parse_object(map).map_err(|e| {
        let f = e.field.clone().unwrap_or_default();
        CliError::refused(format!(
            "{}{}; {} (for example {} {})",
            if f.is_empty() {
                String::new()
            } else {
                format!("{}: ", flag(&f))
            },
            e.message,
            e.hint,
            flag(&f),
            example(f.rsplit('.').next().unwrap_or_default())
        ))
    })?;
    let mut store = Store::open(db)?;
    let summary = ledger::append(
        &mut store,
        vec![(1, incoming)],
        now(),
        &default_actor(),
        dry_run,
    )
    .map_err(|e| {
        // "line 1: field `x`" reads better as the flag.
        let msg = e.message.trim_start_matches("line 1: ").to_string();
        let msg = match msg.split_once("field `") {
            Some((before, rest)) => match rest.split_once('`') {
                Some((field, after)) => format!(
                    "{before}{}{after} (for example {} {})",
                    flag(field),
                    flag(field),
                    example(field)
                ),
                None => msg.clone(),
            },
            None => msg,
        };
        CliError {
            message: msg,
            code: e.code,
        }
    })?;
    for rec in &summary.appended {
        let mut v: Map<String, Value> =
            serde_json::from_str(&rec.payload()).expect("payload is JSON");
        if let Some(p) = rec.position {
            v.insert("position".into(), p.into());
        }
        v.insert("id".into(), rec.id.to_string().into());
        v.insert(
            "recorded_at".into(),
            ledger::hk(&rec.recorded_at).to_rfc3339().into(),
        );
        v.insert("actor".into(), rec.actor.clone().into());
        println!("{}", Value::Object(v));
    }
    if summary.duplicates > 0 {
        eprintln!("already recorded (same id and content): nothing written");
    }
    if dry_run {
        eprintln!("dry run: nothing written");
        super::audit::print_findings_of(&store, &summary.appended, true)?;
    } else {
        super::audit::print_new_findings(&store, &summary.appended)?;
    }
    Ok(())
}
