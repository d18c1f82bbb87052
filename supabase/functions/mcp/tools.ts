// The MCP server's tools. Each runs as the caller (a member of the account acted for), through the SQL API:
//   generate_component  UI component code from a prompt (the config's mcp.components: v0 with the user's own
//                       key), metered as its feature: held, then settled once the model answers, else released
//   get_credits         the account's balance, plan and quotas (a read: not metered)
//   check_feature       whether a feature may be used now, and on what terms (a read: not metered)
// Refusals a user can act on (402 no credits, 429 allowance used up, no v0 key stored, a team role without the
// right) are tool results with isError and a message saying what to do; bad arguments are JSON-RPC errors.
import { z } from "zod";
import type { Caller } from "../_shared/auth.ts";
import type { ProductConfig } from "../_shared/config-schema.ts";
import { asCaller, callAsCaller } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import type { ErrorCode } from "../_shared/error-codes.ts";
import { AppError } from "../_shared/errors.ts";
import { readSecret } from "../_shared/secrets/index.ts";
import { NoProviderError } from "../_shared/ai.ts";
import { generateComponent } from "./generate.ts";
import { callKey, hold, release, settle } from "./metering.ts";

export interface ToolContext {
  config: ProductConfig;
  caller: Caller & { userId: string };
  /** The account named to the SQL API (null: the caller's personal account). */
  account: string | null;
  /** The functions' public base URL, for what a message tells the user to call. */
  functionsUrl: string;
  /** The client's own idempotency key for this call (the Idempotency-Key header), if any. */
  clientKey?: string;
}

export interface ToolResult {
  [key: string]: unknown;
  content: { type: "text"; text: string }[];
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
}

interface Tool<S extends z.ZodType> {
  description: string;
  input: S;
  run(ctx: ToolContext, args: z.output<S>, requestId: string | number, signal: AbortSignal): Promise<ToolResult>;
}

const text = (t: string) => ({ type: "text" as const, text: t });

/** A refusal the user can act on, as MCP clients show one: a tool result with isError. */
export function toolError(code: ErrorCode, message: string): ToolResult {
  return { content: [text(message)], isError: true, structuredContent: { error: { code, message } } };
}

const dollars = (cents: number) => `$${(cents / 100).toFixed(2)}`;

/** What to do when a feature's allowance and credits are used up: the cheapest plan with it unlimited. */
function upgradeHint(config: ProductConfig, feature: string): string {
  const plans = config.plans
    .filter((p) => p.unlimited.includes(feature) && p.priceMonthlyCents > 0)
    .sort((a, b) => a.priceMonthlyCents - b.priceMonthlyCents);
  const name = config.features[feature]?.name.toLowerCase() ?? feature;
  const upgrade = plans[0]
    ? `Upgrade to ${plans[0].name} (${dollars(plans[0].priceMonthlyCents)}/month) for unlimited ${name}s`
    : "Upgrade your plan";
  return `${upgrade}, or buy credits: ${config.product.url}`;
}

/** The SQL API's refusals a user can act on, as tool errors; anything else is thrown on. */
function refusal(ctx: ToolContext, feature: string, err: unknown): ToolResult {
  if (!(err instanceof AppError)) throw err;
  switch (err.code) {
    case "insufficient_credits":
      return toolError(err.code, `Your free allowance is used up and your credits do not cover this (${err.message}). ${upgradeHint(ctx.config, feature)}.`);
    case "rate_limited":
      return toolError(err.code, `${err.message}. ${upgradeHint(ctx.config, feature)}.`);
    case "spend_cap_reached":
    case "account_forbidden":
    case "account_not_found":
    case "unknown_feature":
    case "wallet_not_found":
      return toolError(err.code, err.message);
  }
  throw err;
}

const feature = z.string().min(1).max(63);

