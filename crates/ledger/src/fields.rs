//! The fields of every event type as `record` offers them: the flag, whether
//! it is required, what kind of value it takes, a line of help and an accepted
//! example. The core's event structs are the truth; the tests at the bottom
//! check this table against them (every field of the core is here, required
//! exactly when the core requires it, and every example is accepted), so the
//! two cannot drift apart.

use shareledger_core::event::EVENT_TYPES;

/// What a field's value is, on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// A whole number of shares or options (also presentation decimals).
    Count,
    /// An exact decimal amount: a price, a total, a par value.
    Amount,
    /// A three-letter code: HKD, RMB, USD.
    Currency,
    /// YYYY-MM-DD.
    Date,
    /// RFC 3339.
    Time,
    Bool,
    /// One of these words (snake_case; kebab-case is accepted too).
    Choice(&'static [&'static str]),
    /// Dates separated by commas.
    Dates,
    Uuid,
    /// Event ids separated by commas.
    Uuids,
    /// An object with these fields, given as `--field.sub value` (or as JSON).
    Object(&'static [Field]),
    /// Trading counters: `CODE:CURRENCY[,CODE:CURRENCY...]` (or JSON).
    Counters,
}

impl Kind {
    /// How the value is written, for help: `DATE`, `N`, ...
    pub fn placeholder(self) -> &'static str {
        match self {
            Kind::Text => "TEXT",
            Kind::Count => "N",
            Kind::Amount => "AMOUNT",
            Kind::Currency => "CUR",
            Kind::Date => "DATE",
            Kind::Time => "TIME",
            Kind::Bool => "true|false",
            Kind::Choice(_) => "WORD",
            Kind::Dates => "DATE,DATE...",
            Kind::Uuid => "ID",
            Kind::Uuids => "ID,ID...",
            Kind::Object(_) => "{...}",
            Kind::Counters => "CODE:CUR,...",
        }
    }

    /// What a value of this kind must look like, for error messages.
    pub fn describe(self) -> String {
        match self {
            Kind::Text => "text".into(),
            Kind::Count => "a whole non-negative number (4300; 4,300 is read as 4300)".into(),
            Kind::Amount => "an exact decimal amount, not negative (21.55)".into(),
            Kind::Currency => "a three-letter currency code (HKD, RMB, USD)".into(),
            Kind::Date => "a date written YYYY-MM-DD (2022-11-07)".into(),
            Kind::Time => "an RFC 3339 time (2022-11-07T18:30:00+08:00)".into(),
            Kind::Bool => "true or false (yes or no)".into(),
            Kind::Choice(words) => format!("one of {}", words.join(", ")),
            Kind::Dates => "dates written YYYY-MM-DD, separated by commas".into(),
            Kind::Uuid => "an event id (a UUID, as `shareledger log --format json` shows)".into(),
            Kind::Uuids => {
                "event ids (UUIDs, as `shareledger log --format json` shows), separated by commas"
                    .into()
            }
            Kind::Object(fields) => format!(
                "an object: give its fields as {}",
                fields
                    .iter()
                    .map(|f| format!("--PARENT.{}", f.flag_name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Kind::Counters => {
                "trading counters as CODE:CURRENCY, separated by commas (80700:RMB)".into()
            }
        }
    }
}

/// One field of an event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The JSON name (snake_case).
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub help: &'static str,
    /// An accepted value, for help and errors (empty for objects).
    pub example: &'static str,
}

impl Field {
    /// The help of the field with its accepted values or an example.
    pub fn help_line(&self) -> String {
        match self.kind {
            Kind::Choice(words) => format!("{}: {}", self.help, words.join(", ")),
            _ => format!("{} (e.g. {})", self.help, self.example),
        }
    }

    /// The flag's name without dashes: `trade-date`.
    pub fn flag_name(&self) -> String {
        self.name.replace('_', "-")
    }
    /// `--trade-date`.
    pub fn flag(&self) -> String {
        format!("--{}", self.flag_name())
    }
}

/// One event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSpec {
    /// The JSON type name (snake_case).
    pub name: &'static str,
    pub summary: &'static str,
    pub fields: &'static [Field],
    /// Optional fields shown in the generated example besides the required.
    pub example_extra: &'static [&'static str],
}

