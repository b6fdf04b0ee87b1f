//! The floor `bench/conns.sh` and `bench/mcp.sh` compare statusgate with: an axum server on the same
//! runtime and HTTP stack whose `/mcp` answers every request with the same fixed JSON bytes, without
//! reading the body, checking a credential or touching a database.
//!
//! `./target/release/examples/bare_axum 127.0.0.1:PORT`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A benchmark fails loudly.

use axum::http::header::CONTENT_TYPE;
use axum::routing::any;
use axum::Router;

/// About the size of statusgate's answer to `tools/call list_status_pages` on the demo organisation.
const ANSWER: &str = concat!(
    r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{\"pages\":[{\"slug\":\"api\","#,
    r#"\"name\":\"Acme API\",\"overall_status\":\"operational\",\"components\":5}]}"}],"#,
    r#""structuredContent":{"pages":[{"slug":"api","name":"Acme API","overall_status":"operational","#,
    r#""components":5}]},"isError":false}}"#
);

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:3999".into());
    let app = Router::new().route(
        "/mcp",
        any(|| async { ([(CONTENT_TYPE, "application/json")], ANSWER) }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
