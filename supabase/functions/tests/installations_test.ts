// validate-mcp's checks: each client's config format, the product's server found (or not), the key read out of
// headers, env or a bridge's arguments, and the `initialize` probe against a real local server speaking MCP's
// Streamable HTTP (JSON and event-stream answers, refusals, silence, a closed port). The key lookup is the
// database's (tests/installations.test.ts drives it through the function); here it is a table of known keys.
import nodeAssert from "node:assert/strict";
import { parseMcpConfig, redactConfig } from "../_shared/installations/mcp-config.ts";
import { probeInitialize } from "../_shared/installations/mcp-probe.ts";
import { headersOf, validateMcpConfig, type ValidationDeps, type VerifiedKey } from "../_shared/installations/validate.ts";

const assert = (ok: unknown, message?: string) => nodeAssert.ok(ok, message);
const assertEquals = (actual: unknown, expected: unknown, message?: string) => nodeAssert.deepEqual(actual, expected, message);
const assertMatch = (actual: string, re: RegExp) => nodeAssert.match(actual, re);

const KEY = "sbk_live_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6";
const OTHER_KEY = "sbk_live_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4";
const USER = "11111111-1111-4111-8111-111111111111";

type Mode = "json" | "sse" | "unauthorized" | "not-jsonrpc" | "rpc-error" | "silent";

/** A small MCP server: answers `initialize` per `mode`, records what it was sent, and closed sessions. */
function startMcpServer() {
  const state = { mode: "json" as Mode, seen: [] as { method: string; auth: string | null; accept: string | null }[], deleted: [] as string[] };
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    if (req.method === "DELETE") {
      state.deleted.push(req.headers.get("mcp-session-id") ?? "");
      return new Response(null, { status: 204 });
    }
    const body = await req.json();
    state.seen.push({ method: body.method, auth: req.headers.get("authorization"), accept: req.headers.get("accept") });
    const result = { protocolVersion: "2025-06-18", capabilities: { tools: {} }, serverInfo: { name: "test-mcp", version: "9.9" } };
    switch (state.mode) {
      case "json":
        return Response.json({ jsonrpc: "2.0", id: body.id, result }, { headers: { "mcp-session-id": "s-1" } });
      case "sse":
        return new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new TextEncoder().encode(`event: message\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: body.id, result })}\n\n`));
              // Left open, as a stream may be.
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        );
      case "unauthorized":
        return Response.json({ error: "invalid_api_key" }, { status: 401 });
      case "not-jsonrpc":
        return new Response("<html>hello</html>", { headers: { "content-type": "text/html" } });
      case "rpc-error":
        return Response.json({ jsonrpc: "2.0", id: body.id, error: { code: -32600, message: "Unsupported protocol version" } });
      case "silent":
        await new Promise((r) => setTimeout(r, 3_000));
        return new Response("late");
    }
  });
  const url = `http://127.0.0.1:${server.addr.port}/functions/v1/mcp`;
  return { state, url, close: () => server.shutdown() };
}

const keys: Record<string, VerifiedKey> = {
  [KEY]: { id: "k1", account_id: USER, user_id: USER, scopes: null },
  [OTHER_KEY]: { id: "k2", account_id: "22222222-2222-4222-8222-222222222222", user_id: "22222222-2222-4222-8222-222222222222", scopes: null },
};

function deps(url: string, timeoutMs = 1_000): ValidationDeps {
  return {
    serverUrls: [url],
    verifyKey: (key: string) => Promise.resolve(keys[key] ?? null),
    probe: (u: string, h: Record<string, string>) => probeInitialize(u, h, timeoutMs),
  };
}

/** The same server entry in each client's format. */
function configs(url: string, key = KEY): Record<string, unknown> {
  const bridge = { command: "npx", args: ["-y", "mcp-remote", url, "--header", "Authorization:${AUTH}"], env: { AUTH: `Bearer ${key}` } };
  return {
    cursor: { mcpServers: { product: { url, headers: { Authorization: `Bearer ${key}` } } } },
    "claude-desktop": { mcpServers: { product: bridge } },
    vscode: { servers: { product: { type: "http", url, headers: { "x-api-key": key } } } },
    windsurf: { mcpServers: { product: { serverUrl: url, headers: { Authorization: `Bearer ${key}` } } } },
  };
}