impl EventSpec {
    /// The command-line name: `shares-repurchased`.
    pub fn command_name(&self) -> String {
        self.name.replace('_', "-")
    }

    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// A whole `record` command that is accepted as written.
    pub fn example_command(&self) -> String {
        let mut parts = vec![format!("shareledger record {}", self.command_name())];
        for f in self.fields {
            if !(f.required || self.example_extra.contains(&f.name)) {
                continue;
            }
            match f.kind {
                Kind::Object(subs) => {
                    for s in subs {
                        parts.push(format!(
                            "--{}.{} {}",
                            f.flag_name(),
                            s.flag_name(),
                            quote(s.example)
                        ));
                    }
                }
                _ => parts.push(format!("{} {}", f.flag(), quote(f.example))),
            }
        }
        // Wrap at about 90 columns, as a shell continues lines.
        let mut out = String::new();
        let mut line = String::new();
        for p in parts {
            if !line.is_empty() && line.len() + p.len() + 1 > 88 {
                out.push_str(&line);
                out.push_str(" \\\n    ");
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&p);
        }
        out.push_str(&line);
        out
    }

    /// The per-type help: summary, fields, envelope fields, example.
    pub fn help(&self) -> String {
        let mut out = format!(
            "shareledger record {}: {}\n\nFields (* required):\n",
            self.command_name(),
            self.summary
        );
        let mut rows: Vec<(String, String)> = Vec::new();
        for f in self.fields {
            match f.kind {
                Kind::Object(subs) => {
                    rows.push((
                        format!("{}.FIELD{}", f.flag(), if f.required { " *" } else { "" }),
                        f.help.to_string(),
                    ));
                    for s in subs {
                        rows.push((
                            format!(
                                "  {}.{} {}{}",
                                f.flag(),
                                s.flag_name(),
                                s.kind.placeholder(),
                                if s.required { " *" } else { "" }
                            ),
                            s.help_line(),
                        ));
                    }
                }
                _ => rows.push((
                    format!(
                        "{} {}{}",
                        f.flag(),
                        f.kind.placeholder(),
                        if f.required { " *" } else { "" }
                    ),
                    f.help_line(),
                )),
            }
        }
        let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).min(44);
        for (flag, help) in rows {
            if flag.len() > width {
                out.push_str(&format!("  {flag}\n  {:width$}  {help}\n", ""));
            } else {
                out.push_str(&format!("  {flag:width$}  {help}\n"));
            }
        }
        out.push_str(&format!(
            "\nOn every event (optional):\n  \
             --id ID             the event's id (recording the same id and content again is a no-op)\n  \
             --recorded-at TIME  when the ledger learned it (default now; RFC 3339)\n  \
             --actor NAME        who recorded it (default the OS user)\n  \
             --note TEXT         free text\n  \
             --dry-run           show the event and its rule findings; write nothing\n\n\
             Values: dates YYYY-MM-DD; times RFC 3339 (2022-11-07T18:30:00+08:00); amounts exact\n\
             decimals (21.55); words like on_exchange may be written on-exchange. A * inside an\n\
             object is required once any of its fields is given.\n\nExample:\n  {}\n",
            self.example_command()
        ));
        out
    }
}

fn quote(s: &str) -> String {
    if s.is_empty() || s.contains([' ', '\'', '"', '(', ')', '$', '&', ';', '*']) {
        format!("\"{}\"", s.replace('"', "\\\""))
    } else {
        s.to_string()
    }
}

/// Envelope fields every event may carry.
pub const ENVELOPE: &[Field] = &[
    opt(
        "id",
        Kind::Uuid,
        "the event's id (default: a new one)",
        "3f2b8c1e-5d4a-4e8f-9a6b-1c2d3e4f5a6b",
    ),
    opt(
        "recorded_at",
        Kind::Time,
        "when the ledger learned it (default: now)",
        "2022-11-07T18:30:00+08:00",
    ),
    opt(
        "actor",
        Kind::Text,
        "who recorded it (default: the OS user)",
        "xiao.lei",
    ),
    opt(
        "note",
        Kind::Text,
        "free text",
        "per broker confirmation 12345",
    ),
];

const fn req(name: &'static str, kind: Kind, help: &'static str, example: &'static str) -> Field {
    Field {
        name,
        kind,
        required: true,
        help,
        example,
    }
}

const fn opt(name: &'static str, kind: Kind, help: &'static str, example: &'static str) -> Field {
    Field {
        name,
        kind,
        required: false,
        help,
        example,
    }
}

