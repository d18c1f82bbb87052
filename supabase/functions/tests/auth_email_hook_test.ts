// The auth-email-hook's pure parts: Standard Webhooks signatures (signed as Supabase Auth signs, with
// node:crypto here, independently of the module under test: HMAC-SHA256 of `id.timestamp.body` under the
// base64 key of `v1,whsec_...`), and the mails a hook payload asks for (every action, both mails of a secure
// email change with their crossed-over tokens, the verify links), each rendered by its template.
import nodeAssert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { sign, verify, WebhookSignatureError } from "../_shared/standard-webhooks.ts";
import { mailsFor, verifyUrl } from "../auth-email-hook/mails.ts";
import { renderEmail } from "../_shared/email/templates/index.ts";

const assert = (ok: unknown, message?: string) => nodeAssert.ok(ok, message);
const assertEquals = (actual: unknown, expected: unknown, message?: string) =>
  nodeAssert.deepEqual(actual, expected, message);

const KEY = btoa("a secret of thirty-two bytes!!!!");
const SECRET = `v1,whsec_${KEY}`;
const NOW = 1_765_000_000;

/** What Auth sends: Go's standardwebhooks library, reproduced with node:crypto. */
function gotrueHeaders(body: string, id = "msg_1", ts = NOW, secret = KEY): Headers {
  const sig = createHmac("sha256", Buffer.from(secret, "base64")).update(`${id}.${ts}.${body}`).digest("base64");
  return new Headers({ "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": `v1,${sig}` });
}

Deno.test("a signature made as Supabase Auth makes it verifies; sign() makes the same", async () => {
  const body = '{"user":{"id":"u"}}';
  assertEquals(await verify([SECRET], gotrueHeaders(body), body, NOW), { id: "msg_1", timestamp: NOW });
  assertEquals(await sign(SECRET, "msg_1", NOW, body), gotrueHeaders(body).get("webhook-signature"));
  // whsec_ without the v1, prefix, and a second secret during a rotation.
  assert(await verify([`whsec_${btoa("old key")}`, `whsec_${KEY}`], gotrueHeaders(body), body, NOW));
  // Several signatures in the header, one of which matches.
  const h = gotrueHeaders(body);
  h.set("webhook-signature", `v1,${btoa("nope")} ${h.get("webhook-signature")}`);
  assert(await verify([SECRET], h, body, NOW));
});

Deno.test("a changed body, another secret, a stale or future timestamp, missing headers: refused", async () => {
  const body = '{"user":{"id":"u"}}';
  const refused = (p: Promise<unknown>) => nodeAssert.rejects(p, WebhookSignatureError);
  await refused(verify([SECRET], gotrueHeaders(body), body + " ", NOW));
  await refused(verify([SECRET], gotrueHeaders(body, "msg_1", NOW, btoa("another key")), body, NOW));
  await refused(verify([SECRET], gotrueHeaders(body, "msg_1", NOW - 301), body, NOW));
  await refused(verify([SECRET], gotrueHeaders(body, "msg_1", NOW + 301), body, NOW));
  // The id is signed too: the same signature under another id does not verify.
  const h = gotrueHeaders(body);
  h.set("webhook-id", "msg_2");
  await refused(verify([SECRET], h, body, NOW));
  for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
    const partial = gotrueHeaders(body);
    partial.delete(name);
    await refused(verify([SECRET], partial, body, NOW));
  }
  const v0 = gotrueHeaders(body);
  v0.set("webhook-signature", v0.get("webhook-signature")!.replace("v1,", "v0,"));
  await refused(verify([SECRET], v0, body, NOW));
});

const AUTH = "https://ref.supabase.co/auth/v1";
const user = { id: "8484b834-f29e-4af2-bf42-80644d154f76", email: "ada@example.com" };
const data = (action: string, extra: Record<string, string> = {}) => ({
  user,
  email_data: {
    token: "123456",
    token_hash: "pkce_hash",
    redirect_to: "http://localhost:3000/welcome?x=1&y=2",
    email_action_type: action,
    site_url: "http://localhost:3000",
    token_new: "",
    token_hash_new: "",
    ...extra,
  },
});

Deno.test("signup, magiclink, recovery, invite: one mail to the user with the verify link and the code", () => {
  for (const [action, template] of [["signup", "auth_signup"], ["magiclink", "auth_magiclink"], ["recovery", "auth_recovery"],
    ["invite", "auth_invite"], ["email", "auth_magiclink"]]) {
    const mails = mailsFor(data(action), AUTH);
    assertEquals(mails.length, 1, action);
    const [m] = mails;
    assertEquals([m.to, m.template, m.props.token], ["ada@example.com", template, "123456"]);
    const url = new URL(m.props.confirmation_url as string);
    assertEquals(url.origin + url.pathname, "https://ref.supabase.co/auth/v1/verify");
    assertEquals(Object.fromEntries(url.searchParams), {
      token: "pkce_hash",
      type: action,
      redirect_to: "http://localhost:3000/welcome?x=1&y=2",
    });
    const mail = renderEmail(m.template, m.props, { config: { product: { name: "Acme", url: "https://acme.example", supportEmail: "s@acme.example" } } });
    // (An invitation is a link only, as Auth's own invite mail.)
    assert((action === "invite" || mail.text.includes("123456")) && mail.html.includes(url.href.replaceAll("&", "&amp;")), action);
  }
});

Deno.test("reauthentication is a code, no link", () => {
  const [m] = mailsFor(data("reauthentication", { token_hash: "" }), AUTH);
  assertEquals(m.props, { email: "ada@example.com", token: "123456" });
});

Deno.test("a secure email change is two mails: current address token + token_hash_new, new address token_new + token_hash", () => {
  const payload = {
    ...data("email_change", { token_new: "654321", token_hash_new: "hash_current" }),
    user: { ...user, new_email: "ada.new@example.com" },
  };
  const [current, next] = mailsFor(payload, AUTH);
  assertEquals([current.to, current.props.token, new URL(current.props.confirmation_url as string).searchParams.get("token")],
    ["ada@example.com", "123456", "hash_current"]);
  assertEquals([next.to, next.props.token, new URL(next.props.confirmation_url as string).searchParams.get("token")],
    ["ada.new@example.com", "654321", "pkce_hash"]);
  for (const m of [current, next]) {
    assertEquals([m.props.old_email, m.props.new_email], ["ada@example.com", "ada.new@example.com"]);
  }
  assert(current.dedupeSource !== next.dedupeSource, "each mail its own key");
  // Without secure change: one mail, to the new address.
  const single = mailsFor({ ...data("email_change"), user: { ...user, new_email: "ada.new@example.com" } }, AUTH);
  assertEquals(single.map((m) => [m.to, m.props.token]), [["ada.new@example.com", "123456"]]);
});

Deno.test("an action this hook does not mail (a security notification) is no mail; the dedupe source is stable", () => {
  assertEquals(mailsFor(data("password_changed_notification"), AUTH), []);
  assertEquals(mailsFor(data("signup"), AUTH)[0].dedupeSource, mailsFor(data("signup"), AUTH)[0].dedupeSource);
  assert(mailsFor(data("signup"), AUTH)[0].dedupeSource !== mailsFor(data("signup", { token_hash: "other" }), AUTH)[0].dedupeSource);
  assertEquals(verifyUrl("http://x/auth/v1/", "h", "signup", null), "http://x/auth/v1/verify?token=h&type=signup");
});
