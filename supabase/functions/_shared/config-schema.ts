// The shape of the product config (saasbase.config.ts), validated with zod when it is loaded, by the edge
// functions (Deno) and by the Node tooling alike. A fork edits the config, never this file.
import { z } from "zod";
import { checkReleases, releasesSchema } from "./config/releases.ts";
import { paymentsIssues, paymentsSchema } from "./config/payments.ts";
import { notificationsSchema } from "./config/notifications.ts";
import { checkLicensing, licensingSchema } from "./config/licensing.ts";
import { checkImages, imagesSchema } from "./config/images.ts";
import { emailSchema } from "./config/email.ts";
import { runtimeSchema } from "./config/runtime.ts";

/** Lower-case identifiers: they become primary keys, Stripe lookup keys and ledger feature names. */
const id = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, "must be a lower-case id (a-z, 0-9, _ or -)");
/** Postgres `integer`: counts and amounts are stored as one. */
const INT4_MAX = 2_147_483_647;
const count = z.number().int().nonnegative().max(INT4_MAX);
/** Stripe charges at most 99,999,999 in a currency's smallest unit. */
const cents = z.number().int().nonnegative().max(99_999_999);
/** Stripe's smallest charge, in cents of the currencies we take (50 for usd and eur; more in some others:
 * docs.stripe.com/currencies#minimum-and-maximum-charge-amounts). */
const STRIPE_MIN_CENTS = 50;
/** Currencies without two decimals: our `...Cents` fields and credits per dollar would mean something else. */
const NOT_TWO_DECIMALS = new Set([
  "bif",
  "clp",
  "djf",
  "gnf",
  "jpy",
  "kmf",
  "krw",
  "mga",
  "pyg",
  "rwf",
  "ugx",
  "vnd",
  "vuv",
  "xaf",
  "xof",
  "xpf",
  "bhd",
  "jod",
  "kwd",
  "omr",
  "tnd",
  "isk",
  "huf",
  "twd",
]);
/** Environment variable names: secrets are named in the config, never written in it. */
const envName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, "must be an environment variable name");

export const periods = ["day", "month", "lifetime"] as const;

const featureSchema = z.object({
  name: z.string().min(1),
  /** Credits one unit of the feature costs once the free allowance is used up. */
  credits: count,
  unit: z.string().min(1).default("use"),
});

const quotaSchema = z.object({
  feature: id,
  period: z.enum(periods),
  /** Free uses per period. */
  limit: count,
  /** Past the free uses: charge credits, or refuse until the period rolls over (a rate limit). */
  overage: z.enum(["credits", "block"]).default("credits"),
});

const planSchema = z.object({
  id,
  name: z.string().min(1),
  description: z.string().default(""),
  priceMonthlyCents: cents,
  priceYearlyCents: cents.optional(),
  /** Credits granted with each paid invoice of the plan (monthly, or yearly for a yearly price). The free plan
   * has no invoices: its users start with `signupCredits`. */
  monthlyCredits: count.default(0),
  /** Discount on extra credit purchases for subscribers of this plan. */
  discountPercent: z.number().int().min(0).max(100).default(0),
  quotas: z.array(quotaSchema).default([]),
  /** Features this plan uses without limit and without credits. */
  unlimited: z.array(id).default([]),
  /** Priced per seat: the price is per member, billed as the Stripe subscription's quantity (a team's member
   * count; a personal account has one seat). */
  perSeat: z.boolean().default(false),
  /** Most members an account on this plan may have (invitations past it are refused); absent: no limit. */
  maxSeats: z.number().int().positive().max(INT4_MAX).optional(),
});

/** What a team role may do: spend the team's credits, buy credits, manage its subscription and billing,
 * invite people, remove and re-role members, rename or delete the team. */
export const teamRights = ["spend", "buy", "manage_billing", "invite", "manage_members", "manage_team"] as const;

const teamRoleSchema = z.object({
  id,
  name: z.string().min(1),
  rights: z.array(z.enum(teamRights)),
});

/** The roles a team has when the config names none (the team_roles the teams migration starts with). */
const DEFAULT_TEAM_ROLES = [
  { id: "owner", name: "Owner", rights: [...teamRights] },
  { id: "admin", name: "Admin", rights: ["spend", "buy", "manage_billing", "invite", "manage_members"] },
  { id: "member", name: "Member", rights: ["spend"] },
  { id: "billing", name: "Billing", rights: ["buy", "manage_billing"] },
] satisfies z.input<typeof teamRoleSchema>[];

