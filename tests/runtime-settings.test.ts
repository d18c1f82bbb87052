// Runtime settings end to end: an admin's change reaches the next charge through the credits function and a
// rollback restores it, concurrent changes serialize into distinct versions, bad values change nothing, the
// config sync keeps the overrides, and the functions follow maintenance and the AI fallback order within their
// cache bound. The suite's stack is shared: every test puts the settings back as it found them.
import type postgres from "postgres";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { syncProductConfig } from "../src/local/database.ts";
import type { Step } from "./support/openai-server.ts";
import { asUser, callFunction, connectDb, createUser, stack, TEST_FUNCTION_ENV } from "./support/stack.ts";

const sql = connectDb(12);
const mail = () => `rts-${crypto.randomUUID()}@test.local`;
/** The functions' cache bound in this stack (SAASBASE_RUNTIME_CACHE_SECONDS). */
const CACHE_MS = Number(TEST_FUNCTION_ENV.SAASBASE_RUNTIME_CACHE_SECONDS) * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Version {
  version: number;
  settings: Record<string, unknown>;
  changes: Record<string, { old: unknown; new: unknown }>;
  note: string;
  rolled_back_to: number | null;
  created_by: string | null;
}

let admin: { id: string; token: string };
let start: number;
beforeAll(async () => {
  admin = await createUser(sql, mail(), { role: "admin" });
  start = await head();
});
// Whatever a test left in force, the next one starts from the settings the file found.
afterEach(async () => {
  await rollback(start, "Test over: back to the settings the test file found");
});
afterAll(() => sql.end());

async function head(): Promise<number> {
  return Number((await sql`select max(version) as v from public.runtime_settings_versions`)[0].v);
}
function set(changes: Record<string, unknown>, note = "A test change", expected: number | null = null, db: postgres.Sql = sql) {
  return asUser(db, admin.id, async (tx) =>
    (await tx`select to_jsonb(public.admin_set_runtime_settings(${tx.json(changes as postgres.JSONValue)}, ${note}, ${expected})) as v`)[0]
      .v as Version);
}
function rollback(version: number, note?: string) {
  return asUser(sql, admin.id, async (tx) =>
    (await tx`select to_jsonb(public.admin_rollback_runtime_settings(${version}, ${note ?? null})) as v`)[0].v as Version);
}
const pagePrice = async () => (await sql`select credits from public.features where id = 'coloring_page'`)[0].credits as number;

