// Polar's webhooks as the tests play them: payloads shaped as Polar sends them ({ type, timestamp, api_version,
// data }), signed as Standard Webhooks sign them (webhook-id, webhook-timestamp, webhook-signature
// `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, the key the base64 after the secret's `whsec_`), posted
// to the polar-webhook function.
import { createHmac, randomUUID } from "node:crypto";
import { TEST_FUNCTION_ENV } from "./stack.ts";

/** A payload as Polar sends it, emitted at `timestamp` (default now). */
export function polarEvent(type: string, data: object, opts: { timestamp?: Date } = {}) {
  return { type, timestamp: (opts.timestamp ?? new Date()).toISOString(), api_version: "2026-10", data };
}

/** The Standard Webhooks signature header of `body` under message `id` at `timestamp` (Unix seconds). */
export function signPolar(id: string, timestamp: number, body: string, secret = TEST_FUNCTION_ENV.POLAR_WEBHOOK_SECRET) {
  const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

export interface DeliverOptions {
  /** The webhook-id (a new one unless given: a redelivery sends the same). */
  id?: string;
  /** Unix seconds of webhook-timestamp (default now). */
  timestamp?: number;
  secret?: string;
  /** Replaces the headers sent (null drops one). */
  headers?: Record<string, string | null>;
}

/** Posts `payload` (an object, or the raw body) to the polar-webhook function under `functionsUrl`, signed. */
export async function deliverPolar(functionsUrl: string, payload: object | string, opts: DeliverOptions = {}) {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const id = opts.id ?? `msg_${randomUUID()}`;
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signPolar(id, timestamp, body, opts.secret),
  };
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    if (v === null) delete headers[k];
    else headers[k] = v;
  }
  return fetch(`${functionsUrl}/polar-webhook`, { method: "POST", headers, body });
}
