//! The `gateway-sim` binary: parse the command line and run. See `gateway-sim --help`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = gateway_sim::cli::Args::parse();
    match gateway_sim::cli::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gateway-sim: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
