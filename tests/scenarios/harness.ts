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
import { deliverEvent, stripeEvent } from "../support/stripe-webhook.ts";
import { startTestStack } from "../support/test-stack.ts";

export { asUser } from "../support/stack.ts";
export { readSse, type SseEvent } from "../support/sse.ts";

export interface User {
  id: string;
  email: string;
  /** The access token GoTrue would hand the frontend after sign-in. */
  token: string;
}

export type Scenario = Awaited<ReturnType<typeof startScenario>>;

/** Starts `preset` with only `functions` running; `stop()` tears everything down. */
export async function startScenario(preset: string, functions: string[]) {
  const config: ProductConfig = await loadProductConfig(preset);
  const { stack, stripe: stripeServer, ai, stop: stopStack } = await startTestStack({
    dirPrefix: `saasbase-scenario-${preset}-`,
    preset,
    functions,
    label: `scenario ${preset}`,
  });
  const sql = postgres(stack.dbUrl, { max: 4, onnotice: () => {} });
  // GoTrue's own connection: sign-ups and confirmations are its writes, made as supabase_auth_admin, which
  // holds no privilege on the app's tables (the triggers on auth.users do their work as their owner).
  const gotrue = postgres(stack.dbUrl, { username: "supabase_auth_admin", password: "postgres", max: 2, onnotice: () => {} });
  // GoTrue stores a bcrypt hash it computes itself; every scenario user's password is "password".
  const [{ passwordHash }] = await sql`select extensions.crypt('password', extensions.gen_salt('bf', 4)) as "passwordHash"`;
  let eventSeq = 0;

  const call = (name: string, init: RequestInit & { token?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set("authorization", `Bearer ${init.token}`);
    return fetch(`${stack.functionsUrl}/${name}`, { ...init, headers });
  };

  return {
    preset,
    config,
    stack,
    sql,
    stripeUrl: stripeServer.url,
    call,

    /** POSTs JSON to a function as the frontend does (supabase-js functions.invoke). */
    post: (name: string, token: string, body: unknown) =>
      call(name, { method: "POST", token, headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),

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

    /** An event as Stripe sends it: `deliver()` posts its payload signed with the endpoint's secret (again
     * for a redelivery). */
    stripeEvent(type: string, object: Record<string, unknown>) {
      const event = stripeEvent(type, object, { id: `evt_scenario_${Date.now()}_${++eventSeq}` });
      return { id: event.id, deliver: () => deliverEvent(stack.functionsUrl, event) };
    },

    async stop() {
      await Promise.all([sql.end(), gotrue.end()]);
      await stopStack();
    },
  };
}
