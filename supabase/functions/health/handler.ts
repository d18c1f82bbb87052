// GET /health: is the database reachable, and which integrations have their secrets set (with the service key:
// also which secrets are missing and the AI base URLs in use). 200 when the database answers, 503 when it
// does not; the body is JSON either way.
import { hasServiceKey } from "../_shared/auth.ts";
import { config } from "../_shared/config.ts";
import { db, type Sql } from "../_shared/db.ts";
import { MethodNotAllowedError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { integrationStatus } from "../_shared/integrations.ts";

const DB_TIMEOUT_MS = 2_000;

export interface DatabaseStatus {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

/** Round-trips a query; a failure or a stall past DB_TIMEOUT_MS counts as down. */
export async function checkDatabase(sql: Sql): Promise<DatabaseStatus> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${DB_TIMEOUT_MS} ms`)), DB_TIMEOUT_MS);
    });
    await Promise.race([sql`select 1`, timeout]);
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    // The reason class only: connection strings and hostnames stay out of a public endpoint.
    const error = err instanceof Error && err.message.startsWith("no answer") ? "timeout" : "unreachable";
    return { ok: false, latencyMs: Math.round(performance.now() - started), error };
  } finally {
    clearTimeout(timer);
  }
}

export const handler = withHttp(async (req) => {
  if (req.method !== "GET") throw new MethodNotAllowedError(req.method);
  const database = await checkDatabase(db());
  return json(
    {
      status: database.ok ? "ok" : "unavailable",
      product: config.product.name,
      time: new Date().toISOString(),
      database,
      integrations: integrationStatus(config, (name) => Deno.env.get(name), await hasServiceKey(req)),
    },
    database.ok ? 200 : 503,
  );
});
