//! The `loadgen` binary: parses the command line and maps the result to an exit code
//! (0 passed, 1 a check failed, 2 bad usage or config). Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use loadgen::cli::{Cli, EXIT_USAGE};

/// mimalloc rather than glibc's malloc. A request's buffers are made on one worker thread
/// and freed on another (the client's and the embedded gateway's tasks move between them),
/// and glibc then takes the other thread's arena lock: at black-friday's 11,600 orders/s a
/// profile showed futex wake-ups from that lock as the largest single cost. mimalloc frees
/// across threads without a lock. Measured in BENCHMARKS.md ("loadgen and its allocator").
/// gateway-sim's own binary keeps glibc's: there, mimalloc cost tail latency and memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // clap prints its own usage errors and exits 2.
    let cli = Cli::parse();
    loadgen::cli::init_logging();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let verdict = runtime.block_on(loadgen::cli::run(cli))?;
    Ok(verdict.exit_code())
}
