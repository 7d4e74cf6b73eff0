//! `user add|change|disable|list`: the users of the web app and their roles,
//! recorded in the ledger's hash chain (`shareledger_ledger::access`). The
//! password is read from standard input (one line; at a terminal, without
//! echo) and only its argon2 hash is kept.

use std::io::{BufRead, IsTerminal, Write};

use clap::{Args, Subcommand};
use shareledger_ledger::access::{AccessEvent, Role};
use shareledger_ledger::{Engine, Ledger};

use super::{default_actor, location, now};
use crate::CliError;

pub const AFTER_HELP: &str = "\
Examples:
  shareledger user add xiao.lei --role officer --issuers 02121
  echo \"$PASSWORD\" | shareledger user add clerk1 --role clerk --issuers 02121,00700
  shareledger user list
  shareledger user change clerk1 --role officer
  shareledger user disable clerk1

Roles: auditor reads; clerk also records events for their issuers; officer also voids
events and marks returns filed; admin also manages users. Without --issuers a user sees
every issuer. Once a user exists, `serve` asks everyone to log in. Every change is
recorded in the ledger's hash chain (`audit` verifies it).";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    Auditor,
    Clerk,
    Officer,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Auditor => Role::Auditor,
            RoleArg::Clerk => Role::Clerk,
            RoleArg::Officer => Role::Officer,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[derive(Debug, Args)]
pub struct Access {
    /// What the user may do.
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// The issuers they may see, comma-separated (default: every issuer).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub issuers: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input.
    #[command(
        after_help = "Example:\n  shareledger user add xiao.lei --role officer --issuers 02121"
    )]
    Add {
        name: String,
        #[command(flatten)]
        access: Access,
    },
    /// Change a user's role and issuers (and re-enable them); --password reads a new one.
    #[command(
        after_help = "Example:\n  shareledger user change clerk1 --role officer --issuers 02121"
    )]
    Change {
        name: String,
        #[command(flatten)]
        access: Access,
        /// Also set a new password (read from standard input).
        #[arg(long)]
        password: bool,
    },
    /// Disable a user: they can no longer log in.
    #[command(after_help = "Example:\n  shareledger user disable clerk1")]
    Disable { name: String },
    /// List the users.
    #[command(after_help = "Example:\n  shareledger user list")]
    List,
}

/// Read a password from standard input: at a terminal, prompt without echo.
fn read_password(name: &str) -> Result<String, CliError> {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    let stty = |arg: &str| {
        let _ = std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status();
    };
    if tty {
        eprint!("password for {name}: ");
        let _ = std::io::stderr().flush();
        stty("-echo");
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if tty {
        stty("echo");
        eprintln!();
    }
    read?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    if pw.chars().count() < 10 {
        return Err(CliError::refused(
            "the password is shorter than 10 characters: choose a longer one (a passphrase of a few words is good)",
        ));
    }
    Ok(pw)
}

fn issuers(access: &Access) -> Option<Vec<String>> {
    (!access.issuers.is_empty()).then(|| {
        access
            .issuers
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

pub fn run<S: Engine>(db: &std::path::Path, cmd: UserCommand) -> Result<(), CliError> {
    let event = match cmd {
        UserCommand::List => {
            let (ledger, _) = Ledger::<S>::open_to_read_at(&location(db))?;
            let users = ledger.users()?;
            if users.is_empty() {
                println!("no users: `shareledger serve` runs for one person, on this machine only");
            }
            for u in users.values() {
                println!(
                    "{:<20} {:<8} {:<30} {}",
                    u.name,
                    u.role.name(),
                    u.issuers
                        .as_ref()
                        .map(|l| l.join(","))
                        .unwrap_or_else(|| "every issuer".into()),
                    if u.disabled { "disabled" } else { "active" }
                );
            }
            return Ok(());
        }
        UserCommand::Add { name, access } => AccessEvent::UserAdded {
            password_hash: shareledger_server::auth::hash_password(&read_password(&name)?)
                .map_err(CliError::refused)?,
            name,
            role: access.role.into(),
            issuers: issuers(&access),
        },
        UserCommand::Change {
            name,
            access,
            password,
        } => AccessEvent::UserChanged {
            password_hash: if password {
                Some(
                    shareledger_server::auth::hash_password(&read_password(&name)?)
                        .map_err(CliError::refused)?,
                )
            } else {
                None
            },
            name,
            role: access.role.into(),
            issuers: issuers(&access),
        },
        UserCommand::Disable { name } => AccessEvent::UserDisabled { name },
    };
    let what = format!("{event:?}");
    let what = what.split([' ', '{']).next().unwrap_or("").to_string();
    let mut ledger = Ledger::<S>::open_at(&location(db))?;
    let position = ledger.record_access(event, now(), &default_actor())?;
    eprintln!(
        "recorded {} at log position {position} in {}",
        match what.as_str() {
            "UserAdded" => "the new user",
            "UserChanged" => "the change",
            _ => "the user's disabling",
        },
        ledger.location()
    );
    Ok(())
}
