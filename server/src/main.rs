//! `paywatch-server` binary: read the settings (flags, environment, file),
//! then run the server.
//! All logic lives in the library (`src/lib.rs`).

use std::process::ExitCode;

use paywatch_server::cli::{self, Command};

fn main() -> ExitCode {
    let mut config = match cli::parse(std::env::args_os().skip(1)) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help(text) | Command::PrintConfig(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!(
                "paywatch-server: {}",
                msg.trim_start_matches("error: ").trim_end()
            );
            return ExitCode::from(2);
        }
    };
    config.payments.api_keys_env = std::env::var("PAYWATCH_API_KEYS").ok();
    init_logs(config.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("paywatch-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(paywatch_server::run(config));
    // Whatever the shutdown deadline cut short must not hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paywatch-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs on stderr through `tracing`, filtered by `RUST_LOG` (default `info`).
fn init_logs(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
}
