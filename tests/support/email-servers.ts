// Local servers speaking the mail providers' send APIs, so the functions' providers (supabase/functions/_shared/
// email/providers/) talk to them as to the real ones. One HTTP server, one path prefix per provider:
//   /resend    POST /emails (Bearer key; Idempotency-Key kept as Resend keeps it: once a mail is accepted, the
//              same key and body answer its id and deliver nothing more, another body 409
//              invalid_idempotent_request), `{ id }`
//   /postmark  POST /email (X-Postmark-Server-Token), `{ To, SubmittedAt, MessageID, ErrorCode: 0, Message }`,
//              422 with an ErrorCode for a message it refuses
//   /sendgrid  POST /v3/mail/send (Bearer key), 202 with no body and X-Message-Id
// Errors in each provider's own envelope. What the next requests of a provider get is scripted (a status such
// as 429 with Retry-After or 500, a delay, or a hold until released); tests in other processes script it with
// POST /_test/script and read what was delivered from GET /_test/state (the global stack's server), tests in
// this process through the returned object.
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { freePort } from "../../src/local/functions.ts";

export type MailProvider = "resend" | "postmark" | "sendgrid";
export const MAIL_PROVIDERS: MailProvider[] = ["resend", "postmark", "sendgrid"];

/** The keys the servers take (anything else is 401 / 403, as the providers answer a bad key). */
export const EMAIL_TEST_KEYS = {
  RESEND_API_KEY: "re_test_saasbase_local",
  POSTMARK_SERVER_TOKEN: "postmark-test-saasbase-local",
  SENDGRID_API_KEY: "SG.test_saasbase_local",
};

export type MailStep =
  /** Answers this status in the provider's error envelope (429 carries Retry-After: retryAfter seconds). */
  | { status: number; retryAfter?: number }
  /** Accepts the message (it is delivered), then answers only after ms (a slow provider; a worker that dies
   * meanwhile never hears the answer). */
  | { acceptThenDelayMs: number };

export interface Delivered {
  provider: MailProvider;
  id: string;
  to: string;
  from: string;
  replyTo?: string;
  subject: string;
  html: string;
  text: string;
  headers: Record<string, string>;
  idempotencyKey?: string;
  tags: Record<string, string>;
  at: number;
}

export interface MailState {
  delivered: Delivered[];
  /** Every send request received (refused and replayed ones included), by provider. */
  requests: Record<MailProvider, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(body === undefined ? "" : JSON.stringify(body));
}

/** Each provider's error envelope. */
function providerError(provider: MailProvider, status: number, message: string) {
  if (provider === "resend") {
    const name = status === 429 ? "rate_limit_exceeded" : status >= 500 ? "internal_server_error"
      : status === 401 ? "missing_api_key" : status === 403 ? "invalid_api_key" : status === 409
      ? "invalid_idempotent_request" : "validation_error";
    return { statusCode: status, name, message };
  }
  if (provider === "postmark") return { ErrorCode: status === 422 ? 300 : status, Message: message };
  return { errors: [{ message, field: null, help: null }] };
}

