// The MCP server end to end: the MCP SDK's own client (Client + StreamableHTTPClientTransport) against the real
// `mcp` function on Deno behind the gateway, with an API key, on the shipped config (generate_component metered
// as component_generation: 10 free a month on Free, then 5 credits each; Plus has it unlimited), the user's v0
// key stored through the secrets function, and the suite's OpenAI-wire server as v0's Model API. Metering
// (free allowance, then credits, then a 402 as a tool error), idempotent retries, concurrent calls racing for
// the last units, a failing model costing nothing, a missing v0 key, and bad input changing nothing.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Server } from "node:http";
import { freePort, FunctionWorkers } from "../src/local/functions.ts";
import { createGateway, listen } from "../src/local/gateway.ts";
import { userToken } from "../src/local/jwt.ts";
import { SUPABASE_DIR } from "../src/local/paths.ts";
import { localSecretsKeys } from "../src/local/secrets-key.ts";
import { readProjectConfig } from "../src/local/supabase-config.ts";
import type { Step } from "./support/openai-server.ts";
import { asUser, callFunction, connectDb, createUser, setBalance, stack, TEST_FUNCTION_ENV } from "./support/stack.ts";

const sql = connectDb();
afterAll(() => sql.end());

type User = { id: string; token: string; key: string; v0: string };

async function script(provider: string, steps: Step[]) {
  await fetch(`${stack().aiUrl}/_test/script`, { method: "POST", body: JSON.stringify({ provider, steps }) });
}
async function upstream(): Promise<{ provider: string; model: string; messages: { role: string; content: string }[]; apiKey?: string }[]> {
  return (await (await fetch(`${stack().aiUrl}/_test/state`)).json()).requests;
}
const v0Calls = async () => (await upstream()).filter((r) => r.provider === "v0");

async function makeKey(userId: string, scopes: string[] | null = null) {
  const [row] = await asUser(sql, userId, (tx) => tx`select id, key from public.create_api_key('mcp test', ${scopes}, null, null)`);
  return { id: row.id as string, key: row.key as string };
}

/** A user with an API key, their v0 key stored (unless `v0: false`), and `credits` in their wallet. */
async function newUser(opts: { credits?: number; v0?: boolean } = {}): Promise<User> {
  const user = await createUser(sql, `mcp-${crypto.randomUUID()}@test.local`);
  await setBalance(sql, user.id, opts.credits ?? 0);
  const v0 = `v0_test_${crypto.randomUUID()}`;
  if (opts.v0 !== false) {
    const res = await callFunction("secrets/v0", {
      method: "PUT", token: user.token, headers: { "content-type": "application/json" }, body: JSON.stringify({ value: v0 }),
    });
    expect(res.status).toBe(200);
  }
  return { ...user, key: (await makeKey(user.id)).key, v0 };
}

const mcpUrl = () => new URL(`${stack().functionsUrl}/mcp`);

