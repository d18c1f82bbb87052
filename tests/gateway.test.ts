// verify_jwt at the gateway, as the platform applies it: the real health function on real Deno behind the
// real gateway, with verify_jwt turned on for this test (health ships with it off).
import { Agent, request as httpRequest, type Server } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, FunctionWorkers } from "../src/local/functions.ts";
import { createGateway, listen } from "../src/local/gateway.ts";
import { signJwt, userToken } from "../src/local/jwt.ts";
import { SUPABASE_DIR } from "../src/local/paths.ts";
import { readProjectConfig } from "../src/local/supabase-config.ts";
import { connectDb, createUser, stack } from "./support/stack.ts";

/** One request over `agent` (keep-alive): its status once the answer was read to its end, and the socket it went
 * over. `chunked`: no Content-Length, so the function counts the body while it streams in. */
function sendOver(
  agent: Agent,
  url: URL,
  method: string,
  body?: string,
  opts: { headers?: Record<string, string>; chunked?: boolean } = {},
) {
  const chunked = opts.chunked ?? false;
  return new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
    const req = httpRequest(
      {
        agent, host: url.hostname, port: url.port, path: url.pathname + url.search, method,
        headers: {
          ...opts.headers,
          ...(body === undefined || chunked ? {} : { "content-length": Buffer.byteLength(body) }),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, socket: req.socket }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    // A connection left waiting (a body nobody reads) fails the round instead of the whole test.
    req.setTimeout(5_000, () => req.destroy(new Error(`${method} ${url.pathname}: no answer within 5 s`)));
    if (chunked && body) for (let i = 0; i < body.length; i += 16_384) req.write(body.slice(i, i + 16_384));
    req.end(chunked ? undefined : body);
  });
}

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
    const forged = await signJwt({ role: "service_role", exp: now + 600 }, "not-the-project-secret-but-32-chars-long");
    const expired = await signJwt({ role: "anon", exp: now - 1 }, stack().jwtSecret);
    for (const auth of [`Bearer ${forged}`, `Bearer ${expired}`, "Bearer not.a.jwt", "Basic dXNlcjpwYXNz"]) {
      const res = await get(auth);
      expect(res.status, auth).toBe(401);
      expect(await res.json()).toEqual({ code: 401, message: "Invalid JWT" });
    }
  });

  it("rejects an unsigned token and one signed with the secret under another algorithm (HS256 only)", async () => {
    const claims = { role: "service_role", exp: Math.floor(Date.now() / 1000) + 600 };
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`;
    const hs512 = await new SignJWT(claims).setProtectedHeader({ alg: "HS512", typ: "JWT" })
      .sign(new TextEncoder().encode(stack().jwtSecret));
    for (const token of [unsigned, hs512]) {
      const res = await get(`Bearer ${token}`);
      expect(res.status, token).toBe(401);
      expect(await res.json()).toEqual({ code: 401, message: "Invalid JWT" });
    }
  });

  it("passes the anon key, the service_role key and a user's token to the function", async () => {
    const user = await userToken({ id: crypto.randomUUID(), email: "u@test.local" }, stack().jwtSecret);
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

describe("kept-alive connections", () => {
  // A function may answer before it has read the body (413 by Content-Length or while a chunked body streams
  // in, 401, 405) and close its own side of the connection. The client's connection to the gateway must stay
  // usable for its next request. (The gateway passed the function's `connection: close` on, left the rest of
  // the body unread, and destroyed the client's socket on a late upstream error: every 413 cost the client
  // its connection, and a request already on its way over it failed with ECONNRESET.)
  it("stay usable after early refusals", async () => {
    const sql = connectDb(1);
    const { token } = await createUser(sql, `keepalive-${crypto.randomUUID()}@test.local`);
    await sql.end();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (path: string, method: string, body?: string, chunked = false) =>
      sendOver(agent, new URL(`${stack().functionsUrl}/${path}`), method, body, {
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        chunked,
      });
    const big = JSON.stringify({ feature: "x", quantity: 1, idempotency_key: "k", pad: "x".repeat(300_000) });
    const errors: string[] = [];
    const sockets = new Set<unknown>();
    try {
      for (let i = 0; i < 40; i++) {
        try {
          const refused = [await send("credits/charge", "POST", big), await send("credits/charge", "POST", big, true)];
          expect(refused.map((r) => r.status)).toEqual([413, 413]);
          const after = await send("credits", "GET");
          expect(after.status).toBe(200);
          for (const r of [...refused, after]) sockets.add(r.socket);
        } catch (err) {
          errors.push(`round ${i}: ${(err as Error).message}`);
        }
      }
    } finally {
      agent.destroy();
    }
    expect(errors).toEqual([]);
    // One connection served every request: none was closed under the client.
    expect(sockets.size).toBe(1);
  });

  it("stay usable when the function resets its connection right after a whole answer", async () => {
    // A function process that answers before reading the body, then drops its connection hard (a runtime
    // resetting what it did not read, a crash): the gateway's request to it fails after the answer came whole,
    // which must cost the client neither that answer nor its connection. Here the function is a bare TCP
    // server doing exactly that.
    const refusal = JSON.stringify({ error: { code: "payload_too_large", message: "too large" } });
    const fn = createTcpServer((socket: Socket) => {
      let head = "";
      let answered = false;
      socket.on("error", () => {});
      socket.on("data", (d) => {
        if (answered) return;
        head += d.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        if (head.startsWith("GET")) {
          socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}");
          head = "";
          return;
        }
        answered = true;
        socket.write(`HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\ncontent-length: ${refusal.length}\r\n` +
          `connection: close\r\n\r\n${refusal}`, () => setTimeout(() => socket.resetAndDestroy(), 2));
      });
    });
    await new Promise<void>((r) => fn.listen(0, "127.0.0.1", r));
    const fnPort = (fn.address() as { port: number }).port;
    const gw = createGateway({ target: () => ({ port: fnPort, verifyJwt: false }) }, stack().jwtSecret);
    const port = await freePort();
    await listen(gw, port);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method: string, body?: string) => sendOver(agent, new URL(`http://127.0.0.1:${port}/functions/v1/fn`), method, body);
    const errors: string[] = [];
    const sockets = new Set<unknown>();
    try {
      for (let i = 0; i < 40; i++) {
        try {
          const refused = await send("POST", "x".repeat(1_000_000));
          const after = await send("GET");
          expect([refused.status, after.status]).toEqual([413, 200]);
          sockets.add(refused.socket).add(after.socket);
        } catch (err) {
          errors.push(`round ${i}: ${(err as Error).message}`);
        }
      }
    } finally {
      agent.destroy();
      gw.closeAllConnections();
      await new Promise((r) => gw.close(r));
      await new Promise((r) => fn.close(r));
    }
    expect(errors).toEqual([]);
    expect(sockets.size).toBe(1);
  });
});
