// The fault-injection soak (bench/soak.ts, and its short version in tests/soak.test.ts): a throwaway local
// stack whose functions talk to the local OpenAI-wire and Stripe-wire servers through fault proxies, many
// concurrent clients doing every money operation there is, and faults injected meanwhile (backends
// terminated, function processes killed mid-request, providers failing). Then a drain without faults (events
// Stripe would still redeliver, payouts the next run would make, every wallet's due work), and the ledger
// checks of soak-checks.ts against what the clients were told.
import postgres from "postgres";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { syncStripeCatalog } from "../../src/billing/stripe-sync.ts";
import { freePort } from "../../src/local/functions.ts";
import { userToken } from "../../src/local/jwt.ts";
import { startStack, type Stack } from "../../src/local/stack.ts";
import { tempDir } from "../../src/local/throwaway.ts";
import { planLookupKey, stripeCatalog } from "../../supabase/functions/_shared/billing-catalog.ts";
import { config } from "../../supabase/functions/_shared/config.ts";
import { createStripe } from "../../supabase/functions/_shared/stripe-client.ts";
import { startOpenAIServer } from "../../tests/support/openai-server.ts";
import { startStripeServer } from "../../tests/support/stripe-server.ts";
import { signPayload, stripeEvent } from "../../tests/support/stripe-webhook.ts";
import { checkLedger, checkTheChecks, type Context, type Journal, type Violation } from "./soak-checks.ts";
import { type ProxyFault, type Random, seededRandom, startFaultProxy } from "./soak-faults.ts";

export type Operation =
  | "charge"
  | "wallet"
  | "client_reservation"
  | "lowball_reservation"
  | "server_reservation"
  | "chat"
  | "credit_pack"
  | "refund"
  | "dispute"
  | "subscription"
  | "invoice_refund"
  | "referral_signup"
  | "cashout";

export interface SoakOptions {
  operations: number;
  clients: number;
  users: number;
  seed: number;
  /** Relative weight of each operation (0 or absent: never). */
  mix: Partial<Record<Operation, number>>;
  /** Faults injected by the soak itself, per second: backends terminated, function processes killed. */
  dbKillsPerSecond: number;
  functionKillsPerSecond: number;
  /** Per-request fault probabilities at the provider (OpenAI-wire) and Stripe proxies. */
  providerFaults: Partial<Record<ProxyFault, number>>;
  stripeFaults: Partial<Record<ProxyFault, number>>;
  log?: (line: string) => void;
}

export const FULL_MIX: Record<Operation, number> = {
  charge: 14,
  wallet: 4,
  client_reservation: 10,
  lowball_reservation: 1,
  server_reservation: 5,
  chat: 16,
  credit_pack: 8,
  refund: 4,
  dispute: 2,
  subscription: 4,
  invoice_refund: 1,
  referral_signup: 4,
  cashout: 3,
};

export interface SoakResult {
  operations: number;
  faults: number;
  faultsByKind: Record<string, number>;
  operationsByKind: Record<string, number>;
  outcomes: Record<string, number>;
  violations: Violation[];
  checks: { name: string; checked: number; violations: number }[];
  /** Violations planted after the run (and rolled back): each must have been caught by its check. */
  selfTest: { name: string; planted: boolean; caught: boolean }[];
  /** What went wrong that is no ledger rule: function processes that died by themselves, and why. */
  findings: { functionCrashes: number; driverNextWriteErrors: number; crashOutput: string[] };
  seconds: number;
}