/** An MCP client as Cursor runs one: the SDK's, its API key as the bearer token. */
async function connect(key: string): Promise<Client> {
  const client = new Client({ name: "saasbase-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl(), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  }));
  return client;
}

/** One JSON-RPC message posted as the SDK's transport posts it. */
function post(key: string | null, body: unknown, headers: Record<string, string> = {}) {
  return fetch(mcpUrl(), {
    method: "POST",
    headers: {
      "content-type": "application/json", accept: "application/json, text/event-stream",
      ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}
const generateCall = (id: number | string, prompt: string) =>
  ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "generate_component", arguments: { prompt } } });

async function wallet(userId: string) {
  const [w] = await sql`select balance, reserved from public.wallets where account_id = ${userId}`;
  const [c] = await sql`select coalesce(sum(used), 0)::int as used from public.usage_counters
    where account_id = ${userId} and feature_id = 'component_generation'`;
  const [r] = await sql`select count(*)::int as n, count(*) filter (where status = 'settled')::int as settled,
      count(*) filter (where status = 'open')::int as open
    from public.credit_reservations where account_id = ${userId}`;
  return { balance: Number(w.balance), reserved: Number(w.reserved), used: c.used, reservations: r.n, settled: r.settled, open: r.open };
}

const textOf = (result: Record<string, unknown>) => (result.content as { type: string; text: string }[])[0].text;

describe("the mcp function with the MCP SDK's client", () => {
  let alice: User;
  beforeAll(async () => {
    alice = await newUser();
  });

  it("lists generate_component, get_credits and check_feature with their input schemas", async () => {
    const client = await connect(alice.key);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["check_feature", "generate_component", "get_credits"]);
    const generate = tools.find((t) => t.name === "generate_component")!;
    expect(generate.inputSchema).toMatchObject({ type: "object", required: ["prompt"], properties: { prompt: { type: "string", maxLength: 8000 } } });
    await client.close();
  });

  it("generate_component: v0's model with the user's own key, metered from the free allowance", async () => {
    const client = await connect(alice.key);
    const before = (await v0Calls()).length;
    await script("v0", [{ kind: "ok", chunks: ["```tsx\n", "export function Pricing() {}", "\n```"] }]);
    const result = await client.callTool({ name: "generate_component", arguments: { prompt: "a pricing table" } });
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toBe("```tsx\nexport function Pricing() {}\n```");
    expect(result.structuredContent).toMatchObject({ usage: { feature: "component_generation", free: true, credits_charged: 0, replayed: false } });
    const calls = (await v0Calls()).slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ model: "v0-1.5-md", apiKey: alice.v0 });
    expect(calls[0].messages.at(-1)).toEqual({ role: "user", content: "a pricing table" });
    expect(await wallet(alice.id)).toMatchObject({ balance: 0, reserved: 0, used: 1, reservations: 1, settled: 1 });
    await client.close();
  });

  it("get_credits and check_feature read the account's wallet and terms, charging nothing", async () => {
    const client = await connect(alice.key);
    const credits = await client.callTool({ name: "get_credits", arguments: {} });
    expect(credits.structuredContent).toMatchObject({ balance: 0, plan: "free" });
    const check = await client.callTool({ name: "check_feature", arguments: {} });
    expect(check.structuredContent).toMatchObject({ allowed: true, reason: "free_quota", feature: "component_generation", free_remaining: 9 });
    const unknown = await client.callTool({ name: "check_feature", arguments: { feature: "no_such_feature" } });
    expect(unknown.isError).toBe(true);
    expect(await wallet(alice.id)).toMatchObject({ used: 1, reservations: 1 });
    await client.close();
  });

  it("10 free a month, then credits, then a 402 as a tool error with an upgrade message; refused calls reach no model", async () => {
    const bob = await newUser({ credits: 5 });
    const client = await connect(bob.key);
    for (let i = 0; i < 10; i++) {
      const r = await client.callTool({ name: "generate_component", arguments: { prompt: `button ${i}` } });
      expect(r.isError, textOf(r)).toBeFalsy();
    }
    expect(await wallet(bob.id)).toMatchObject({ balance: 5, used: 10 });
    const paid = await client.callTool({ name: "generate_component", arguments: { prompt: "button 10" } });
    expect(paid.structuredContent).toMatchObject({ usage: { free: false, credits_charged: 5, balance: 0 } });
    const before = (await v0Calls()).length;
    const refused = await client.callTool({ name: "generate_component", arguments: { prompt: "button 11" } });
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toMatchObject({ error: { code: "insufficient_credits" } });
    expect(textOf(refused)).toMatch(/Upgrade to Plus \(\$19\.00\/month\) for unlimited component generations/);
    expect((await v0Calls()).length).toBe(before);
    expect(await wallet(bob.id)).toMatchObject({ balance: 0, reserved: 0, used: 10, reservations: 11, settled: 11, open: 0 });
    // A plan with the feature unlimited: no more refusals, nothing charged.
    await sql`update public.accounts set plan_id = 'plus' where id = ${bob.id}`;
    const unlimited = await client.callTool({ name: "generate_component", arguments: { prompt: "button 12" } });
    expect(unlimited.isError).toBeFalsy();
    expect(await wallet(bob.id)).toMatchObject({ balance: 0, settled: 12 });
    await client.close();
  });

  it("a retried request (same JSON-RPC id and arguments) is charged once, even when both arrive at once", async () => {
    const carol = await newUser({ credits: 50 });
    await sql`insert into public.usage_counters (account_id, feature_id, period_key, used, updated_at)
      select ${carol.id}, 'component_generation', saasbase.period_key('month', now()), 10, now()`;
    const first = await (await post(carol.key, generateCall(7, "a navbar"))).json();
    expect(first.result.structuredContent.usage).toMatchObject({ credits_charged: 5, replayed: false });
    const again = await (await post(carol.key, generateCall(7, "a navbar"))).json();
    expect(again.result.isError).toBeFalsy();
    expect(again.result.structuredContent.usage).toMatchObject({ credits_charged: 0, replayed: true });
    expect(await wallet(carol.id)).toMatchObject({ balance: 45, settled: 1 });
    // Another id, or other arguments, is another call.
    await post(carol.key, generateCall(8, "a navbar"));
    await post(carol.key, generateCall(7, "a footer"));
    expect(await wallet(carol.id)).toMatchObject({ balance: 35, settled: 3 });
    // Twins at once: one charge.
    const twins = await Promise.all([0, 1, 2].map(() => post(carol.key, generateCall("twin", "a sidebar")).then((r) => r.json())));
    for (const t of twins) expect(t.result.isError).toBeFalsy();
    expect(await wallet(carol.id)).toMatchObject({ balance: 30, reserved: 0, settled: 4, open: 0 });
    // The client's own key (Idempotency-Key) wins over the request's id.
    await post(carol.key, generateCall(20, "a card"), { "idempotency-key": "card-1" });
    await post(carol.key, generateCall(21, "a card"), { "idempotency-key": "card-1" });
    expect(await wallet(carol.id)).toMatchObject({ balance: 25, settled: 5 });
  });

  it("calls racing for the last free units and credits: exactly what the allowance and balance pay for succeed", async () => {
    const dave = await newUser({ credits: 10 }); // 10 free + 2 paid at 5 credits
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) =>
      post(dave.key, generateCall(i, `widget ${i}`)).then((r) => r.json())));
    const ok = results.filter((r) => r.result && !r.result.isError);
    const refused = results.filter((r) => r.result?.isError);
    expect(ok).toHaveLength(12);
    expect(refused).toHaveLength(4);
    for (const r of refused) expect(r.result.structuredContent.error.code).toBe("insufficient_credits");
    expect(await wallet(dave.id)).toMatchObject({ balance: 0, reserved: 0, used: 10, settled: 12, open: 0 });
  });

  it("the model failing costs nothing (hold released), and the retry of that call is charged once", async () => {
    const erin = await newUser();
    await script("v0", [{ kind: "status", status: 500 }, { kind: "status", status: 500 }]);
    const failed = await (await post(erin.key, generateCall(1, "a modal"))).json();
    expect(failed.result.isError).toBe(true);
    expect(failed.result.content[0].text).toMatch(/did not answer.*Nothing was charged/s);
    expect(await wallet(erin.id)).toMatchObject({ used: 0, reserved: 0, settled: 0, open: 0 });
    const retried = await (await post(erin.key, generateCall(1, "a modal"))).json();
    expect(retried.result.isError).toBeFalsy();
    expect(await wallet(erin.id)).toMatchObject({ used: 1, settled: 1 });
    await post(erin.key, generateCall(1, "a modal"));
    expect(await wallet(erin.id)).toMatchObject({ used: 1, settled: 1 });
  });

  it("no v0 key stored: a tool error saying how to store it, nothing held", async () => {
    const frank = await newUser({ v0: false });
    const client = await connect(frank.key);
    const before = (await v0Calls()).length;
    const r = await client.callTool({ name: "generate_component", arguments: { prompt: "a form" } });
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toMatchObject({ error: { code: "secret_not_found" } });
    expect(textOf(r)).toMatch(/PUT http:\/\/.*\/functions\/v1\/secrets\/v0/);
    expect((await v0Calls()).length).toBe(before);
    expect(await wallet(frank.id)).toMatchObject({ used: 0, reservations: 0 });
    await client.close();
  });
});

