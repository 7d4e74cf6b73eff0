//! The `shareledger` binary: see `shareledger --help`.

fn main() -> std::process::ExitCode {
    shareledger_cli::main_with(std::env::args_os())
}
