// The team API raced against itself on the real database: the rules that a check-then-write would break
// under concurrency hold because every membership change takes the team's account row first. Two owners
// removing or demoting each other at once (one owner always survives), acceptances racing for the last seats
// (the plan's limit holds), and one link token accepted by many at once (it is used once).
import { afterAll, describe, expect, it } from "vitest";
import type postgres from "postgres";
import { asUser, connectDb, createUser } from "./support/stack.ts";

const sql = connectDb(40);
afterAll(() => sql.end());

const mail = () => `teams-${crypto.randomUUID()}@test.local`;
const slug = () => `race-${crypto.randomUUID().slice(0, 12)}`;
const codes = (results: PromiseSettledResult<unknown>[]) =>
  results.flatMap((r) => r.status === "rejected" ? [`${r.reason.code} ${r.reason.detail}`] : []);
const fulfilled = (results: PromiseSettledResult<unknown>[]) => results.filter((r) => r.status === "fulfilled").length;

/** A team of `owner`'s, on a plan of its own allowing `maxSeats` members (null: any number). */
async function team(owner: string, maxSeats: number | null = null): Promise<string> {
  const [{ id }] = await asUser(sql, owner, (tx) => tx`select (public.create_team('Race', ${slug()})).id`);
  {
    const plan = `t_seats_${crypto.randomUUID().slice(0, 8)}`;
    await sql`insert into public.plans (id, name, price_monthly_cents, max_seats) values (${plan}, 'seats', 0, ${maxSeats})`;
    await sql`update public.accounts set plan_id = ${plan} where id = ${id}`;
  }
  return id;
}

async function owners(account: string): Promise<string[]> {
  return (await sql`select user_id from public.account_members where account_id = ${account} and role = 'owner'`)
    .map((r) => r.user_id);
}

const invite = (user: string, account: string, email: string | null = null) =>
  asUser(sql, user, async (tx) =>
    (await tx`select token from public.invite_member(${account}, 'member', ${email})`)[0].token as string);
const accept = (user: string, token: string) =>
  asUser(sql, user, (tx: postgres.TransactionSql) => tx`select public.accept_invitation(${token})`);

describe("teams under concurrency", () => {
  it("two owners removing each other at once: one succeeds, the other is no member any more; one owner is left", async () => {
    for (let round = 0; round < 10; round++) {
      const a = (await createUser(sql, mail())).id;
      const b = (await createUser(sql, mail())).id;
      const account = await team(a);
      await sql`insert into public.account_members (account_id, user_id, role) values (${account}, ${b}, 'owner')`;
      const results = await Promise.allSettled([
        asUser(sql, a, (tx) => tx`select public.remove_member(${account}, ${b})`),
        asUser(sql, b, (tx) => tx`select public.remove_member(${account}, ${a})`),
      ]);
      expect(fulfilled(results)).toBe(1);
      expect(codes(results)).toEqual(["PT404 account_not_found"]);
      const left = await owners(account);
      expect(left).toHaveLength(1);
      expect([a, b]).toContain(left[0]);
    }
  });

  it("two owners demoting each other at once: one owner is left, never none", async () => {
    for (let round = 0; round < 10; round++) {
      const a = (await createUser(sql, mail())).id;
      const b = (await createUser(sql, mail())).id;
      const account = await team(a);
      await sql`insert into public.account_members (account_id, user_id, role) values (${account}, ${b}, 'owner')`;
      const results = await Promise.allSettled([
        asUser(sql, a, (tx) => tx`select public.set_member_role(${account}, ${b}, 'member')`),
        asUser(sql, b, (tx) => tx`select public.set_member_role(${account}, ${a}, 'member')`),
        // And each trying to leave as well: at most one of the two may go.
        asUser(sql, a, (tx) => tx`select public.leave_team(${account})`),
        asUser(sql, b, (tx) => tx`select public.leave_team(${account})`),
      ]);
      // Whoever went first, the others find it done: no right left, no membership left, or the last owner.
      for (const code of codes(results)) {
        expect(code).toMatch(/^PT(403 account_forbidden|404 account_not_found|404 member_not_found|409 last_owner)$/);
      }
      expect(await owners(account)).toHaveLength(1);
    }
  });

  it("eight invitations accepted at once with two seats left: exactly two join", async () => {
    const owner = (await createUser(sql, mail())).id;
    const account = await team(owner, 3);
    const invitees = await Promise.all(Array.from({ length: 8 }, () => createUser(sql, mail())));
    const tokens: string[] = [];
    for (const _ of invitees) tokens.push(await invite(owner, account));
    const results = await Promise.allSettled(invitees.map((u, i) => accept(u.id, tokens[i])));
    expect(fulfilled(results)).toBe(2);
    expect(codes(results)).toEqual(Array(6).fill("PT409 seat_limit_reached"));
    const [{ n }] = await sql`select count(*)::int as n from public.account_members where account_id = ${account}`;
    expect(n).toBe(3);
  });

  it("one single-use link accepted by ten people at once, and twice by one of them: one joins, once", async () => {
    const owner = (await createUser(sql, mail())).id;
    const account = await team(owner);
    const token = await invite(owner, account);
    const people = await Promise.all(Array.from({ length: 10 }, () => createUser(sql, mail())));
    const results = await Promise.allSettled([...people, people[0]].map((u) => accept(u.id, token)));
    expect(fulfilled(results)).toBe(1);
    for (const code of codes(results)) expect(code).toMatch(/^PT(410 invitation_closed|409 already_member)$/);
    const [inv] = await sql`select uses, accepted_by from public.account_invitations
      where account_id = ${account} and email is null`;
    expect(inv.uses).toBe(1);
    const members = await sql`select user_id from public.account_members where account_id = ${account} and user_id <> ${owner}`;
    expect(members.map((m) => m.user_id)).toEqual([inv.accepted_by]);
  });

  it("the seat marker counts every membership change, however they race", async () => {
    const owner = (await createUser(sql, mail())).id;
    const account = await team(owner);
    const [{ seat_version: before }] = await sql`select seat_version from public.accounts where id = ${account}`;
    await sql`update saasbase.settings set reusable_link_invitations = true`;
    let token: string;
    try {
      token = await invite(owner, account);
    } finally {
      await sql`update saasbase.settings set reusable_link_invitations = false`;
    }
    const people = await Promise.all(Array.from({ length: 6 }, () => createUser(sql, mail())));
    await Promise.all(people.map((u) => accept(u.id, token)));
    await Promise.all(people.slice(0, 3).map((u) => asUser(sql, u.id, (tx) => tx`select public.leave_team(${account})`)));
    const [after] = await sql`select seat_version, seats_changed_at from public.accounts where id = ${account}`;
    expect(Number(after.seat_version) - Number(before)).toBe(9);
    expect(after.seats_changed_at).not.toBeNull();
  });
});
