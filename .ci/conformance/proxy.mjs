// A loopback reverse proxy for the MCP conformance suite, whose CLI sends no credentials: it forwards
// every request to statusgate, adding `Authorization: Bearer $STATUSGATE_TOKEN` to requests for the
// MCP endpoint itself (the OAuth endpoints and pages pass through as they are; "none" adds nothing).
// Usage: STATUSGATE_TOKEN=... node proxy.mjs <listen-port> <upstream-origin>
import http from "node:http";

const [port, upstream] = process.argv.slice(2);
const token = process.env.STATUSGATE_TOKEN;
if (!port || !upstream || !token) {
  console.error("usage: STATUSGATE_TOKEN=... node proxy.mjs <listen-port> <upstream-origin>");
  process.exit(2);
}
const target = new URL(upstream);

http
  .createServer((req, res) => {
    // Host and Origin pass through untouched: the DNS-rebinding checks must see what the suite sent.
    const headers = { ...req.headers };
    const path = req.url.split("?")[0];
    if (token !== "none" && (path === "/mcp" || path === "/mcp/tools")) {
      headers.authorization = `Bearer ${token}`;
    }
    const out = http.request(
      { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on("error", (e) => {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`proxy error: ${e.message}`);
    });
    req.pipe(out);
  })
  .listen(Number(port), "127.0.0.1", () => console.log(`proxy on 127.0.0.1:${port} -> ${upstream}`));
