// The functions' side of the runtime settings: the bounded cache (a fake clock and a counting loader), the
// fallback order and maintenance read from a snapshot, the maintenance 503, and the provider plan following the
// order in force.
import assert from "node:assert/strict";
import { providerPlan } from "../_shared/ai.ts";
import { config } from "../_shared/config.ts";
import {
  CACHE_SECONDS,
  cacheMs,
  fallbackOrder,
  imageFallbackOrder,
  MAINTENANCE_RETRY_SECONDS,
  RuntimeSettingsCache,
  type RuntimeSnapshot,
  runtimeStatus,
  withMaintenance,
} from "../_shared/runtime-settings.ts";

const snapshot = (version: number, values: Record<string, unknown> = {}): RuntimeSnapshot => ({ version, values });

Deno.test("the cache bound: 15 s by default, at most 30 s, 0 reads every time", () => {
  assert.equal(cacheMs(undefined), CACHE_SECONDS * 1000);
  assert.equal(CACHE_SECONDS, 15);
  assert.equal(cacheMs(""), 15_000);
  assert.equal(cacheMs("abc"), 15_000);
  assert.equal(cacheMs("-1"), 15_000);
  assert.equal(cacheMs("2"), 2_000);
  assert.equal(cacheMs("0"), 0);
  assert.equal(cacheMs("3600"), 30_000);
});

Deno.test("a value is kept until the bound, then read again", async () => {
  let now = 0;
  let reads = 0;
  const cache = new RuntimeSettingsCache(() => Promise.resolve(snapshot(++reads)), 15_000, () => now);
  assert.equal((await cache.get()).version, 1);
  now = 14_999;
  assert.equal((await cache.get()).version, 1, "within the bound: the value read");
  now = 15_000;
  assert.equal((await cache.get()).version, 2, "at the bound: read again");
  assert.equal(reads, 2);
  cache.invalidate();
  assert.equal((await cache.get()).version, 3, "invalidated: read again");
});

Deno.test("the bound counts from when the read began, so a slow read does not stretch it", async () => {
  let now = 0;
  let reads = 0;
  const cache = new RuntimeSettingsCache(async () => {
    reads++;
    now += 10_000; // the read takes 10 s
    return await Promise.resolve(snapshot(reads));
  }, 15_000, () => now);
  await cache.get(); // began at 0, done at 10 s
  now = 14_000;
  await cache.get();
  assert.equal(reads, 1);
  now = 15_000;
  await cache.get();
  assert.equal(reads, 2, "15 s after the first read began, however late it answered");
});

Deno.test("concurrent requests share one read; a failed read is not kept", async () => {
  let reads = 0;
  let fail = true;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const cache = new RuntimeSettingsCache(async () => {
    reads++;
    await gate;
    if (fail) throw new Error("database down");
    return snapshot(reads);
  }, 15_000, () => 0);
  const all = Promise.allSettled([cache.get(), cache.get(), cache.get()]);
  release();
  const results = await all;
  assert.equal(reads, 1, "one read for the three");
  assert.ok(results.every((r) => r.status === "rejected"), "the failure reaches every waiting request");
  fail = false;
  assert.equal((await cache.get()).version, 2, "the next request reads again");
});

Deno.test("the fallback order in force: the setting's providers the config has, else the config's", () => {
  assert.deepEqual(fallbackOrder(config, snapshot(1, { "ai.fallback_order": ["gemini", "openai"] })), ["gemini", "openai"]);
  assert.deepEqual(fallbackOrder(config, snapshot(1, { "ai.fallback_order": ["gone", "gemini"] })), ["gemini"]);
  assert.deepEqual(fallbackOrder(config, snapshot(1, { "ai.fallback_order": ["gone"] })), config.ai.fallbackOrder);
  assert.deepEqual(fallbackOrder(config, snapshot(1, {})), config.ai.fallbackOrder);
  assert.deepEqual(fallbackOrder(config, snapshot(1, { "ai.fallback_order": "gemini" })), config.ai.fallbackOrder);
});

