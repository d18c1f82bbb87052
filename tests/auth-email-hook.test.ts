// The auth-email-hook function as Supabase Auth calls it: Standard Webhooks headers signed here as Auth signs
// them (HMAC-SHA256 of `id.timestamp.body` under the base64 key of the `v1,whsec_...` secret, node:crypto), the
// hook's JSON payload (user + email_data), and the mail delivered by the local Resend server the functions send
// through (tests/support/email-servers.ts). A valid call sends one branded mail (two for a secure email change)
// and logs it; a bad signature, a stale call or a body that is no hook payload is refused with nothing sent; a
// replay and Auth's own retry send nothing twice; a provider failure is a 503 Auth retries.
import { createHmac, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emailServerClient } from "./support/email-servers.ts";
import { callFunction, connectDb, createUser, stack, TEST_FUNCTION_ENV } from "./support/stack.ts";

const sql = connectDb();
const mail = () => emailServerClient(stack().emailUrl);
afterAll(() => sql.end());

const SECRET = TEST_FUNCTION_ENV.SEND_EMAIL_HOOK_SECRET;

interface Signed {
  secret?: string;
  id?: string;
  timestamp?: number;
}

/** Auth's request: the body, and the Standard Webhooks headers over it. */
function signedHeaders(body: string, opts: Signed = {}): Record<string, string> {
  const id = opts.id ?? `msg_${randomUUID()}`;
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const key = Buffer.from((opts.secret ?? SECRET).replace(/^v1,whsec_/, ""), "base64");
  const signature = createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64");
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(ts),
    "webhook-signature": `v1,${signature}`,
  };
}

function call(body: string, headers: Record<string, string>) {
  return callFunction("auth-email-hook", { method: "POST", headers, body });
}

function payload(user: { id: string; email: string; new_email?: string }, action: string, extra: Record<string, string> = {}) {
  const token = String(Math.floor(100000 + Math.random() * 900000));
  return {
    user: { id: user.id, aud: "authenticated", role: "authenticated", email: user.email, new_email: user.new_email,
      user_metadata: { email: user.email } },
    email_data: {
      token,
      token_hash: `pkce_${randomUUID().replaceAll("-", "")}`,
      redirect_to: "http://localhost:3000/welcome",
      email_action_type: action,
      site_url: `${stack().apiUrl}/auth/v1`,
      token_new: "",
      token_hash_new: "",
      ...extra,
    },
  };
}

/** The auth mails delivered to `to` since the run began (the outbox worker delivers the users' welcome mails to
 * the same server: those are not the hook's). */
async function deliveredTo(to: string) {
  return (await mail().state()).delivered.filter((d) => d.to === to.toLowerCase() && d.idempotencyKey?.startsWith("auth/"));
}

let ada: { id: string; email: string };
beforeAll(async () => {
  const email = `ada-${randomUUID().slice(0, 8)}@hook.test`;
  ada = { id: (await createUser(sql, email)).id, email };
});

