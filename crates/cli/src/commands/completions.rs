//! `completions SHELL` and `man [COMMAND]`: generated from the clap
//! definition, so they always match the binary.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::{Cli, CliError};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub const COMPLETIONS_HELP: &str = "\
Examples:
  shareledger completions bash > ~/.local/share/bash-completion/completions/shareledger
  shareledger completions zsh > ~/.zfunc/_shareledger      # with fpath+=~/.zfunc in ~/.zshrc
  shareledger completions fish > ~/.config/fish/completions/shareledger.fish

Prints the completion script on standard output.";

#[derive(Debug, Args)]
pub struct ManArgs {
    /// A subcommand's page instead of the main one (e.g. record, return).
    pub command: Option<String>,
}

pub const MAN_HELP: &str = "\
Examples:
  shareledger man > shareledger.1 && man ./shareledger.1
  shareledger man import-trades | man -l -

Prints the manual page (roff) on standard output.";

pub fn completions(args: CompletionsArgs) -> Result<(), CliError> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "shareledger", &mut out);
    if args.shell == Shell::Bash {
        out.extend_from_slice(bash_record_fields().as_bytes());
    }
    crate::output::stdout_bytes(&out)
}

/// `record TYPE --…`: the fields are not clap arguments (they depend on the
/// type), so clap's bash script cannot offer them. This wraps it: after
/// `record TYPE`, a word starting with `-` completes to that type's flags
/// (from the one table of fields, `shareledger_ledger::fields`); anything
/// else goes to clap's completion.
fn bash_record_fields() -> String {
    use shareledger_ledger::fields::{Kind, ENVELOPE, SPECS};
    let mut cases = String::new();
    let envelope: Vec<String> = ENVELOPE
        .iter()
        .map(|f| f.flag())
        .chain(
            [
                "--dry-run",
                "--allow-duplicate",
                "--format",
                "--db",
                "--help",
            ]
            .iter()
            .map(|s| s.to_string()),
        )
        .collect();
    for spec in SPECS {
        let mut flags: Vec<String> = Vec::new();
        for f in spec.fields {
            match f.kind {
                Kind::Object(subs) => {
                    for sub in subs {
                        flags.push(format!("{}.{}", f.flag(), sub.flag_name()));
                    }
                }
                _ => flags.push(f.flag()),
            }
        }
        flags.extend(envelope.iter().cloned());
        // Both spellings of the type are accepted on the command line.
        cases.push_str(&format!(
            "        {}|{}) flags=\"{}\" ;;\n",
            spec.command_name(),
            spec.name,
            flags.join(" ")
        ));
    }
    format!(
        r#"
# The fields of `record TYPE` (generated from the event table).
_shareledger_record_fields() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" type="" flags="" i
    if [[ "${{COMP_WORDS[1]}}" == record && "$cur" == -* ]]; then
        for (( i = 2; i < COMP_CWORD; i++ )); do
            case "${{COMP_WORDS[i]}}" in
                -*) ;;
                *) type="${{COMP_WORDS[i]}}"; break ;;
            esac
        done
    fi
    case "$type" in
{cases}        *) _shareledger "$@"; return ;;
    esac
    COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
}}
if [[ "${{BASH_VERSINFO[0]}}" -eq 4 && "${{BASH_VERSINFO[1]}}" -ge 4 || "${{BASH_VERSINFO[0]}}" -gt 4 ]]; then
    complete -F _shareledger_record_fields -o nosort -o bashdefault -o default shareledger
else
    complete -F _shareledger_record_fields -o bashdefault -o default shareledger
fi
"#
    )
}

pub fn man(args: ManArgs) -> Result<(), CliError> {
    let mut root = Cli::command();
    root.build();
    let cmd = match args.command.as_deref() {
        None => root,
        Some(name) => {
            let names: Vec<String> = root
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect();
            let sub = root.find_subcommand(name).cloned().ok_or_else(|| {
                CliError::usage(format!(
                    "no command `{name}`: use one of {}",
                    names.join(", ")
                ))
            })?;
            let full: &'static str =
                Box::leak(format!("shareledger-{}", sub.get_name()).into_boxed_str());
            sub.name(full).version(env!("CARGO_PKG_VERSION"))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out)?;
    crate::output::stdout_bytes(&out)
}
