//! The `funnel` binary: the server and its client verbs (one file each under
//! `cli/`).

mod cli;

use clap::Parser;
use cli::{block_on, Command};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "funnel",
    version,
    about = "Scores robot conversations and routes leads down a three-tier funnel"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    match dispatch(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", cli::error_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(flags) => cli::serve::run(flags),
        Command::Demo(args) => funnel::demo::run(args),
        Command::Loadgen(args) => funnel::loadgen::run(args),
        Command::HashToken(args) => cli::hash_token::run(args),
        Command::Health(args) => block_on(cli::health::run(args)),
        Command::Submit(args) => block_on(cli::submit::run(args)),
        Command::Pull(args) => block_on(cli::pull::run(args)),
        Command::Complete(args) => block_on(cli::complete::run(args)),
        Command::Watch(args) => block_on(cli::watch::run(args)),
        Command::Referral(command) => block_on(cli::referral::run(command)),
        Command::Lead(args) => block_on(cli::lead::run(args)),
        Command::Audit(args) => block_on(cli::audit::run(args)),
        Command::Manager(command) => block_on(cli::manager::run(command)),
        Command::Region(command) => block_on(cli::region::run(command)),
        Command::Stats(args) => block_on(cli::stats::run(args)),
        Command::Report(args) => block_on(cli::report::run(args)),
        Command::ExportOutcomes(args) => block_on(cli::export::run(args)),
        Command::Model(args) => block_on(cli::model::run(args)),
    }
}
