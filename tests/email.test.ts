// Mail delivery end to end, on the global stack: the outbox written in the business transaction (a replayed
// Stripe webhook queues one mail, a rolled-back invitation none), the send-email function draining it through
// Resend's API (the local server of tests/support/email-servers.ts) with the templates, concurrent runs sending
// each mail once, 429 and 5xx retried with backoff, a hard failure failed with its reason; delivery webhooks of
// Resend (Svix), Postmark (Basic credentials) and SendGrid (ECDSA) stored once each, bad signatures 400; a bounce
// suppressing the address so that its next mail is skipped; one-click unsubscribe (RFC 8058) for notification
// mail; the user's mail log through RLS.
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { emailServerClient, type MailState } from "./support/email-servers.ts";
import { postmarkHeaders, resendHeaders, sendgridHeaders } from "./support/email-webhooks.ts";
import { asUser, callFunction, connectDb, createUser, stack } from "./support/stack.ts";
import { deliverEvent, stripeEvent } from "./support/stripe-webhook.ts";

const sql = connectDb(8);
const mail = emailServerClient(stack().emailUrl);
afterAll(() => sql.end());

const uniq = () => crypto.randomUUID().slice(0, 8);

/** One run of the worker, as pg_cron or the local timer starts it. */
async function drain(body: Record<string, unknown> = {}) {
  const res = await callFunction("send-email", { method: "POST", token: stack().serviceRoleKey, body: JSON.stringify(body),
    headers: { "content-type": "application/json" } });
  expect(res.status).toBe(200);
  return await res.json() as { claimed: number; sent: number; retried: number; failed: number; suppressed: number };
}

const deliveredTo = (state: MailState, to: string) => state.delivered.filter((d) => d.to === to);

/** Makes a mail due now (a retry's backoff waited out). */
const dueNow = (id: number) => sql`update public.email_outbox set next_attempt_at = now() where id = ${id} and status = 'pending'`;

async function queue(userId: string | null, template: string, payload: Record<string, unknown>, to?: string) {
  const key = `t_email_${uniq()}`;
  const [row] = await sql`insert into public.email_outbox (user_id, template, dedupe_key, payload, to_email)
    values (${userId}, ${template}, ${key}, ${sql.json(payload as never)}, ${to ?? null}) returning id`;
  return Number(row.id);
}

const outbox = async (id: number) => (await sql`select * from public.email_outbox where id = ${id}`)[0];

beforeEach(async () => {
  await mail.reset();
});

