// The config's `licensing` section: the products a fork licenses to run on its customers' machines, each with
// its policy (how long a license lasts, on how many machines, the grace after expiry, the entitlements it
// grants, the versions it covers) and how it is sold: a subscription to one of its plans issues it and renews
// it with every paid invoice, and/or a one-off purchase at its own price. Synced into public.license_products
// by public.service_role_sync_licensing (docs/licenses.md).
import { z } from "zod";

const id = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, "must be a lower-case id (a-z, 0-9, _ or -)");
/** A rate limit: at most `max` requests in each fixed window of `windowSeconds`; null turns it off. */
const rateLimit = z.object({
  max: z.number().int().min(1).max(1_000_000_000),
  windowSeconds: z.number().int().min(1).max(86_400),
}).nullable();

export const licensedProductSchema = z.object({
  id,
  name: z.string().min(1).max(200),
  /** Days a license lasts from its issue, and each renewal adds; null: perpetual. */
  durationDays: z.number().int().min(1).max(36_500).nullable().default(365),
  machines: z.object({
    /** Node-locked (false): the license runs on one machine. Floating (true): on up to `max` at once. */
    floating: z.boolean().default(false),
    /** Machines a floating license may be activated on at once; null: no limit. Node-locked: 1. */
    max: z.number().int().min(1).max(100_000).nullable().default(1),
    /** A machine that sends no heartbeat for this long frees its seat; null: seats are held until deactivated. */
    heartbeatMinutes: z.number().int().min(1).max(525_600).nullable().default(null),
  }).prefault({}),
  /** Days after expiry during which validation still answers valid (code EXPIRED): time to renew. */
  graceDays: z.number().int().min(0).max(3650).default(0),
  /** Features the license grants, for the app to switch on (validation answers them). */
  entitlements: z.array(z.string().regex(/^[a-z][a-z0-9_.:-]{0,62}$/, "a lower-case entitlement name")).max(100)
    .default([]),
  /** The highest major version the license covers (2: every 2.x.y); null: every version. */
  maxMajorVersion: z.number().int().min(0).max(1_000_000).nullable().default(null),
  /** Plans whose subscription issues the license (on its first paid invoice) and renews it. */
  plans: z.array(id).default([]),
  /** Whether each later paid invoice of the subscription extends the license by durationDays. */
  renewsWithSubscription: z.boolean().default(true),
  /** The price of a one-off purchase (checkout { license: id }); omitted: not sold once. */
  priceCents: z.number().int().min(50).max(99_999_999).optional(),
}).superRefine((p, ctx) => {
  if (!p.machines.floating && p.machines.max !== 1) {
    ctx.addIssue({ code: "custom", path: ["machines", "max"], message: "a node-locked license runs on 1 machine" });
  }
  if (p.plans.length === 0 && p.priceCents === undefined) {
    ctx.addIssue({ code: "custom", path: ["plans"], message: "sell it: name its plans, or give it a priceCents" });
  }
});

export const licensingSchema = z.object({
  products: z.array(licensedProductSchema).default([]),
  rateLimits: z.object({
    /** Requests by key (validate, activate, deactivate, heartbeat, read, file) from one client IP, known keys
     * or not: what throttles guessing. */
    perIp: rateLimit.default({ max: 60, windowSeconds: 60 }),
    /** Requests naming one license. */
    perKey: rateLimit.default({ max: 30, windowSeconds: 60 }),
  }).prefault({}),
  /** Days a signed license file stays valid offline before the app must fetch a fresh one. */
  fileTtlDays: z.number().int().min(1).max(3650).default(30),
});

export type LicensingConfig = z.output<typeof licensingSchema>;

/** The section's references to the rest of the config: each product's plans exist. */
export function checkLicensing(
  licensing: LicensingConfig,
  planIds: string[],
  issue: (path: (string | number)[], message: string) => void,
) {
  const seen = new Set<string>();
  licensing.products.forEach((p, i) => {
    if (seen.has(p.id)) issue(["licensing", "products", i, "id"], `duplicate licensed product "${p.id}"`);
    seen.add(p.id);
    p.plans.forEach((plan, j) => {
      if (!planIds.includes(plan)) issue(["licensing", "products", i, "plans", j], `unknown plan "${plan}"`);
    });
  });
}

/** The section as catalog rows (public.license_products, saasbase.licensing_settings). */
export function licensingRows(licensing: LicensingConfig) {
  return {
    license_products: licensing.products.map((p, i) => ({
      id: p.id,
      name: p.name,
      duration_days: p.durationDays,
      floating: p.machines.floating,
      max_machines: p.machines.max,
      heartbeat_minutes: p.machines.heartbeatMinutes,
      grace_days: p.graceDays,
      entitlements: p.entitlements,
      max_major_version: p.maxMajorVersion,
      plan_ids: p.plans,
      renews_with_subscription: p.renewsWithSubscription,
      price_cents: p.priceCents ?? null,
      sort_order: i,
    })),
    licensing_settings: {
      ip_max: licensing.rateLimits.perIp?.max ?? null,
      ip_window_seconds: licensing.rateLimits.perIp?.windowSeconds ?? null,
      key_max: licensing.rateLimits.perKey?.max ?? null,
      key_window_seconds: licensing.rateLimits.perKey?.windowSeconds ?? null,
    },
  };
}
