//! `forewarn tickets …` as a stand-alone program: generate a synthetic school-district export and
//! analyse it into an HTML report.
//!
//! ```text
//! cargo run --release --example tickets -- generate --rows 20000 --out tickets.csv
//! cargo run --release --example tickets -- analyze tickets.csv --out report.html --timings
//! ```

use clap::Parser;
use forewarn::tickets::cli::{TicketsCommand, run};

/// Help-desk mining: trends, recurring topics, training and FAQ recommendations.
#[derive(Parser)]
#[command(name = "tickets")]
struct Args {
    #[command(subcommand)]
    command: TicketsCommand,
}

fn main() {
    let args = Args::parse();
    match run(args.command) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
