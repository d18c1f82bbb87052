// The functions' database pool: named prepared statements on a direct connection (one round trip per query),
// off behind the transaction pooler, which cannot keep them.
import assert from "node:assert/strict";
import { db, usePreparedStatements } from "../_shared/db.ts";

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
