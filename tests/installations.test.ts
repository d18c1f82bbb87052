// The installations function through the local stack: tracking an installation, validating each client's MCP
// config (the outcome and its error text on the row), acting for a team, what a stranger gets, and the KPIs'
// onboarding funnel counting them. The MCP config checks and the initialize probe against a local MCP server are
// unit-tested in supabase/functions/tests/installations_test.ts.
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { asUser, callFunction, connectDb, createUser, stack } from "./support/stack.ts";

const sql = connectDb();
afterAll(() => sql.end());
const mail = () => `inst-${crypto.randomUUID()}@test.local`;
const KEY = "sbk_live_" + "Q".repeat(36);
// The product's MCP server as the functions see it (SUPABASE_URL is the stack's API URL).
const mcpUrl = () => `${stack().apiUrl}/functions/v1/mcp`;

async function post(path: string, token: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await callFunction(`installations/${path}`, {
    method: "POST",
    token,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** A new API key of the user's (for `account`: null, their personal account), and its id. */
async function apiKey(userId: string, opts: { scopes?: string[]; account?: string } = {}) {
  const [k] = await asUser(sql, userId, (tx) =>
    tx`select id, key from public.create_api_key('editor', ${opts.scopes ?? null}, null, ${opts.account ?? null})`);
  return k as { id: string; key: string };
}

/** Cursor's config naming the product's server with `key`. */
const cursorConfig = (key: string) => ({ mcpServers: { product: { url: mcpUrl(), headers: { Authorization: `Bearer ${key}` } } } });

describe("installations", () => {
  it("tracks an installation: attempted, the key in its config cut to its prefix, read by the user", async () => {
    const user = await createUser(sql, mail());
    const config = {
      mcpServers: { product: { url: mcpUrl(), headers: { Authorization: `Bearer ${KEY}`, "x-other": "secret" } } },
    };
    const { status, body } = await post("track", user.token, { client: "cursor", version: "0.50.1", mcp_config: config });
    expect(status).toBe(201);
    expect(body).toMatchObject({ client: "cursor", client_version: "0.50.1", status: "attempted", account_id: user.id, user_id: user.id });
    const [row] = await asUser(sql, user.id, (tx) => tx`select mcp_config::text as c from public.installations where id = ${body.id}`);
    expect(row.c).not.toContain(KEY);
    expect(JSON.parse(row.c).mcpServers.product.headers).toEqual({ Authorization: "Bearer sbk_live_QQQ…", "x-other": "[redacted]" });
    // Another user sees none of it.
    const other = await createUser(sql, mail());
    expect(await asUser(sql, other.id, (tx) => tx`select id from public.installations where id = ${body.id}`)).toHaveLength(0);
  });

  it("validates each client's config and records why it fails on the row", async () => {
    const user = await createUser(sql, mail());
    const url = mcpUrl();
    const keyError = "The API key sbk_live_QQQ… is unknown, revoked or expired: create a new one";
    const cases: [string, unknown, string][] = [
      ["cursor", { mcpServers: { p: { url, headers: { Authorization: `Bearer ${KEY}` } } } }, keyError],
      ["claude-desktop", { mcpServers: { p: { command: "npx", args: ["mcp-remote", url, "--header", `x-api-key: ${KEY}`] } } }, keyError],
      ["vscode", { servers: { p: { type: "http", url, headers: { "x-api-key": KEY } } } }, keyError],
      ["windsurf", { mcpServers: { p: { serverUrl: url, headers: { Authorization: `Bearer ${KEY}` } } } }, keyError],
      ["windsurf", { mcpServers: { p: { url } } }, "Windsurf reads serverUrl, not url"],
      ["vscode", { mcpServers: { p: { url } } }, "Not VS Code's mcp.json: servers"],
      ["claude-desktop", { mcpServers: { p: { url } } }, "Not Claude Desktop's claude_desktop_config.json"],
      ["cursor", { mcpServers: { p: { url: "https://elsewhere.test/mcp" } } },
        `No server in the config points at ${url}; it has "p" (https://elsewhere.test/mcp)`],
      ["cursor", { mcpServers: { p: { url } } }, `The server "p" carries no API key`],
    ];
    for (const [client, mcp_config, error] of cases) {
      const { status, body } = await post("validate", user.token, { client, mcp_config });
      expect(status, `${client} ${JSON.stringify(mcp_config)}`).toBe(200);
      expect(body.status).toBe("failed");
      expect(body.error_message).toContain(error);
      const [row] = await sql`select status, error_message, mcp_config::text as c, checked_at, validated_at
        from public.installations where id = ${body.id}`;
      expect(row).toMatchObject({ status: "failed", error_message: body.error_message, validated_at: null });
      expect(row.checked_at).not.toBeNull();
      expect(row.c).not.toContain(KEY);
    }
  });

  it("validates a tracked installation in place; another user's or another account's is 404 and left alone", async () => {
    const user = await createUser(sql, mail());
    const stranger = await createUser(sql, mail());
    const { body: tracked } = await post("track", user.token, { client: "vscode" });
    const config = { servers: { p: { type: "http", url: mcpUrl() } } };
    const { status, body } = await post("validate", user.token, { installation_id: tracked.id, client: "vscode", mcp_config: config });
    expect([status, body.id, body.status]).toEqual([200, tracked.id, "failed"]);
    expect(body.error_message).toBe(`The server "p" carries no API key (sbk_live_…): put one in its headers (Authorization: Bearer <key>) rather than an \${input:...} the check cannot see`);
    const theirs = await post("validate", stranger.token, { installation_id: tracked.id, client: "vscode", mcp_config: config });
    expect([theirs.status, theirs.body.error.code]).toEqual([404, "installation_not_found"]);
    const [{ n }] = await sql`select count(*)::int as n from public.installations where user_id = ${user.id}`;
    expect(n).toBe(1);
    const [row] = await sql`select updated_at, checked_at from public.installations where id = ${tracked.id}`;
    expect(row.checked_at).toEqual(row.updated_at);
  });

  it("acts for a team named in X-Account-Id: its members read it, a stranger gets 404 and nothing is made", async () => {
    const owner = await createUser(sql, mail());
    const member = await createUser(sql, mail());
    const stranger = await createUser(sql, mail());
    const [team] = await asUser(sql, owner.id, (tx) => tx`select (public.create_team('Inst team', ${`inst-${crypto.randomUUID().slice(0, 8)}`})).id`);
    await sql`insert into public.account_members (account_id, user_id, role) values (${team.id}, ${member.id}, 'member')`;
    const { status, body } = await post("track", member.token, { client: "windsurf" }, { "x-account-id": team.id });
    expect([status, body.account_id, body.user_id]).toEqual([201, team.id, member.id]);
    expect(await asUser(sql, owner.id, (tx) => tx`select id from public.installations where id = ${body.id}`)).toHaveLength(1);
    const refused = await post("track", stranger.token, { client: "windsurf" }, { "x-account-id": team.id });
    expect([refused.status, refused.body.error.code]).toEqual([404, "account_not_found"]);
    const validated = await post("validate", stranger.token, { client: "cursor", mcp_config: { mcpServers: {} } }, { "x-account-id": team.id });
    expect(validated.status).toBe(404);
    const [{ n }] = await sql`select count(*)::int as n from public.installations where user_id = ${stranger.id}`;
    expect(n).toBe(0);
  });

  it("feeds the KPIs' onboarding funnel: signed up -> installation attempted -> validated", async () => {
    const admin = await createUser(sql, mail(), { role: "admin" });
    const today = new Date().toISOString().slice(0, 10);
    const funnel = async () => {
      const [{ k }] = await asUser(sql, admin.id, (tx) => tx`select to_jsonb(public.admin_kpis(${today}::date, ${today}::date)) as k`);
      return Object.fromEntries((k.funnel as { step: string; users: number }[]).map((f) => [f.step, Number(f.users)]));
    };
    const before = await funnel();
    const a = await createUser(sql, mail());
    const b = await createUser(sql, mail());
    await createUser(sql, mail()); // signs up, installs nothing
    const { body: ia } = await post("track", a.token, { client: "cursor" });
    await post("track", a.token, { client: "vscode" }); // a second attempt: still one user
    await post("validate", b.token, { client: "cursor", mcp_config: { mcpServers: {} } }); // failed, but attempted
    // The outcome the function records once the server answers (the SQL API it calls).
    await sql`select public.service_role_record_installation_outcome(${ia.id}, null, ${a.id}, 'validated', null, null, ${mcpUrl()}, 'sbk_live_QQQ')`;
    const after = await funnel();
    expect({
      signed_up: after.signed_up - before.signed_up,
      attempted: after["installation.attempted"] - before["installation.attempted"],
      validated: after["installation.validated"] - before["installation.validated"],
    }).toEqual({ signed_up: 3, attempted: 2, validated: 1 });
  });

  it("checks the key in the config: the user's live key, answered by the mcp function, validates; revoked, another's, another account's, unscoped fail", async () => {
    const user = await createUser(sql, mail());
    const other = await createUser(sql, mail());
    const live = await apiKey(user.id);
    const revoked = await apiKey(user.id);
    await asUser(sql, user.id, (tx) => tx`select public.revoke_api_key(${revoked.id})`);
    const theirs = await apiKey(other.id);
    const unscoped = await apiKey(user.id, { scopes: ["credits"] });
    const [team] = await asUser(sql, user.id, (tx) => tx`select (public.create_team('Keys team', ${`inst-k-${crypto.randomUUID().slice(0, 8)}`})).id`);
    const teams = await apiKey(user.id, { account: team.id });
    const label = (k: { key: string }) => `The API key ${k.key.slice(0, 12)}…`;
    const expected: [string, { key: string }, string][] = [
      ["revoked", revoked, `${label(revoked)} is unknown, revoked or expired: create a new one`],
      ["another user's", theirs, `${label(theirs)} belongs to another user`],
      ["scoped without mcp", unscoped, `${label(unscoped)} may not use the MCP server (its scopes: credits)`],
      ["a team's, for a personal installation", teams, `${label(teams)} is another account's than this installation's`],
    ];
    for (const [what, k, error] of expected) {
      const { body } = await post("validate", user.token, { client: "cursor", mcp_config: cursorConfig(k.key) });
      expect([what, body.status, body.error_message, body.api_key_prefix]).toEqual([what, "failed", error, k.key.slice(0, 12)]);
    }
    // The user's live key passes the key checks: what is left is the server's answer to initialize.
    const { body } = await post("validate", user.token, { client: "cursor", mcp_config: cursorConfig(live.key) });
    const [row] = await sql`select mcp_config::text as c from public.installations where id = ${body.id}`;
    expect(row.c).not.toContain(live.key);
    // The mcp function answered initialize with the key: validated, with what it said it is.
    expect([body.status, body.error_message]).toEqual(["validated", null]);
    expect(body.server_info).toMatchObject({ protocolVersion: expect.any(String), serverInfo: { name: expect.any(String) } });
    expect(body.validated_at).not.toBeNull();
  });

  it("validates each client's config carrying the user's live key against the mcp function", async () => {
    const user = await createUser(sql, mail());
    const { key } = await apiKey(user.id, { scopes: ["mcp"] });
    const url = mcpUrl();
    const configs: Record<string, unknown> = {
      cursor: { mcpServers: { product: { url, headers: { Authorization: `Bearer ${key}` } } } },
      // Claude Desktop reaches a remote server through a bridge, its header filled from the env.
      "claude-desktop": { mcpServers: { product: { command: "npx", args: ["-y", "mcp-remote", url, "--header", "Authorization:${AUTH}"],
        env: { AUTH: `Bearer ${key}` } } } },
      vscode: { servers: { product: { type: "http", url, headers: { "x-api-key": key } } } },
      windsurf: { mcpServers: { product: { serverUrl: url, headers: { Authorization: `Bearer ${key}` } } } },
    };
    for (const [client, mcp_config] of Object.entries(configs)) {
      const { body: tracked } = await post("track", user.token, { client, version: "1.0" });
      const { status, body } = await post("validate", user.token, { installation_id: tracked.id, client, mcp_config });
      expect([client, status, body.status, body.error_message, body.server_url, body.api_key_prefix])
        .toEqual([client, 200, "validated", null, url, key.slice(0, 12)]);
      const [row] = await sql`select mcp_config::text as c from public.installations where id = ${tracked.id}`;
      expect(row.c).not.toContain(key);
    }
  });

  it("takes an API key itself (x-api-key, scope installations), acting for the key's account", async () => {
    const user = await createUser(sql, mail());
    const [team] = await asUser(sql, user.id, (tx) => tx`select (public.create_team('Key caller', ${`inst-c-${crypto.randomUUID().slice(0, 8)}`})).id`);
    const key = await apiKey(user.id, { account: team.id, scopes: ["installations"] });
    const byKey = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      post(path, stack().anonKey, body, { "x-api-key": key.key, ...headers });
    const tracked = await byKey("track", { client: "windsurf", version: "1.9" });
    expect([tracked.status, tracked.body.account_id, tracked.body.user_id]).toEqual([201, team.id, user.id]);
    const personal = await byKey("track", { client: "windsurf" }, { "x-account-id": user.id });
    expect([personal.status, personal.body.error.code]).toEqual([403, "account_forbidden"]);
    const mcpOnly = await apiKey(user.id, { scopes: ["mcp"] });
    const refused = await post("track", stack().anonKey, { client: "cursor" }, { "x-api-key": mcpOnly.key });
    expect([refused.status, refused.body.error.code]).toEqual([403, "api_key_scope"]);
  });

  it("re-defines admin_kpis as the billing migration has it, the funnel's installation steps aside", () => {
    // The installations migration runs last and replaces admin_kpis: a change made in the billing migration's
    // only (MRR, conversion, ...) would be undone by it.
    const last = (file: string) => {
      const text = readFileSync(`supabase/migrations/${file}`, "utf8");
      const start = text.lastIndexOf("create or replace function public.admin_kpis(");
      const body = text.slice(start, text.indexOf("\n$$;\n", start));
      // The funnel's two installation steps, up to the first metered use's.
      return body.replace(/\('installation\.attempted'[\s\S]*?(?=\('first_metered_use')/, "<installation steps>");
    };
    const ours = last("20261207000500_installations.sql");
    expect(ours).toContain("<installation steps>");
    expect(ours).toBe(last("20261207000200_account_billing.sql"));
  });
});