const teamsSchema = z.object({
  /** Member roles, in the order a frontend lists them. `owner` must be one and hold every right: a team
   * always keeps an owner, so someone can always manage it. */
  roles: z.array(teamRoleSchema).min(1).default(DEFAULT_TEAM_ROLES),
  /** Days an invitation may be accepted in. */
  invitationExpiryDays: z.number().int().min(1).max(365).default(7),
  /** Whether a link invitation (one without an email) may be accepted by many people until it expires or is
   * revoked (the plan's seat limit still applies); otherwise it is single-use, as email invitations are. */
  reusableLinks: z.boolean().default(false),
  /** Invitations a team may make in 24 hours (by email and by link): each email invitation is a mail sent in
   * the product's name, so this bounds what a team can make it send. */
  invitationsPerDay: count.min(1).default(50),
  /** Teams a user may create in 30 days (deleted ones count): each team has its plan's free allowances and its
   * own invitations a day, so this bounds how far one user multiplies them. */
  teamsPerMonth: count.min(1).default(10),
});

/** A rate limit: at most `max` requests in each fixed window of `windowSeconds`; null turns it off. */
const rateLimitSchema = z.object({
  max: z.number().int().min(1).max(1_000_000_000),
  windowSeconds: z.number().int().min(1).max(86_400),
}).nullable();

const apiKeysSchema = z.object({
  /** Requests one API key may make (every function that takes it, together). */
  perKey: rateLimitSchema.default({ max: 1000, windowSeconds: 60 }),
  /** Requests presenting an API key (valid or not) from one client IP: x-forwarded-for's first address as
   * the platform's edge gives it (docs/api-keys.md says what that trusts). Seed 000's 100 in 15 minutes. */
  perIp: rateLimitSchema.default({ max: 100, windowSeconds: 900 }),
});

const creditPackSchema = z.object({
  id,
  name: z.string().min(1),
  credits: z.number().int().positive().max(INT4_MAX),
  priceCents: cents.min(STRIPE_MIN_CENTS),
});

const personaSchema = z.object({
  id,
  name: z.string().min(1),
  systemPrompt: z.string().min(1),
  /** Credits charged per answered message with this persona. */
  creditsPerMessage: count,
  /** A model id from one of the providers; the AI default when absent. */
  model: z.string().min(1).optional(),
});

const modelSchema = z.object({
  id: z.string().min(1),
  contextWindow: z.number().int().positive(),
  maxOutputTokens: z.number().int().positive(),
  /** Credits per 1,000 tokens (prompt + completion), on top of the persona's price per message. */
  creditsPer1kTokens: z.number().nonnegative().default(0),
});

const providerSchema = z.object({
  id,
  /** `gemini` is reached through Google's OpenAI-compatible endpoint; any other server speaking the
   * OpenAI chat-completions format (Ollama, vLLM, LM Studio) is `openai-compatible`. */
  kind: z.enum(["openai", "gemini", "openai-compatible"]),
  baseUrl: z.url().optional(),
  /** Overrides baseUrl when set in the environment (self-hosted models, tests). */
  baseUrlEnv: envName.optional(),
  apiKeyEnv: envName.optional(),
  models: z.array(modelSchema).min(1),
  /** Under the edge runtime's 150 s without a response. */
  timeoutMs: z.number().int().positive().max(120_000).default(30_000),
  maxRetries: z.number().int().min(0).max(10).default(2),
});

/** The MCP server's tools (the `mcp` function, docs/mcp.md). */
const mcpSchema = z.object({
  /** generate_component: UI component code from a prompt, made by a model the user pays for with their own key
   * (their stored secret `secret`, PUT /secrets/<secret>), each call metered as `feature`. Absent: the server
   * has no such tool. */
  components: z.object({
    feature: id,
    /** The provider name the user's key is stored under in user_secrets (v0's: "v0"). */
    secret: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be a secret's provider name (a-z, 0-9, _ or -)"),
    /** The model's server: OpenAI's chat-completions wire format (v0's Model API at https://api.v0.dev/v1).
     * No apiKeyEnv: the key is the user's. */
    provider: providerSchema,
    model: z.string().min(1),
    systemPrompt: z.string().min(1),
    /** The longest prompt a call may send, in characters. */
    maxPromptChars: z.number().int().min(1).max(100_000).default(8000),
  }).optional(),
});

