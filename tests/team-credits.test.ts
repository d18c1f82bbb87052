// Team wallets end to end: the credits and chat functions acting for the account named in X-Account-Id (real
// Deno behind the gateway, the real ledger), what a non-member, a billing member and a malformed header get, and
// members' charges and reservations racing on one team wallet under their monthly spending caps.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asUser, callFunction, connectDb, createFeature, createUser } from "./support/stack.ts";
import { readSse } from "./support/sse.ts";

const sql = connectDb(40);
afterAll(() => sql.end());

type User = { id: string; token: string };
const newUser = (name: string) => createUser(sql, `${name}-${crypto.randomUUID()}@test.local`);

/** A team owned by `owner`, made through the SQL API, with `members` added in their roles (as the service role:
 * the invitation API is the teams domain's) and `credits` in its wallet. */
async function team(owner: User, members: [User, string, number | null][], credits: number): Promise<string> {
  const slug = `t-${crypto.randomUUID().slice(0, 8)}`;
  const [{ id }] = await asUser(sql, owner.id, (tx) => tx`select (public.create_team('Team', ${slug})).id`);
  for (const [m, role, cap] of members) {
    await sql`insert into public.account_members (account_id, user_id, role, monthly_spend_cap) values (${id}, ${m.id}, ${role}, ${cap})`;
  }
  await sql`select public.service_role_grant_credits(${id}, ${credits}, 'grant', 'team credits')`;
  return id as string;
}

async function money(account: string) {
  const [w] = await sql`select balance::int, reserved::int from public.wallets where account_id = ${account}`;
  const [l] = await sql`select coalesce(sum(amount), 0)::int as sum, count(*)::int as rows from public.credit_ledger
    where account_id = ${account}`;
  return { balance: w.balance as number, reserved: w.reserved as number, ledgerSum: l.sum as number, rows: l.rows as number };
}

const charge = (user: User, body: object, account?: string) =>
  callFunction("credits/charge", {
    method: "POST",
    token: user.token,
    headers: { "content-type": "application/json", ...(account === undefined ? {} : { "x-account-id": account }) },
    body: JSON.stringify(body),
  });
const wallet = (user: User, account?: string) =>
  callFunction("credits", { token: user.token, headers: account === undefined ? {} : { "x-account-id": account } });
const chat = (user: User, body: object, account?: string) =>
  callFunction("chat", {
    method: "POST",
    token: user.token,
    headers: { "content-type": "application/json", ...(account === undefined ? {} : { "x-account-id": account }) },
    body: JSON.stringify(body),
  });

describe("X-Account-Id through the credits and chat functions", () => {
  let owner: User, member: User, payer: User, outsider: User;
  let acme: string;
  let feature: string;

  beforeAll(async () => {
    [owner, member, payer, outsider] = await Promise.all(["owner", "member", "payer", "outsider"].map(newUser));
    feature = await createFeature(sql, 5);
    acme = await team(owner, [[member, "member", 30], [payer, "billing", null]], 200);
    // Every chat message paid, on the team's plan.
    await sql`insert into public.plans (id, name, price_monthly_cents) values ('t_chat_paid', 'Paid chat', 100) on conflict do nothing`;
    await sql`update public.accounts set plan_id = 't_chat_paid' where id = ${acme}`;
  });

  it("a member charges the team wallet; their personal wallet is untouched and the ledger names them", async () => {
    const personal = await money(member.id);
    const res = await charge(member, { feature, quantity: 2, idempotency_key: "team-1" }, acme);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ credits_charged: 10, balance: 190, replayed: false });
    expect(await money(member.id)).toEqual(personal);
    expect(await money(acme)).toMatchObject({ balance: 190, ledgerSum: 190 });

    const read = await wallet(member, acme);
    expect(read.status).toBe(200);
    const body = await read.json();
    expect(body).toMatchObject({ balance: 190, spend_cap: 30, spend_left: 20 });
    expect(body.ledger[0]).toMatchObject({ kind: "charge", amount: -10, feature, actor_id: member.id });
    // Without the header: the personal wallet, as before.
    expect((await (await wallet(member)).json()).balance).toBe(personal.balance);
  });

  it("past the member's monthly cap: 402 spend_cap_reached, nothing charged", async () => {
    const before = await money(acme);
    const res = await charge(member, { feature, quantity: 5, idempotency_key: "team-cap" }, acme);
    expect(res.status).toBe(402);
    expect((await res.json()).error.code).toBe("spend_cap_reached");
    expect(await money(acme)).toEqual(before);
    // The owner has no cap.
    expect((await charge(owner, { feature, quantity: 5, idempotency_key: "owner-1" }, acme)).status).toBe(200);
  });

  it("a non-member gets 404 account_not_found, a billing member 403 account_forbidden; nothing changes", async () => {
    const before = await money(acme);
    for (const [who, status, code] of [[outsider, 404, "account_not_found"], [payer, 403, "account_forbidden"]] as const) {
      const res = await charge(who, { feature, idempotency_key: `no-${code}` }, acme);
      expect(res.status).toBe(status);
      expect((await res.json()).error.code).toBe(code);
      const talk = await chat(who, { message: "hello team" }, acme);
      expect(talk.status).toBe(status);
      expect((await talk.json()).error.code).toBe(code);
    }
    const read = await wallet(outsider, acme);
    expect(read.status).toBe(404);
    expect((await read.json()).error.code).toBe("account_not_found");
    expect((await wallet(payer, acme)).status).toBe(200); // reading needs membership only
    expect(await money(acme)).toEqual(before);
    const [{ n }] = await sql`select count(*)::int as n from public.conversations where user_id in (${outsider.id}, ${payer.id})`;
    expect(n).toBe(0);
  });

  it("a malformed X-Account-Id is 422 JSON on every route, and changes nothing", async () => {
    const before = await money(member.id);
    for (const res of [
      await charge(member, { feature, idempotency_key: "bad-hdr" }, "not-a-uuid"),
      await wallet(member, "not-a-uuid"),
      await chat(member, { message: "hi" }, "42"),
    ]) {
      expect(res.status).toBe(422);
      expect((await res.json()).error.code).toBe("validation_failed");
    }
    expect(await money(member.id)).toEqual(before);
  });

  it("a member's chat message is paid from the team wallet; the conversation stays theirs", async () => {
    const personal = await money(member.id);
    const before = await money(acme);
    const res = await chat(member, { message: "Hi team" }, acme);
    expect(res.status).toBe(200);
    const events = await readSse(res);
    const done = events.at(-1)!;
    expect(done.event).toBe("done");
    expect(done.data.credits_charged).toBeGreaterThan(0);
    const after = await money(acme);
    expect(after.balance).toBe(before.balance - done.data.credits_charged);
    expect(after).toMatchObject({ reserved: 0, ledgerSum: after.balance });
    expect(await money(member.id)).toEqual(personal);
    const rows = await sql`select kind, actor_id from public.credit_ledger where account_id = ${acme} and feature_id = 'chat' order by id`;
    expect(rows.map((r) => [r.kind, r.actor_id])).toEqual([["reserve", member.id], ["settle", member.id]]);
    const [conv] = await sql`select user_id from public.conversations where id = ${events[0].data.conversation_id}`;
    expect(conv.user_id).toBe(member.id);
  });
});

