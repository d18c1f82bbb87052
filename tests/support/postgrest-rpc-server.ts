// A local server speaking PostgREST's RPC wire format (POST /rest/v1/rpc/<function> with the arguments as a
// JSON object of their names), so the real supabase-js `.rpc()` of src/client talks to it as to a Supabase
// project's /rest/v1 (which only `supabase start` runs). It does what PostgREST does for a call: verifies the
// JWT with the project's secret, runs the function in a transaction as the token's role with its claims in
// `request.jwt.claims`, passes only the arguments given (so SQL defaults apply), answers a function returning
// one row with that row as an object (a set as an array), and a refusal with PostgREST's error body
// `{ code, details, hint, message }` and status (SQLSTATE PTxyz: xyz; 42501: 401 for anon, else 403).
// Given the stack's functions URL, it passes /functions/v1/<name> on to them, as a project's URL serves both
// (src/client's team helpers call the seats function after a membership change).
import { createServer, type Server } from "node:http";
import postgres from "postgres";
import { verifyJwt } from "../../src/local/jwt.ts";
import { freePort } from "../../src/local/functions.ts";

function statusOf(code: string, role: string): number {
  const pt = /^PT(\d{3})$/.exec(code);
  if (pt) return Number(pt[1]);
  if (code === "42501") return role === "anon" ? 401 : 403;
  if (code === "42883") return 404;
  if (code === "23505") return 409;
  if (code.startsWith("22") || code.startsWith("23")) return 400;
  return code === "P0001" ? 400 : 500;
}

export async function startPostgrestRpcServer(
  dbUrl: string,
  jwtSecret: string,
  functionsUrl?: string,
): Promise<{ url: string; stop(): Promise<void> }> {
  const sql = postgres(dbUrl, { max: 4, onnotice: () => {} });
  const server: Server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (functionsUrl && path.startsWith("/functions/v1/")) {
      let sent = "";
      for await (const chunk of req) sent += chunk;
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "content-length") headers.set(k, v);
      const answer = await fetch(functionsUrl + req.url!.slice("/functions/v1".length), {
        method: req.method, headers, body: req.method === "GET" || req.method === "HEAD" ? undefined : sent,
      });
      res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" });
      return res.end(Buffer.from(await answer.arrayBuffer()));
    }
    const fn = /^\/rest\/v1\/rpc\/([a-z_][a-z0-9_]*)$/.exec(path)?.[1];
    if (req.method !== "POST" || !fn) return send(404, { code: "PGRST202", details: null, hint: null, message: "not found" });
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const token = (req.headers.authorization ?? "").replace(/^Bearer /, "") || String(req.headers.apikey ?? "");
    const claims = await verifyJwt(token, jwtSecret);
    if (!claims?.role) return send(401, { code: "PGRST301", details: null, hint: null, message: "JWT invalid" });
    const role = claims.role;
    const args = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
    try {
      const [proc] = await sql`select p.proretset as set, coalesce(array_agg(a.name order by a.n) filter (where a.name is not null), '{}') as names,
          coalesce(array_agg(format_type(a.type, null) order by a.n) filter (where a.name is not null), '{}') as types
        from pg_proc p left join lateral unnest(p.proargnames, p.proargtypes::oid[]) with ordinality a(name, type, n) on true
        where p.pronamespace = 'public'::regnamespace and p.proname = ${fn} group by p.oid, p.proretset`;
      if (!proc) return send(404, { code: "PGRST202", details: null, hint: null, message: `no function ${fn}` });
      const given = (proc.names as string[]).map((n, i) => [n, (proc.types as string[])[i]] as const).filter(([n]) => n in args);
      const cols = given.map(([n, t]) => `"${n}" ${t}`).join(", ");
      const call = given.map(([n]) => `"${n}" => x."${n}"`).join(", ");
      const rows = await sql.begin(async (tx) => {
        await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true), set_config('role', ${role}, true)`;
        // A call without arguments binds none (Postgres refuses a parameter the statement does not use).
        return given.length
          ? tx.unsafe(`select to_jsonb(r) as r from jsonb_to_record($1::text::jsonb) as x(${cols}), public."${fn}"(${call}) r`,
            [JSON.stringify(args)])
          : tx.unsafe(`select to_jsonb(r) as r from public."${fn}"() r`);
      });
      const values = rows.map((r) => r.r);
      send(200, proc.set ? values : values[0] ?? null);
    } catch (err) {
      const e = err as { code?: string; message: string; detail?: string; hint?: string };
      const code = e.code ?? "XX000";
      send(statusOf(code, role), { code, details: e.detail ?? null, hint: e.hint ?? null, message: e.message });
    }
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sql.end();
    },
  };
}
