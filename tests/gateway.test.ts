// verify_jwt at the gateway, as the platform applies it: the real health function on real Deno behind the
// real gateway, with verify_jwt turned on for this test (health ships with it off).
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, FunctionWorkers } from "../src/local/functions.ts";
import { createGateway, listen } from "../src/local/gateway.ts";
import { signJwt, userToken } from "../src/local/jwt.ts";
import { SUPABASE_DIR } from "../src/local/paths.ts";
import { readProjectConfig } from "../src/local/supabase-config.ts";
import { stack } from "./support/stack.ts";

let workers: FunctionWorkers;
let gateway: Server;
let base: string;

beforeAll(async () => {
  const health = readProjectConfig(SUPABASE_DIR).functions.find((f) => f.name === "health")!;
  expect(health.verifyJwt).toBe(false); // as config.toml ships it
  workers = new FunctionWorkers([{ ...health, verifyJwt: true }], {
    env: { SUPABASE_DB_URL: stack().dbUrl },
    logFile: stack().functionsLog,
  });
  await workers.start();
  gateway = createGateway(workers, stack().jwtSecret);
  const port = await freePort();
  await listen(gateway, port);
  base = `http://127.0.0.1:${port}/functions/v1/health`;
});

afterAll(async () => {
  gateway?.closeAllConnections();
  await new Promise((r) => gateway?.close(r));
  await workers?.stop();
});

const get = (authorization?: string) => fetch(base, { headers: authorization ? { authorization } : {} });

describe("verify_jwt", () => {
  it("rejects a request without an Authorization header", async () => {
    const res = await get();
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ code: 401, message: "Missing authorization header" });
  });

  it("rejects a token signed with another secret, an expired token and garbage", async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = signJwt({ role: "service_role", exp: now + 600 }, "not-the-project-secret-but-32-chars-long");
    const expired = signJwt({ role: "anon", exp: now - 1 }, stack().jwtSecret);
    for (const auth of [`Bearer ${forged}`, `Bearer ${expired}`, "Bearer not.a.jwt", "Basic dXNlcjpwYXNz"]) {
      const res = await get(auth);
      expect(res.status, auth).toBe(401);
      expect(await res.json()).toEqual({ code: 401, message: "Invalid JWT" });
    }
  });

  it("passes the anon key, the service_role key and a user's token to the function", async () => {
    const user = userToken({ id: crypto.randomUUID(), email: "u@test.local" }, stack().jwtSecret);
    for (const token of [stack().anonKey, stack().serviceRoleKey, user]) {
      const res = await get(`Bearer ${token}`);
      expect(res.status).toBe(200);
      expect((await res.json()).status).toBe("ok");
    }
  });

  it("lets CORS preflight through without a token", async () => {
    const res = await fetch(base, { method: "OPTIONS" });
    expect(res.status).toBe(200);
  });
});
