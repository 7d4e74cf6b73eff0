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
    crate::output::stdout_bytes(&out)
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