describe("auth-email-hook", () => {
  it("a signed sign-up call sends the branded confirmation mail through the provider, and logs it", async () => {
    const p = payload(ada, "signup");
    const body = JSON.stringify(p);
    const res = await call(body, signedHeaders(body));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({});

    const [sent] = await deliveredTo(ada.email);
    expect(sent.provider).toBe("resend");
    expect(sent.subject).toBe("Confirm your SaaSbase Demo sign-up");
    expect(sent.text).toContain(p.email_data.token);
    const link = `${stack().apiUrl}/auth/v1/verify?token=${p.email_data.token_hash}&type=signup&redirect_to=${
      encodeURIComponent("http://localhost:3000/welcome")}`;
    expect(sent.html).toContain(link.replaceAll("&", "&amp;"));
    expect(sent.text).toContain(link);
    expect(sent.idempotencyKey).toMatch(/^auth\/[0-9a-f]{64}$/);

    const [log] = await sql`select status, template, to_email, provider, provider_message_id, user_id
      from saasbase.auth_emails where to_email = ${ada.email}`;
    expect(log).toEqual({ status: "sent", template: "auth_signup", to_email: ada.email, provider: "resend",
      provider_message_id: sent.id, user_id: ada.id });
    // The log keeps no token.
    expect(JSON.stringify(await sql`select * from saasbase.auth_emails where to_email = ${ada.email}`))
      .not.toContain(p.email_data.token_hash);
  });

  it("a replayed call and Auth's own retry (a new webhook-id, the same mail) send nothing again", async () => {
    const p = payload(ada, "magiclink");
    const body = JSON.stringify(p);
    const headers = signedHeaders(body);
    const before = (await deliveredTo(ada.email)).length;
    expect((await call(body, headers)).status).toBe(200);
    expect((await call(body, headers)).status).toBe(200);
    expect((await call(body, signedHeaders(body))).status).toBe(200);
    const after = await deliveredTo(ada.email);
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)!.subject).toBe("Your SaaSbase Demo sign-in link");
  });

  it("writes in the user's language (their profile's)", async () => {
    const email = `it-${randomUUID().slice(0, 8)}@hook.test`;
    const user = { id: (await createUser(sql, email)).id, email };
    await sql`update public.profiles set language = 'it' where id = ${user.id}`;
    const body = JSON.stringify(payload(user, "recovery"));
    expect((await call(body, signedHeaders(body))).status).toBe(200);
    const [sent] = await deliveredTo(email);
    expect(sent.subject).toBe("Reimposta la password di SaaSbase Demo");
  });

  it("a secure email change mails both addresses, each with its own code and link", async () => {
    const email = `change-${randomUUID().slice(0, 8)}@hook.test`;
    const newEmail = `new-${randomUUID().slice(0, 8)}@hook.test`;
    const user = { id: (await createUser(sql, email)).id, email, new_email: newEmail };
    const p = payload(user, "email_change", { token_new: "654321", token_hash_new: "hash_for_current" });
    const body = JSON.stringify(p);
    expect((await call(body, signedHeaders(body))).status).toBe(200);
    const [current] = await deliveredTo(email);
    const [next] = await deliveredTo(newEmail);
    expect(current.text).toContain(p.email_data.token);
    expect(current.text).toContain("token=hash_for_current");
    expect(next.text).toContain("654321");
    expect(next.text).toContain(`token=${p.email_data.token_hash}`);
    for (const m of [current, next]) expect(m.subject).toBe("Confirm your new SaaSbase Demo email address");
  });

  it("refuses a bad signature, another secret, a stale call or missing headers with 401, sending nothing", async () => {
    const p = payload(ada, "signup");
    const body = JSON.stringify(p);
    const before = (await mail().state()).delivered.filter((d) => d.idempotencyKey?.startsWith("auth/")).length;
    const cases: Record<string, string>[] = [
      { ...signedHeaders(body), "webhook-signature": "v1,bm90IGEgc2lnbmF0dXJl" },
      signedHeaders(body, { secret: `v1,whsec_${Buffer.from("another secret").toString("base64")}` }),
      signedHeaders(body, { timestamp: Math.floor(Date.now() / 1000) - 600 }),
      { "content-type": "application/json" },
    ];
    for (const headers of cases) {
      const res = await call(body, headers);
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe("invalid_hook_signature");
    }
    // The body changed after signing.
    const res = await call(body.replace("signup", "recovery"), signedHeaders(body));
    expect(res.status).toBe(401);
    expect((await mail().state()).delivered.filter((d) => d.idempotencyKey?.startsWith("auth/")).length).toBe(before);
    expect(await sql`select 1 from saasbase.auth_emails where user_id = ${ada.id} and email_action_type = 'signup'`)
      .toHaveLength(1); // the first test's, and none of these
  });

  it("a signed body that is no hook payload is a 400, nothing sent; GET is a 405", async () => {
    const notAUuid = JSON.stringify({ ...payload(ada, "signup"), user: { id: "1; drop table x", email: ada.email } });
    for (const [body, code] of [["not json", "invalid_json"], ['{"user": {}}', "invalid_event"], ["[]", "invalid_event"],
      [notAUuid, "invalid_event"]]) {
      const res = await call(body, signedHeaders(body));
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe(code);
    }
    expect((await callFunction("auth-email-hook")).status).toBe(405);
  });

  it("an action it does not mail (a security notification) is answered 200 without a mail", async () => {
    const before = (await deliveredTo(ada.email)).length;
    const body = JSON.stringify(payload(ada, "password_changed_notification"));
    const res = await call(body, signedHeaders(body));
    expect(res.status).toBe(200);
    expect((await deliveredTo(ada.email)).length).toBe(before);
  });

  it("a provider failure is a 503 with Retry-After (Auth retries); the retry sends it once", async () => {
    await mail().script("resend", { status: 429, retryAfter: 2 });
    const p = payload(ada, "reauthentication", { token_hash: "" });
    const body = JSON.stringify(p);
    const before = (await deliveredTo(ada.email)).length;
    const res = await call(body, signedHeaders(body));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    expect((await res.json()).error.code).toBe("auth_email_failed");
    const [failed] = await sql`select status, last_error from saasbase.auth_emails
      where to_email = ${ada.email} and email_action_type = 'reauthentication'`;
    expect(failed.status).toBe("failed");
    expect((await deliveredTo(ada.email)).length).toBe(before);

    expect((await call(body, signedHeaders(body))).status).toBe(200);
    const after = await deliveredTo(ada.email);
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)!.text).toContain(p.email_data.token);
  });

  it("a suppressed address (a hard bounce) is not mailed: 422", async () => {
    const email = `bounced-${randomUUID().slice(0, 8)}@hook.test`;
    const user = { id: (await createUser(sql, email)).id, email };
    await sql`insert into public.email_suppressions (email, reason, source) values (${email}, 'hard_bounce', 'test')`;
    const body = JSON.stringify(payload(user, "recovery"));
    const res = await call(body, signedHeaders(body));
    expect(res.status).toBe(422);
    expect((await res.json()).error.code).toBe("auth_email_undeliverable");
    expect(await deliveredTo(email)).toEqual([]);
  });
});
