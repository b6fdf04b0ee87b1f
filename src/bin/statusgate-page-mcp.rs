//! `statusgate-page-mcp`: MCP over stdio for one status page, through statusgate's `/api/v1`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    statusgate::page_mcp::main().await
}
