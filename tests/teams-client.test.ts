// src/client's teams helpers: the real supabase-js `.rpc()` against a local server speaking PostgREST's RPC
// wire format over the test database (tests/support/postgrest-rpc-server.ts), as a frontend would drive them:
// an owner creates a team and invites by email and by link, the invitees accept (or cannot), members are
// managed, and every refusal arrives as a SaasbaseError with the SQL API's code and status.
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
const mail = () => `client-teams-${crypto.randomUUID()}@test.local`;

describe("src/client teams", () => {
  it("create, invite by email and by link, accept, manage members, leave, delete", async () => {
    const ownerMail = mail();
    const owner = await createUser(sql, ownerMail);
    const invitee = await createUser(sql, mail());
    const [{ email: inviteeMail }] = await sql`select email from auth.users where id = ${invitee.id}`;
    const stranger = await createUser(sql, mail());
    const o = clientFor(owner.token);

    const slug = `client-${crypto.randomUUID().slice(0, 8)}`;
    const team = await o.teams.create({ name: "Client Team", slug });
    expect(team.error).toBeNull();
    expect(team.data).toMatchObject({ kind: "team", name: "Client Team", slug, created_by: owner.id });
    const account = team.data!.id;

    const taken = await o.teams.create({ name: "Again", slug });
    expect(taken.error).toMatchObject({ status: 409, code: "slug_taken" });

    const byMail = await o.teams.invitations.create({ account, role: "member", email: inviteeMail });
    expect(byMail.data).toMatchObject({ account_id: account, email: inviteeMail, role: "member", max_uses: 1 });
    expect(byMail.data!.token).toMatch(/^sbi_[0-9a-f]{64}$/);
    const byLink = await o.teams.invitations.create({ account, role: "billing" });
    expect(byLink.data).toMatchObject({ email: null, role: "billing" });

    // The stranger holds the email invitation's token: not theirs. A guessed token: not found.
    const s = clientFor(stranger.token);
    expect((await s.teams.invitations.accept(byMail.data!.token)).error).toMatchObject({ status: 403, code: "invitation_forbidden" });
    expect((await s.teams.invitations.accept(`sbi_${"f".repeat(64)}`)).error).toMatchObject({ status: 404, code: "invitation_not_found" });
    expect((await s.teams.invitations.create({ account, role: "member" })).error).toMatchObject({ status: 404, code: "account_not_found" });

    const i = clientFor(invitee.token);
    const joined = await i.teams.invitations.accept(byMail.data!.token);
    expect(joined.data).toMatchObject({ account_id: account, user_id: invitee.id, role: "member" });
    expect((await i.teams.invitations.accept(byMail.data!.token)).error).toMatchObject({ status: 410, code: "invitation_closed" });
    expect((await s.teams.invitations.accept(byLink.data!.token)).data).toMatchObject({ user_id: stranger.id, role: "billing" });

    // The list a team page shows: names for everyone, emails for the owner (who may manage members) only.
    expect((await o.teams.members.list(account)).data?.map((m) => [m.user_id, m.role, m.email])).toEqual([
      [owner.id, "owner", ownerMail], [invitee.id, "member", inviteeMail], [stranger.id, "billing", expect.any(String)],
    ]);
    expect((await i.teams.members.list(account)).data?.map((m) => [m.user_id, m.email])).toEqual([
      [owner.id, null], [invitee.id, null], [stranger.id, null],
    ]);
    expect((await clientFor((await createUser(sql, mail())).token).teams.members.list(account)).error)
      .toMatchObject({ status: 404, code: "account_not_found" });

    // Members: a cap, a role, a removal; the owner cannot leave as the last owner.
    expect((await o.teams.members.setSpendCap({ account, user_id: invitee.id, monthly_credits: 250 })).data)
      .toMatchObject({ monthly_spend_cap: 250 });
    expect((await o.teams.members.setSpendCap({ account, user_id: invitee.id, monthly_credits: null })).data)
      .toMatchObject({ monthly_spend_cap: null });
    expect((await o.teams.members.update({ account, user_id: invitee.id, role: "admin" })).data).toMatchObject({ role: "admin" });
    expect((await i.teams.members.remove({ account, user_id: owner.id })).error).toMatchObject({ status: 403, code: "account_forbidden" });
    expect((await o.teams.leave(account)).error).toMatchObject({ status: 409, code: "last_owner" });
    expect((await i.teams.members.remove({ account, user_id: stranger.id })).data).toMatchObject({ user_id: stranger.id });

    // A revoked link; a rename; the ownership handed over; the old owner leaves; the new one deletes.
    const spare = await o.teams.invitations.create({ account, role: "member" });
    expect((await o.teams.invitations.revoke(spare.data!.invitation_id)).data?.revoked_at).toBeTruthy();
    expect((await o.teams.update(account, { name: "Renamed" })).data).toMatchObject({ name: "Renamed", slug });
    expect((await o.teams.transferOwnership({ account, user_id: invitee.id })).data).toMatchObject({ role: "owner" });
    expect((await o.teams.leave(account)).data).toMatchObject({ user_id: owner.id, role: "admin" });
    expect((await i.teams.del(account)).data).toMatchObject({ id: account });
    const [{ n }] = await sql`select count(*)::int as n from public.accounts where id = ${account}`;
    expect(n).toBe(0);
  });

  it("declining, and what anonymous callers get", async () => {
    const owner = await createUser(sql, mail());
    const invitee = await createUser(sql, mail());
    const [{ email }] = await sql`select email from auth.users where id = ${invitee.id}`;
    const o = clientFor(owner.token);
    const { data: team } = await o.teams.create({ name: "Decline", slug: `decline-${crypto.randomUUID().slice(0, 8)}` });
    const { data: invitation } = await o.teams.invitations.create({ account: team!.id, role: "member", email });
    const declined = await clientFor(invitee.token).teams.invitations.decline(invitation!.token);
    expect(declined.data?.declined_at).toBeTruthy();
    expect((await clientFor(invitee.token).teams.invitations.accept(invitation!.token)).error)
      .toMatchObject({ status: 410, code: "invitation_closed" });
    // Signed out (the anon key alone): the API roles' grants refuse it (Postgres 42501, the client's forbidden).
    expect((await clientFor().teams.create({ name: "Anon", slug: "anon-team" })).error).toMatchObject({ code: "forbidden" });
    const [{ n }] = await sql`select count(*)::int as n from public.accounts where slug = 'anon-team'`;
    expect(n).toBe(0);
  });
});
