//! The `loadgen` binary: parses the command line and maps the result to an exit code
//! (0 passed, 1 a check failed, 2 bad usage or config). Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use loadgen::cli::{Cli, EXIT_USAGE};

/// Log filter when `LOADGEN_LOG` is not set: warnings, but not goose's one
/// warning per failed request (a fault scenario fails thousands on purpose,
/// and the report counts them).
const DEFAULT_LOG_FILTER: &str = "warn,goose=error";

fn main() -> ExitCode {
    // clap prints its own usage errors and exits 2.
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Installs the subscriber before goose can install its own console logger:
/// goose then finds a logger in place and its messages pass through this filter.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOADGEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let verdict = runtime.block_on(loadgen::cli::run(cli))?;
    Ok(verdict.exit_code())
}