Deno.test("the image providers' order in force: the setting's providers the images config has, else its own", () => {
  const images = { providers: [{ id: "gemini-image" }, { id: "openai-image" }], fallbackOrder: ["gemini-image", "openai-image"] };
  assert.deepEqual(imageFallbackOrder(images, snapshot(1, { "images.fallback_order": ["openai-image"] })), ["openai-image"]);
  assert.deepEqual(imageFallbackOrder(images, snapshot(1, { "images.fallback_order": ["gone"] })), images.fallbackOrder);
  assert.deepEqual(imageFallbackOrder(images, snapshot(1, {})), images.fallbackOrder);
});

Deno.test("the provider plan follows the order: the model's own provider, then the order's", () => {
  const ids = (order?: string[]) => providerPlan(config, "gpt-4o-mini", 1000, order).map((a) => a.provider.id);
  assert.deepEqual(ids(), ["openai", "gemini"]);
  assert.deepEqual(ids(["openai"]), ["openai"], "gemini taken out of the order is not tried");
  assert.deepEqual(ids(["gone", "gemini"]), ["openai", "gemini"], "an id the config lacks is skipped");
});

Deno.test("maintenance and the announcement from the snapshot, the config's defaults where it has none", () => {
  const off = runtimeStatus(config, snapshot(3));
  assert.deepEqual(off, {
    maintenance: config.runtime.maintenance.enabled,
    maintenanceMessage: config.runtime.maintenance.message,
    announcement: null,
    announcementLevel: "info",
    version: 3,
  });
  const on = runtimeStatus(config, snapshot(4, {
    "maintenance.enabled": true,
    "maintenance.message": "",
    "announcement.message": "Back at 3 UTC",
    "announcement.level": "warning",
  }));
  assert.equal(on.maintenance, true);
  assert.equal(on.maintenanceMessage, config.runtime.maintenance.message, "an empty message: the config's");
  assert.equal(on.announcement, "Back at 3 UTC");
  assert.equal(on.announcementLevel, "warning");
});

Deno.test("in maintenance a wrapped handler answers 503 with the announcement, before it runs", async () => {
  let ran = 0;
  const inner = () => {
    ran++;
    return new Response("ok");
  };
  let values: Record<string, unknown> = { "maintenance.enabled": true, "maintenance.message": "Upgrading", "announcement.message": "Back at 3" };
  const handler = withMaintenance(config, inner, () => Promise.resolve(snapshot(7, values)));
  const err = await Promise.resolve(handler(new Request("http://x/credits"))).then(() => undefined, (e) => e);
  assert.equal(err?.status, 503);
  assert.equal(err?.code, "maintenance");
  assert.equal(err?.message, "Upgrading");
  assert.deepEqual(err?.details, { announcement: "Back at 3", level: "info", version: 7 });
  assert.equal(err?.headers?.["Retry-After"], String(MAINTENANCE_RETRY_SECONDS));
  assert.equal(ran, 0);

  const key = "service-role-key-for-this-test";
  const previous = Deno.env.get("SUPABASE_SERVICE_ROLE_KEY");
  Deno.env.set("SUPABASE_SERVICE_ROLE_KEY", key);
  try {
    const res = await handler(new Request("http://x/credits", { headers: { authorization: `Bearer ${key}` } }));
    assert.equal(res.status, 200, "the service role's key goes on (deploy scripts, back office)");
  } finally {
    if (previous === undefined) Deno.env.delete("SUPABASE_SERVICE_ROLE_KEY");
    else Deno.env.set("SUPABASE_SERVICE_ROLE_KEY", previous);
  }

  values = { "maintenance.enabled": false };
  assert.equal((await handler(new Request("http://x/credits"))).status, 200);
  assert.equal(ran, 2);
});