describe("the outbox", () => {
  it("a replayed Stripe webhook queues one mail, sent once with the payment_failed template", async () => {
    const email = `pf-${uniq()}@test.local`;
    const user = await createUser(sql, email);
    const customer = `cus_mail_${uniq()}`;
    await sql`insert into public.customers (account_id, stripe_customer_id) values (${user.id}, ${customer})`;
    const invoice = { id: `in_mail_${uniq()}`, object: "invoice", customer, status: "open", amount_paid: 0, amount_due: 1900,
      currency: "usd", hosted_invoice_url: "https://invoice.stripe.test/i/1" };
    const event = stripeEvent("invoice.payment_failed", invoice);
    expect((await deliverEvent(stack().functionsUrl, event)).status).toBe(200);
    expect((await deliverEvent(stack().functionsUrl, event)).status).toBe(200); // the same event again
    expect((await deliverEvent(stack().functionsUrl, stripeEvent("invoice.payment_failed", invoice))).status).toBe(200);
    expect(await sql`select 1 from public.email_outbox where user_id = ${user.id} and template = 'payment_failed'`)
      .toHaveLength(1);

    await drain();
    await drain();
    const sent = deliveredTo(await mail.state(), email).filter((d) => d.tags.template === "payment_failed");
    expect(sent).toHaveLength(1);
    expect(sent[0].subject).toMatch(/payment failed/i);
    expect(sent[0].html).toContain("https://invoice.stripe.test/i/1");
    expect(sent[0].idempotencyKey).toMatch(/^outbox\/\d+$/);
    const [row] = await sql`select status, provider, provider_message_id, category, attempts from public.email_outbox
      where user_id = ${user.id} and template = 'payment_failed'`;
    expect(row).toEqual({ status: "sent", provider: "resend", provider_message_id: sent[0].id, category: "transactional",
      attempts: 1 });
  });

  it("a rolled-back transaction queues no mail", async () => {
    const owner = await createUser(sql, `rb-${uniq()}@test.local`);
    const invitee = `invitee-${uniq()}@test.local`;
    // The invitation's own transaction fails after invite_member queued its mail: the mail goes with it.
    const failed = await asUser(sql, owner.id, async (tx) => {
      const [{ id }] = await tx`select (public.create_team('Rollback', ${`rb-${uniq()}`})).id`;
      await tx`select public.invite_member(${id}, 'member', ${invitee})`;
      await tx`set local role postgres`;
      expect(await tx`select 1 from public.email_outbox where payload ->> 'email' = ${invitee}`).toHaveLength(1);
      throw new Error("rolled back");
    }).catch((err) => String(err));
    expect(failed).toContain("rolled back");
    expect(await sql`select 1 from public.email_outbox where payload ->> 'email' = ${invitee}`).toHaveLength(0);
    await drain();
    expect(deliveredTo(await mail.state(), invitee)).toHaveLength(0);
  });

  it("an invitation mail carries its link, and the outbox forgets the link once it is sent", async () => {
    const owner = await createUser(sql, `inv-${uniq()}@test.local`);
    const invitee = `invitee-${uniq()}@elsewhere.test`;
    const token = await asUser(sql, owner.id, async (tx) => {
      const [{ id }] = await tx`select (public.create_team('Mailers', ${`ml-${uniq()}`})).id`;
      const [{ token }] = await tx`select (public.invite_member(${id}, 'member', ${invitee})).token`;
      return token as string;
    });
    const [queued] = await sql`select id, payload ->> 'accept_url' as url from public.email_outbox where payload ->> 'email' = ${invitee}`;
    expect(queued.url).toContain(token);
    await drain();
    const [sent] = deliveredTo(await mail.state(), invitee);
    expect(sent.html).toContain(token);
    const row = await outbox(queued.id);
    expect(row.status).toBe("sent");
    expect(row.payload.accept_url).toBeNull();
    expect(JSON.stringify(row.payload)).not.toContain(token);
  });
});

