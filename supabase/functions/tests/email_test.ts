// The email domain's pure parts: unsubscribe tokens, the providers' webhook signatures (Svix, SendGrid's ECDSA,
// Postmark's credentials) and their events as ours, how a provider's HTTP failure is classed (retry or not).
// The worker, the providers' wire formats and the functions are tested end to end in tests/email*.test.ts.
import nodeAssert from "node:assert/strict";

const assert = (v: unknown, msg?: string) => nodeAssert.ok(v, msg);
const assertEquals = (a: unknown, b: unknown, msg?: string) => nodeAssert.deepEqual(a, b, msg);
import { httpFailure, retryAfter } from "../_shared/email/errors.ts";
import { parseMailbox } from "../_shared/email/providers/types.ts";
import { listUnsubscribeHeaders, unsubscribeToken, verifyUnsubscribeToken } from "../_shared/email/unsubscribe.ts";
import {
  postmarkEvent,
  resendEvent,
  sendgridEvents,
  svixSignature,
  verifyPostmark,
  verifySendgrid,
  verifySvix,
} from "../_shared/email/webhooks.ts";

Deno.env.set("SUPABASE_SERVICE_ROLE_KEY", Deno.env.get("SUPABASE_SERVICE_ROLE_KEY") ?? "test-service-role-key");

Deno.test("unsubscribe tokens: made for an address, verified for it only", async () => {
  const token = await unsubscribeToken(" Ada@Example.COM ");
  assertEquals(await verifyUnsubscribeToken(token), "ada@example.com");
  const [addr, mac] = token.split(".");
  const other = btoa("eve@example.com").replace(/=+$/, "");
  assertEquals(await verifyUnsubscribeToken(`${other}.${mac}`), undefined, "another address under this MAC");
  assertEquals(await verifyUnsubscribeToken(`${addr}.${mac.slice(0, -2)}AA`), undefined, "an altered MAC");
  for (const bad of [null, "", "x", `${addr}.`, `${addr}.${mac}.x`, "!!.??", "a".repeat(2000)]) {
    assertEquals(await verifyUnsubscribeToken(bad), undefined, `refused: ${String(bad).slice(0, 20)}`);
  }
  // Another secret: the old links stop working.
  Deno.env.set("SAASBASE_EMAIL_UNSUBSCRIBE_SECRET", "rotated");
  try {
    assertEquals(await verifyUnsubscribeToken(token), undefined);
    assertEquals(await verifyUnsubscribeToken(await unsubscribeToken("ada@example.com")), "ada@example.com");
  } finally {
    Deno.env.delete("SAASBASE_EMAIL_UNSUBSCRIBE_SECRET");
  }
  assertEquals(listUnsubscribeHeaders("https://x.test/u?token=t"), {
    "List-Unsubscribe": "<https://x.test/u?token=t>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
  });
});

Deno.test("Svix (Resend): signed bodies verify, within 5 minutes, under any of the rotation's signatures", async () => {
  const secret = `whsec_${btoa("resend test secret")}`;
  const body = '{"type":"email.delivered","data":{"email_id":"e1","to":["a@b.test"]}}';
  const now = 1_800_000_000;
  const sig = await svixSignature(secret, "msg_1", String(now), body);
  const headers = (h: Record<string, string>) => new Headers({ "svix-id": "msg_1", "svix-timestamp": String(now), ...h });
  assert(await verifySvix(secret, headers({ "svix-signature": sig }), body, now));
  assert(await verifySvix(secret, headers({ "svix-signature": `v1,bm90IGl0 ${sig}` }), body, now), "one of several");
  assert(!(await verifySvix(secret, headers({ "svix-signature": sig }), body + " ", now)), "another body");
  assert(!(await verifySvix(secret, headers({ "svix-signature": sig }), body, now + 301)), "too late");
  assert(!(await verifySvix(secret, headers({ "svix-signature": sig, "svix-id": "msg_2" }), body, now)), "another id");
  assert(!(await verifySvix(`whsec_${btoa("other")}`, headers({ "svix-signature": sig }), body, now)), "another secret");
  assert(!(await verifySvix(secret, headers({ "svix-signature": sig.replace("v1,", "v2,") }), body, now)));
  assert(!(await verifySvix(secret, headers({}), body, now)), "no signature");
  // Standard Webhooks' own header names are read too.
  const std = new Headers({ "webhook-id": "msg_1", "webhook-timestamp": String(now), "webhook-signature": sig });
  assert(await verifySvix(secret, std, body, now));
});

/** WebCrypto's raw r || s as the DER SendGrid sends. */
function rawToDer(raw: Uint8Array): Uint8Array {
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = b.subarray(i);
    return v[0] & 0x80 ? [0x02, v.length + 1, 0, ...v] : [0x02, v.length, ...v];
  };
  const body = [...int(raw.subarray(0, 32)), ...int(raw.subarray(32))];
  return new Uint8Array([0x30, body.length, ...body]);
}

Deno.test("SendGrid: the signed event webhook verifies with the public key (base64 DER), nothing else does", async () => {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const publicKey = btoa(String.fromCharCode(...spki));
  const body = '[{"email":"a@b.test","event":"delivered","sg_event_id":"e1","sg_message_id":"m1.f1","timestamp":1}]';
  const now = 1_800_000_000;
  const sign = async (text: string) => {
    const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey,
      new TextEncoder().encode(text)));
    return btoa(String.fromCharCode(...rawToDer(raw)));
  };
  const headers = (signature: string, ts = now) =>
    new Headers({ "x-twilio-email-event-webhook-signature": signature, "x-twilio-email-event-webhook-timestamp": String(ts) });
  const good = await sign(`${now}${body}`);
  assert(await verifySendgrid(publicKey, headers(good), body, now));
  assert(!(await verifySendgrid(publicKey, headers(good), body.replace("a@b", "x@b"), now)), "another body");
  assert(!(await verifySendgrid(publicKey, headers(good, now + 1), body, now + 1)), "another timestamp");
  assert(!(await verifySendgrid(publicKey, headers(good), body, now + 600)), "too late");
  assert(!(await verifySendgrid(publicKey, headers("bm90IGEgc2lnbmF0dXJl"), body, now)), "not DER");
  assert(!(await verifySendgrid("bm90IGEga2V5", headers(good), body, now)), "not a key");
  assert(!(await verifySendgrid(publicKey, new Headers(), body, now)), "no headers");
});

