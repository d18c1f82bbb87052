// Magic Nuggetwise (seed 000, presets/nuggetwise.ts) end to end, as its users and its frontend drive it: a
// developer signs up, stores their v0 key (the secrets function: kept encrypted, shown by its last 4), creates
// an API key for Cursor, and Cursor's MCP client (the MCP SDK's own, over Streamable HTTP) calls
// generate_component: 10 free a month, each made by v0's Model API (the local OpenAI-wire server) with the
// developer's own v0 key; the 11th is refused as a tool error telling them to upgrade. They subscribe to Pro
// ($19) through Checkout and Stripe's signed webhooks, and generations are unlimited, charged nothing. An
// admin's KPIs show the install funnel and the conversion. Between the API key and the first call, the
// installation in Cursor is tracked and its MCP config validated by the installations function, whose check
// sends this product's MCP server `initialize` with the config's key.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncStripeCatalog } from "../../src/billing/stripe-sync.ts";
import { planLookupKey, stripeCatalog } from "../../supabase/functions/_shared/billing-catalog.ts";
import { createStripe } from "../../supabase/functions/_shared/stripe-client.ts";
import { TEST_FUNCTION_ENV } from "../support/stack.ts";
import { type Scenario, startScenario, type User } from "./harness.ts";

let s: Scenario;
beforeAll(async () => {
  s = await startScenario("nuggetwise", ["secrets", "installations", "mcp", "checkout", "stripe-webhook", "credits"]);
  // What the operator runs once before launch: `npm run stripe:sync`.
  await syncStripeCatalog(createStripe(TEST_FUNCTION_ENV.STRIPE_SECRET_KEY, s.stripeUrl), s.sql, stripeCatalog(s.config), s.config.currency);
}, 180_000);
afterAll(() => s?.stop());

type Row = Record<string, any>;
const tag = crypto.randomUUID().slice(0, 8);
const v0Key = `v0_live_${tag}_a1b2`;
const json = { "content-type": "application/json" };