describe("the worker", () => {
  it("concurrent runs send each mail once", async () => {
    const user = await createUser(sql, `many-${uniq()}@test.local`);
    const ids: number[] = [];
    for (let i = 0; i < 40; i++) ids.push(await queue(user.id, "welcome", { display_name: `N${i}` }, `many-${i}-${uniq()}@test.local`));
    await mail.latency(20);
    try {
      const reports = await Promise.all(Array.from({ length: 6 }, () => drain()));
      expect(reports.reduce((n, r) => n + r.sent, 0)).toBeGreaterThanOrEqual(40);
    } finally {
      await mail.latency(0);
    }
    const state = await mail.state();
    const rows = await sql`select id, status, to_email, provider_message_id from public.email_outbox where id = any(${ids})`;
    expect(rows.every((r) => r.status === "sent")).toBe(true);
    for (const r of rows) {
      const got = deliveredTo(state, r.to_email);
      expect(got).toHaveLength(1);
      expect(got[0].id).toBe(r.provider_message_id);
    }
  });

  it("retries a 429 after its Retry-After and a 500 with backoff, then sends once", async () => {
    const to = `retry-${uniq()}@test.local`;
    const id = await queue(null, "welcome", {}, to);
    await mail.script("resend", { status: 429, retryAfter: 7 });
    let report = await drain({ max_batches: 1 });
    let row = await outbox(id);
    expect(report.retried).toBeGreaterThanOrEqual(1);
    expect(row.status).toBe("pending");
    expect(row.last_error).toContain("429");
    // Retry-After: 7 s, past the first backoff's 15 to 30 s? No: the later of the two.
    const wait = (new Date(row.next_attempt_at).getTime() - Date.now()) / 1000;
    expect(wait).toBeGreaterThan(5);
    expect(wait).toBeLessThanOrEqual(31);

    await dueNow(id);
    await mail.script("resend", { status: 500 });
    await drain({ max_batches: 1 });
    row = await outbox(id);
    expect([row.status, row.attempts]).toEqual(["pending", 2]);
    expect(row.last_error).toContain("500");
    const second = (new Date(row.next_attempt_at).getTime() - Date.now()) / 1000;
    expect(second).toBeGreaterThan(25); // attempt 2: 30 to 60 s
    expect(second).toBeLessThanOrEqual(61);

    await dueNow(id);
    report = await drain({ max_batches: 1 });
    row = await outbox(id);
    expect([row.status, row.attempts]).toEqual(["sent", 3]);
    expect(deliveredTo(await mail.state(), to)).toHaveLength(1);
  });

  it("a mail the provider refuses fails at once, with the reason; an unknown template too", async () => {
    const refused = await queue(null, "welcome", {}, `refused-${uniq()}@test.local`);
    await mail.script("resend", { status: 422 });
    await drain({ max_batches: 1 });
    expect((await outbox(refused)).status).toBe("failed");
    expect((await outbox(refused)).last_error).toContain("422");

    const unknown = await queue(null, "no_such_template", {}, `unknown-${uniq()}@test.local`);
    await drain({ max_batches: 1 });
    const row = await outbox(unknown);
    expect(row.status).toBe("failed");
    expect(row.last_error).toMatch(/render failed: .*no_such_template/);
    expect((await mail.state()).delivered).toHaveLength(0);
  });

  it("gives up after the configured attempts, keeping the last reason", async () => {
    const id = await queue(null, "welcome", {}, `down-${uniq()}@test.local`);
    await sql`update public.email_outbox set attempts = 7 where id = ${id}`; // config email.retry.maxAttempts: 8
    await mail.script("resend", { status: 503 });
    await drain({ max_batches: 1 });
    const row = await outbox(id);
    expect([row.status, row.attempts]).toEqual(["failed", 8]);
    expect(row.last_error).toContain("503");
  });
});