const WEBHOOK_SECRET = "whsec_soak";
const FUNCTIONS = ["credits", "chat", "checkout", "stripe-webhook", "referral-payout", "connect-onboarding"];
const PAID_PLAN = "soak_paid";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface User {
  id: string;
  email: string;
  token: string;
  /** Subscribers buy plans through Stripe's events; the others stay on a plan with no free allowance. */
  subscriber: boolean;
  referrer: boolean;
  code?: string;
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const log0 = opts.log ?? (() => {});
  const t00 = performance.now();
  const log = (line: string) => log0(`[${((performance.now() - t00) / 1000).toFixed(1)} s] ${line}`);
  const random = seededRandom(opts.seed);
  // The sequence of operations comes from a generator of its own, drawn in issue order: the same for a seed,
  // whatever the interleaving (the other choices depend on which client gets there first).
  const opRandom = seededRandom(opts.seed + 3);
  const dir = tempDir("saasbase-soak-");
  const started = performance.now();
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    // The providers, each behind a fault proxy that the functions are pointed at.
    const stripeServer = await startStripeServer();
    cleanups.push(() => stripeServer.close());
    const ai = await startOpenAIServer();
    cleanups.push(() => ai.close());
    ai.setDefaultDelay(3); // an answer in pieces, so that a stop button can land midway
    const stripeProxy = await startFaultProxy({
      target: stripeServer.url,
      random: seededRandom(opts.seed + 1),
      rates: {},
      errorBody: () => ({ error: { type: "api_error", message: "soak: injected Stripe outage" } }),
      timeoutMs: 15_000,
    });
    cleanups.push(() => stripeProxy.close());
    const aiProxy = await startFaultProxy({
      target: ai.url,
      random: seededRandom(opts.seed + 2),
      rates: {},
      errorBody: () => ({ error: { message: "soak: injected provider outage", type: "server_error", code: null } }),
      timeoutMs: 40_000,
    });
    cleanups.push(() => aiProxy.close());

    const stack: Stack = await startStack({
      dataDir: join(dir, "db"),
      dbPort: await freePort(),
      apiPort: await freePort(),
      durable: false,
      loadFunctionsEnvFile: false,
      functions: (f) => FUNCTIONS.includes(f.name),
      functionEnv: {
        STRIPE_SECRET_KEY: "sk_test_soak",
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_BASE: stripeProxy.url,
        OPENAI_API_KEY: "sk-soak",
        OPENAI_BASE_URL: `${aiProxy.url}/openai/v1`,
        GEMINI_API_KEY: "soak-gemini",
        GEMINI_BASE_URL: `${aiProxy.url}/gemini/v1`,
      },
      functionsLogFile: join(dir, "functions.log"),
    });
    cleanups.push(() => stack.stop());
    // The soak's own connections (setup, faults, checks; `rest` carries the clients' SQL API calls as PostgREST
    // would) are never terminated: the functions' are. (postgres.js 3.4.9, which the soak and the functions
    // both use, can throw an uncatchable TypeError from nextWrite when its backend dies under a pending write,
    // porsager/postgres#1154 and #1208: in the soak's process that would end the run.)
    const control = postgres(stack.dbUrl, { max: 4, onnotice: () => {}, connection: { application_name: "soak-control" } });
    cleanups.push(() => control.end({ timeout: 1 }));
    const rest = postgres(stack.dbUrl, { max: 16, onnotice: () => {}, connection: { application_name: "soak-rest" } });
    cleanups.push(() => rest.end({ timeout: 1 }));

    // The catalog at Stripe and in the database (prices for plans and packs), as `npm run stripe:sync` makes it.
    await syncStripeCatalog(createStripe("sk_test_soak", stripeServer.url), control, stripeCatalog(config), config.currency);
    const planPrices = Object.fromEntries(
      (await control`select x.id, pr.plan_id, x.unit_amount, pl.monthly_credits from public.prices x
        join public.products pr on pr.id = x.product_id join public.plans pl on pl.id = pr.plan_id
        where x.active and x.lookup_key in ${control([planLookupKey("plus", "month"), planLookupKey("business", "month")])}`)
        .map((r) => [r.plan_id as string, { id: r.id as string, amount: r.unit_amount as number, credits: r.monthly_credits as number }]),
    );
    // A plan with no free allowance (every use is paid), and reservations that lapse within the run (the
    // config's floor is 10 minutes; the soak needs abandoned ones to come due while it runs).
    await control`insert into public.plans (id, name, price_monthly_cents) values (${PAID_PLAN}, 'Soak', 100)`;
    await control`update saasbase.settings set reservation_ttl_minutes = 1`;

    const secret = stack.jwtSecret;
    const newUser = async (email: string, meta: Record<string, unknown> = {}, appMeta: Record<string, unknown> = {}) => {
      const [{ id }] = await control`
        insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
          raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
        values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', ${email}, '',
          now(), ${control.json({ provider: "email", providers: ["email"], ...appMeta } as postgres.JSONValue)},
          ${control.json(meta as postgres.JSONValue)}, now(), now())
        returning id`;
      return id as string;
    };
    const users: User[] = [];
    for (let i = 0; i < opts.users; i++) {
      const email = `soak${i}@soak.local`;
      const id = await newUser(email);
      const subscriber = i % 4 === 3;
      users.push({ id, email, token: await userToken({ id, email }, secret, 24 * 3600), subscriber, referrer: i % 8 === 0 });
    }
    for (const u of users) {
      if (!u.subscriber) await control`update public.accounts set plan_id = ${PAID_PLAN} where id = ${u.id}`;
      await control`select public.service_role_grant_credits(${u.id}, 300, 'grant', 'soak start', 'soak-start')`;
      u.code = (await control`select code from public.referral_codes where user_id = ${u.id}`)[0].code;
    }
    // Each referrer starts with five rewarded referrals (cash enough for a cash-out), so cash-outs start early.
    for (const u of users.filter((x) => x.referrer)) {
      for (let i = 0; i < 5; i++) await newUser(`${u.code!.toLowerCase()}-${i}@soak.local`, { referral_code: u.code });
    }
    const adminId = await newUser("admin@soak.local", {}, { role: "admin" });
    const adminClaims = { sub: adminId, role: "authenticated", aud: "authenticated", email: "admin@soak.local", app_metadata: { role: "admin" } };

    const journal: Journal = {
      charges: [], reservations: [], chats: [], purchases: [], refunds: [], disputes: [], invoices: [], invoiceRefunds: [],
      referralSignups: 0, cashouts: [], webhookRefusals: [], subscriptions: [],
    };
    const outcomes: Record<string, number> = {};
    const note = (what: string): void => {
      outcomes[what] = (outcomes[what] ?? 0) + 1;
    };
    const operationsByKind: Record<string, number> = {};
    let faultsRunning = true;
    const soakFaults: Record<string, number> = { backend_terminated: 0, function_killed: 0 };
    // A function process that died by itself (found by the gateway's 502 BOOT_ERROR while nobody restarts it) is
    // started again, as the platform boots a new worker, and counted: a crash is a finding, not a fault we made.
    let crashed = 0;
    const restarting = new Set<string>();
    const restartedAt = new Map<string, number>();
    const restart = (fn: string) => {
      if (restarting.has(fn)) return;
      restarting.add(fn);
      void stack.restartFunction(fn).catch((err) => log(`restart of ${fn} failed: ${err}`))
        .finally(() => (restarting.delete(fn), restartedAt.set(fn, Date.now())));
    };
    const noticeDead = (fn: string, status: number, body: any) => {
      // (A 502 of a request that reached the process we killed may arrive just after its successor started.)
      if (status === 502 && body?.code === "BOOT_ERROR" && !restarting.has(fn) && Date.now() - (restartedAt.get(fn) ?? 0) > 5_000) {
        crashed++;
        log(`${fn} found dead: restarted`);
        restart(fn);
      }
    };

    // ---- Clients' means: HTTP to the functions (tracking what is in flight, for kills mid-request), and SQL
    // as PostgREST runs it for a user's token.
    const inFlight = new Map<string, number>(FUNCTIONS.map((f) => [f, 0]));
    async function call(fn: string, init: RequestInit & { token?: string; timeoutMs?: number } = {}, path = "") {
      const headers = new Headers(init.headers);
      if (init.token) headers.set("authorization", `Bearer ${init.token}`);
      if (init.body && !headers.has("content-type")) headers.set("content-type", "application/json");
      inFlight.set(fn, inFlight.get(fn)! + 1);
      try {
        const res = await fetch(`${stack.functionsUrl}/${fn}${path}`, {
          ...init, headers, signal: init.signal ?? AbortSignal.timeout(init.timeoutMs ?? 90_000),
        });
        const text = await res.text();
        let body: any;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = text;
        }
        noticeDead(fn, res.status, body);
        return { status: res.status, body, headers: res.headers };
      } catch (err) {
        return { status: 0, body: { error: { code: "network_error", message: String(err) } }, headers: new Headers() };
      } finally {
        inFlight.set(fn, inFlight.get(fn)! - 1);
      }
    }
    /** Retries what a client retries: no answer, or the platform's / the function's 5xx. */
    async function callRetrying(fn: string, init: RequestInit & { token?: string }, path = "", attempts = 6) {
      let res = await call(fn, init, path);
      for (let i = 1; i < attempts && (res.status === 0 || res.status >= 500); i++) {
        await sleep(random.int(50, 300) * i);
        res = await call(fn, init, path);
      }
      return res;
    }

    const retryableDb = (err: unknown) => {
      const e = err as { code?: string; message?: string };
      return ["57P01", "08006", "08003", "08000", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "ECONNRESET", "40P01", "40001"]
        .includes(e.code ?? "") || /terminat|connection/i.test(e.message ?? "");
    };
    /** A request through PostgREST: one transaction as the token's role and claims; a dropped connection is a
     * 5xx the client retries (same arguments, so the same idempotency key). */
    async function asUser<T>(claims: Record<string, unknown>, fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await rest.begin(async (tx) => {
            await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true), set_config('role', 'authenticated', true)`;
            return fn(tx);
          }) as T;
        } catch (err) {
          if (attempt >= 6 || !retryableDb(err)) throw err;
          await sleep(random.int(20, 200));
        }
      }
    }
    const claimsOf = (u: User) => ({ sub: u.id, role: "authenticated", aud: "authenticated", email: u.email, app_metadata: {} });
    /** The server's own SQL calls (service role), retried the same way. */
    async function asServer<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn(rest);
        } catch (err) {
          if (attempt >= 6 || !retryableDb(err)) throw err;
          await sleep(random.int(20, 200));
        }
      }
    }
    const sqlCode = (err: unknown) => (err as { detail?: string; code?: string }).detail ?? (err as { code?: string }).code ?? "error";

    // ---- Stripe's side: signed events (tests/support/stripe-webhook.ts's, with ids of the seed's and the soak's
    // webhook secret), delivered as Stripe does (again after any non-2xx, in any order), through `call`: it
    // counts them in flight for the kills and notices a dead function.
    let eventSeq = 0;
    const pendingEvents: object[] = [];
    /** Deliveries an operation did not wait for (a purchase's events going out after its refund's). */
    const background: Promise<unknown>[] = [];
    const event = (type: string, object: object, created?: number) =>
      stripeEvent(type, object, { id: `evt_soak_${opts.seed}_${++eventSeq}`, created });
    async function deliver(evt: { id: string; type: string }, attempts = 8): Promise<boolean> {
      const payload = JSON.stringify(evt);
      for (let i = 0; i < attempts; i++) {
        const res = await call("stripe-webhook", {
          method: "POST",
          headers: { "stripe-signature": await signPayload(payload, { secret: WEBHOOK_SECRET }) },
          body: payload,
        });
        if (res.status >= 200 && res.status < 300) return true;
        // 409: applied later (an invoice waiting for its customer's link, a refund for its invoice): Stripe
        // delivers again after any non-2xx, and so does this.
        if (res.status >= 400 && res.status < 500 && res.status !== 409) {
          journal.webhookRefusals.push({ event: evt.id, type: evt.type, status: res.status, body: res.body });
          return false;
        }
        await sleep(random.int(50, 400));
      }
      pendingEvents.push(evt); // Stripe keeps trying for days: the drain delivers it
      return false;
    }
    /** Each event delivered `copies` times, all in a random order, some at the same moment. */
    async function deliverAll(events: { id: string; type: string }[], copies = 2) {
      const sends = random.shuffle(events.flatMap((e) => Array.from({ length: random.int(1, copies) }, () => e)));
      if (random.chance(0.3)) await Promise.all(sends.map((e) => deliver(e)));
      else for (const e of sends) await deliver(e);
    }

    // ---- The operations.
    const FEATURES = ["component_generation", "coloring_page", "quiz", "premium_article"];
    const price = (feature: string) => config.features[feature].credits;
    let seq = 0;
    const uid = (prefix: string) => `${prefix}_${opts.seed}_${++seq}`;
    const payers = () => users.filter((u) => !u.subscriber);

    const ops: Record<Operation, () => Promise<void>> = {
      async charge() {
        const u = random.pick(users);
        const feature = random.pick(FEATURES);
        const quantity = random.int(1, 3);
        const key = uid("charge");
        const entry: Journal["charges"][number] = { user: u.id, key, feature, quantity };
        journal.charges.push(entry);
        const res = await callRetrying("credits", { method: "POST", token: u.token, body: JSON.stringify({ feature, quantity, idempotency_key: key }) }, "/charge");
        note(`charge ${res.status}`);
        if (res.status === 200) entry.charged = res.body.credits_charged;
        // A client that saw it go through may send it again (a double click): the same outcome, not a second charge.
        if (res.status === 200 && random.chance(0.2)) {
          const again = await callRetrying("credits", { method: "POST", token: u.token, body: JSON.stringify({ feature, quantity, idempotency_key: key }) }, "/charge");
          if (again.status === 200) entry.replayedAs = again.body.credits_charged;
        }
      },

      async wallet() {
        const u = random.pick(users);
        const res = await callRetrying("credits", { method: "GET", token: u.token });
        note(`wallet ${res.status}`);
      },

      async client_reservation() {
        await clientReservation(false);
      },
      async lowball_reservation() {
        await clientReservation(true);
      },

      async server_reservation() {
        const u = random.pick(users);
        const key = uid("server");
        const feature = random.pick(FEATURES);
        journal.reservations.push({ user: u.id, key, feature, byServer: true });
        try {
          const [r] = await asServer((sql) => sql`select * from public.service_role_reserve_credits(null, ${u.id}, ${feature}, 1, ${key}, null)`);
          if (random.chance(0.7)) {
            await asServer((sql) => sql`select * from public.service_role_release_reservation(null, ${u.id}, ${r.reservation_id})`);
            note("server reservation released");
          } else note("server reservation abandoned"); // the server died: its reservation lapses
        } catch (err) {
          note(`server reservation ${sqlCode(err)}`);
        }
      },

      async chat() {
        const u = random.pick(users);
        const persona = random.pick(["general", "general", "lawyer", "god-mode"]);
        const question = uid("soak question");
        const idempotencyKey = uid("chatkey");
        const behaviour = random.weighted({ read: 7, stop: 2 });
        const entry: Journal["chats"][number] = { user: u.id, question, idempotencyKey, behaviour, outcome: "no_answer", received: "" };
        journal.chats.push(entry);
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), 150_000);
        inFlight.set("chat", inFlight.get("chat")! + 1);
        try {
          const res = await fetch(`${stack.functionsUrl}/chat`, {
            method: "POST",
            headers: { authorization: `Bearer ${u.token}`, "content-type": "application/json", "idempotency-key": idempotencyKey },
            body: JSON.stringify({ message: question, persona }),
            signal: controller.signal,
          });
          entry.status = res.status;
          if (res.status !== 200 || !res.body) {
            entry.outcome = "refused";
            const body = await res.json().catch(() => ({}));
            noticeDead("chat", res.status, body);
            entry.error = body.error?.code ?? body.code;
            return;
          }
          const reader = res.body.getReader();
          const decoder = new TextDecoder();
          let buffer = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += decoder.decode(value, { stream: true });
            let cut;
            while ((cut = buffer.indexOf("\n\n")) >= 0) {
              const block = buffer.slice(0, cut);
              buffer = buffer.slice(cut + 2);
              const name = /^event: (.*)$/m.exec(block)?.[1];
              const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null");
              if (name === "token") {
                entry.received += data.content;
                if (behaviour === "stop") {
                  entry.outcome = "stopped";
                  controller.abort();
                  await reader.cancel().catch(() => {});
                  return;
                }
              } else if (name === "done") {
                entry.outcome = "done";
                entry.done = { messageId: Number(data.message_id), charged: data.credits_charged };
              } else if (name === "error") {
                entry.outcome = "broke_off";
                entry.error = data.code;
              }
            }
          }
          if (entry.outcome === "no_answer" && entry.received) entry.outcome = "cut";
        } catch (err) {
          if (entry.outcome !== "stopped") entry.outcome = entry.received ? "cut" : "no_answer";
          entry.error ??= String(err).slice(0, 200);
        } finally {
          clearTimeout(timer);
          inFlight.set("chat", inFlight.get("chat")! - 1);
          note(`chat ${entry.outcome}${entry.error && entry.outcome === "refused" ? ` ${entry.status} ${entry.error}` : ""}`);
        }
      },

      async credit_pack() {
        await creditPack();
      },

      async refund() {
        // A refund of a recorded purchase, or of one whose own event comes after (or at the same time as) it.
        const p = random.chance(0.7) && journal.purchases.length ? random.pick(journal.purchases) : await creditPack(true);
        if (!p) return;
        const amount = random.chance(0.5) ? p.amount : Math.max(1, Math.floor(p.amount / random.int(2, 4)));
        journal.refunds.push({ paymentIntent: p.paymentIntent, amountRefunded: amount });
        const charge = { id: `ch_${p.paymentIntent}`, object: "charge", payment_intent: p.paymentIntent, amount: p.amount, amount_refunded: amount, refunded: amount >= p.amount, customer: p.customer };
        await deliverAll([event("charge.refunded", charge)]);
        note("refund");
      },

      async dispute() {
        if (!journal.purchases.length) return;
        const p = random.pick(journal.purchases);
        const id = uid("dp");
        const amount = Math.max(1, Math.floor(p.amount / random.int(1, 3)));
        journal.disputes.push({ paymentIntent: p.paymentIntent, dispute: id, amount });
        const dispute = { id, object: "dispute", charge: `ch_${p.paymentIntent}`, payment_intent: p.paymentIntent, amount, status: "lost", reason: "fraudulent" };
        await deliverAll([event("charge.dispute.funds_withdrawn", dispute)]);
        note("dispute");
      },

      async subscription() {
        // A subscriber's life: bought through the checkout function (which links their Stripe customer), then
        // renewed, or cancelled; each stage's events delivered twice and out of order.
        const u = random.pick(users.filter((x) => x.subscriber && !subscriptionBusy.has(x.id)));
        if (!u) return;
        subscriptionBusy.add(u.id);
        try {
          await subscriptionStep(u);
        } finally {
          subscriptionBusy.delete(u.id);
        }
      },

      async invoice_refund() {
        const paid = journal.invoices.filter((i) => i.delivered);
        if (!paid.length) return;
        const inv = random.pick(paid);
        const pi = `pi_${inv.invoice}`;
        if (!stripeServer.state.invoicePayments.some((p) => p.invoice === inv.invoice)) {
          stripeServer.state.invoicePayments.push({ id: `inpay_${inv.invoice}`, object: "invoice_payment", invoice: inv.invoice, amount_paid: inv.amount,
            is_default: true, status: "paid", payment: { type: "payment_intent", payment_intent: pi } });
        }
        const amount = random.chance(0.5) ? inv.amount : Math.floor(inv.amount / 2);
        journal.invoiceRefunds.push({ invoice: inv.invoice, amountRefunded: amount });
        await deliverAll([event("charge.refunded", { id: `ch_${pi}`, object: "charge", payment_intent: pi, amount: inv.amount, amount_refunded: amount, refunded: amount >= inv.amount })]);
        note("invoice refund");
      },

      async referral_signup() {
        const referrer = random.pick(users.filter((u) => u.referrer));
        try {
          await asServer(() => newUser(`${uid("referred")}@soak.local`, { referral_code: referrer.code }));
          journal.referralSignups++;
          note("referral sign-up");
        } catch (err) {
          note(`referral sign-up ${sqlCode(err)}`);
        }
      },

      async cashout() {
        const candidates = [];
        for (const u of users.filter((x) => x.referrer)) {
          const [w] = await control`select available_cents from public.cash_wallets where user_id = ${u.id}`;
          if (w && Number(w.available_cents) >= 1000) candidates.push({ u, available: Number(w.available_cents) });
        }
        if (!candidates.length) return note("cash-out: no cash yet");
        const { u, available } = random.pick(candidates);
        const amount = random.int(1000, Math.min(available, 3000));
        let id: string;
        try {
          id = (await asUser(claimsOf(u), (tx) => tx`select * from public.request_cashout(${amount})`))[0].cashout_id;
        } catch (err) {
          return note(`cash-out request ${sqlCode(err)}`); // the cash went to another request meanwhile
        }
        journal.cashouts.push({ id, user: u.id, amount });
        const approve = random.chance(0.85);
        try {
          await asUser(adminClaims, (tx) => tx`select * from public.admin_decide_cashout(${id}, ${approve}, 'soak')`);
        } catch (err) {
          return note(`cash-out decision ${sqlCode(err)}`);
        }
        if (!approve) return note("cash-out rejected");
        const onboard = await callRetrying("connect-onboarding", { method: "POST", token: u.token, body: "{}" });
        if (onboard.status !== 200) return note(`cash-out onboarding ${onboard.status}`);
        const paid = await callRetrying("referral-payout", { method: "POST", token: stack.serviceRoleKey, body: JSON.stringify({ cashout_id: id }) });
        note(`cash-out payout ${paid.status} ${paid.body?.results?.[0]?.status ?? paid.body?.error?.code ?? ""}`.trim());
      },
    };

    const subscriptionBusy = new Set<string>();
    const liveSubscriptions = new Map<string, { sub: string; customer: string; price: { id: string; amount: number; credits: number }; start: number; period: number; external?: boolean }>();
    async function subscriptionStep(u: User) {
      let live = liveSubscriptions.get(u.id);
      const t = Math.floor(Date.now() / 1000);
      const subscription = (l: NonNullable<typeof live>, status: string, period: number) => ({
        id: l.sub, object: "subscription", status, customer: l.customer, metadata: { user_id: u.id }, cancel_at_period_end: false,
        canceled_at: status === "canceled" ? t : null,
        items: { object: "list", data: [{ id: `si_${l.sub}`, price: { id: l.price.id },
          current_period_start: l.start + period * 2_592_000, current_period_end: l.start + (period + 1) * 2_592_000 }] },
      });
      const invoicePaid = (l: NonNullable<typeof live>, period: number, carriesUser = true) => {
        const invoice = `in_${l.sub}_${period}`;
        const periodStart = l.start + period * 2_592_000;
        journal.invoices.push({ user: u.id, invoice, subscription: l.sub, periodStart, credits: l.price.credits, amount: l.price.amount });
        return event("invoice.paid", {
          id: invoice, object: "invoice", customer: l.customer, status: "paid", amount_paid: l.price.amount, amount_due: l.price.amount,
          currency: "usd", billing_reason: period === 0 ? "subscription_create" : "subscription_cycle",
          parent: { type: "subscription_details", subscription_details: { subscription: l.sub, metadata: carriesUser ? { user_id: u.id } : {} } },
          lines: { object: "list", data: [{ id: `il_${invoice}`, period: { start: periodStart, end: periodStart + 2_592_000 },
            pricing: { type: "price_details", price_details: { price: l.price.id } },
            parent: { type: "subscription_item_details", subscription_item_details: { proration: false, subscription: l.sub } } }] },
        }, t);
      };
      let events;
      if (!live && random.chance(0.3) && !(await control`select 1 from public.customers where account_id = ${u.id}`).length) {
        // Made outside our checkout (the app's server through Stripe's API, say) for a user with no customer yet:
        // a customer linked to nobody, whose invoice carries no user; the subscription's own events name the user.
        // Whatever comes first, the invoice waits for the link and is applied with it (issue 13, 1.5).
        const plan = random.pick(["plus", "business"]);
        live = { sub: uid("sub"), customer: uid("cus_ext"), price: planPrices[plan], start: t, period: 0, external: true };
        liveSubscriptions.set(u.id, live);
        journal.subscriptions.push({ user: u.id, subscription: live.sub, plan: plan, cancelled: false });
        events = [
          event("customer.subscription.created", subscription(live, "incomplete", 0), t),
          event("customer.subscription.updated", subscription(live, "active", 0), t),
          invoicePaid(live, 0, false),
        ];
        note("subscription bought outside checkout");
      } else if (!live) {
        const plan = random.pick(["plus", "business"]);
        const res = await callRetrying("checkout", { method: "POST", token: u.token, headers: { "idempotency-key": uid("co") },
          body: JSON.stringify({ price: planLookupKey(plan, "month") }) });
        if (res.status !== 200) return note(`subscription checkout ${res.status} ${res.body?.error?.code ?? ""}`.trim());
        const session = stripeServer.state.sessions.get(res.body.id)!;
        live = { sub: uid("sub"), customer: session.customer, price: planPrices[plan], start: t, period: 0 };
        liveSubscriptions.set(u.id, live);
        journal.subscriptions.push({ user: u.id, subscription: live.sub, plan: plan, cancelled: false });
        stripeServer.state.subscriptions.set(live.sub, subscription(live, "active", 0));
        events = [
          event("customer.subscription.created", subscription(live, "incomplete", 0), t),
          event("customer.subscription.updated", subscription(live, "active", 0), t),
          event("checkout.session.completed", { id: session.id, object: "checkout.session", mode: "subscription", status: "complete",
            payment_status: "paid", customer: live.customer, subscription: live.sub, client_reference_id: u.id, metadata: session.metadata }, t),
          invoicePaid(live, 0),
        ];
        note("subscription bought");
      } else if (random.chance(0.25)) {
        liveSubscriptions.delete(u.id);
        journal.subscriptions.find((x) => x.subscription === live!.sub)!.cancelled = true;
        events = [event("customer.subscription.deleted", subscription(live, "canceled", live.period), t)];
        note("subscription cancelled");
      } else {
        live.period++;
        events = [invoicePaid(live, live.period, !live.external), event("customer.subscription.updated", subscription(live, "active", live.period), t)];
        note("subscription renewed");
      }
      await deliverAll(events);
      for (const inv of journal.invoices) if (inv.subscription === live.sub) inv.delivered = true;
    }

    async function clientReservation(lowball: boolean) {
      const u = random.pick(payers());
      const feature = random.pick(FEATURES);
      const key = uid("reserve");
      const entry: Journal["reservations"][number] = { user: u.id, key, feature, byServer: false };
      journal.reservations.push(entry);
      const claims = claimsOf(u);
      try {
        // Worst case held: the price, or more; a lowball client sizes its hold under the price (issue 13, 1.3).
        const max = lowball ? 0 : random.chance(0.5) ? null : price(feature) + random.int(0, 5);
        const [r] = await asUser(claims, (tx) => tx`select * from public.reserve_credits(${feature}, 1, ${key}, ${max})`);
        entry.id = r.reservation_id;
        const end = random.weighted({ settle: 5, release: 3, abandon: 1 });
        if (end === "settle") {
          const actual = random.chance(0.2) ? price(feature) + 3 : price(feature);
          await asUser(claims, (tx) => tx`select * from public.settle_reservation(${r.reservation_id}, ${actual})`);
          if (random.chance(0.2)) await asUser(claims, (tx) => tx`select * from public.settle_reservation(${r.reservation_id}, ${actual})`);
        } else if (end === "release") {
          await asUser(claims, (tx) => tx`select * from public.release_reservation(${r.reservation_id})`);
        }
        note(`reservation ${end}${lowball ? " (lowball)" : ""}`);
      } catch (err) {
        note(`reservation ${sqlCode(err)}`);
      }
    }

    async function creditPack(eventLater = false): Promise<Journal["purchases"][number] | undefined> {
      const u = random.pick(payers());
      const pack = random.pick(config.creditPacks);
      const res = await callRetrying("checkout", { method: "POST", token: u.token, headers: { "idempotency-key": uid("co") }, body: JSON.stringify({ pack: pack.id }) });
      note(`checkout ${res.status}`);
      if (res.status !== 200) return undefined;
      const session = stripeServer.state.sessions.get(res.body.id)!;
      const paymentIntent = `pi_${session.id}`;
      const object = {
        id: session.id, object: "checkout.session", mode: "payment", status: "complete", payment_status: "paid",
        amount_total: Number(session.line_items_params[0].price_data.unit_amount), currency: "usd", customer: session.customer,
        client_reference_id: u.id, payment_intent: paymentIntent, metadata: session.metadata,
      };
      const purchase = { user: u.id, session: session.id, paymentIntent, credits: Number(session.metadata.credits), amount: object.amount_total, customer: session.customer };
      journal.purchases.push(purchase);
      // A delayed payment (a bank debit): completed unpaid, then paid.
      const events = random.chance(0.2)
        ? [event("checkout.session.completed", { ...object, payment_status: "unpaid" }), event("checkout.session.async_payment_succeeded", object)]
        : [event("checkout.session.completed", object)];
      const delivery = deliverAll(events, 3);
      if (eventLater) background.push(delivery); // its refund goes out meanwhile
      else await delivery;
      return purchase;
    }

    // ---- Faults the soak injects itself, while the clients run.
    async function faultLoop() {
      while (faultsRunning) {
        const killRate = opts.dbKillsPerSecond + opts.functionKillsPerSecond;
        if (killRate <= 0) return;
        await sleep(Math.max(5, -Math.log(1 - random.next()) * 1000 / killRate));
        if (!faultsRunning) return;
        // Each kind at least once, however short the run (the short soak in npm test ends in seconds on an idle
        // machine): a kind that has not come up yet while the other has is taken next.
        const dbFirst = opts.dbKillsPerSecond > 0 && soakFaults.backend_terminated === 0 && soakFaults.function_killed > 0;
        const fnFirst = opts.functionKillsPerSecond > 0 && soakFaults.function_killed === 0 && soakFaults.backend_terminated > 0;
        if (dbFirst || (!fnFirst && random.next() < opts.dbKillsPerSecond / killRate)) {
          const [victim] = await control`select pid, application_name from pg_stat_activity
            where backend_type = 'client backend' and datname = current_database() and pid <> pg_backend_pid()
              and application_name not like 'soak-%'
            order by random() limit 1`;
          if (victim && (await control`select pg_terminate_backend(${victim.pid}) as ok`)[0].ok) soakFaults.backend_terminated++;
        } else {
          // A function with requests in flight, if any: killed mid-request.
          const busy = FUNCTIONS.filter((f) => inFlight.get(f)! > 0 && !restarting.has(f));
          const victim = random.pick(busy.length ? busy : FUNCTIONS.filter((f) => !restarting.has(f)));
          if (!victim) continue;
          soakFaults.function_killed++;
          restart(victim);
        }
      }
    }

    // ---- The run.
    stripeProxy.rates = { ...opts.stripeFaults };
    aiProxy.rates = { ...opts.providerFaults };
    const faults = faultLoop();
    let done = 0;
    let issued = 0;
    const progressEvery = Math.max(1, Math.floor(opts.operations / 10));
    await Promise.all(Array.from({ length: opts.clients }, async () => {
      while (issued < opts.operations) {
        issued++;
        const op = opRandom.weighted(opts.mix);
        operationsByKind[op] = (operationsByKind[op] ?? 0) + 1;
        try {
          await ops[op]();
        } catch (err) {
          note(`${op} threw ${String(err).slice(0, 120)}`);
        }
        if (++done % progressEvery === 0) log(`${done} operations, ${Object.values(soakFaults).reduce((a, b) => a + b, 0)} kills so far`);
      }
    }));
    faultsRunning = false;
    await faults;
    await Promise.all(background);
    stripeProxy.rates = {};
    aiProxy.rates = {};
    log("drain: redeliveries, payouts, due work");

    // ---- Drain: what the world does after the outage. Stripe redelivers what was never acknowledged; the next
    // payout run pays approved cash-outs; every wallet's next operation does its due work.
    await Promise.all(FUNCTIONS.map(async (f) => {
      // A function killed at the very end is back before the drain.
      for (let i = 0; i < 100 && (await call(f, { method: "OPTIONS" })).status === 502; i++) await sleep(100);
    }));
    for (let round = 0; round < 5 && pendingEvents.length; round++) {
      const again = pendingEvents.splice(0);
      for (const e of again) await deliver(e as { id: string; type: string }, 3);
    }
    const payout = await callRetrying("referral-payout", { method: "POST", token: stack.serviceRoleKey, body: "{}" });
    note(`drain payout ${payout.status}`);
    // Reservations abandoned near the end have not come due yet: the last due-work pass runs on the clock of
    // when the last of them has (a direct session may move it: saasbase.now), and the checks read that moment.
    const [{ dueAt }] = await control`select greatest(now(), max(expires_at)) + interval '1 second' as "dueAt"
      from public.credit_reservations where status = 'open'`;
    for (const u of users) {
      await asUser(claimsOf(u), async (tx) => {
        await tx`select set_config('saasbase.now', ${dueAt.toISOString()}, true)`;
        return tx`select * from public.get_wallet()`;
      });
    }
    // No restart may still be under way when the stack stops (its new process would outlive the stack).
    for (let i = 0; i < 600 && restarting.size; i++) await sleep(100);
    log("checks");

    const ctx: Context = {
      transfers: [...stripeServer.state.transfers.values()] as Context["transfers"],
      paidPlan: PAID_PLAN,
      checkedAt: dueAt,
      pendingEvents: pendingEvents.length,
    };
    const { violations, checks } = await checkLedger(control, journal, ctx);
    // The checks must be able to fail: each planted violation (rolled back after) is caught by its check.
    const selfTest = await checkTheChecks(control, journal, ctx);
    const functionsLog = readFileSync(join(dir, "functions.log"), "utf8");
    const findings = {
      functionCrashes: crashed,
      // The driver bug above, seen in the functions' own output.
      driverNextWriteErrors: functionsLog.match(/Cannot read properties of null \(reading 'write'\)/g)?.length ?? 0,
      // What the dead ones said last (Deno prints an uncaught error as `error: Uncaught ...`).
      crashOutput: [...functionsLog.matchAll(/^.*error: Uncaught.*\n(?:.*\n){0,4}/gm)].slice(0, 5).map((m) => m[0].trimEnd()),
    };
    const faultsByKind: Record<string, number> = { ...soakFaults };
    for (const [k, v] of Object.entries(aiProxy.injected)) if (v) faultsByKind[`provider_${k}`] = v;
    for (const [k, v] of Object.entries(stripeProxy.injected)) if (v) faultsByKind[`stripe_${k}`] = v;
    return {
      operations: done,
      faults: Object.values(faultsByKind).reduce((a, b) => a + b, 0),
      faultsByKind,
      operationsByKind,
      outcomes,
      violations,
      checks,
      selfTest,
      findings,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    log("stopping");
    while (cleanups.length) {
      const t0 = performance.now();
      const i = cleanups.length;
      await Promise.race([cleanups.pop()!().catch(() => {}), sleep(15_000).then(() => log(`cleanup ${i} hung`))]);
      log(`cleanup ${i}: ${(performance.now() - t0).toFixed(0)} ms`);
    }
    if (process.env.SAASBASE_KEEP_SOAK === "1") log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

export type { Random };
