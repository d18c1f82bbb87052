// Runtime settings in the functions (docs/runtime-settings.md): the effective values (the config's, overridden by
// the version in force) read from SQL (public.service_role_runtime_settings, one round trip) and kept per function
// instance for a bounded time, so a change reaches every instance within that bound without a query per request:
// CACHE_SECONDS (15) by default, SAASBASE_RUNTIME_CACHE_SECONDS (0 to 30; 0 reads on every request) otherwise.
// A value is never served longer than the bound after the read that fetched it began; a read that fails fails the
// request (as any database outage does) instead of serving an older value. Prices need no cache: SQL charges at
// the value in force (written through to the catalog), whatever a function instance holds.
import type { ProductConfig } from "./config-schema.ts";
import { db } from "./db.ts";
import { AppError } from "./errors.ts";
import type { Handler } from "./http.ts";

/** What public.service_role_runtime_settings answers: the version in force and every setting's effective value. */
export interface RuntimeSnapshot {
  version: number;
  values: Record<string, unknown>;
}

export const CACHE_SECONDS = 15;
export const MAX_CACHE_SECONDS = 30;

/** The cache bound in ms from SAASBASE_RUNTIME_CACHE_SECONDS: 0 to 30 s; unset or unreadable, 15 s. */
export function cacheMs(raw: string | undefined): number {
  const seconds = raw === undefined || raw.trim() === "" ? NaN : Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) return CACHE_SECONDS * 1000;
  return Math.min(seconds, MAX_CACHE_SECONDS) * 1000;
}

/** A value read by `load`, kept for `ttlMs` from the moment its read began; concurrent requests share one read. */
export class RuntimeSettingsCache {
  #value?: RuntimeSnapshot;
  #readAt = 0;
  #pending?: Promise<RuntimeSnapshot>;

  constructor(
    private readonly load: () => Promise<RuntimeSnapshot>,
    readonly ttlMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(): Promise<RuntimeSnapshot> {
    if (this.#value && this.now() - this.#readAt < this.ttlMs) return Promise.resolve(this.#value);
    this.#pending ??= (async () => {
      const startedAt = this.now();
      try {
        const value = await this.load();
        this.#value = value;
        this.#readAt = startedAt;
        return value;
      } finally {
        this.#pending = undefined;
      }
    })();
    return this.#pending;
  }

  /** Forgets the value: the next get reads again (after this instance changed a setting, say). */
  invalidate() {
    this.#value = undefined;
  }
}

async function loadFromDatabase(): Promise<RuntimeSnapshot> {
  const [{ snapshot }] = await db()`select to_jsonb(public.service_role_runtime_settings()) as snapshot`;
  return snapshot as RuntimeSnapshot;
}

let shared: RuntimeSettingsCache | undefined;

/** The effective runtime settings, at most the cache bound old. */
export function runtimeSettings(): Promise<RuntimeSnapshot> {
  shared ??= new RuntimeSettingsCache(
    loadFromDatabase,
    cacheMs(Deno.env.get("SAASBASE_RUNTIME_CACHE_SECONDS")),
  );
  return shared.get();
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

/** The AI providers tried after the model's own (`ai.fallback_order`), those the config still has, in order; the
 * config's fallbackOrder when the setting is missing (a database not synced since) or names none of them. */
export function fallbackOrder(config: ProductConfig, snapshot: RuntimeSnapshot): string[] {
  const value = snapshot.values["ai.fallback_order"];
  const known = new Set(config.ai.providers.map((p) => p.id));
  const order = isStringList(value) ? value.filter((id) => known.has(id)) : [];
  return order.length ? order : config.ai.fallbackOrder;
}

/** The image providers tried, in order (`images.fallback_order`), those the config's images section still has; its
 * fallbackOrder when the setting is missing or names none of them. */
export function imageFallbackOrder(images: { providers: { id: string }[]; fallbackOrder: string[] }, snapshot: RuntimeSnapshot): string[] {
  const value = snapshot.values["images.fallback_order"];
  const known = new Set(images.providers.map((p) => p.id));
  const order = isStringList(value) ? value.filter((id) => known.has(id)) : [];
  return order.length ? order : images.fallbackOrder;
}

export interface RuntimeStatus {
  maintenance: boolean;
  maintenanceMessage: string;
  announcement: string | null;
  announcementLevel: string;
  version: number;
}

/** Maintenance and the announcement in force (the config's defaults for a setting the snapshot lacks). */
export function runtimeStatus(config: ProductConfig, snapshot: RuntimeSnapshot): RuntimeStatus {
  const v = snapshot.values;
  const text = (key: string, fallback: string) => typeof v[key] === "string" ? v[key] as string : fallback;
  const announcement = text("announcement.message", config.runtime.announcement.message);
  return {
    maintenance: typeof v["maintenance.enabled"] === "boolean"
      ? v["maintenance.enabled"] as boolean
      : config.runtime.maintenance.enabled,
    maintenanceMessage: text("maintenance.message", config.runtime.maintenance.message) ||
      config.runtime.maintenance.message,
    announcement: announcement || null,
    announcementLevel: text("announcement.level", config.runtime.announcement.level),
    version: snapshot.version,
  };
}

/** Whether the request carries the service role's own key (a back office or deploy script), which maintenance
 * does not stop. */
function isServiceKey(req: Request): boolean {
  const key = Deno.env.get("SUPABASE_SERVICE_ROLE_KEY");
  return !!key && req.headers.get("authorization") === `Bearer ${key}`;
}

/** How long a client is asked to wait before retrying during maintenance. */
export const MAINTENANCE_RETRY_SECONDS = 60;

/**
 * Wraps a product function's handler (inside withHttp): in maintenance, every request but the service role's is
 * answered 503 `{ error: { code: "maintenance", message, details: { announcement, level, version } } }` with
 * Retry-After, before the handler runs (nothing read, charged or written). Webhooks and health are not wrapped:
 * Stripe's events must be stored whatever happens, and health reports maintenance itself.
 */
export function withMaintenance(
  config: ProductConfig,
  handler: Handler,
  read: () => Promise<RuntimeSnapshot> = runtimeSettings,
): Handler {
  return async (req) => {
    if (!isServiceKey(req)) {
      const status = runtimeStatus(config, await read());
      if (status.maintenance) {
        throw new AppError(503, "maintenance", status.maintenanceMessage, {
          announcement: status.announcement,
          level: status.announcementLevel,
          version: status.version,
        }, { "Retry-After": String(MAINTENANCE_RETRY_SECONDS) });
      }
    }
    return await handler(req);
  };
}