describe("delivery webhooks", () => {
  async function sentMail(to: string) {
    const id = await queue(null, "welcome", {}, to);
    await drain();
    const row = await outbox(id);
    expect(row.status).toBe("sent");
    return row as { id: number; provider_message_id: string };
  }

  it("Resend: a signed event is stored once; a bounce suppresses the address and its next mail is skipped", async () => {
    const to = `bounce-${uniq()}@test.local`;
    const row = await sentMail(to);
    const delivered = JSON.stringify({ type: "email.delivered", created_at: new Date().toISOString(),
      data: { email_id: row.provider_message_id, to: [to], subject: "x" } });
    const headers = resendHeaders(delivered);
    for (let i = 0; i < 2; i++) {
      const res = await callFunction("email-webhook/resend", { method: "POST", body: delivered, headers });
      expect(res.status).toBe(200);
      expect((await res.json()).recorded).toBe(i === 0 ? 1 : 0);
    }
    expect((await outbox(row.id)).delivery_status).toBe("delivered");

    const bounced = JSON.stringify({ type: "email.bounced", created_at: new Date().toISOString(),
      data: { email_id: row.provider_message_id, to: [to], bounce: { type: "Permanent", message: "550 no such user" } } });
    expect((await callFunction("email-webhook/resend", { method: "POST", body: bounced, headers: resendHeaders(bounced) })).status)
      .toBe(200);
    expect(await sql`select reason, source from public.email_suppressions where email = ${to}`)
      .toEqual([{ reason: "hard_bounce", source: "resend" }]);
    expect((await outbox(row.id)).delivery_status).toBe("bounced");

    const next = await queue(null, "welcome", {}, to);
    await drain();
    const skipped = await outbox(next);
    expect([skipped.status, skipped.last_error]).toEqual(["suppressed", "suppressed: hard_bounce"]);
    expect(deliveredTo(await mail.state(), to)).toHaveLength(1); // the first mail only
  });

  it("signature failures are 400 and store nothing", async () => {
    const body = JSON.stringify({ type: "email.complained", created_at: new Date().toISOString(),
      data: { email_id: "x", to: ["victim@test.local"] } });
    const cases: [string, Record<string, string>, string][] = [
      ["resend", { ...resendHeaders(body), "svix-signature": "v1,AAAA" }, body],
      ["resend", resendHeaders(body, { secret: `whsec_${btoa("another secret")}` }), body],
      ["resend", resendHeaders(body, { timestamp: Math.floor(Date.now() / 1000) - 3600 }), body],
      ["resend", resendHeaders(body), body.replace("victim", "other")],
      ["resend", { "content-type": "application/json" }, body],
      ["postmark", postmarkHeaders("postmark-hooks", "wrong"), JSON.stringify({ RecordType: "SpamComplaint", Email: "victim@test.local", ID: 1 })],
      ["postmark", { "content-type": "application/json" }, JSON.stringify({ RecordType: "SpamComplaint", Email: "victim@test.local", ID: 1 })],
      ["sendgrid", { ...sendgridHeaders("[]"), "content-type": "application/json" },
        JSON.stringify([{ email: "victim@test.local", event: "spamreport", sg_event_id: "e1", timestamp: 1 }])],
      ["sendgrid", { "content-type": "application/json", "x-twilio-email-event-webhook-signature": "not base64!",
        "x-twilio-email-event-webhook-timestamp": "1" }, "[]"],
    ];
    for (const [provider, headers, payload] of cases) {
      const res = await callFunction(`email-webhook/${provider}`, { method: "POST", body: payload, headers });
      expect(res.status, `${provider} ${JSON.stringify(headers).slice(0, 80)}`).toBe(400);
      expect((await res.json()).error.code).toBe("invalid_signature");
    }
    expect(await sql`select 1 from public.email_suppressions where email = 'victim@test.local'`).toHaveLength(0);
    const bad = await callFunction("email-webhook/resend", { method: "POST", body: "not json", headers: resendHeaders("not json") });
    expect([bad.status, (await bad.json()).error.code]).toEqual([400, "invalid_json"]);
    expect((await callFunction("email-webhook/resend", { method: "GET" })).status).toBe(405);
    expect((await callFunction("email-webhook/nope", { method: "POST", body: "{}" })).status).toBe(404);
  });

  it("Postmark: a spam complaint suppresses the address; the record is stored once", async () => {
    const to = `pm-${uniq()}@test.local`;
    const record = JSON.stringify({ RecordType: "SpamComplaint", ID: 42, MessageID: crypto.randomUUID(), Email: to,
      BouncedAt: new Date().toISOString(), Type: "SpamComplaint" });
    for (let i = 0; i < 2; i++) {
      const res = await callFunction("email-webhook/postmark", { method: "POST", body: record, headers: postmarkHeaders() });
      expect(res.status).toBe(200);
      expect((await res.json()).recorded).toBe(i === 0 ? 1 : 0);
    }
    expect(await sql`select reason from public.email_suppressions where email = ${to}`).toEqual([{ reason: "complaint" }]);
  });

  it("SendGrid: a signed batch is stored event by event; a hard bounce suppresses, a blocked one does not", async () => {
    const hard = `sg-hard-${uniq()}@test.local`;
    const blocked = `sg-blocked-${uniq()}@test.local`;
    const now = Math.floor(Date.now() / 1000);
    const events = JSON.stringify([
      { email: hard, timestamp: now, event: "bounce", type: "bounce", sg_event_id: `sg-${uniq()}`, sg_message_id: "abc.filter1" },
      { email: blocked, timestamp: now, event: "bounce", type: "blocked", sg_event_id: `sg-${uniq()}`, sg_message_id: "def.filter1" },
      { email: hard, timestamp: now, event: "open", sg_event_id: `sg-${uniq()}`, sg_message_id: "abc.filter1" },
    ]);
    const res = await callFunction("email-webhook/sendgrid", { method: "POST", body: events, headers: sendgridHeaders(events) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 3, recorded: 3 });
    expect(await sql`select email, reason from public.email_suppressions where email in (${hard}, ${blocked})`)
      .toEqual([{ email: hard, reason: "hard_bounce" }]);
    expect(await sql`select type from public.email_events where email = ${hard} order by type`)
      .toEqual([{ type: "bounced" }, { type: "opened" }]);
  });
});