/** Charges one coloring page through the credits function, as an app's server does. */
async function chargePage(token: string, key: string) {
  const res = await callFunction("credits/charge", {
    method: "POST",
    token,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ feature: "coloring_page", idempotency_key: key }),
  });
  return { status: res.status, body: await res.json() };
}
/** A user whose free coloring pages are used up: every next page is paid. */
async function payingUser() {
  const user = await createUser(sql, mail());
  for (let i = 0; i < 3; i++) expect((await chargePage(user.token, `free-${i}`)).body.credits_charged).toBe(0);
  return user;
}
/** Polls `probe` until `ok`; fails past `ms`. */
async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await probe();
  while (!ok(value)) {
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(value)} after ${ms} ms`);
    await sleep(100);
    value = await probe();
  }
  return value;
}

describe("runtime settings", () => {
  it("a price change takes effect on the next charge, and a rollback restores it", async () => {
    const user = await payingUser();
    const configPrice = await pagePrice();
    expect((await chargePage(user.token, "p1")).body.credits_charged).toBe(configPrice);

    const changed = await set({ "feature.coloring_page.credits": configPrice + 4 }, "Premium pages");
    expect(changed).toMatchObject({
      version: start + 1,
      settings: { "feature.coloring_page.credits": configPrice + 4 },
      changes: { "feature.coloring_page.credits": { old: null, new: configPrice + 4 } },
      note: "Premium pages",
      created_by: admin.id,
    });
    // No cache between the change and the charge: SQL charges at the price in force.
    expect((await chargePage(user.token, "p2")).body.credits_charged).toBe(configPrice + 4);
    // The public catalog (a pricing page) shows it too.
    const anonPrice = await sql.begin(async (tx) => {
      await tx`set local role anon`;
      return (await tx`select credits from public.features where id = 'coloring_page'`)[0].credits;
    });
    expect(anonPrice).toBe(configPrice + 4);

    const back = await rollback(start, "Premium over");
    expect(back).toMatchObject({ version: start + 2, settings: {}, rolled_back_to: start });
    expect((await chargePage(user.token, "p3")).body.credits_charged).toBe(configPrice);
    // A replayed charge answers what it was charged then, whatever the price now.
    expect((await chargePage(user.token, "p2")).body).toMatchObject({ credits_charged: configPrice + 4, replayed: true });
  });

  it("concurrent admin changes serialize into distinct consecutive versions, each on the one before", async () => {
    const admins = [admin, await createUser(sql, mail(), { role: "admin" })];
    const first = await head();
    const values = Array.from({ length: 10 }, (_, i) => 20 + i);
    const made = await Promise.all(values.map((v, i) =>
      asUser(sql, admins[i % 2].id, async (tx) =>
        (await tx`select to_jsonb(public.admin_set_runtime_settings(${tx.json({ "feature.coloring_page.credits": v })}, ${`race ${v}`})) as v`)[0]
          .v as Version)
    ));
    expect(made.map((m) => m.version).sort((a, b) => a - b)).toEqual(values.map((_, i) => first + 1 + i));
    const history = await sql`select version::int, settings, changes from public.runtime_settings_versions
      where version > ${first} order by version`;
    // Each version's diff starts from the value the version before it set: no change was made on a stale set.
    let previous: unknown = (await sql`select settings from public.runtime_settings_versions where version = ${first}`)[0]
      .settings["feature.coloring_page.credits"] ?? null;
    for (const h of history) {
      expect(h.changes["feature.coloring_page.credits"].old).toEqual(previous);
      previous = h.changes["feature.coloring_page.credits"].new;
    }
    expect(await pagePrice()).toBe(history.at(-1)!.settings["feature.coloring_page.credits"]);

    // Changes made on the same version (an admin screen sends the one it showed): one wins, the others get 409.
    const base = await head();
    const raced = await Promise.allSettled([1, 2, 3, 4].map((v) => set({ "quota.free.coloring_page.free_limit": v }, "same screen", base)));
    expect(raced.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of raced.filter((r) => r.status === "rejected")) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: "PT409", detail: "settings_version_conflict" });
    }
    expect(await head()).toBe(base + 1);
  });

  it("refuses bad values with a 4xx code naming the key, and changes nothing", async () => {
    const before = { version: await head(), price: await pagePrice() };
    const audits = async () => Number((await sql`select count(*) from public.audit_log where target_type = 'runtime_settings'`)[0].count);
    const auditsBefore = await audits();
    for (const [changes, code, detail] of [
      [{ "feature.coloring_page.credits": "free" }, "PT422", "invalid_setting"],
      [{ "feature.coloring_page.credits": -3 }, "PT422", "invalid_setting"],
      [{ "feature.coloring_page.credits": 2.5 }, "PT422", "invalid_setting"],
      [{ "feature.coloring_page.credits": 1, "maintenance.enabled": "on" }, "PT422", "invalid_setting"],
      [{ "feature.coloring_page.credits": 1, "feature.unicorns.credits": 1 }, "PT404", "unknown_setting"],
      [{ "ai.fallback_order": ["openai", "anthropic"] }, "PT422", "invalid_setting"],
      [{ "announcement.message": "x".repeat(1001) }, "PT422", "invalid_setting"],
    ] as const) {
      await expect(set(changes)).rejects.toMatchObject({ code, detail });
    }
    await expect(set({ "feature.coloring_page.credits": 1 })).resolves.toBeTruthy(); // the good one alone goes through
    await rollback(before.version, "undo the good one");
    const refused = set({ "feature.coloring_page.credits": -1 });
    await expect(refused).rejects.toThrow(/feature\.coloring_page\.credits must be from 0/);
    await expect(set({ "feature.coloring_page.credits": 1 }, "")).rejects.toMatchObject({ code: "PT422", detail: "invalid_note" });
    // A user is no admin; anon may not call it at all.
    const user = await createUser(sql, mail());
    await expect(asUser(sql, user.id, (tx) => tx`select public.admin_set_runtime_settings('{"feature.coloring_page.credits": 0}', 'free pages for me')`))
      .rejects.toMatchObject({ code: "PT403", detail: "admin_only" });
    await expect(sql.begin(async (tx) => {
      await tx`set local role anon`;
      await tx`select public.admin_set_runtime_settings('{"feature.coloring_page.credits": 0}', 'free pages for me')`;
    })).rejects.toMatchObject({ code: "42501" });
    expect(await head()).toBe(before.version + 2); // the good change and its undoing, nothing else
    expect(await pagePrice()).toBe(before.price);
    expect(await audits()).toBe(auditsBefore + 2);
  });

  it("the config sync keeps the overrides in force", async () => {
    const user = await payingUser();
    const configPrice = await pagePrice();
    await set({ "feature.coloring_page.credits": configPrice + 2, "maintenance.message": "Kept" }, "Before a deploy");
    await syncProductConfig(stack().dbUrl); // a deploy's `npm run config:sync`
    expect(await pagePrice()).toBe(configPrice + 2);
    expect((await chargePage(user.token, "after-sync")).body.credits_charged).toBe(configPrice + 2);
    const [{ value }] = await sql`select saasbase.runtime_value('maintenance.message') as value`;
    expect(value).toBe("Kept");
    await rollback(start);
    expect(await pagePrice()).toBe(configPrice);
  });

  it("maintenance: the product's functions answer 503 with the announcement within the cache bound; webhooks and health go on", async () => {
    const user = await createUser(sql, mail());
    const credits = () => callFunction("credits", { token: user.token });
    expect((await credits()).status).toBe(200);
    const on = await set({ "maintenance.enabled": true, "maintenance.message": "Upgrading the database", "announcement.message": "Back at 03:00 UTC", "announcement.level": "warning" }, "Planned maintenance");
    const res = await until(credits, (r) => r.status === 503, CACHE_MS + 10_000);
    expect(res.headers.get("retry-after")).toBe("60");
    expect(await res.json()).toEqual({
      error: {
        code: "maintenance",
        message: "Upgrading the database",
        details: { announcement: "Back at 03:00 UTC", level: "warning", version: on.version },
      },
    });
    // Other product functions too, before any work (a charge is not made).
    const charge = await callFunction("credits/charge", { method: "POST", token: user.token, headers: { "content-type": "application/json" }, body: JSON.stringify({ feature: "coloring_page", idempotency_key: "m1" }) });
    expect(charge.status).toBe(503);
    expect((await sql`select count(*)::int as n from public.credit_ledger where account_id = ${user.id} and kind = 'charge'`)[0].n).toBe(0);
    await until(() => callFunction("chat", { method: "POST", token: user.token, body: "{}" }), (r) => r.status === 503, CACHE_MS + 10_000);
    // Clients read it without a session (a banner), through PostgREST's RPC as anon.
    const status = await sql.begin(async (tx) => {
      await tx`set local role anon`;
      await tx`select set_config('request.jwt.claims', '{"role": "anon"}', true)`;
      return (await tx`select * from public.get_runtime_status()`)[0];
    });
    expect(status).toMatchObject({ maintenance: true, maintenance_message: "Upgrading the database", announcement: "Back at 03:00 UTC", announcement_level: "warning" });
    expect(Number(status.version)).toBe(on.version);
    // Health answers, and Stripe's webhook still takes (here: refuses as unsigned) its deliveries.
    expect((await callFunction("health")).status).toBe(200);
    const hook = await callFunction("stripe-webhook", { method: "POST", body: "{}" });
    expect(hook.status).not.toBe(503);

    await set({ "maintenance.enabled": false }, "Maintenance over");
    await until(credits, (r) => r.status === 200, CACHE_MS + 10_000);
  });

  it("the chat gateway follows the AI fallback order in force", async () => {
    const user = await createUser(sql, mail());
    const script = (provider: string, steps: Step[]) =>
      fetch(`${stack().aiUrl}/_test/script`, { method: "POST", body: JSON.stringify({ provider, steps }) });
    const requests = async () => (await (await fetch(`${stack().aiUrl}/_test/state`)).json()).requests as { provider: string }[];
    const chat = (message: string) =>
      callFunction("chat", { method: "POST", token: user.token, headers: { "content-type": "application/json" }, body: JSON.stringify({ message, model: "gpt-4o-mini" }) });

    // Gemini taken out of the fallbacks: an OpenAI outage is a 502, and Gemini is never asked.
    await set({ "ai.fallback_order": ["openai"] }, "Gemini is failing over there");
    await sleep(CACHE_MS + 200);
    await script("openai", Array(3).fill({ kind: "status", status: 500 }));
    const seen = (await requests()).length;
    const down = await chat("anyone?");
    expect(down.status).toBe(502);
    await down.body?.cancel();
    expect((await requests()).slice(seen).map((r) => r.provider)).toEqual(["openai", "openai", "openai"]);

    // Rolled back: the config's order, Gemini answering for OpenAI again.
    await rollback(start, "Gemini is back");
    await sleep(CACHE_MS + 200);
    await script("openai", Array(3).fill({ kind: "status", status: 500 }));
    const res = await chat("and now?");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('"provider":"gemini"');
  });
});