pub const METHODS: &[&str] = &[
    "on_exchange",
    "other_exchange",
    "private_arrangement",
    "general_offer",
];
pub const PURPOSES: &[&str] = &["cancellation", "treasury"];
pub const ISSUE_KINDS: &[&str] = &[
    "placing",
    "consideration_issue",
    "open_offer",
    "rights_issue",
    "bonus_issue",
    "scrip_dividend",
    "share_option_exercise",
    "share_award",
    "warrant_exercise",
    "conversion",
    "other",
];
pub const FORMS: &[&str] = &["nddr", "monthly"];
pub const REORGANISATION_KINDS: &[&str] = &["consolidation", "subdivision", "other"];
pub const INSTRUMENT_KINDS: &[&str] = &["warrant", "convertible", "other_arrangement"];
pub const ROUNDINGS: &[&str] = &["half_up", "down"];
pub const BASES: &[&str] = &["form_default", "opening_balance", "excluding_pending"];

const ISSUER: Field = req("issuer", Kind::Text, "the issuer's id", "02121");
const CLASS: Field = req(
    "class",
    Kind::Text,
    "the class id chosen at definition",
    "H",
);
const SHARES: Field = req("shares", Kind::Count, "number of shares", "4300");
const CURRENCY: Field = opt("currency", Kind::Currency, "currency of the prices", "HKD");
const METHOD: Field = opt(
    "method",
    Kind::Choice(METHODS),
    "how the shares were bought (default on_exchange)",
    "on_exchange",
);
const EXCHANGE: Field = opt(
    "exchange",
    Kind::Text,
    "the other exchange's name (with method other_exchange)",
    "Shanghai Stock Exchange",
);

const SIGNATORY: &[Field] = &[
    req("name", Kind::Text, "who signs the returns", "Xiao Lei"),
    req(
        "title",
        Kind::Text,
        "their title",
        "Joint Company Secretary",
    ),
];
const PRESENTATION: &[Field] = &[
    opt(
        "percent_decimals",
        Kind::Count,
        "decimals of percentages (default 5)",
        "5",
    ),
    opt(
        "percent_rounding",
        Kind::Choice(ROUNDINGS),
        "rounding of percentages (default half_up)",
        "half_up",
    ),
    opt(
        "percent_basis",
        Kind::Choice(BASES),
        "what percentages are of (default form_default; domain.md 3.1)",
        "opening_balance",
    ),
    opt(
        "percent_on_carried_lines",
        Kind::Bool,
        "FF304: repeat a % on carried-forward lines (default false)",
        "true",
    ),
    opt(
        "price_decimals",
        Kind::Count,
        "decimals of average prices (default 4)",
        "4",
    ),
];
const MONEY: &[Field] = &[
    req("currency", Kind::Currency, "currency", "RMB"),
    req("amount", Kind::Amount, "amount", "1"),
];

const ISSUER_SETTINGS: &[Field] = &[
    opt(
        "description",
        Kind::Text,
        "legal description printed after the name",
        "(incorporated in the Cayman Islands with limited liability)",
    ),
    opt(
        "primary_listing",
        Kind::Bool,
        "primary listing on the Exchange (default true)",
        "true",
    ),
    opt(
        "signatory",
        Kind::Object(SIGNATORY),
        "who signs the returns",
        "",
    ),
    opt(
        "presentation",
        Kind::Object(PRESENTATION),
        "how the returns present figures",
        "",
    ),
];

macro_rules! fields {
    ($($f:expr),* $(,)?) => { &[$($f),*] };
}

