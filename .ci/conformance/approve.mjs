// Plays the person at the browser for the conformance run: signs in to statusgate and approves the
// consent page, through the same forms a browser submits.
//   node approve.mjs token <base-url> <email> <password>   prints an access token for a new DCR client
//   node approve.mjs url <authorize-url> <email> <password> approves that request and delivers the
//                                                          redirect to its callback
const [mode, target, email, password] = process.argv.slice(2);
if (!["token", "url"].includes(mode) || !target || !email || !password) {
  console.error("usage: node approve.mjs token|url <base-or-authorize-url> <email> <password>");
  process.exit(2);
}

const jar = new Map();
async function send(url, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const res = await fetch(url, { ...init, headers, redirect: "manual" });
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(";");
    const at = pair.indexOf("=");
    jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return res;
}

const decode = (s) =>
  s.replaceAll("&quot;", '"').replaceAll("&#x27;", "'").replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
const attr = (tag, name) => {
  const m = tag.match(new RegExp(`${name}="([^"]*)"`));
  return m ? decode(m[1]) : undefined;
};

// What a browser submits from the form posting to `action`: hidden fields, ticked boxes, the first option.
function formFields(html, action) {
  const start = html.indexOf(`action="${action}"`);
  if (start < 0) throw new Error(`no form posting to ${action}: ${html.slice(0, 300)}`);
  const form = html.slice(start, html.indexOf("</form>", start));
  const out = [];
  for (const chunk of form.split("<").slice(1)) {
    const tag = chunk.slice(0, chunk.indexOf(">"));
    if (tag.startsWith("input")) {
      const type = attr(tag, "type");
      const name = attr(tag, "name");
      if (name && (type === "hidden" || (type === "checkbox" && / checked/.test(tag)))) {
        out.push([name, attr(tag, "value") ?? ""]);
      }
    } else if (tag.startsWith("option") && !out.some(([k]) => k === "org")) {
      out.push(["org", attr(tag, "value")]);
    }
  }
  return out;
}

async function signIn(base) {
  const page = await (await send(`${base}/login`)).text();
  const fields = formFields(page, "/login");
  fields.push(["email", email], ["password", password], ["next", "/admin"]);
  const res = await send(`${base}/login`, { method: "POST", body: new URLSearchParams(fields) });
  if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
}

// Opens the consent page for `authorizeUrl`, approves it, returns the redirect target.
async function approve(authorizeUrl) {
  const base = new URL(authorizeUrl).origin;
  await signIn(base);
  const page = await send(authorizeUrl);
  if (page.status !== 200) throw new Error(`consent page answered ${page.status}: ${await page.text()}`);
  const fields = formFields(await page.text(), "/mcp/oauth/authorize");
  fields.push(["decision", "approve"]);
  const res = await send(`${base}/mcp/oauth/authorize`, {
    method: "POST",
    body: new URLSearchParams(fields),
  });
  const to = res.headers.get("location");
  if (res.status !== 303 || !to) throw new Error(`approval answered ${res.status}`);
  return new URL(to);
}

function b64url(buf) {
  return Buffer.from(buf).toString("base64url");
}

async function tokenFor(base) {
  const callback = "http://127.0.0.1:1/callback";
  const reg = await fetch(`${base}/mcp/oauth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: "Conformance proxy", redirect_uris: [callback], token_endpoint_auth_method: "none" }),
  });
  const client = await reg.json();
  if (reg.status !== 201) throw new Error(`registration answered ${reg.status}: ${JSON.stringify(client)}`);
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const q = new URLSearchParams({
    response_type: "code", client_id: client.client_id, redirect_uri: callback,
    code_challenge: challenge, code_challenge_method: "S256", state: "ci",
  });
  const to = await approve(`${base}/mcp/oauth/authorize?${q}`);
  const res = await fetch(`${base}/mcp/oauth/token`, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "authorization_code", code: to.searchParams.get("code"), code_verifier: verifier,
      client_id: client.client_id, redirect_uri: callback,
    }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(body)}`);
  return body.access_token;
}

try {
  if (mode === "token") {
    console.log(await tokenFor(target.replace(/\/$/, "")));
  } else {
    const to = await approve(target);
    const res = await fetch(to);
    console.error(`delivered the redirect to ${to.origin}${to.pathname}: ${res.status}`);
  }
} catch (e) {
  console.error(`approve.mjs: ${e.message}`);
  process.exit(1);
}
