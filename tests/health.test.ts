// The health function through the local gateway, on real Deno against the test database.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { signJwt } from "../src/local/jwt.ts";
import { callFunction, stack } from "./support/stack.ts";

describe("health function", () => {
  it("answers 200 with JSON: database up, integrations by configured secrets", async () => {
    // Anyone sees whether each integration is configured; no hosts, no secret names.
    const open = await (await callFunction("health")).json();
    expect(open.integrations).toEqual({
      stripe: { configured: true, webhookConfigured: true },
      ai: [{ id: "openai", kind: "openai", configured: true }, { id: "gemini", kind: "gemini", configured: true }],
      userSecrets: { configured: true }, // the key the stack made (src/local/secrets-key.ts)
    });
    // A forged service_role token is no service key: the same answer.
    const forged = await signJwt({ role: "service_role", exp: Math.floor(Date.now() / 1000) + 600 }, "not-the-project-secret-but-32-chars-long");
    expect((await (await callFunction("health", { token: forged })).json()).integrations).toEqual(open.integrations);
    // The operators, with the service key, see what is missing and where the AI providers are.
    const res = await callFunction("health", { token: stack().serviceRoleKey });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const body = await res.json();
    expect(body.status).toBe("ok");
    expect(body.database.ok).toBe(true);
    // The test stack sets the Stripe secrets and both AI providers' keys and base URLs.
    expect(body.integrations.stripe).toEqual({ configured: true, webhookConfigured: true, missing: [] });
    expect(body.integrations.userSecrets).toEqual({ configured: true, missing: [] });
    expect(body.integrations.ai.map((p: { id: string; configured: boolean; baseUrl: string }) => [p.id, p.configured, p.baseUrl]))
      .toEqual([
        ["openai", true, `${stack().aiUrl}/openai/v1`],
        ["gemini", true, `${stack().aiUrl}/gemini/v1`],
      ]);
    expect(JSON.stringify(body)).not.toContain("sk_test"); // presence only, never a secret
    expect(JSON.stringify(body)).not.toContain("sk-test");
    expect(JSON.stringify(body)).not.toContain(JSON.parse(readFileSync(stack().secretsKeyFile, "utf8")).keys["local-1"]);
  });

  it("answers a CORS preflight without a token", async () => {
    const res = await callFunction("health", { method: "OPTIONS" });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-headers")).toContain("authorization");
  });

  it("rejects other methods with a JSON 405", async () => {
    const res = await callFunction("health", { method: "POST", body: "{}" });
    expect(res.status).toBe(405);
    expect(await res.json()).toEqual({ error: { code: "method_not_allowed", message: "Method POST is not allowed here" } });
  });

  it("answers 404 for an unknown function and for routes only `supabase start` serves", async () => {
    const unknown = await callFunction("no-such-function");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ message: "Requested function was not found" });
    const rest = await fetch(`${stack().apiUrl}/rest/v1/plans`);
    expect(rest.status).toBe(404);
  });
});
