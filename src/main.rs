//! `statusgate`: parse the command line and run it.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    statusgate::cli::main().await
}