export async function startEmailServers(opts: { latencyMs?: number } = {}) {
  const scripts = new Map<MailProvider, MailStep[]>();
  let latencyMs = opts.latencyMs ?? 0;
  let state: MailState = { delivered: [], requests: { resend: 0, postmark: 0, sendgrid: 0 } };
  // Resend's idempotency keys: key -> the accepted request's body hash and id.
  let resendKeys = new Map<string, { hash: string; id: string }>();

  const deliver = (d: Omit<Delivered, "at">) => state.delivered.push({ ...d, at: Date.now() });

  async function resend(req: IncomingMessage, res: ServerResponse, raw: string, step: MailStep | undefined) {
    if (req.headers.authorization !== `Bearer ${EMAIL_TEST_KEYS.RESEND_API_KEY}`) {
      return send(res, req.headers.authorization ? 403 : 401, providerError("resend", 401, "API key is invalid"));
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw);
    } catch {
      return send(res, 422, providerError("resend", 422, "Invalid JSON"));
    }
    const to = Array.isArray(body.to) ? body.to : typeof body.to === "string" ? [body.to] : [];
    if (typeof body.from !== "string" || to.length !== 1 || typeof body.subject !== "string" ||
      (typeof body.html !== "string" && typeof body.text !== "string")) {
      return send(res, 422, providerError("resend", 422, "Missing `from`, `to`, `subject` or content"));
    }
    const key = req.headers["idempotency-key"] as string | undefined;
    const hash = createHash("sha256").update(raw).digest("hex");
    if (key) {
      const seen = resendKeys.get(key);
      if (seen && seen.hash !== hash) {
        return send(res, 409, providerError("resend", 409, "Same idempotency key used with a different request payload"));
      }
      if (seen) return send(res, 200, { id: seen.id });
    }
    if (step && "status" in step) {
      return send(res, step.status, providerError("resend", step.status, `scripted ${step.status}`),
        step.retryAfter !== undefined ? { "retry-after": String(step.retryAfter) } : {});
    }
    const id = randomUUID();
    const tags = Object.fromEntries(((body.tags ?? []) as { name: string; value: string }[]).map((t) => [t.name, t.value]));
    deliver({ provider: "resend", id, to: String(to[0]), from: body.from, replyTo: body.reply_to as string | undefined,
      subject: body.subject, html: String(body.html ?? ""), text: String(body.text ?? ""),
      headers: (body.headers ?? {}) as Record<string, string>, idempotencyKey: key, tags });
    // Accepted: the key answers this id from now on, whether or not this answer reaches the client.
    if (key) resendKeys.set(key, { hash, id });
    if (step && "acceptThenDelayMs" in step) await sleep(step.acceptThenDelayMs);
    send(res, 200, { id });
  }

  async function postmark(req: IncomingMessage, res: ServerResponse, raw: string, step: MailStep | undefined) {
    if (req.headers["x-postmark-server-token"] !== EMAIL_TEST_KEYS.POSTMARK_SERVER_TOKEN) {
      return send(res, 401, providerError("postmark", 10, "Request does not contain a valid Server token."));
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw);
    } catch {
      return send(res, 422, { ErrorCode: 402, Message: "Received invalid JSON input." });
    }
    if (typeof body.From !== "string" || typeof body.To !== "string" || typeof body.Subject !== "string") {
      return send(res, 422, { ErrorCode: 300, Message: "Invalid email request: From, To and Subject are required." });
    }
    if (body.To.endsWith("@inactive.test")) {
      return send(res, 422, { ErrorCode: 406, Message: "You tried to send to recipient(s) that have been marked as inactive." });
    }
    if (step && "status" in step) {
      return send(res, step.status, providerError("postmark", step.status, `scripted ${step.status}`),
        step.retryAfter !== undefined ? { "retry-after": String(step.retryAfter) } : {});
    }
    const id = randomUUID();
    const meta = (body.Metadata ?? {}) as Record<string, string>;
    deliver({ provider: "postmark", id, to: body.To, from: body.From, replyTo: body.ReplyTo as string | undefined,
      subject: body.Subject, html: String(body.HtmlBody ?? ""), text: String(body.TextBody ?? ""),
      headers: Object.fromEntries(((body.Headers ?? []) as { Name: string; Value: string }[]).map((h) => [h.Name, h.Value])),
      idempotencyKey: meta.idempotency_key, tags: meta });
    if (step && "acceptThenDelayMs" in step) await sleep(step.acceptThenDelayMs);
    send(res, 200, { To: body.To, SubmittedAt: new Date().toISOString(), MessageID: id, ErrorCode: 0, Message: "OK" });
  }

  async function sendgrid(req: IncomingMessage, res: ServerResponse, raw: string, step: MailStep | undefined) {
    if (req.headers.authorization !== `Bearer ${EMAIL_TEST_KEYS.SENDGRID_API_KEY}`) {
      return send(res, 401, providerError("sendgrid", 401, "The provided authorization grant is invalid, expired, or revoked"));
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw);
    } catch {
      return send(res, 400, providerError("sendgrid", 400, "Bad Request"));
    }
    const p = (body.personalizations as { to?: { email: string }[] }[] | undefined)?.[0];
    const from = body.from as { email?: string; name?: string } | undefined;
    const content = (body.content ?? []) as { type: string; value: string }[];
    if (!p?.to?.[0]?.email || !from?.email || typeof body.subject !== "string" || content.length === 0) {
      return send(res, 400, providerError("sendgrid", 400, "The personalizations, from, subject and content fields are required"));
    }
    if (content[0].type !== "text/plain" && content.some((c) => c.type === "text/plain")) {
      return send(res, 400, providerError("sendgrid", 400, "If present, text/plain must be first"));
    }
    if (step && "status" in step) {
      return send(res, step.status, providerError("sendgrid", step.status, `scripted ${step.status}`),
        step.retryAfter !== undefined ? { "retry-after": String(step.retryAfter) } : {});
    }
    const id = randomUUID().replaceAll("-", "").slice(0, 22);
    const args = (body.custom_args ?? {}) as Record<string, string>;
    const replyTo = body.reply_to as { email: string } | undefined;
    deliver({ provider: "sendgrid", id, to: p.to[0].email, from: from.name ? `${from.name} <${from.email}>` : from.email,
      replyTo: replyTo?.email, subject: body.subject, html: content.find((c) => c.type === "text/html")?.value ?? "",
      text: content.find((c) => c.type === "text/plain")?.value ?? "", headers: (body.headers ?? {}) as Record<string, string>,
      idempotencyKey: args.idempotency_key, tags: args });
    if (step && "acceptThenDelayMs" in step) await sleep(step.acceptThenDelayMs);
    if (res.headersSent || res.destroyed) return;
    res.writeHead(202, { "x-message-id": id });
    res.end();
  }

  const routes: Record<string, [MailProvider, typeof resend]> = {
    "POST /resend/emails": ["resend", resend],
    "POST /postmark/email": ["postmark", postmark],
    "POST /sendgrid/v3/mail/send": ["sendgrid", sendgrid],
  };

  const server: Server = createServer(async (req, res) => {
    try {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      const raw = await readBody(req);
      if (path === "/_test/state" && req.method === "GET") return send(res, 200, state);
      if (path === "/_test/reset" && req.method === "POST") return send(res, 200, api.reset());
      if (path === "/_test/script" && req.method === "POST") {
        const { provider, steps } = JSON.parse(raw) as { provider: MailProvider; steps: MailStep[] };
        api.script(provider, ...steps);
        return send(res, 200, { ok: true });
      }
      if (path === "/_test/latency" && req.method === "POST") {
        latencyMs = Number(JSON.parse(raw).ms) || 0;
        return send(res, 200, { ok: true });
      }
      const route = routes[`${req.method} ${path}`];
      if (!route) return send(res, 404, { error: `no route ${req.method} ${path}` });
      const [provider, handle] = route;
      state.requests[provider]++;
      if (latencyMs) await sleep(latencyMs);
      await handle(req, res, raw, scripts.get(provider)?.shift());
    } catch (err) {
      send(res, 500, { error: String(err) });
    }
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${port}`;

  const api = {
    url,
    /** The function secrets that point each provider at this server. */
    env: {
      ...EMAIL_TEST_KEYS,
      RESEND_BASE_URL: `${url}/resend`,
      POSTMARK_BASE_URL: `${url}/postmark`,
      SENDGRID_BASE_URL: `${url}/sendgrid`,
    } as Record<string, string>,
    get state(): MailState {
      return state;
    },
    /** What the next requests of `provider` get, in order (then: accepted). */
    script(provider: MailProvider, ...steps: MailStep[]) {
      scripts.set(provider, [...(scripts.get(provider) ?? []), ...steps]);
    },
    /** Delay before every answer (a provider's pace, for benchmarks and races). */
    latency(ms: number) {
      latencyMs = ms;
    },
    reset() {
      state = { delivered: [], requests: { resend: 0, postmark: 0, sendgrid: 0 } };
      resendKeys = new Map();
      scripts.clear();
      return { ok: true };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return api;
}

/** The global stack's mail server, from a test file (another process): script it and read what it delivered. */
export function emailServerClient(url: string) {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
  };
  return {
    url,
    state: async (): Promise<MailState> => (await fetch(`${url}/_test/state`)).json() as Promise<MailState>,
    script: (provider: MailProvider, ...steps: MailStep[]) => post("/_test/script", { provider, steps }),
    reset: () => post("/_test/reset", {}),
    latency: (ms: number) => post("/_test/latency", { ms }),
  };
}