export function toolsFor(config: ProductConfig) {
  const tools: Record<string, Tool<z.ZodType>> = {};
  const spec = config.mcp.components;
  if (spec) {
    const featureName = config.features[spec.feature].name.toLowerCase();
    tools.generate_component = {
      description: `Generates a UI component's code from a description, with ${config.product.name}'s ` +
        `component model and your own ${spec.secret} API key. Each call is one ${featureName}: free up to your ` +
        "plan's monthly allowance, then paid in credits.",
      input: z.object({
        prompt: z.string().trim().min(1).max(spec.maxPromptChars)
          .describe("What the component should be and do, e.g. 'a pricing table with three tiers'"),
      }).strict(),
      async run(ctx, args: { prompt: string }, requestId, signal) {
        const account = ctx.account ?? ctx.caller.userId;
        // The user's key first: without one nothing is held, and the message says how to store it.
        let apiKey: string;
        try {
          apiKey = await readSecret(account, spec.secret, { userId: ctx.caller.userId });
        } catch (err) {
          if (err instanceof AppError && err.code === "secret_not_found") {
            return toolError(err.code, `No ${spec.secret} API key is stored for this account. Store yours once: ` +
              `PUT ${ctx.functionsUrl}/secrets/${spec.secret} with {"value": "<your ${spec.secret} API key>"} ` +
              "(signed in, or with an API key that has the secrets scope); it is kept encrypted.");
          }
          if (err instanceof AppError && err.status === 503) {
            return toolError(err.code, "Stored keys cannot be read right now; try again later. Nothing was charged.");
          }
          return refusal(ctx, spec.feature, err);
        }
        const key = await callKey(ctx.caller, account, "generate_component", requestId, args, ctx.clientKey);
        let held;
        try {
          held = await hold(ctx.caller, ctx.account, spec.feature, key);
        } catch (err) {
          return refusal(ctx, spec.feature, err);
        }
        let code: string;
        try {
          code = await generateComponent(config, spec, apiKey, args.prompt, signal);
        } catch (err) {
          // Nothing to pay for: the hold goes back. A replayed hold is an earlier try's (settled, or still running
          // and about to settle): not ours to release.
          if (!held.replayed) await release(ctx.caller, ctx.account, held).catch(() => {});
          if (err instanceof NoProviderError || (err instanceof Error && err.name.startsWith("Stream"))) {
            console.error(err.message);
            return toolError("ai_unavailable",
              `The component model did not answer (${err instanceof NoProviderError ? err.attempts.at(-1)?.error : err.message}). ` +
              "Nothing was charged; try again, and check your stored key if it says unauthorized.");
          }
          throw err;
        }
        const paid = await settle(ctx.caller, ctx.account, held);
        return {
          content: [text(code)],
          structuredContent: {
            component: code,
            usage: {
              feature: spec.feature,
              free: held.free_units > 0,
              credits_charged: paid.replayed ? 0 : paid.credits_charged,
              balance: paid.balance,
              replayed: paid.replayed || held.replayed,
            },
          },
        };
      },
    };
  }

  tools.get_credits = {
    description: "Shows your account's credit balance, plan, and what is left of each free allowance.",
    input: z.object({}).strict(),
    async run(ctx) {
      try {
        const wallet = await dbCall(asCaller(ctx.caller, async (tx) => {
          const [{ w }] = await tx`select to_jsonb(public.get_wallet(${ctx.account})) as w`;
          return w as Record<string, unknown>;
        }));
        return { content: [text(JSON.stringify(wallet))], structuredContent: wallet };
      } catch (err) {
        return refusal(ctx, "", err);
      }
    },
  };

  tools.check_feature = {
    description: "Checks whether a feature may be used now and on what terms (free allowance left, credit cost, " +
      "unlimited on your plan).",
    input: z.object({
      feature: feature.optional().describe(`A feature id (default: ${spec?.feature ?? "chat"})`),
      quantity: z.number().int().min(1).max(1_000_000).optional(),
    }).strict(),
    async run(ctx, args: { feature?: string; quantity?: number }) {
      const id = args.feature ?? spec?.feature ?? "chat";
      try {
        const check = await dbCall(callAsCaller<Record<string, unknown>>(ctx.caller, (sql) =>
          sql`public.check_feature(${id}, ${args.quantity ?? 1}, ${ctx.account})`));
        const result = check.allowed ? check : { ...check, upgrade: upgradeHint(ctx.config, id) };
        return { content: [text(JSON.stringify(result))], structuredContent: result };
      } catch (err) {
        return refusal(ctx, id, err);
      }
    },
  };
  return tools;
}