describe("members racing on one team wallet", () => {
  // 6 members (5 capped) each send 24 operations at once: charges of 2, and holds of 4 settled at 0..4 or
  // released. With 1,000 credits only the caps bind; with 120 the balance binds, and the caps may too (whether a
  // member reaches theirs before the wallet is empty depends on how the operations interleave).
  for (
    const [credits, binds, codes] of [
      [1000, "spend_cap_reached", ["spend_cap_reached"]],
      [120, "insufficient_credits", ["insufficient_credits", "spend_cap_reached"]],
    ] as const
  ) {
    it(`on ${credits} credits: never past a member's cap or the balance, ledger = balance`, async () => {
      const owner = await newUser("race-owner");
      const members = await Promise.all(Array.from({ length: 6 }, (_, i) => newUser(`race-${i}`)));
      const caps = [40, 40, 40, 30, 30, null];
      const acme = await team(owner, members.map((m, i) => [m, "member", caps[i]] as [User, string, number | null]), credits);
      const feature = await createFeature(sql, 2);

      const refusals: string[] = [];
      await Promise.all(members.map((m, i) =>
        Promise.all(Array.from({ length: 24 }, async (_, j) => {
          try {
            if (j % 3 === 0) {
              // The settlement fixed by i and j, so a failure repeats.
              const held = await asUser(sql, m.id, async (tx) =>
                (await tx`select to_jsonb(public.reserve_credits(${feature}, 1, ${`r-${i}-${j}`}, 4, ${acme})) as r`)[0].r);
              if ((i + j) % 4 === 0) {
                await asUser(sql, m.id, (tx) => tx`select public.release_reservation(${held.reservation_id}, ${acme})`);
              } else {
                await asUser(sql, m.id, (tx) =>
                  tx`select public.settle_reservation(${held.reservation_id}, ${(i + j) % 5}, ${acme})`);
              }
            } else {
              await asUser(sql, m.id, (tx) => tx`select public.charge_credits(${feature}, 1, ${`c-${i}-${j}`}, ${acme})`);
            }
          } catch (err) {
            const e = err as { code?: string; detail?: string };
            refusals.push(e.code === "PT402" ? e.detail! : String(err));
          }
        }))
      ));

      // Refused for want of what binds, and only of cap or credits, never anything else.
      expect(refusals).toContain(binds);
      expect(refusals.filter((r) => !(codes as readonly string[]).includes(r))).toEqual([]);
      const end = await money(acme);
      expect(end).toMatchObject({ reserved: 0, ledgerSum: end.balance });
      expect(end.balance).toBeGreaterThanOrEqual(0);
      // What each member spent (their ledger rows, net) is their month's counter, within their cap.
      const spent = await sql`select actor_id, -sum(amount)::int as spent from public.credit_ledger
        where account_id = ${acme} and actor_id is not null group by actor_id`;
      const counters = await sql`select user_id, spent::int from saasbase.member_spend where account_id = ${acme}`;
      for (const [i, m] of members.entries()) {
        const net = spent.find((r) => r.actor_id === m.id)?.spent ?? 0;
        expect(counters.find((c) => c.user_id === m.id)?.spent ?? 0).toBe(net);
        if (caps[i] !== null) expect(net).toBeLessThanOrEqual(caps[i]!);
      }
      expect(spent.reduce((s, r) => s + r.spent, 0)).toBe(credits - end.balance);
    });
  }
});