describe("bad input to the mcp function: JSON-RPC or HTTP errors, nothing charged", () => {
  let grace: User;
  beforeAll(async () => {
    grace = await newUser({ credits: 100 });
  });
  afterAll(async () => {
    expect(await wallet(grace.id)).toMatchObject({ balance: 100, used: 0, reservations: 0 });
  });

  it("unknown tools and bad arguments are JSON-RPC errors (-32602) to the SDK's client", async () => {
    const client = await connect(grace.key);
    const err = async (p: Promise<unknown>) => {
      const e = await p.then(() => undefined, (x) => x);
      expect(e).toBeInstanceOf(McpError);
      return e as McpError;
    };
    expect(await err(client.callTool({ name: "delete_everything", arguments: {} }))).toMatchObject({ code: -32602 });
    expect((await err(client.callTool({ name: "generate_component", arguments: { prompt: "x".repeat(8001) } }))).message)
      .toMatch(/prompt/);
    expect((await err(client.callTool({ name: "generate_component", arguments: {} }))).code).toBe(-32602);
    expect((await err(client.callTool({ name: "generate_component", arguments: { prompt: "ok", extra: 1 } }))).code).toBe(-32602);
    expect((await err(client.callTool({ name: "check_feature", arguments: { quantity: -1 } }))).code).toBe(-32602);
    await client.close();
  });

  it("malformed JSON, batches, unknown methods, oversized bodies", async () => {
    let res = await post(grace.key, "{not json");
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe(-32700);
    res = await post(grace.key, [generateCall(1, "a")]);
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe(-32600);
    res = await post(grace.key, { jsonrpc: "2.0", id: 1, method: "tools/destroy" });
    expect((await res.json()).error.code).toBe(-32601);
    res = await post(grace.key, { hello: "world" });
    expect(res.status).toBe(400);
    res = await post(grace.key, generateCall(1, "x".repeat(200_000)));
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe("payload_too_large");
    res = await post(grace.key, generateCall(1, "nul \u0000 here"));
    expect(res.status).toBe(400);
  });

  it("who may call: no key, a revoked key, a key without the mcp scope, a key in the apikey header; GET is 405", async () => {
    let res = await post(null, generateCall(1, "a"));
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("missing_token");
    res = await post("sbk_live_notarealkeynotarealkeynotarealkey12", generateCall(1, "a"));
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("invalid_api_key");
    const revoked = await makeKey(grace.id);
    await asUser(sql, grace.id, (tx) => tx`select public.revoke_api_key(${revoked.id})`);
    res = await post(revoked.key, generateCall(1, "a"));
    expect(res.status).toBe(401);
    const scoped = await makeKey(grace.id, ["credits"]);
    res = await post(scoped.key, generateCall(1, "a"));
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("api_key_scope");
    const mcpScoped = await makeKey(grace.id, ["mcp"]);
    expect((await post(mcpScoped.key, { jsonrpc: "2.0", id: 1, method: "tools/list" })).status).toBe(200);
    res = await post(null, generateCall(1, "a"), { apikey: grace.key });
    expect(res.status).toBe(401);
    res = await post(null, { jsonrpc: "2.0", id: 1, method: "tools/list" }, { "x-api-key": grace.key });
    expect(res.status).toBe(200); // the key in x-api-key works too
    res = await fetch(mcpUrl(), { headers: { authorization: `Bearer ${grace.key}`, accept: "text/event-stream" } });
    expect(res.status).toBe(405);
    // A deleted user's key (their v0 key stored, their wallet full): refused like any unknown key, nothing held.
    const gone = await newUser({ credits: 50 });
    expect((await post(gone.key, { jsonrpc: "2.0", id: 1, method: "tools/list" })).status).toBe(200);
    await sql`delete from auth.users where id = ${gone.id}`;
    res = await post(gone.key, generateCall(1, "a"));
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("invalid_api_key");
    expect(await sql`select 1 from public.credit_reservations where account_id = ${gone.id}`).toHaveLength(0);
    // A session token without SAASBASE_JWT_SECRET: verify_jwt is off for this function, so nothing checked it.
    const session = await createUser(sql, `mcp-jwt-${crypto.randomUUID()}@test.local`);
    res = await post(session.token, { jsonrpc: "2.0", id: 1, method: "tools/list" });
    expect(res.status).toBe(401);
  });
});

