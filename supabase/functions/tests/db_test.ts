// The functions' database pool: named prepared statements on a direct connection (one round trip per query),
// off behind the transaction pooler, which cannot keep them.
import assert from "node:assert/strict";
import type { Caller } from "../_shared/auth.ts";
import { callAsCaller, db, usePreparedStatements } from "../_shared/db.ts";

Deno.test("prepared statements: on for a direct or session-mode URL, off for the transaction pooler", () => {
  assert.equal(
    usePreparedStatements("postgresql://postgres:pw@db.abc.supabase.co:5432/postgres", undefined),
    true,
  );
  assert.equal(
    usePreparedStatements("postgres://postgres:postgres@127.0.0.1:54322/postgres", undefined),
    true,
  );
  assert.equal(
    usePreparedStatements(
      "postgres://postgres.abc:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres",
      undefined,
    ),
    false,
  );
  assert.equal(
    usePreparedStatements("postgres://u:pw@pgbouncer.internal:5432/db?pgbouncer=true", undefined),
    false,
  );
  assert.equal(usePreparedStatements("postgres://u:pw@h:6543/db", "true"), true, "the setting wins");
  assert.equal(usePreparedStatements("postgres://u:pw@h:5432/db", "false"), false, "the setting wins");
  assert.equal(
    usePreparedStatements("not a url", undefined),
    false,
    "unreadable: the setting that works everywhere",
  );
});

Deno.test({
  name: "callAsCaller: one statement runs as the caller, and the caller's claims end with it",
  ignore: !Deno.env.get("SUPABASE_DB_URL"),
  async fn() {
    // One connection in the pool (the first db() call creates it): the next query runs on the same one.
    Deno.env.set("SAASBASE_DB_POOL_SIZE", "1");
    const user = crypto.randomUUID();
    const caller: Caller = {
      role: "authenticated",
      userId: user,
      claims: { role: "authenticated", sub: user },
    };
    const seen = await callAsCaller<{ uid: string; role: string }>(
      caller,
      (sql) => sql`jsonb_build_object('uid', auth.uid(), 'role', auth.role())`,
    );
    assert.deepEqual(seen, { uid: user, role: "authenticated" });
    const [{ claims }] = await db()`select nullif(current_setting('request.jwt.claims', true), '') as claims`;
    assert.equal(claims, null, "the next statement on the connection is nobody's");
    // A refusal of the SQL API is the caller's own (PT401 would mean the claims were not set yet).
    await assert.rejects(
      callAsCaller(caller, (sql) => sql`public.charge_credits('no_such_feature', 1, 'k')`),
      (err: { code?: string }) => err.code === "PT404",
    );
  },
});

Deno.test({
  name: "a parameterized query on the local (direct) database runs as a named prepared statement",
  ignore: !Deno.env.get("SUPABASE_DB_URL"),
  async fn() {
    const conn = await db().reserve();
    try {
      await conn`select ${"prepared"}::text as probe`;
      const [{ n }] = await conn`select count(*)::int as n from pg_prepared_statements
        where statement like 'select $1::text as probe%'`;
      assert.equal(n, 1);
    } finally {
      conn.release();
      await db().end();
    }
  },
});
