// The scenario harness: a product's preset running on a stack of its own (its own cluster, the functions its
// journey calls, its own local Stripe and OpenAI-wire servers), and the calls its frontend makes: GoTrue's
// sign-up rows, access tokens signed as GoTrue signs them, supabase-js RPCs as PostgREST runs them (role and
// claims per transaction), function calls over HTTP, and Stripe's signed webhooks.
//
// Why not the suite's global stack: it runs the shipped demo config, whose free plan has seed 001's 5 free chats
// a day (a hard limit), so no journey there ever spends a credit on chat; a preset differs from it, and a
// scenario must run what the product runs. One cluster and a handful of Deno processes per scenario file is the
// price; the servers are in-process, and their state is the scenario's alone.
import postgres from "postgres";
import { loadProductConfig } from "../../src/config/presets.ts";
import { userToken } from "../../src/local/jwt.ts";
import type { ProductConfig } from "../../supabase/functions/_shared/config-schema.ts";
import type { Step } from "../support/openai-server.ts";
import { asUser } from "../support/stack.ts";
import { deliverEvent, stripeEvent } from "../support/stripe-webhook.ts";
import { startTestStack } from "../support/test-stack.ts";
import { deliverPolar, polarEvent } from "../support/polar-webhook.ts";
import { syncPolarCatalog } from "../../src/billing/polar-sync.ts";
import { polarCatalog } from "../../supabase/functions/_shared/billing/polar/catalog.ts";
import { createPolarClient } from "../../supabase/functions/_shared/billing/polar/client.ts";
import { TEST_FUNCTION_ENV } from "../support/stack.ts";

export { asUser };
export { readSse, type SseEvent } from "../support/sse.ts";

export interface User {
  id: string;
  email: string;
  /** The access token GoTrue would hand the frontend after sign-in. */
  token: string;
}

export type Scenario = Awaited<ReturnType<typeof startScenario>>;

/** Starts `preset` (undefined: the shipped saasbase.config.ts) with only `functions` running; `stop()` tears
 * everything down. */
