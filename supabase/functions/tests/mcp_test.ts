// The MCP server's parts that need no database: the idempotency key a tool call is held under, and the model
// call with a user's own key (a local server speaking the chat-completions stream records the key it got).
import assert from "node:assert/strict";
import type { Caller } from "../_shared/auth.ts";
import { config } from "../_shared/config.ts";
import { generateComponent } from "../mcp/generate.ts";
import { callKey } from "../mcp/metering.ts";

const member = (userId: string, apiKeyId?: string): Caller & { userId: string } => ({
  role: "authenticated",
  userId,
  claims: { role: "authenticated", sub: userId },
  ...(apiKeyId ? { apiKey: { id: apiKeyId, accountId: userId, scopes: null } } : {}),
});

Deno.test("callKey: the same request makes the same key; anything that makes it another call, another key", async () => {
  const u = crypto.randomUUID();
  const key = (caller = member(u, "k1"), id: string | number = 1, args: unknown = { prompt: "a", n: 1 }, client?: string) =>
    callKey(caller, u, "generate_component", id, args, client);
  const base = await key();
  assert.match(base, /^mcp:generate_component:[0-9a-f]{64}$/);
  assert.equal(await key(member(u, "k1"), 1, { n: 1, prompt: "a" }), base); // fields in another order
  const others = [
    await key(member(u, "k1"), 2),
    await key(member(u, "k1"), "1"),
    await key(member(u, "k1"), 1, { prompt: "b", n: 1 }),
    await key(member(u, "k2")),
    await key(member(u)),
    await key(member(crypto.randomUUID(), "k1")),
    await callKey(member(u, "k1"), crypto.randomUUID(), "generate_component", 1, { prompt: "a", n: 1 }),
  ];
  assert.equal(new Set([base, ...others]).size, others.length + 1);
  // The client's own key names the call: the JSON-RPC id and the arguments no longer do.
  assert.equal(await key(member(u, "k1"), 5, { prompt: "x" }, "mine"), await key(member(u, "k1"), 6, { prompt: "y" }, "mine"));
  assert.notEqual(await key(member(u, "k1"), 1, { prompt: "a", n: 1 }, "mine"), base);
});

Deno.test("generateComponent: each call asks with its user's own key, and the whole answer comes back", async () => {
  const seen: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    seen.push(req.headers.get("authorization") ?? "");
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "v0-1.5-md",
        choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const body = chunk({ content: "export " }) + chunk({ content: "function A() {}" }) + chunk({}, "stop") +
      "data: [DONE]\n\n";
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  try {
    const spec = config.mcp.components!;
    const local = { ...spec, provider: { ...spec.provider, baseUrl: `http://127.0.0.1:${server.addr.port}/v1`, baseUrlEnv: undefined } };
    const signal = new AbortController().signal;
    assert.equal(await generateComponent(config, local, "v0_key_alice", "a", signal), "export function A() {}");
    assert.equal(await generateComponent(config, local, "v0_key_bob", "b", signal), "export function A() {}");
    assert.deepEqual(seen, ["Bearer v0_key_alice", "Bearer v0_key_bob"]);
  } finally {
    await server.shutdown();
  }
});