Deno.test("Postmark: Basic credentials or the token, compared whole", () => {
  const expected = { user: "hooks", password: "pw", token: "tok" };
  const req = (auth?: string, query = "") =>
    new Request(`https://x.test/functions/v1/email-webhook/postmark${query}`, {
      method: "POST",
      headers: auth ? { authorization: auth } : {},
    });
  assert(verifyPostmark(req(`Basic ${btoa("hooks:pw")}`), expected));
  assert(verifyPostmark(req(undefined, "?token=tok"), expected));
  assert(!verifyPostmark(req(`Basic ${btoa("hooks:p")}`), expected));
  assert(!verifyPostmark(req(`Basic ${btoa("hooks:pw2")}`), expected));
  assert(!verifyPostmark(req(undefined, "?token=to"), expected));
  assert(!verifyPostmark(req(`Bearer ${btoa("hooks:pw")}`), { user: "hooks", password: "pw" }));
  assert(!verifyPostmark(req(), {}));
});

Deno.test("providers' events as ours", () => {
  const bounced = resendEvent("msg_1", { type: "email.bounced", created_at: "2026-12-07T10:00:00Z",
    data: { email_id: "e1", to: ["a@b.test"], bounce: { type: "Permanent" } } });
  assertEquals([bounced?.type, bounced?.messageId, bounced?.email, bounced?.occurredAt],
    ["bounced", "e1", "a@b.test", "2026-12-07T10:00:00.000Z"]);
  assertEquals(resendEvent("m", { type: "email.bounced", data: { bounce: { type: "Transient" } } })?.type, "soft_bounced");
  assertEquals(resendEvent("m", { type: "email.complained", data: {} })?.type, "complained");
  assertEquals(resendEvent("m", { type: "contact.created", data: {} })?.type, "other");
  assertEquals(resendEvent("m", { data: {} }), undefined);

  assertEquals(postmarkEvent({ RecordType: "Bounce", Type: "HardBounce", ID: 7, MessageID: "p1", Email: "a@b.test",
    BouncedAt: "2026-12-07T10:00:00Z" })?.type, "bounced");
  assertEquals(postmarkEvent({ RecordType: "Bounce", Type: "SoftBounce", ID: 8, MessageID: "p1" })?.type, "soft_bounced");
  assertEquals(postmarkEvent({ RecordType: "Bounce", Type: "SpamComplaint", ID: 9 })?.type, "complained");
  const delivery = postmarkEvent({ RecordType: "Delivery", MessageID: "p1", Recipient: "a@b.test",
    DeliveredAt: "2026-12-07T10:00:00Z" });
  assertEquals([delivery?.type, delivery?.email, delivery?.eventId], ["delivered", "a@b.test", "Delivery:p1:2026-12-07T10:00:00Z"]);
  assertEquals(postmarkEvent({ nothing: true }), undefined);

  const events = sendgridEvents([
    { event: "bounce", type: "bounce", sg_event_id: "s1", sg_message_id: "X1.filter.1", email: "a@b.test", timestamp: 1 },
    { event: "bounce", type: "blocked", sg_event_id: "s2", sg_message_id: "X2.filter.1", email: "c@b.test" },
    { event: "spamreport", sg_event_id: "s3" },
    { event: "processed" },
    "junk",
  ]);
  assertEquals(events.map((e) => [e.eventId, e.type, e.messageId ?? null]),
    [["s1", "bounced", "X1"], ["s2", "soft_bounced", "X2"], ["s3", "complained", null]]);
  assertEquals(events[0].occurredAt, "1970-01-01T00:00:01.000Z");
  assertEquals(sendgridEvents({ not: "an array" }), []);
});

Deno.test("a provider's HTTP failure: 429 and 5xx retried (with Retry-After), 401/403 not configured, 4xx final", () => {
  const r429 = httpFailure("resend", new Response(null, { status: 429, headers: { "retry-after": "12" } }), "slow down");
  assertEquals([r429.retryable, r429.status, r429.retryAfterSeconds], [true, 429, 12]);
  assertEquals(httpFailure("resend", new Response(null, { status: 502 }), "x").retryable, true);
  const auth = httpFailure("postmark", new Response(null, { status: 401 }), "bad token");
  assertEquals([auth.retryable, auth.name], [true, "EmailNotConfiguredError"]);
  const refused = httpFailure("sendgrid", new Response(null, { status: 400 }), "bad address");
  assertEquals([refused.retryable, refused.name], [false, "PermanentEmailError"]);
  assertEquals(retryAfter(null), undefined);
  assertEquals(retryAfter("3.2"), 4);
  assertEquals(retryAfter(new Date(Date.now() + 60_000).toUTCString())! > 50, true);
  assertEquals(retryAfter("soon"), undefined);
  assertEquals(parseMailbox('"Acme, Inc." <hi@acme.test>'), { email: "hi@acme.test", name: "Acme, Inc." });
  assertEquals(parseMailbox("hi@acme.test"), { email: "hi@acme.test" });
});