export async function startScenario(preset: string | undefined, functions: string[]) {
  const config: ProductConfig = await loadProductConfig(preset);
  const name = preset ?? "shipped";
  const { stack, stripe: stripeServer, ai, polar: polarServer, images, stop: stopStack } = await startTestStack({
    dirPrefix: `saasbase-scenario-${name}-`,
    preset,
    functions,
    label: `scenario ${name}`,
  });
  const sql = postgres(stack.dbUrl, { max: 4, onnotice: () => {} });
  // GoTrue's own connection: sign-ups and confirmations are its writes, made as supabase_auth_admin, which
  // holds no privilege on the app's tables (the triggers on auth.users do their work as their owner).
  const gotrue = postgres(stack.dbUrl, { username: "supabase_auth_admin", password: "postgres", max: 2, onnotice: () => {} });
  // GoTrue stores a bcrypt hash it computes itself; every scenario user's password is "password".
  const [{ passwordHash }] = await sql`select extensions.crypt('password', extensions.gen_salt('bf', 4)) as "passwordHash"`;
  let eventSeq = 0;
  /** Events the local Stripe server made (a quantity change's customer.subscription.updated) already delivered. */
  const delivered = new Set<string>();

  /** A function call; `account` is the team the frontend acts for (X-Account-Id, as src/client's `account`). */
  const call = (name: string, init: RequestInit & { token?: string; account?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set("authorization", `Bearer ${init.token}`);
    if (init.account) headers.set("x-account-id", init.account);
    const { token: _token, account: _account, ...rest } = init;
    return fetch(`${stack.functionsUrl}/${name}`, { ...rest, headers });
  };

  return {
    preset,
    config,
    stack,
    sql,
    stripeUrl: stripeServer.url,
    call,

    /** POSTs JSON to a function as the frontend does (supabase-js functions.invoke), for `account` if given. */
    post: (name: string, token: string, body: unknown, account?: string) =>
      call(name, { method: "POST", token, account, headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),

    /** supabase.rpc(name, args) as PostgREST runs it for the user's token: its result as the JSON it answers, or
     * the error it answers (`{ error: { code, status } }`: the SQLSTATE PT4xx's HTTP status and the code in its
     * DETAIL, as supabase-js reports them). */
    async rpc(user: User, name: string, args: unknown[] = []): Promise<any> {
      const params = args.map((_, i) => `$${i + 1}`).join(", ");
      try {
        const [row] = await asUser(sql, user.id, (tx) => tx.unsafe(`select to_jsonb(public.${name}(${params})) as r`, args as never[]));
        return row.r;
      } catch (err) {
        const e = err as { code?: string; detail?: string };
        if (!e.code?.startsWith("PT")) throw err;
        return { error: { status: Number(e.code.slice(2)), code: e.detail } };
      }
    },

    /** The mail queued for `email` (email_outbox, what the mail worker sends), newest first. */
    async inbox(email: string, template?: string): Promise<{ template: string; payload: any }[]> {
      return sql`select template, payload from public.email_outbox
        where (payload ->> 'email' = ${email.toLowerCase()}
          or user_id = (select id from auth.users where lower(email) = ${email.toLowerCase()}))
          and (${template ?? null}::text is null or template = ${template ?? null})
        order by id desc`;
    },

    /** A sign-up as GoTrue writes it: the metadata the frontend passed to auth.signUp, and the email confirmed
     * only when the user clicks the link (`confirm`), unless created confirmed. */
    async signUp(
      email: string,
      opts: { data?: Record<string, unknown>; confirmed?: boolean; appMetadata?: Record<string, unknown> } = {},
    ): Promise<User> {
      const appMetadata = { provider: "email", providers: ["email"], ...opts.appMetadata };
      const [{ id }] = await gotrue`
        insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
          raw_app_meta_data, raw_user_meta_data, created_at, updated_at, confirmation_token, recovery_token,
          email_change_token_new, email_change)
        values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', ${email},
          ${passwordHash}, ${opts.confirmed ? new Date() : null},
          ${gotrue.json(appMetadata as postgres.JSONValue)}, ${gotrue.json((opts.data ?? {}) as postgres.JSONValue)},
          now(), now(), ${opts.confirmed ? "" : crypto.randomUUID()}, '', '', '')
        returning id`;
      return { id, email, token: await userToken({ id, email, appMetadata }, stack.jwtSecret) };
    },

    /** The user clicked the confirmation link: GoTrue confirms the email and clears the token. */
    async confirm(user: User) {
      await gotrue`update auth.users set email_confirmed_at = now(), confirmation_token = '', updated_at = now()
        where id = ${user.id}`;
    },

    /** What the OpenAI-wire server answers next, per provider. */
    async script(provider: string, steps: Step[]) {
      await fetch(`${ai.url}/_test/script`, { method: "POST", body: JSON.stringify({ provider, steps }) });
    },
    async upstreamRequests(): Promise<{ provider: string; model: string; messages: { role: string; content: string }[] }[]> {
      return (await (await fetch(`${ai.url}/_test/state`)).json()).requests;
    },
      async stripeState(): Promise<any> {
      return (await fetch(`${stripeServer.url}/_test/state`)).json();
    },

    /** The local Polar API server (tests/support/polar-server.ts): its state, and Polar's side of a checkout. */
    polar: polarServer,

    /** The local image providers (tests/support/image-servers.ts: Gemini's generateContent, OpenAI's images API):
     * `script` what their next requests get, `requests` what they were asked. */
    images,

    /** npm run polar:sync for the preset (what payments.provider has Polar sell) into the scenario's Polar server
     * and database: run it before a checkout through Polar. */
    polarSync: () =>
      syncPolarCatalog(
        createPolarClient(TEST_FUNCTION_ENV.POLAR_ACCESS_TOKEN, config.payments.polar.server, polarServer.url),
        sql,
        polarCatalog(config),
        config.currency,
      ),

    /** A Polar webhook event (`type`, Polar's object as `data`), signed as Polar signs it and posted to
     * polar-webhook; `id` is the webhook-id (the same for a redelivery). */
    deliverPolar: (type: string, data: object, id?: string) =>
      deliverPolar(stack.functionsUrl, polarEvent(type, data), { id }),

    /** Polar's side of a checkout the checkout function made (its `id`): paid at Polar, then its webhooks
     * delivered as Polar sends them (subscription.created for a plan, then order.paid). Answers the order, the
     * subscription, and the webhook's answer to order.paid. */
    async completePolarCheckout(checkoutId: string) {
      const { order, subscription } = polarServer.completeCheckout(checkoutId);
      if (subscription) {
        const created = await deliverPolar(stack.functionsUrl, polarEvent("subscription.created", subscription));
        if (created.status !== 200) throw new Error(`subscription.created: ${created.status} ${await created.text()}`);
      }
      const paid = await deliverPolar(stack.functionsUrl, polarEvent("order.paid", order));
      return { order, subscription, status: paid.status, body: await paid.json() };
    },

    /** An event as Stripe sends it: `deliver()` posts its payload signed with the endpoint's secret (again
     * for a redelivery). */
    stripeEvent(type: string, object: Record<string, unknown>) {
      const event = stripeEvent(type, object, { id: `evt_scenario_${Date.now()}_${++eventSeq}` });
      return { id: event.id, deliver: () => deliverEvent(stack.functionsUrl, event) };
    },

    /** What Stripe does once the customer pays a subscription's Checkout Session: the subscription made from the
     * session (its line item's price and quantity, its subscription_data metadata, its customer) and, signed,
     * checkout.session.completed and the first invoice's invoice.paid (the price's unit amount times the
     * quantity). Answers the subscription, the invoice and the webhook's answers. */
    async completeSubscriptionCheckout(sessionId: string) {
      const session = stripeServer.state.sessions.get(sessionId);
      if (!session || session.mode !== "subscription") throw new Error(`No subscription checkout session ${sessionId}`);
      const [line] = session.line_items_params;
      const price = stripeServer.state.prices.get(line.price);
      if (!price) throw new Error(`The session's price ${line.price} is not at Stripe`);
      const quantity = Number(line.quantity ?? 1);
      const start = Math.floor(Date.now() / 1000);
      const end = start + 30 * 86_400;
      const tag = `${sessionId.slice(-12)}_${++eventSeq}`;
      const subscription = {
        id: `sub_${tag}`, object: "subscription", status: "active", customer: session.customer,
        metadata: session.subscription_data?.metadata ?? {}, cancel_at_period_end: false, canceled_at: null, created: start,
        items: { object: "list", data: [{ id: `si_${tag}`, object: "subscription_item", quantity, price: structuredClone(price),
          current_period_start: start, current_period_end: end }] },
      };
      stripeServer.state.subscriptions.set(subscription.id, subscription);
      const amount = Number(price.unit_amount) * quantity;
      const paid: Record<string, unknown> = { ...session, status: "complete", payment_status: "paid", subscription: subscription.id, amount_total: amount };
      delete paid.line_items_params;
      const completed = await deliverEvent(stack.functionsUrl,
        stripeEvent("checkout.session.completed", paid, { id: `evt_scenario_${Date.now()}_${++eventSeq}` }));
      const invoice = {
        id: `in_${tag}`, object: "invoice", customer: session.customer, status: "paid", currency: price.currency,
        billing_reason: "subscription_create", amount_paid: amount, amount_due: amount, created: start,
        parent: { type: "subscription_details", subscription_details: { subscription: subscription.id, metadata: subscription.metadata } },
        lines: { object: "list", has_more: false, data: [{ id: `il_${tag}`, object: "line_item", amount, quantity,
          period: { start, end },
          parent: { type: "subscription_item_details", invoice_item_details: null, subscription_item_details: {
            invoice_item: null, proration: false, proration_details: { credited_items: null }, subscription: subscription.id,
            subscription_item: subscription.items.data[0].id } },
          pricing: { type: "price_details", price_details: { price: price.id } } }] },
      };
      stripeServer.state.invoices.set(invoice.id, invoice);
      const invoicePaid = await deliverEvent(stack.functionsUrl,
        stripeEvent("invoice.paid", invoice, { id: `evt_scenario_${Date.now()}_${++eventSeq}` }));
      return {
        subscription,
        invoice,
        answers: { completed: { status: completed.status, body: await completed.json() }, invoicePaid: { status: invoicePaid.status, body: await invoicePaid.json() } },
      };
    },

    /** Delivers, signed, the events of `type` the local Stripe server made on its own (a subscription item's
     * quantity change makes customer.subscription.updated) and not delivered yet, oldest first; answers the
     * webhook's answers. */
    async deliverStripeEvents(type: string) {
      const events = [...stripeServer.state.events.values()]
        .filter((e) => e.type === type && !delivered.has(e.id)).sort((a, b) => a.created - b.created);
      const answers = [];
      for (const event of events) {
        delivered.add(event.id);
        const res = await deliverEvent(stack.functionsUrl, event);
        answers.push({ id: event.id, event, status: res.status, body: await res.json() });
      }
      return answers;
    },

    async stop() {
      await Promise.all([sql.end(), gotrue.end()]);
      await stopStack();
    },
  };
}