Deno.test("each client's config validates against a server answering initialize, with the key it carries", async () => {
  const mcp = startMcpServer();
  try {
    for (const [client, config] of Object.entries(configs(mcp.url))) {
      const outcome = await validateMcpConfig(client as "cursor", config, { userId: USER, accountId: USER }, deps(mcp.url));
      assertEquals(outcome.status, "validated", `${client}: ${outcome.error}`);
      assertEquals(outcome.apiKeyPrefix, KEY.slice(0, 12));
      assertEquals(outcome.serverInfo?.serverInfo, { name: "test-mcp", version: "9.9" });
    }
    // Each probe was an initialize with the key as the editor sends it, accepting JSON or a stream.
    assertEquals(mcp.state.seen.map((s) => s.method), ["initialize", "initialize", "initialize", "initialize"]);
    assertEquals(mcp.state.seen[1].auth, `Bearer ${KEY}`, "a bridge's --header, filled from its env");
    assertEquals(mcp.state.seen[0].accept, "application/json, text/event-stream");
    assert(mcp.state.deleted.every((s) => s === "s-1") && mcp.state.deleted.length === 4, "every session closed");
    // `other`: any known format.
    const other = await validateMcpConfig("other", configs(mcp.url).windsurf, { userId: USER, accountId: USER }, deps(mcp.url));
    assertEquals(other.status, "validated");
  } finally {
    await mcp.close();
  }
});