describe("a signed-in session's token, where the function can verify it (SAASBASE_JWT_SECRET)", () => {
  // An mcp function of its own, deployed as a project gives it its legacy JWT secret: verify_jwt stays off (for
  // API keys), and session tokens are verified in the function.
  let gateway: Server;
  let workers: FunctionWorkers;
  let url: string;
  beforeAll(async () => {
    const spec = readProjectConfig(SUPABASE_DIR).functions.find((f) => f.name === "mcp")!;
    workers = new FunctionWorkers([spec], {
      env: {
        ...TEST_FUNCTION_ENV, ...localSecretsKeys(stack().secretsKeyFile), SUPABASE_DB_URL: stack().dbUrl,
        SUPABASE_SERVICE_ROLE_KEY: stack().serviceRoleKey, V0_BASE_URL: `${stack().aiUrl}/v0/v1`,
        SAASBASE_JWT_SECRET: stack().jwtSecret,
      },
      logFile: stack().functionsLog,
    });
    await workers.start();
    gateway = createGateway(workers, stack().jwtSecret);
    const port = await freePort();
    await listen(gateway, port);
    url = `http://127.0.0.1:${port}/functions/v1/mcp`;
  }, 120_000);
  afterAll(async () => {
    gateway?.closeAllConnections();
    await new Promise((r) => gateway?.close(r));
    await workers?.stop();
  });

  const send = (token: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${token}`, ...headers },
      body: JSON.stringify(body),
    });

  it("acts as the user, for their personal account or a team they name (X-Account-Id)", async () => {
    const owner = await newUser();
    const member = await newUser();
    const client = new Client({ name: "session", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${owner.token}` } } }));
    const r = await client.callTool({ name: "generate_component", arguments: { prompt: "a toggle" } });
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(await wallet(owner.id)).toMatchObject({ used: 1, settled: 1 });
    await client.close();

    // A team: its wallet and its own v0 key (stored by the owner), the member generating for it.
    const team = await asUser(sql, owner.id, async (tx) =>
      (await tx`select (public.create_team('MCP team', ${`mcp-${crypto.randomUUID().slice(0, 8)}`})).id`)[0].id as string);
    await sql`insert into public.account_members (account_id, user_id, role) values (${team}, ${member.id}, 'member')`;
    const teamV0 = `v0_team_${crypto.randomUUID()}`;
    expect((await callFunction("secrets/v0", { method: "PUT", token: owner.token,
      headers: { "content-type": "application/json", "x-account-id": team }, body: JSON.stringify({ value: teamV0 }) })).status).toBe(200);
    const before = (await v0Calls()).length;
    const forTeam = await (await send(member.token, generateCall(1, "a team card"), { "x-account-id": team })).json();
    expect(forTeam.result.isError).toBeFalsy();
    expect((await v0Calls()).slice(before)).toEqual([expect.objectContaining({ apiKey: teamV0 })]);
    expect(await wallet(team)).toMatchObject({ used: 1, settled: 1 });
    expect(await wallet(member.id)).toMatchObject({ used: 0, reservations: 0 });
    // A team the caller is not in: a tool error, nothing held.
    const stranger = await newUser();
    const refused = await (await send(stranger.token, generateCall(1, "x"), { "x-account-id": team })).json();
    expect(refused.result).toMatchObject({ isError: true, structuredContent: { error: { code: "account_not_found" } } });
    expect(await wallet(team)).toMatchObject({ used: 1, reservations: 1 });
  });

  it("refuses a token another secret signed, and the anon and service keys", async () => {
    const user = await createUser(sql, `mcp-forged-${crypto.randomUUID()}@test.local`);
    const forged = await userToken({ id: user.id, email: "x@test.local" }, "not-the-project-secret-not-the-project-secret");
    for (const token of [forged, stack().anonKey, stack().serviceRoleKey]) {
      const res = await send(token, { jsonrpc: "2.0", id: 1, method: "tools/list" });
      expect(res.status).toBe(401);
    }
  });
});
