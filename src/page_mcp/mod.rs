//! `statusgate-page-mcp`: an MCP server over stdio for one status page. It is a client of `/api/v1`
//! with an API key like any other automation; nothing here touches the database or the services.
//! stdout carries MCP only; everything else (start-up refusals, logs) goes to stderr.

pub mod catalog;
pub mod client;
pub mod config;
pub mod handler;
pub mod prompts;
pub mod resources;
pub mod startup;
pub mod tools;

use std::process::ExitCode;

use clap::Parser;
use rmcp::ServiceExt;

const NAME: &str = "statusgate-page-mcp";

/// Prints the one start-up line and answers exit status 2.
fn refuse(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("{NAME}: {message}");
    ExitCode::from(2)
}

/// The whole program: configuration, start-up checks, then MCP on stdin/stdout until the client
/// closes it.
pub async fn main() -> ExitCode {
    let flags = match config::Flags::try_parse() {
        Ok(f) => f,
        Err(e) if !e.use_stderr() => {
            // --help and --version: asked for, so printed as clap formats them.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            return refuse(first.trim_start_matches("error: "));
        }
    };
    init_logging();
    let settings = match flags.settings() {
        Ok(s) => s,
        Err(e) => return refuse(e),
    };
    let (api, target) = match startup::connect(&settings).await {
        Ok(t) => t,
        Err(e) => return refuse(e),
    };
    tracing::info!(page = %target.page_id, "serving MCP on stdio");
    let server = handler::PageMcp::new(api, target, &settings);
    let running = match server.serve(rmcp::transport::stdio()).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{NAME}: the MCP client did not initialise: {e}");
            return ExitCode::FAILURE;
        }
    };
    match running.waiting().await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{NAME}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr only, `warn` unless `RUST_LOG` says otherwise.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