/// Every event type, in the order of interchange.md.
pub const SPECS: &[EventSpec] = &[
    EventSpec {
        name: "issuer_registered",
        summary: "a listed issuer enters the ledger (its name, signatory and presentation policy)",
        fields: fields![
            ISSUER,
            req(
                "name",
                Kind::Text,
                "the issuer's name",
                "Qingdao AInnovation Technology Group Co., Ltd"
            ),
            ISSUER_SETTINGS[0],
            ISSUER_SETTINGS[1],
            ISSUER_SETTINGS[2],
            ISSUER_SETTINGS[3],
        ],
        example_extra: &["signatory"],
    },
    EventSpec {
        name: "issuer_settings_changed",
        summary: "change an issuer's name, description, listing, signatory or presentation",
        fields: fields![
            ISSUER,
            opt(
                "name",
                Kind::Text,
                "the issuer's new name",
                "Qingdao AInnovation Technology Group Co., Ltd"
            ),
            ISSUER_SETTINGS[0],
            ISSUER_SETTINGS[1],
            ISSUER_SETTINGS[2],
            ISSUER_SETTINGS[3],
        ],
        example_extra: &["signatory"],
    },
    EventSpec {
        name: "share_class_defined",
        summary: "a class of shares the returns report on, one block per class",
        fields: fields![
            ISSUER,
            CLASS,
            req(
                "class_of_shares",
                Kind::Text,
                "as the forms print it",
                "Ordinary shares"
            ),
            opt(
                "type_of_shares",
                Kind::Text,
                "H, A, ... (default Not applicable)",
                "H"
            ),
            opt(
                "listed",
                Kind::Bool,
                "listed on the Exchange (default true)",
                "true"
            ),
            opt("stock_code", Kind::Text, "stock code", "02121"),
            opt(
                "multi_counter",
                Kind::Counters,
                "further counters as CODE:CURRENCY",
                "80700:RMB"
            ),
            opt(
                "description",
                Kind::Text,
                "description of the class",
                "H shares"
            ),
            opt("par_value", Kind::Object(MONEY), "par value", ""),
            opt(
                "authorised_shares",
                Kind::Count,
                "authorised/registered shares (absent: no authorised capital)",
                "559304838",
            ),
        ],
        example_extra: &["type_of_shares", "stock_code", "par_value"],
    },
    EventSpec {
        name: "opening_balance",
        summary: "the class's balances as at the end of a day: where the ledger's history starts",
        fields: fields![
            ISSUER,
            CLASS,
            req(
                "date",
                Kind::Date,
                "balances as at the end of this day",
                "2022-05-10"
            ),
            req(
                "issued_shares",
                Kind::Count,
                "issued shares excluding treasury",
                "559304838"
            ),
            opt(
                "treasury_shares",
                Kind::Count,
                "treasury shares (default 0)",
                "0"
            ),
        ],
        example_extra: &[],
    },
    EventSpec {
        name: "repurchase_mandate_granted",
        summary: "a general meeting's repurchase mandate for a class",
        fields: fields![
            ISSUER,
            CLASS,
            req(
                "resolution_date",
                Kind::Date,
                "date of the resolution",
                "2022-05-10"
            ),
            req(
                "issued_shares_at_resolution",
                Kind::Count,
                "issued shares (excluding treasury) at the resolution",
                "559304838",
            ),
            opt(
                "authorised_shares",
                Kind::Count,
                "shares it authorises (default: 10%, rounded down)",
                "55930483",
            ),
            opt(
                "explanatory_statement_date",
                Kind::Date,
                "date of the Explanatory Statement",
                "2022-04-14",
            ),
            opt(
                "expiry_date",
                Kind::Date,
                "last day it is in force",
                "2023-05-09"
            ),
            opt(
                "repurchased_before_ledger",
                Kind::Count,
                "shares bought under it before the ledger's history starts (default 0)",
                "0",
            ),
        ],
        example_extra: &["explanatory_statement_date"],
    },
    EventSpec {
        name: "shares_repurchased",
        summary: "shares bought back on one trading day (give all four price fields, or none)",
        fields: fields![
            ISSUER,
            CLASS,
            req("trade_date", Kind::Date, "the trading day", "2022-11-07"),
            SHARES,
            METHOD,
            EXCHANGE,
            opt(
                "purpose",
                Kind::Choice(PURPOSES),
                "what the shares are for (default cancellation)",
                "cancellation",
            ),
            CURRENCY,
            opt(
                "highest_price",
                Kind::Amount,
                "highest price paid per share",
                "21.55"
            ),
            opt(
                "lowest_price",
                Kind::Amount,
                "lowest price paid per share",
                "21.35"
            ),
            opt("total_paid", Kind::Amount, "aggregate price paid", "92569"),
        ],
        example_extra: &["currency", "highest_price", "lowest_price", "total_paid"],
    },
    EventSpec {
        name: "repurchased_shares_cancelled",
        summary: "repurchased shares cancelled (they leave the issued shares)",
        fields: fields![
            ISSUER,
            CLASS,
            req("date", Kind::Date, "the cancellation date", "2022-11-30"),
            SHARES,
            opt(
                "trade_dates",
                Kind::Dates,
                "which pending repurchases, by trade date (default oldest first)",
                "2022-11-07,2022-11-08",
            ),
        ],
        example_extra: &[],
    },
    EventSpec {
        name: "shares_issued",
        summary: "new shares allotted (placing, option exercise, ...)",
        fields: fields![
            ISSUER,
            CLASS,
            req("date", Kind::Date, "the allotment date", "2022-11-15"),
            SHARES,
            req(
                "kind",
                Kind::Choice(ISSUE_KINDS),
                "what kind of issue",
                "placing"
            ),
            opt(
                "scheme",
                Kind::Text,
                "the option scheme, warrant or convertible (required for those kinds)",
                "2021 Share Option Scheme",
            ),
            opt(
                "by_director",
                Kind::Bool,
                "an option exercise by a director",
                "false"
            ),
            CURRENCY,
            opt("price", Kind::Amount, "issue price per share", "20.00"),
            opt(
                "previous_close",
                Kind::Amount,
                "closing price on the preceding business day",
                "21.00"
            ),
            opt(
                "general_meeting_date",
                Kind::Date,
                "date of the approving general meeting",
                "2022-05-10"
            ),
            opt(
                "description",
                Kind::Text,
                "description",
                "placing of new H shares"
            ),
            opt(
                "amount",
                Kind::Amount,
                "an exercise or conversion: units or principal of the instrument used (default pro rata)",
                "3000000",
            ),
        ],
        example_extra: &["currency", "price"],
    },
    EventSpec {
        name: "shares_redeemed",
        summary: "shares redeemed",
        fields: fields![
            ISSUER,
            CLASS,
            req("date", Kind::Date, "the redemption date", "2022-11-15"),
            SHARES,
            CURRENCY,
            opt("price", Kind::Amount, "redemption price per share", "1.00"),
            opt(
                "cancelled",
                Kind::Bool,
                "cancelled at once (default true)",
                "true"
            ),
        ],
        example_extra: &[],
    },
    EventSpec {
        name: "treasury_shares_sold",
        summary: "treasury shares sold on one trading day (since 11 June 2024)",
        fields: fields![
            ISSUER,
            CLASS,
            req("trade_date", Kind::Date, "the trading day", "2024-08-12"),
            SHARES,
            METHOD,
            EXCHANGE,
            req("currency", Kind::Currency, "currency of the prices", "HKD"),
            req(
                "highest_price",
                Kind::Amount,
                "highest price received per share",
                "1.30"
            ),
            req(
                "lowest_price",
                Kind::Amount,
                "lowest price received per share",
                "1.28"
            ),
            req(
                "total_received",
                Kind::Amount,
                "aggregate price received",
                "64500"
            ),
        ],
        example_extra: &[],
    },
    EventSpec {
        name: "treasury_shares_transferred",
        summary: "treasury shares transferred, e.g. to a share scheme (since 11 June 2024)",
        fields: fields![
            ISSUER,
            CLASS,
            req("date", Kind::Date, "the transfer date", "2024-08-13"),
            SHARES,
            req("purpose", Kind::Text, "what for", "share award scheme"),
            opt(
                "scheme",
                Kind::Text,
                "the scheme",
                "2024 Share Award Scheme"
            ),
        ],
        example_extra: &[],
    },
    EventSpec {
        name: "treasury_shares_cancelled",
        summary: "treasury shares cancelled (since 11 June 2024)",
        fields: fields![
            ISSUER,
            CLASS,
            req("date", Kind::Date, "the cancellation date", "2024-08-14"),
            SHARES,
        ],
        example_extra: &[],
    },
    EventSpec {
        name: "authorised_shares_changed",
        summary: "a new number of authorised/registered shares",
        fields: fields![
            ISSUER,
            CLASS,
            req("date", Kind::Date, "the date of the change", "2022-11-30"),
            req(
                "authorised_shares",
                Kind::Count,
                "the new number",
                "600000000"
            ),
        ],
        example_extra: &[],
    },
    EventSpec {
        name: "share_option_scheme_adopted",
        summary: "a share option scheme",
        fields: fields![
            ISSUER,
            CLASS,
            req(
                "scheme",
                Kind::Text,
                "the scheme's name",
                "2021 Share Option Scheme"
            ),
            req("adoption_date", Kind::Date, "adoption date", "2021-06-01"),
            opt(
                "general_meeting_date",
                Kind::Date,
                "date of the approving general meeting",
                "2021-06-01"
            ),
            opt(
                "outstanding_options",
                Kind::Count,
                "options outstanding when the ledger's history starts (default 0)",
                "0",
            ),
        ],
        example_extra: &[],
    },
    options_spec("share_options_granted", "options granted under a scheme"),
    options_spec("share_options_lapsed", "options lapsed under a scheme"),
    options_spec(
        "share_options_cancelled",
        "options cancelled under a scheme",
    ),
    EventSpec {
        name: "results_announcement_scheduled",
        summary: "a results timetable (for the repurchase blackout)",
        fields: fields![
            ISSUER,
            req("period", Kind::Text, "the period", "2022 annual"),
            req(
                "board_meeting_date",
                Kind::Date,
                "board meeting on the results",
                "2023-03-28"
            ),
            req(
                "publication_deadline",
                Kind::Date,
                "deadline to publish them",
                "2023-03-31"
            ),
            opt(
                "announcement_date",
                Kind::Date,
                "when they were announced",
                "2023-03-28"
            ),
        ],
        example_extra: &[],
    },
    EventSpec {
        name: "market_closed",
        summary: "a whole day the market was closed (typhoon, rainstorm): no issuer",
        fields: fields![
            req("date", Kind::Date, "the day", "2023-09-08"),
            req("reason", Kind::Text, "why", "Black rainstorm warning"),
        ],
        example_extra: &[],
    },
    EventSpec {
        name: "return_filed",
        summary:
            "a return was submitted (return nddr|monthly --mark-filed records it with its digest)",
        fields: fields![
            ISSUER,
            req("form", Kind::Choice(FORMS), "which return", "nddr"),
            req(
                "date",
                Kind::Date,
                "an NDDR's closing balance date; a Monthly Return's month end",
                "2022-11-07",
            ),
            req(
                "submitted_at",
                Kind::Time,
                "when it was submitted",
                "2022-11-07T19:00:00+08:00"
            ),
            opt(
                "digest",
                Kind::Text,
                "SHA-256 of the return's JSON as filed",
                "9f86d081884c7d65"
            ),
            opt("layout", Kind::Text, "FF304, FF305 or FF301", "FF304"),
            opt(
                "document_version",
                Kind::Count,
                "version of the document the digest is of (default 1)",
                "1"
            ),
            opt(
                "amends",
                Kind::Uuid,
                "the id of the earlier return_filed this amended return corrects",
                "3f2b8c1e-5d4a-4e8f-9a6b-1c2d3e4f5a6b"
            ),
            opt(
                "status",
                Kind::Text,
                "the form's Status line as filed (default New Submission)",
                "New Submission"
            ),
        ],
        example_extra: &[],
    },
    EventSpec {
        name: "event_voided",
        summary: "a correction: the voided event stops counting from now on (nothing is deleted)",
        fields: fields![
            opt(
                "issuer",
                Kind::Text,
                "the issuer's id (leave it out only to void a market_closed)",
                "02121"
            ),
            req(
                "voided_id",
                Kind::Uuid,
                "the id of the event to void (or its last 8 characters, or @POSITION, as `log` prints them)",
                "3f2b8c1e-5d4a-4e8f-9a6b-1c2d3e4f5a6b"
            ),
            req(
                "reason",
                Kind::Text,
                "why",
                "wrong number of shares; re-recorded"
            ),
        ],
        example_extra: &["issuer"],
    },
    EventSpec {
        name: "closing_price",
        summary: "a closing price (for the 5% price cap check)",
        fields: fields![
            ISSUER,
            CLASS,
            req("date", Kind::Date, "the trading day", "2022-11-04"),
            req("currency", Kind::Currency, "currency", "HKD"),
            req("price", Kind::Amount, "the closing price", "21.50"),
        ],
        example_extra: &[],
    },
    EventSpec {
        name: "shares_reclassified",
        summary: "shares of one class reclassified into another, one for one (WVR class B into class A)",
        fields: fields![
            ISSUER,
            req("from_class", Kind::Text, "the class the shares leave", "B"),
            req("to_class", Kind::Text, "the class the shares join", "A"),
            req("date", Kind::Date, "the date of the reclassification", "2024-07-15"),
            SHARES,
            opt(
                "description",
                Kind::Text,
                "what happened, as the forms print it",
                "Conversion of Class B ordinary shares to Class A ordinary shares",
            ),
        ],
        example_extra: &["description"],
    },
    EventSpec {
        name: "instrument_issued",
        summary: "warrants, convertibles or another arrangement to issue shares (Monthly Return III (B)-(D))",
        fields: fields![
            ISSUER,
            req("class", Kind::Text, "the class its shares are issued in", "ORD"),
            req(
                "instrument",
                Kind::Text,
                "its name, unique per issuer (exercises name it in --scheme)",
                "2024 Warrants",
            ),
            req(
                "kind",
                Kind::Choice(INSTRUMENT_KINDS),
                "what kind of instrument",
                "warrant"
            ),
            req("date", Kind::Date, "the date of issue", "2024-07-02"),
            opt("currency", Kind::Currency, "currency of the amount and price", "HKD"),
            opt(
                "amount",
                Kind::Amount,
                "units or principal outstanding",
                "10000000"
            ),
            opt(
                "price",
                Kind::Amount,
                "subscription or conversion price per share",
                "2.50"
            ),
            req(
                "shares_issuable",
                Kind::Count,
                "shares it can issue",
                "10000000"
            ),
            opt(
                "general_meeting_date",
                Kind::Date,
                "the general meeting that approved it",
                "2024-06-20"
            ),
            opt("expiry_date", Kind::Date, "when it expires", "2026-07-01"),
            opt("stock_code", Kind::Text, "its stock code, if listed", "01937"),
            opt(
                "description",
                Kind::Text,
                "its particulars, as the Monthly Return prints them",
                "Listed warrants, one share per warrant",
            ),
        ],
        example_extra: &["currency", "amount", "price"],
    },
    EventSpec {
        name: "instrument_cancelled",
        summary: "shares an instrument can no longer issue (lapsed, redeemed, expired)",
        fields: fields![
            ISSUER,
            req("instrument", Kind::Text, "the instrument's name", "2024 Warrants"),
            req("date", Kind::Date, "the date", "2024-07-31"),
            req(
                "shares_issuable",
                Kind::Count,
                "shares no longer issuable",
                "1000000"
            ),
            opt(
                "amount",
                Kind::Amount,
                "units or principal cancelled (default pro rata)",
                "1000000"
            ),
            opt("reason", Kind::Text, "why", "lapsed"),
        ],
        example_extra: &["reason"],
    },
    EventSpec {
        name: "exchange_approval_recorded",
        summary: "the Exchange's prior approval or waiver: the findings it covers become information",
        fields: fields![
            ISSUER,
            req("rule", Kind::Text, "the Main Board Rule approved or waived", "10.06(3)"),
            req("date", Kind::Date, "the date of the approval", "2024-07-20"),
            opt(
                "covers",
                Kind::Uuids,
                "the ids of the events it approves (default: the events breaching the rule on its date)",
                "3f2b8c1e-5d4a-4e8f-9a6b-1c2d3e4f5a6b",
            ),
            opt(
                "reference",
                Kind::Text,
                "the Exchange's letter",
                "Exchange letter of 20 July 2024"
            ),
        ],
        example_extra: &["reference"],
    },
    EventSpec {
        name: "capital_reorganised",
        summary: "a consolidation or subdivision of a class's shares (balances scaled, par value changed)",
        fields: fields![
            ISSUER,
            CLASS,
            req("date", Kind::Date, "the effective date", "2024-07-15"),
            req(
                "kind",
                Kind::Choice(REORGANISATION_KINDS),
                "what kind of reorganisation",
                "consolidation"
            ),
            req("ratio_from", Kind::Count, "shares before (10 in ten-into-one)", "10"),
            req("ratio_to", Kind::Count, "shares after (1 in ten-into-one)", "1"),
            req(
                "issued_shares_after",
                Kind::Count,
                "issued shares (excluding treasury) after it, as announced",
                "100000000"
            ),
            opt(
                "treasury_shares_after",
                Kind::Count,
                "treasury shares after it (default: scaled, rounded down)",
                "500000"
            ),
            opt(
                "authorised_shares_after",
                Kind::Count,
                "authorised shares after it (default: scaled, rounded down)",
                "200000000"
            ),
            opt(
                "par_value_after",
                Kind::Object(MONEY),
                "the par value after it",
                ""
            ),
            opt(
                "general_meeting_date",
                Kind::Date,
                "the general meeting that approved it",
                "2024-07-10"
            ),
            opt(
                "description",
                Kind::Text,
                "what happened, as the forms print it",
                "Share consolidation of every ten shares into one"
            ),
        ],
        example_extra: &["general_meeting_date"],
    },
];