const referralSchema = z.object({
  referrerCredits: count,
  referrerCashCents: cents,
  referredCredits: count,
  /** When the reward is paid. */
  payWhen: z.enum(["signup", "email_confirmed", "first_payment"]),
  /** Rewarded referrals a referrer may earn a month, at least 1 (a large number for no practical cap). */
  monthlyCapPerReferrer: count.min(
    1,
    "at least 1: 0 would reward no referral ever (use a large number for no cap)",
  ),
  minCashoutCents: cents,
});

export const configSchema = z
  .object({
    product: z.object({
      name: z.string().min(1),
      /** Base URL of the product's web app: share links, checkout return pages. */
      url: z.url({ protocol: /^https?$/, error: "an http(s) URL" }).transform((u) => u.replace(/\/+$/, "")),
      supportEmail: z.email(),
    }),
    currency: z.string().regex(/^[a-z]{3}$/, "must be a lower-case ISO 4217 code such as usd"),
    /** Credits every new account starts with. */
    signupCredits: count,
    /** Days after which the sign-up grant expires; null keeps it forever. */
    grantExpiryDays: z.number().int().positive().max(36_500).nullable().default(null),
    /** Minutes after which an unsettled reservation (a crashed AI stream) is released by itself. */
    // At least 10: an answer still streaming when its reservation lapses would go unpaid.
    reservationTtlMinutes: z.number().int().min(10).max(1440).default(15),
    features: z.record(id, featureSchema),
    plans: z.array(planSchema).min(1),
    defaultPlan: id,
    creditPacks: z.array(creditPackSchema).default([]),
    /** Bounds of one credit purchase, and the rate for custom amounts (credits per dollar, before discounts). */
    purchase: z.object({
      minCents: cents.min(STRIPE_MIN_CENTS),
      maxCents: cents.min(STRIPE_MIN_CENTS),
      creditsPerDollar: z.number().int().positive(),
    }),
    personas: z.array(personaSchema).min(1),
    defaultPersona: id,
    ai: z.object({
      providers: z.array(providerSchema).min(1),
      /** Provider ids tried in order when one fails before its first token. */
      fallbackOrder: z.array(id).min(1),
      defaultModel: z.string().min(1),
    }),
    /** What visitors without an account may do: per session, and in all (client-chosen session and visitor
     * ids cost nothing to make, so only the totals bound the AI bill and the events table). */
    anonymous: z.object({
      chatMessagesPerDay: count,
      chatMessagesPerDayTotal: count.default(1000),
      eventsPerMinuteTotal: count.default(600),
    }),
    /** Conversations a signed-in user may create through the API per hour (the chat function's own count
     * against the user's chat quota instead). */
    conversationsPerHour: count.default(100),
    referrals: referralSchema,
    /** Team accounts: their roles and invitations. */
    teams: teamsSchema.prefault({}),
    /** API keys (sbk_live_...): their rate limits, enforced in SQL (public.service_role_verify_api_key). */
    apiKeys: apiKeysSchema.prefault({}),
    /** The MCP server's tools: generate_component's model and metering. */
    mcp: mcpSchema.prefault({}),
    /** Release distribution: free products, download URLs' lifetime, upload bounds (config/releases.ts). */
    releases: releasesSchema.prefault({}),
    /** Who takes the money: Stripe, Polar, or both (Stripe for plans, Polar for credits). */
    payments: paymentsSchema.prefault({}),
    /** In-app notifications and the mails the product sends on its own (welcome, low credits, free limit). */
    notifications: notificationsSchema.prefault({}),
    /** Licensed products, their policies and how each is sold (docs/licenses.md). */
    licensing: licensingSchema.prefault({}),
    /** Image generation (the generate-image function): config/images.ts. Absent: none. */
    images: imagesSchema.optional(),
    /** Sending mail: provider, From and Reply-To, rate and retries (config/email.ts). */
    email: emailSchema.prefault({}),
    /** Defaults of the runtime settings admins change without a deploy (maintenance, announcement). */
    runtime: runtimeSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: "custom", path, message });
    for (const [path, message] of paymentsIssues(c)) issue(path, message);
    const features = new Set(Object.keys(c.features));
    const duplicates = (ids: string[]) => ids.filter((v, i) => ids.indexOf(v) !== i);
    checkImages(c.images, c.features, issue);

    // The chat function meters every signed-in message as the feature "chat" (its quota per plan).
    if (!features.has("chat")) {
      issue(["features"], 'keep a feature "chat": the chat function meters messages as it');
    }
    if (NOT_TWO_DECIMALS.has(c.currency)) {
      issue(
        ["currency"],
        `${c.currency} has no cents: prices here are in hundredths, and Stripe reads them otherwise`,
      );
    }
    // What Stripe will be asked to charge: each paid plan's prices, each pack at each plan's discount.
    c.plans.forEach((plan, p) => {
      for (const field of ["priceMonthlyCents", "priceYearlyCents"] as const) {
        const price = plan[field];
        if (price !== undefined && price > 0 && price < STRIPE_MIN_CENTS) {
          issue(["plans", p, field], `Stripe charges at least ${STRIPE_MIN_CENTS} cents (0 for a free plan)`);
        }
      }
      c.creditPacks.forEach((pack) => {
        if (Math.round(pack.priceCents * (100 - plan.discountPercent) / 100) < STRIPE_MIN_CENTS) {
          issue(
            ["plans", p, "discountPercent"],
            `pack "${pack.id}" would cost less than Stripe's ${STRIPE_MIN_CENTS} cents at this discount`,
          );
        }
      });
    });
    // A custom amount buys floor(cents * creditsPerDollar / 100) credits: at least one, and what an integer holds.
    if (c.purchase.minCents * c.purchase.creditsPerDollar < 100) {
      issue(["purchase", "creditsPerDollar"], "purchase.minCents must buy at least one credit");
    }
    if (Math.floor(c.purchase.maxCents * c.purchase.creditsPerDollar / 100) > INT4_MAX) {
      issue(["purchase", "maxCents"], `purchase.maxCents would buy more than ${INT4_MAX} credits`);
    }

    for (const dup of duplicates(c.plans.map((p) => p.id))) issue(["plans"], `duplicate plan id "${dup}"`);
    checkLicensing(c.licensing, c.plans.map((p) => p.id), issue);
    checkReleases(c.releases, c.licensing.products.map((p) => p.id), issue);
    const defaultPlan = c.plans.find((p) => p.id === c.defaultPlan);
    if (!defaultPlan) {
      issue(["defaultPlan"], `unknown plan "${c.defaultPlan}"`);
    } else if (defaultPlan.priceMonthlyCents > 0 || (defaultPlan.priceYearlyCents ?? 0) > 0) {
      // Everyone without a subscription (and everyone whose subscription ended) is on the default plan.
      issue(
        ["defaultPlan"],
        `the default plan "${c.defaultPlan}" must be free: everyone without a subscription has it`,
      );
    } else if (defaultPlan.monthlyCredits > 0) {
      issue(
        ["plans", c.plans.indexOf(defaultPlan), "monthlyCredits"],
        "the default (free) plan has no invoices to grant monthly credits with; use signupCredits",
      );
    }
    c.plans.forEach((plan, p) => {
      // One rule per plan and feature: a free allowance or unlimited use, never both.
      const seen = new Set<string>();
      plan.quotas.forEach((q, i) => {
        if (!features.has(q.feature)) {
          issue(["plans", p, "quotas", i, "feature"], `unknown feature "${q.feature}"`);
        }
        if (seen.has(q.feature)) {
          issue(["plans", p, "quotas", i, "feature"], `"${q.feature}" has a quota already`);
        }
        seen.add(q.feature);
      });
      plan.unlimited.forEach((f, i) => {
        if (!features.has(f)) issue(["plans", p, "unlimited", i], `unknown feature "${f}"`);
        if (seen.has(f)) issue(["plans", p, "unlimited", i], `"${f}" has a quota already`);
        seen.add(f);
      });
    });

    // Teams: the owner role holds every right (someone can always manage a team); role ids are unique.
    for (const dup of duplicates(c.teams.roles.map((r) => r.id))) {
      issue(["teams", "roles"], `duplicate role id "${dup}"`);
    }
    const owner = c.teams.roles.findIndex((r) => r.id === "owner");
    if (owner < 0) {
      issue(["teams", "roles"], 'keep a role "owner": every team has one, holding every right');
    } else {
      const missing = teamRights.filter((r) => !c.teams.roles[owner].rights.includes(r));
      if (missing.length) issue(["teams", "roles", owner, "rights"], `the owner must hold every right (missing: ${missing.join(", ")})`);
    }
    c.teams.roles.forEach((r, i) => {
      for (const dup of duplicates(r.rights)) issue(["teams", "roles", i, "rights"], `duplicate right "${dup}"`);
    });

    for (const dup of duplicates(c.creditPacks.map((p) => p.id))) {
      issue(["creditPacks"], `duplicate pack id "${dup}"`);
    }
    if (c.purchase.minCents > c.purchase.maxCents) {
      issue(["purchase", "minCents"], "must not exceed maxCents");
    }
    c.creditPacks.forEach((pack, i) => {
      if (pack.priceCents < c.purchase.minCents || pack.priceCents > c.purchase.maxCents) {
        issue(["creditPacks", i, "priceCents"], "must lie within purchase.minCents and purchase.maxCents");
      }
    });

    const models = new Set(c.ai.providers.flatMap((p) => p.models.map((m) => m.id)));
    const providers = new Set(c.ai.providers.map((p) => p.id));
    for (const dup of duplicates(c.personas.map((p) => p.id))) {
      issue(["personas"], `duplicate persona id "${dup}"`);
    }
    if (!c.personas.some((p) => p.id === c.defaultPersona)) {
      issue(["defaultPersona"], `unknown persona "${c.defaultPersona}"`);
    }
    c.personas.forEach((persona, i) => {
      if (persona.model && !models.has(persona.model)) {
        issue(["personas", i, "model"], `unknown model "${persona.model}"`);
      }
    });
    if (!models.has(c.ai.defaultModel)) issue(["ai", "defaultModel"], `unknown model "${c.ai.defaultModel}"`);
    c.ai.fallbackOrder.forEach((p, i) => {
      if (!providers.has(p)) issue(["ai", "fallbackOrder", i], `unknown provider "${p}"`);
    });
    for (const dup of duplicates(c.ai.providers.map((p) => p.id))) {
      issue(["ai", "providers"], `duplicate provider id "${dup}"`);
    }
    for (const dup of duplicates(c.ai.providers.flatMap((p) => p.models.map((m) => m.id)))) {
      issue(
        ["ai", "providers"],
        `model "${dup}" is served by two providers: each model id names one provider's`,
      );
    }
    const components = c.mcp.components;
    if (components) {
      const at = ["mcp", "components"];
      if (!features.has(components.feature)) issue([...at, "feature"], `unknown feature "${components.feature}"`);
      if (components.provider.apiKeyEnv) {
        issue([...at, "provider", "apiKeyEnv"], "the key is the user's own (their stored secret), not the backend's");
      }
      if (components.provider.kind === "openai-compatible" && !components.provider.baseUrl && !components.provider.baseUrlEnv) {
        issue([...at, "provider", "baseUrl"], "an openai-compatible provider needs baseUrl or baseUrlEnv");
      }
      if (!components.provider.models.some((m) => m.id === components.model)) {
        issue([...at, "model"], `unknown model "${components.model}": not among the provider's models`);
      }
    }
    c.ai.providers.forEach((p, i) => {
      if (p.kind === "openai-compatible" && !p.baseUrl && !p.baseUrlEnv) {
        issue(["ai", "providers", i, "baseUrl"], "an openai-compatible provider needs baseUrl or baseUrlEnv");
      }
      p.models.forEach((m, j) => {
        if (m.maxOutputTokens >= m.contextWindow) {
          issue(
            ["ai", "providers", i, "models", j, "maxOutputTokens"],
            "must leave room in contextWindow for the prompt",
          );
        }
      });
    });
  });

/** The config as a fork writes it (defaults may be left out). */
export type ProductConfigInput = z.input<typeof configSchema>;
/** The config after validation, defaults filled in. */
export type ProductConfig = z.output<typeof configSchema>;

/** Thrown when the config is invalid; the message names the path of every bad field. */
export class ConfigError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`Invalid SaaSbase config:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** `plans[1].quotas[0].feature`: the path of a bad field as a fork would look for it in the file. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === "number") return `${out}[${key}]`;
    return out ? `${out}.${String(key)}` : String(key);
  }, "") || "(root)";
}

/** Validates a config, filling in defaults; throws ConfigError naming each bad field's path. */
export function parseConfig(input: unknown): ProductConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
  }
  return result.data;
}

/** Typed identity for the config file, so editors complete and check it as it is written. */
export function defineConfig(config: ProductConfigInput): ProductConfigInput {
  return config;
}
