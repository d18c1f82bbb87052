// Unit tests of the health function's handler and its shared modules, on real Deno. The database checks run
// against SUPABASE_DB_URL (npm test points it at a throwaway cluster).
import assert from "node:assert/strict";
import postgres from "postgres";
import { checkDatabase, handler } from "../health/handler.ts";
import { integrationStatus } from "../_shared/integrations.ts";
import { config } from "../_shared/config.ts";
import { db } from "../_shared/db.ts";

Deno.test("GET answers 200 with the database up", async () => {
  const res = await handler(new Request("http://localhost/health"));
  assert.deepStrictEqual(res.status, 200);
  const body = await res.json();
  assert.deepStrictEqual(body.status, "ok");
  assert.deepStrictEqual(body.database.ok, true);
  await db().end();
});

Deno.test("an unreachable database reports 'unreachable' and leaks no connection details", async () => {
  const sql = postgres("postgresql://postgres:secret-password@127.0.0.1:1/postgres", {
    max: 1,
    connect_timeout: 1,
  });
  const status = await checkDatabase(sql);
  assert.deepStrictEqual([status.ok, status.error], [false, "unreachable"]);
  assert.deepStrictEqual(
    JSON.stringify(status).includes("secret-password"),
    false,
    "no connection string in the report",
  );
  await sql.end();
});

Deno.test("other methods get a JSON 405 with CORS headers", async () => {
  const res = await handler(new Request("http://localhost/health", { method: "DELETE" }));
  assert.deepStrictEqual(res.status, 405);
  assert.deepStrictEqual(res.headers.get("access-control-allow-origin"), "*");
  assert.deepStrictEqual(await res.json(), {
    error: { code: "method_not_allowed", message: "Method DELETE is not allowed here" },
  });
});

Deno.test("OPTIONS is answered before the handler runs", async () => {
  const res = await handler(new Request("http://localhost/health", { method: "OPTIONS" }));
  assert.deepStrictEqual([res.status, await res.text()], [200, "ok"]);
});

Deno.test("integrationStatus: booleans for anyone, missing secrets and base URLs for operators", () => {
  const env: Record<string, string> = {
    STRIPE_SECRET_KEY: "sk_test_x",
    OPENAI_API_KEY: "sk-openai",
    OPENAI_BASE_URL: "http://127.0.0.1:9999/v1",
  };
  const anyone = integrationStatus(config, (n) => env[n]);
  assert.deepStrictEqual(anyone.stripe, { configured: true, webhookConfigured: false });
  assert.deepStrictEqual(anyone.ai[0], { id: "openai", kind: "openai", configured: true });
  const status = integrationStatus(config, (n) => env[n], true);
  assert.deepStrictEqual(status.stripe, {
    configured: true,
    webhookConfigured: false,
    missing: ["STRIPE_WEBHOOK_SECRET"],
  });
  assert.deepStrictEqual(status.ai[0], {
    id: "openai",
    kind: "openai",
    configured: true,
    baseUrl: "http://127.0.0.1:9999/v1",
    missing: [],
  });
  assert.deepStrictEqual(status.ai[1].configured, false);
  assert.deepStrictEqual(anyone.userSecrets, { configured: false });
  assert.deepStrictEqual(status.userSecrets, {
    configured: false,
    missing: ["SAASBASE_SECRETS_KEYS", "SAASBASE_SECRETS_KEY_ID"],
  });
  const keyed: Record<string, string> = { ...env, SAASBASE_SECRETS_KEYS: '{"k1":"AAAA"}', SAASBASE_SECRETS_KEY_ID: "k1" };
  assert.deepStrictEqual(integrationStatus(config, (n) => keyed[n], true).userSecrets, {
    configured: true,
    missing: [],
  });
  // A proxy's credentials or a key in the query never reach the public report.
  const proxied = integrationStatus(
    config,
    (n) => ({ ...env, OPENAI_BASE_URL: "https://user:s3cret@10.0.3.7:8000/v1?key=abc#x" })[n],
    true,
  );
  assert.deepStrictEqual(proxied.ai[0].baseUrl, "https://10.0.3.7:8000/v1");
  assert.deepStrictEqual(JSON.stringify(status).includes("sk-openai"), false, "no secret values");
});
