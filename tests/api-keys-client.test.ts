// src/client's API key helpers: the real supabase-js `.rpc()` against the local PostgREST-RPC server over the
// test database (tests/support/postgrest-rpc-server.ts), as a settings page drives them: create (the key shown
// once), list (never the key nor its hash), rename, revoke; a team's keys as its owner and a member see them;
// refusals as SaasbaseErrors with the SQL API's code and status.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSaasbaseClient } from "../src/client/index.ts";
import { startPostgrestRpcServer } from "./support/postgrest-rpc-server.ts";
import { connectDb, createUser, stack } from "./support/stack.ts";

const sql = connectDb();
let rest: Awaited<ReturnType<typeof startPostgrestRpcServer>>;
beforeAll(async () => {
  rest = await startPostgrestRpcServer(stack().dbUrl, stack().jwtSecret);
});
afterAll(async () => {
  await rest?.stop();
  await sql.end();
});

const clientFor = (token?: string) =>
  createSaasbaseClient(rest.url, stack().anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: token ? { headers: { Authorization: `Bearer ${token}` } } : undefined,
  });
const mail = () => `client-keys-${crypto.randomUUID()}@test.local`;

describe("src/client apiKeys", () => {
  it("create (shown once), list, rename, revoke; a team's keys; refusals", async () => {
    const owner = await createUser(sql, mail());
    const member = await createUser(sql, mail());
    const o = clientFor(owner.token);
    const m = clientFor(member.token);

    const personal = await o.apiKeys.create({ name: "Laptop" });
    expect(personal.error).toBeNull();
    expect(personal.data!.key).toMatch(/^sbk_live_[0-9A-Za-z]{40}$/);
    expect(personal.data).toMatchObject({ name: "Laptop", account_id: owner.id, user_id: owner.id, scopes: null });
    expect(personal.data!.prefix).toBe(personal.data!.key.slice(0, 12));

    const team = await o.teams.create({ name: "Keys", slug: `keys-${crypto.randomUUID().slice(0, 8)}` });
    const account = team.data!.id;
    await sql`insert into public.account_members (account_id, user_id, role) values (${account}, ${member.id}, 'member')`;
    const expires = new Date(Date.now() + 86_400_000).toISOString();
    const memberKey = await m.apiKeys.create({ name: "MCP", scopes: ["mcp"], expires_at: expires, account });
    expect(memberKey.data).toMatchObject({ account_id: account, user_id: member.id, scopes: ["mcp"] });

    // Lists: never the key, never a hash.
    const mine = await o.apiKeys.list();
    expect(mine.data!.map((k) => k.id)).toEqual([personal.data!.id]);
    expect(JSON.stringify(mine.data)).not.toContain(personal.data!.key);
    expect(Object.keys(mine.data![0])).not.toContain("key_hash");
    // The owner (manage_members) sees the member's key on the team; the member sees their own there.
    expect((await o.apiKeys.list({ account })).data!.map((k) => k.id)).toEqual([memberKey.data!.id]);
    expect((await m.apiKeys.list({ account })).data!.map((k) => k.id)).toEqual([memberKey.data!.id]);
    expect((await m.apiKeys.list({ account: owner.id })).data).toEqual([]);

    expect((await m.apiKeys.rename(memberKey.data!.id, "Cursor")).data).toMatchObject({ name: "Cursor" });
    expect((await m.apiKeys.revoke(personal.data!.id)).error).toMatchObject({ status: 404, code: "api_key_not_found" });
    const revoked = await o.apiKeys.revoke(memberKey.data!.id);
    expect(revoked.data!.revoked_at).not.toBeNull();

    expect((await o.apiKeys.create({ name: "" })).error).toMatchObject({ status: 422, code: "invalid_api_key_input" });
    expect((await m.apiKeys.create({ name: "x", account: owner.id })).error)
      .toMatchObject({ status: 404, code: "account_not_found" });
  });
});