describe("unsubscribe", () => {
  it("notification mail carries RFC 8058 headers; the one-click POST stops notification mail but not receipts", async () => {
    const user = await createUser(sql, `unsub-${uniq()}@test.local`);
    const to = (await sql`select email from auth.users where id = ${user.id}`)[0].email as string;
    const low = { balance: 3, threshold: 10, buy_url: "https://app.test/credits" };
    const first = await queue(user.id, "credits_low", low);
    await drain();
    expect((await outbox(first)).category).toBe("notification");
    const [sent] = deliveredTo(await mail.state(), to).filter((d) => d.tags.template === "credits_low");
    expect(sent.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
    const url = /^<(.+)>$/.exec(sent.headers["List-Unsubscribe"])![1];
    expect(url).toContain("/functions/v1/email-webhook/unsubscribe?token=");
    expect(sent.html).toContain(url.replace(/&/g, "&amp;").split("?")[0]);

    // A GET (a mail scanner following the link) changes nothing; the page POSTs.
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('method="post"');
    expect(await sql`select 1 from public.email_suppressions where email = ${to}`).toHaveLength(0);
    // The mail client's one-click POST (RFC 8058).
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=One-Click" });
    expect(res.status).toBe(200);
    expect(await sql`select reason, source from public.email_suppressions where email = ${to}`)
      .toEqual([{ reason: "unsubscribe", source: "unsubscribe_link" }]);

    const notification = await queue(user.id, "credits_low", low);
    const receipt = await queue(user.id, "welcome", {});
    await drain();
    expect((await outbox(notification)).status).toBe("suppressed");
    expect((await outbox(receipt)).status).toBe("sent");
    // The first notification and the receipt: nothing after the unsubscribe but the receipt.
    expect(deliveredTo(await mail.state(), to).filter((d) => [first, notification, receipt].includes(Number(d.tags.outbox_id)))
      .map((d) => d.tags.template)).toEqual(["credits_low", "welcome"]);

    // A forged or altered token is refused.
    const forged = url.replace(/token=[^.]+/, `token=${btoa("victim@test.local").replace(/=+$/, "")}`);
    for (const bad of [forged, url + "x", url.split("?")[0]]) {
      const r = await fetch(bad, { method: "POST", body: "List-Unsubscribe=One-Click" });
      expect([r.status, (await r.json()).error.code]).toEqual([400, "invalid_unsubscribe_token"]);
    }
  });
});

describe("the mail log", () => {
  it("a user reads their own mails' status through RLS, not the payload, not another user's", async () => {
    const a = await createUser(sql, `log-a-${uniq()}@test.local`);
    const b = await createUser(sql, `log-b-${uniq()}@test.local`);
    const id = await queue(a.id, "welcome", { secret: "s3cret" });
    await drain();
    const mine = await asUser(sql, a.id, (tx) => tx`select id, user_id, template, status, sent_at from public.email_outbox`);
    expect(mine.map((r) => [Number(r.id), r.template, r.status])).toContainEqual([id, "welcome", "sent"]);
    expect(mine.every((r) => r.user_id === a.id)).toBe(true);
    await expect(asUser(sql, a.id, (tx) => tx`select payload from public.email_outbox`)).rejects.toThrow(/permission denied/);
    expect(await asUser(sql, b.id, (tx) => tx`select id from public.email_outbox where id = ${id}`)).toHaveLength(0);
  });

  it("send-email refuses users and bad input", async () => {
    const user = await createUser(sql, `worker-${uniq()}@test.local`);
    const asUserRes = await callFunction("send-email", { method: "POST", token: user.token, body: "{}" });
    expect([asUserRes.status, (await asUserRes.json()).error.code]).toEqual([403, "admin_only"]);
    const bad = await callFunction("send-email", { method: "POST", token: stack().serviceRoleKey, body: '{"max_batches": 0}',
      headers: { "content-type": "application/json" } });
    expect(bad.status).toBe(422);
    expect((await callFunction("send-email", { method: "GET", token: stack().serviceRoleKey })).status).toBe(405);
  });
});