Deno.test("wrong shapes fail with the client's format named and the field", () => {
  const url = "https://p.test/functions/v1/mcp";
  const bad: [string, unknown, RegExp][] = [
    ["cursor", { servers: { p: { url } } }, /^Not Cursor's mcp\.json: mcpServers: /],
    ["cursor", { mcpServers: { p: { headers: {} } } }, /mcpServers\.p: a server is \{ "url"/],
    ["claude-desktop", { mcpServers: { p: { url } } }, /^Not Claude Desktop's claude_desktop_config\.json: mcpServers\.p/],
    ["vscode", { mcpServers: { p: { url } } }, /^Not VS Code's mcp\.json: servers/],
    ["vscode", { servers: { p: { type: "ftp", url } } }, /servers\.p: a server is/],
    ["windsurf", { mcpServers: { p: { url } } }, /Windsurf reads serverUrl, not url/],
    ["cursor", { mcpServers: {} }, /no servers/],
    ["cursor", { mcpServers: { p: { url, headers: { Authorization: 5 } } } }, /mcpServers\.p/],
    ["other", { tools: [] }, /^Not an MCP config/],
  ];
  for (const [client, config, error] of bad) {
    const parsed = parseMcpConfig(client as "cursor", config);
    if (parsed.ok) throw new Error(`${client} ${JSON.stringify(config)} parsed`);
    assertMatch(parsed.error, error);
  }
});

Deno.test("another server, no key, a stranger's key, a dead key, a key without the mcp scope: failed, saying why", async () => {
  const mcp = startMcpServer();
  try {
    const who = { userId: USER, accountId: USER };
    const run = (config: unknown, d = deps(mcp.url)) => validateMcpConfig("cursor", config, who, d);
    const elsewhere = await run({ mcpServers: { other: { url: "https://elsewhere.test/mcp", headers: { Authorization: `Bearer ${KEY}` } }, local: { command: "node" } } });
    assertEquals(elsewhere.status, "failed");
    assertEquals(elsewhere.error, `No server in the config points at ${mcp.url}; it has "other" (https://elsewhere.test/mcp), "local" (a local command)`);
    // A trailing slash or a query is the same server.
    assertEquals((await run({ mcpServers: { p: { url: `${mcp.url}/?x=1`, headers: { Authorization: `Bearer ${KEY}` } } } })).status, "validated");

    const noKey = await run({ mcpServers: { p: { url: mcp.url, headers: { Authorization: "Bearer ${env:PRODUCT_KEY}" } } } });
    assertMatch(noKey.error!, /^The server "p" carries no API key/);
    assertEquals(noKey.serverUrl, mcp.url);

    const foreign = await run(configs(mcp.url, OTHER_KEY).cursor);
    assertEquals(foreign.error, `The API key ${OTHER_KEY.slice(0, 12)}… belongs to another user`);
    const dead = await run(configs(mcp.url, "sbk_live_" + "0".repeat(32)).cursor);
    assertEquals(dead.error, "The API key sbk_live_000… is unknown, revoked or expired: create a new one");
    const team = await validateMcpConfig("cursor", configs(mcp.url).cursor, { userId: USER, accountId: crypto.randomUUID() }, deps(mcp.url));
    assertMatch(team.error!, /is another account's than this installation's/);
    const scoped = await run(configs(mcp.url).cursor, {
      ...deps(mcp.url),
      verifyKey: () => Promise.resolve({ ...keys[KEY], scopes: ["credits"] }),
    });
    assertEquals(scoped.error, `The API key ${KEY.slice(0, 12)}… may not use the MCP server (its scopes: credits)`);
    // None of these reached the server.
    assertEquals(mcp.state.seen.length, 1);
  } finally {
    await mcp.close();
  }
});

Deno.test("a server that does not answer initialize properly fails the installation, saying how", async () => {
  const mcp = startMcpServer();
  try {
    const run = () => validateMcpConfig("cursor", configs(mcp.url).cursor, { userId: USER, accountId: USER }, deps(mcp.url, 1_000));
    mcp.state.mode = "sse";
    assertEquals((await run()).status, "validated", "an event-stream answer counts");
    const expected: [Mode, string][] = [
      ["unauthorized", `The MCP server at ${mcp.url} answered initialize with HTTP 401 (it refused the config's credentials)`],
      ["not-jsonrpc", `The MCP server at ${mcp.url} did not answer initialize with JSON-RPC`],
      ["rpc-error", `The MCP server at ${mcp.url} refused initialize: Unsupported protocol version`],
      ["silent", `The MCP server at ${mcp.url} did not answer initialize: no answer within 1 s`],
    ];
    for (const [mode, error] of expected) {
      mcp.state.mode = mode;
      const outcome = await run();
      assertEquals([outcome.status, outcome.error], ["failed", error], mode);
    }
  } finally {
    await mcp.close();
  }
  // Nothing listening any more.
  const gone = await validateMcpConfig("cursor", configs(mcp.url).cursor, { userId: USER, accountId: USER }, deps(mcp.url));
  assertEquals(gone.error, `The MCP server at ${mcp.url} did not answer initialize: it could not be reached`);
});

Deno.test("the stored config keeps no header or env value but our keys (which the database cuts)", () => {
  const url = "https://p.test/functions/v1/mcp";
  const config = {
    mcpServers: {
      p: { url, headers: { Authorization: `Bearer ${KEY}`, "x-v0-key": "v0-secret" } },
      v0: { command: "npx", args: ["v0", "--header", "x-v0-key: v0-secret", "--header", `x-api-key: ${KEY}`], env: { V0_API_KEY: "v0-secret" } },
    },
  };
  assertEquals(redactConfig(config), {
    mcpServers: {
      p: { url, headers: { Authorization: `Bearer ${KEY}`, "x-v0-key": "[redacted]" } },
      v0: { command: "npx", args: ["v0", "--header", "x-v0-key: [redacted]", "--header", `x-api-key: ${KEY}`], env: { V0_API_KEY: "[redacted]" } },
    },
  });
  assertEquals(headersOf({ name: "p", url, headers: {}, args: ["mcp-remote", url, "--header", "x-api-key: k"], env: {} }), { "x-api-key": "k" });
});
