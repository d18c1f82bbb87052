// The test stack's database runs with hosted Supabase's privileges, so that a migration or a test that needs
// more than a hosted project gives fails here first: the platform's superuser is supabase_admin, `postgres`
// (the role of `supabase db push` and of the functions) is not a superuser, `auth` belongs to GoTrue's role
// and takes no new objects from `postgres`, and sign-ups are inserted by GoTrue's role.
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { config } from "../supabase/functions/_shared/config.ts";
import { connectDb, createUser } from "./support/stack.ts";

const sql = connectDb();
afterAll(() => sql.end());

/** A rolled-back transaction as `postgres`: the statement's error code, or "ok". */
const attempt = (statements: string[]) =>
  sql.begin(async (tx) => {
    for (const s of statements) await tx.unsafe(s);
    throw Object.assign(new Error("rolled back"), { code: "ok" });
  }).catch((err: { code?: string }) => err.code);

describe("hosted Supabase's privileges on the test database", () => {
  it("has supabase_admin as its superuser and postgres with hosted's attributes, no superuser", async () => {
    const roles = await sql`select rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
      from pg_roles where rolname in ('postgres', 'supabase_admin') order by rolname`;
    expect(roles.map((r) => ({ ...r }))).toEqual([
      { rolname: "postgres", rolsuper: false, rolcreaterole: true, rolcreatedb: true, rolreplication: true, rolbypassrls: true },
      { rolname: "supabase_admin", rolsuper: true, rolcreaterole: true, rolcreatedb: true, rolreplication: true, rolbypassrls: true },
    ]);
    const [{ member }] = await sql`select pg_has_role('postgres', 'supabase_auth_admin', 'member') as member`;
    expect(member).toBe(false);
  });

  it("lets postgres put triggers on auth.users but create nothing in auth", async () => {
    const [{ owner }] = await sql`select nspowner::regrole::text as owner from pg_namespace where nspname = 'auth'`;
    expect(owner).toBe("supabase_auth_admin");
    expect(await attempt(["create table auth.saasbase_probe (id int)"])).toBe("42501");
    expect(await attempt(["create function auth.saasbase_probe() returns int language sql as 'select 1'"])).toBe("42501");
    expect(await attempt([
      "create function public.saasbase_probe() returns trigger language plpgsql as 'begin return new; end'",
      "create trigger saasbase_probe after insert on auth.users for each row execute function public.saasbase_probe()",
    ])).toBe("ok");
    // An extension only a superuser may create (Supabase lets postgres create it through its supautils).
    expect(await attempt(["create extension if not exists file_fdw"])).toBe("42501");
  });

  it("signs users up as supabase_auth_admin, which reaches the app's tables only through the triggers", async () => {
    const { id } = await createUser(sql, `hosted-${crypto.randomUUID()}@test.local`);
    const [row] = await sql`select p.id is not null as profile, w.balance::int as balance
      from public.profiles p join public.wallets w on w.account_id = p.id where p.id = ${id}`;
    expect(row).toEqual({ profile: true, balance: config.signupCredits });

    const authAdmin = postgres({ ...urlParts(), username: "supabase_auth_admin", max: 1, onnotice: () => {} });
    try {
      await expect(authAdmin`select balance from public.wallets where account_id = ${id}`).rejects.toMatchObject({ code: "42501" });
    } finally {
      await authAdmin.end();
    }
  });
});

function urlParts() {
  const { host, port, database } = sql.options;
  return { host: host[0], port: port[0], database, password: "postgres", ssl: false as const };
}