/** Cursor's MCP client, configured with the developer's API key. */
async function cursor(apiKey: string): Promise<Client> {
  const client = new Client({ name: "cursor", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${s.stack.functionsUrl}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${apiKey}` } },
  }));
  return client;
}
const generate = (client: Client, prompt: string) =>
  client.callTool({ name: "generate_component", arguments: { prompt } }) as Promise<Row>;
const v0Requests = async () => (await s.upstreamRequests() as Row[]).filter((r) => r.provider === "v0");

describe("Magic Nuggetwise: an MCP tool in Cursor, 10 free generations a month, Pro unlimited", () => {
  let dev: User;
  let apiKey: string;
  let client: Client;

  it("runs the seed's plans: 10 free generations a month, Pro $19 and Enterprise $99 unlimited, v0 as the model", () => {
    const plan = (id: string) => s.config.plans.find((p) => p.id === id)!;
    expect(plan("free").quotas).toContainEqual({ feature: "component_generation", period: "month", limit: 10, overage: "credits" });
    expect(plan("pro")).toMatchObject({ priceMonthlyCents: 1900, unlimited: ["component_generation"] });
    expect(plan("enterprise")).toMatchObject({ priceMonthlyCents: 9900, unlimited: ["component_generation"] });
    expect(s.config.mcp.components).toMatchObject({ feature: "component_generation", secret: "v0", model: "v0-1.5-md" });
  });

  it("signs up, stores the v0 key (encrypted, shown by its last 4) and creates an API key for Cursor", async () => {
    dev = await s.signUp(`dev-${tag}@nugget.test`, { confirmed: true });
    const stored = await s.call("secrets/v0", { method: "PUT", token: dev.token, headers: json, body: JSON.stringify({ value: v0Key }) });
    expect(stored.status).toBe(200);
    const listed = await (await s.call("secrets", { token: dev.token })).json();
    expect(listed.secrets).toEqual([expect.objectContaining({ provider: "v0", last4: "a1b2" })]);
    expect(JSON.stringify(listed)).not.toContain(v0Key);
    const [row] = await s.sql`select ciphertext from public.user_secrets where account_id = ${dev.id}`;
    expect(Buffer.from(row.ciphertext).toString("latin1")).not.toContain(v0Key);

    const created = await s.rpc(dev, "create_api_key", ["Cursor", ["mcp"]]);
    expect(created.key).toMatch(/^sbk_live_/);
    apiKey = created.key;
    client = await cursor(apiKey);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["check_feature", "generate_component", "get_credits"]);
  });

  it("tracks the installation in Cursor and validates its MCP config: this product's server, the key live, initialize answered", async () => {
    const tracked = await s.post("installations/track", dev.token, { client: "cursor", version: "0.50" });
    expect(tracked.status).toBe(201);
    const installation = await tracked.json();
    expect(installation).toMatchObject({ client: "cursor", status: "attempted" });
    // ~/.cursor/mcp.json as the product's "Add to Cursor" button writes it.
    const mcpUrl = `${s.stack.functionsUrl}/mcp`;
    const config = { mcpServers: { nuggetwise: { url: mcpUrl, headers: { Authorization: `Bearer ${apiKey}` } } } };
    // A typo in the key first: the validation says why, and the user fixes it.
    const typo = { mcpServers: { nuggetwise: { url: mcpUrl, headers: { Authorization: `Bearer ${apiKey.slice(0, -2)}xx` } } } };
    const failed = await (await s.post("installations/validate", dev.token, { installation_id: installation.id, client: "cursor", mcp_config: typo })).json();
    expect(failed).toMatchObject({ status: "failed" });
    expect(failed.error_message).toMatch(/key/i);
    const validated = await (await s.post("installations/validate", dev.token, { installation_id: installation.id, client: "cursor", mcp_config: config })).json();
    expect(validated).toMatchObject({ id: installation.id, status: "validated", server_url: mcpUrl, error_message: null });
    expect(validated.server_info).toMatchObject({ serverInfo: { name: "Magic Nuggetwise" } });
    expect(JSON.stringify(validated.mcp_config)).not.toContain(apiKey); // stored cut to its prefix
  });

  it("10 free generate_component calls, each by v0 with the developer's own key", async () => {
    const before = (await v0Requests()).length;
    await s.script("v0", Array.from({ length: 10 }, (_, i) => ({ kind: "ok" as const, chunks: ["```tsx\n", `export const C${i} = () => null;`, "\n```"] })));
    for (let i = 0; i < 10; i++) {
      const result = await generate(client, `a hero section, variant ${i}`);
      expect(result.isError, JSON.stringify(result)).toBeFalsy();
      expect(result.content[0].text).toBe(`\`\`\`tsx\nexport const C${i} = () => null;\n\`\`\``);
      expect(result.structuredContent.usage).toMatchObject({ free: true, credits_charged: 0 });
    }
    const calls = (await v0Requests()).slice(before);
    expect(calls).toHaveLength(10);
    for (const c of calls) expect(c).toMatchObject({ model: "v0-1.5-md", apiKey: v0Key });
    const credits = await client.callTool({ name: "get_credits", arguments: {} }) as Row;
    expect(credits.structuredContent).toMatchObject({ balance: 0, plan: "free" });
    expect(credits.structuredContent.quotas).toContainEqual(expect.objectContaining({ feature: "component_generation", used: 10, limit: 10 }));
  });

  it("the 11th is refused with an upgrade message, reaching no model and charging nothing", async () => {
    const before = (await v0Requests()).length;
    const refused = await generate(client, "a pricing page");
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent.error.code).toBe("insufficient_credits");
    expect(refused.content[0].text).toMatch(/Upgrade to Pro \(\$19\.00\/month\) for unlimited component generations.*https:\/\/nuggetwise\.com/);
    expect((await v0Requests()).length).toBe(before);
    const check = await client.callTool({ name: "check_feature", arguments: {} }) as Row;
    expect(check.structuredContent).toMatchObject({ allowed: false, reason: "insufficient_credits", free_remaining: 0, plan: "free" });
    const [{ n }] = await s.sql`select count(*)::int as n from public.credit_reservations where account_id = ${dev.id} and status = 'settled'`;
    expect(n).toBe(10);
    // The seed's sendUpgradeEmail: the 10th free generation queued one upgrade mail (and an in-app notification)
    // linking Pro, the cheapest plan with more of the feature; the refused 11th queued no second one.
    const mails = await s.inbox(dev.email, "free_limit_reached");
    expect(mails).toHaveLength(1);
    expect(mails[0].payload).toMatchObject({ feature: "component_generation", limit: 10, period: "month", plan_name: "Free",
      upgrade_plan_name: "Pro", upgrade_url: "https://nuggetwise.com/pricing?plan=pro" });
    const [note] = await s.sql`select title, link from public.notifications where user_id = ${dev.id} and type = 'free_limit_reached'`;
    expect(note.link).toBe("https://nuggetwise.com/pricing?plan=pro");
  });

  it("subscribes to Pro through Checkout and Stripe's signed webhooks: generations are unlimited and cost nothing", async () => {
    const res = await s.post("checkout", dev.token, { price: planLookupKey("pro", "month") });
    expect(res.status).toBe(200);
    const { id } = await res.json();
    const { answers } = await s.completeSubscriptionCheckout(id);
    expect(answers.completed).toMatchObject({ status: 200, body: { outcome: "applied" } });
    expect(answers.invoicePaid).toMatchObject({ status: 200, body: { outcome: "applied" } });
    const [account] = await s.sql`select plan_id from public.accounts where id = ${dev.id}`;
    expect(account.plan_id).toBe("pro");

    for (let i = 0; i < 5; i++) {
      const result = await generate(client, `a dashboard, take ${i}`);
      expect(result.isError, JSON.stringify(result)).toBeFalsy();
      expect(result.structuredContent.usage).toMatchObject({ credits_charged: 0, balance: 0 });
    }
    const check = await client.callTool({ name: "check_feature", arguments: {} }) as Row;
    expect(check.structuredContent).toMatchObject({ allowed: true, reason: "unlimited", plan: "pro" });
    const ledger = await s.sql`select kind, amount from public.credit_ledger where account_id = ${dev.id} and kind = 'settle'`;
    expect(ledger).toHaveLength(15);
    expect(ledger.every((l) => Number(l.amount) === 0)).toBe(true);
    await client.close();
  });

  it("an admin's KPIs show the install funnel and the conversion: one paying account of the sign-ups, Pro's $19 in the MRR", async () => {
    const admin = await s.signUp(`admin-${tag}@nugget.test`, { confirmed: true, appMetadata: { role: "admin" } });
    const today = new Date().toISOString().slice(0, 10);
    const report = await s.rpc(admin, "admin_kpis", [today, today, "day"]);
    const [{ users }] = await s.sql`select count(*)::int as users from auth.users`;
    expect(report.totals).toMatchObject({ signups: users, paying_accounts: 1, new_paying_accounts: 1, mrr_cents: 1900 });
    expect(report.funnel.find((f: Row) => f.step === "paid")).toEqual({ step: "paid", users: 1 });
    expect(report.totals.conversion_rate).toBeCloseTo(1 / users, 4);
    // The install funnel: the developer tracked an installation and validated it.
    expect(report.funnel.find((f: Row) => f.step === "installation.attempted")).toEqual({ step: "installation.attempted", users: 1 });
    expect(report.funnel.find((f: Row) => f.step === "installation.validated")).toEqual({ step: "installation.validated", users: 1 });
  });
});