const OPTIONS_FIELDS: &[Field] = &[
    ISSUER,
    req(
        "scheme",
        Kind::Text,
        "the scheme's name",
        "2021 Share Option Scheme",
    ),
    req("date", Kind::Date, "the date", "2022-11-15"),
    req("options", Kind::Count, "shares under the options", "100000"),
];

const fn options_spec(name: &'static str, summary: &'static str) -> EventSpec {
    EventSpec {
        name,
        summary,
        fields: OPTIONS_FIELDS,
        example_extra: &[],
    }
}

/// The spec of an event type, by its JSON or command-line name.
pub fn spec(name: &str) -> Option<&'static EventSpec> {
    let name = name.replace('-', "_");
    SPECS.iter().find(|s| s.name == name)
}

/// Every type's command-line name and summary, for `record --help`.
pub fn types_help() -> String {
    let mut out = String::from("Event types (shareledger record TYPE --help lists its fields):\n");
    for name in EVENT_TYPES {
        let s = spec(name).expect("every event type has a spec (tested)");
        out.push_str(&format!("  {:<31} {}\n", s.command_name(), s.summary));
    }
    out
}

/// The edit distance between two names, for "did you mean".
pub fn distance(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};
    use shareledger_core::event::parse_object;
    use std::collections::BTreeSet;

    fn value(f: &Field, all: bool) -> Value {
        match f.kind {
            Kind::Count => Value::Number(f.example.parse::<u64>().unwrap().into()),
            Kind::Bool => Value::Bool(f.example.parse().unwrap()),
            Kind::Dates | Kind::Uuids => Value::Array(
                f.example
                    .split(',')
                    .map(|s| Value::String(s.into()))
                    .collect(),
            ),
            Kind::Counters => Value::Array(
                f.example
                    .split(',')
                    .map(|c| {
                        let (code, cur) = c.split_once(':').unwrap();
                        serde_json::json!({"stock_code": code, "currency": cur})
                    })
                    .collect(),
            ),
            Kind::Object(subs) => Value::Object(
                subs.iter()
                    .filter(|s| all || s.required)
                    .map(|s| (s.name.to_string(), value(s, all)))
                    .collect(),
            ),
            _ => Value::String(f.example.into()),
        }
    }

    fn object(spec: &EventSpec, all: bool, without: Option<&str>) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("type".into(), spec.name.into());
        for f in spec.fields {
            if (all || f.required) && Some(f.name) != without {
                map.insert(f.name.into(), value(f, all));
            }
        }
        map
    }

    /// The names serde lists in "unknown field `x`, expected ...".
    fn expected_names(hint: &str) -> BTreeSet<String> {
        let rest = hint.split("expected").nth(1).unwrap_or_default();
        rest.split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, s)| s.to_string())
            .collect()
    }

    #[test]
    fn every_event_type_has_a_spec_and_no_more() {
        for t in EVENT_TYPES {
            assert!(spec(t).is_some(), "no spec for {t}");
        }
        assert_eq!(SPECS.len(), EVENT_TYPES.len());
    }

    #[test]
    fn every_example_is_accepted_by_the_core() {
        for s in SPECS {
            parse_object(object(s, true, None))
                .unwrap_or_else(|e| panic!("{}: full example refused: {e}", s.name));
            // Only the required fields: so every other field is optional in the core.
            parse_object(object(s, false, None))
                .unwrap_or_else(|e| panic!("{}: required-only example refused: {e}", s.name));
            for f in ENVELOPE {
                let mut m = object(s, false, None);
                m.insert(f.name.into(), value(f, true));
                parse_object(m).unwrap_or_else(|e| panic!("{}: envelope {}: {e}", s.name, f.name));
            }
        }
    }

    #[test]
    fn required_fields_are_required_in_the_core() {
        for s in SPECS {
            for f in s.fields.iter().filter(|f| f.required) {
                let e = parse_object(object(s, false, Some(f.name)))
                    .expect_err(&format!("{}: {} should be required", s.name, f.name));
                assert_eq!(e.field.as_deref(), Some(f.name), "{}: {e}", s.name);
            }
        }
    }

    #[test]
    fn the_table_lists_every_field_of_the_core() {
        for s in SPECS {
            let mut m = object(s, false, None);
            m.insert("zz_not_a_field".into(), Value::Bool(true));
            let e = parse_object(m).expect_err("unknown fields are refused");
            let core = expected_names(&e.hint);
            let table: BTreeSet<String> = s.fields.iter().map(|f| f.name.to_string()).collect();
            assert_eq!(core, table, "{}: the table and the core differ", s.name);
            for f in s.fields {
                let Kind::Object(subs) = f.kind else { continue };
                let mut m = object(s, false, None);
                let mut sub = value(f, false).as_object().unwrap().clone();
                sub.insert("zz_not_a_field".into(), Value::Bool(true));
                m.insert(f.name.into(), Value::Object(sub));
                let e = parse_object(m).expect_err("unknown subfields are refused");
                let core = expected_names(&e.hint);
                let table: BTreeSet<String> = subs.iter().map(|f| f.name.to_string()).collect();
                assert_eq!(
                    core, table,
                    "{}.{}: the table and the core differ",
                    s.name, f.name
                );
            }
        }
    }

    #[test]
    fn examples_are_whole_commands() {
        let s = spec("shares-repurchased").unwrap();
        let ex = s.example_command();
        assert!(ex.starts_with("shareledger record shares-repurchased --issuer 02121"));
        assert!(ex.contains("--total-paid 92569"));
        assert!(spec("issuer_registered")
            .unwrap()
            .example_command()
            .contains("--signatory.name \"Xiao Lei\""));
    }
}
