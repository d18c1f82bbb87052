// Delivery webhooks as the providers send them, for tests: Resend's Svix signature (HMAC-SHA256 of
// "<svix-id>.<svix-timestamp>.<body>" under the whsec_ secret), Postmark's Basic credentials, SendGrid's Signed
// Event Webhook (ECDSA P-256 over "<timestamp><body>", base64 DER). The secrets are fixed test values: the
// global stack's functions get them as secrets (test-stack.ts), the test files sign with them.
import { createHmac, createSign, randomUUID } from "node:crypto";

export const RESEND_WEBHOOK_SECRET = `whsec_${Buffer.from("saasbase-local-resend-webhook-secret").toString("base64")}`;
export const POSTMARK_WEBHOOK = { user: "postmark-hooks", password: "local-postmark-hook-password" };

/** A P-256 key pair made for these tests (openssl ecparam -name prime256v1): SendGrid shows the public half as
 * base64 DER, and signs with the private one. */
export const sendgridTestKeys = {
  publicKey:
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEaHY1PaIyDmEDaYJ4hbTry59gHlwyUCX3dSvMAe/8B0o+Y8zvoOr+sTcqXfSGvYhmLdVInst2dnwzO8JMc6E6RA==",
  privateKey: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgckQSOFYiVHWmEPiN
k48qxNjgM+JXy54QDwz5XHccjDyhRANCAARodjU9ojIOYQNpgniFtOvLn2AeXDJQ
Jfd1K8wB7/wHSj5jzO+g6v6xNypd9Ia9iGYt1Uiey3Z2fDM7wkxzoTpE
-----END PRIVATE KEY-----`,
};

/** The function secrets that make the email-webhook function take the webhooks these helpers sign. */
export const EMAIL_WEBHOOK_ENV: Record<string, string> = {
  RESEND_WEBHOOK_SECRET,
  POSTMARK_WEBHOOK_USER: POSTMARK_WEBHOOK.user,
  POSTMARK_WEBHOOK_PASSWORD: POSTMARK_WEBHOOK.password,
  SENDGRID_WEBHOOK_PUBLIC_KEY: sendgridTestKeys.publicKey,
};

/** Headers of a Resend (Svix) delivery of `body`. */
export function resendHeaders(body: string, opts: { id?: string; timestamp?: number; secret?: string } = {}) {
  const id = opts.id ?? `msg_${randomUUID().replaceAll("-", "")}`;
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const key = Buffer.from((opts.secret ?? RESEND_WEBHOOK_SECRET).replace(/^whsec_/, ""), "base64");
  const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
  return { "content-type": "application/json", "svix-id": id, "svix-timestamp": timestamp, "svix-signature": `v1,${signature}` };
}

/** Headers of a SendGrid signed event webhook delivery of `body`. */
export function sendgridHeaders(body: string, opts: { timestamp?: number; privateKey?: string } = {}) {
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = createSign("sha256").update(timestamp + body).sign(opts.privateKey ?? sendgridTestKeys.privateKey, "base64");
  return {
    "content-type": "application/json",
    "x-twilio-email-event-webhook-signature": signature,
    "x-twilio-email-event-webhook-timestamp": timestamp,
  };
}

/** Headers of a Postmark webhook delivery (its Basic credentials). */
export function postmarkHeaders(user = POSTMARK_WEBHOOK.user, password = POSTMARK_WEBHOOK.password) {
  return { "content-type": "application/json", authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` };
}
