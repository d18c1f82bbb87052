// Which third-party integrations this deployment has secrets for. Only presence is reported, never a value.
import type { ProductConfig } from "./config-schema.ts";

export type EnvReader = (name: string) => string | undefined;

export interface ProviderStatus {
  id: string;
  kind: string;
  configured: boolean;
  /** Operators only: the base URL in use when overridden or self-hosted (null: the vendor default). */
  baseUrl?: string | null;
  /** Operators only: the secrets it lacks. */
  missing?: string[];
}

export interface IntegrationStatus {
  stripe: { configured: boolean; webhookConfigured: boolean; missing?: string[] };
  ai: ProviderStatus[];
  /** The keys that encrypt users' third-party keys (docs/secrets.md): set, not checked (a malformed value is
   * the secrets function's 503 secrets_not_configured). */
  userSecrets: { configured: boolean; missing?: string[] };
}

/** A provider's base URL: its baseUrlEnv's value when set, else its baseUrl (null: the vendor's default). Chat's
 * providers and the image providers alike. */
export function providerBaseUrl(
  provider: { baseUrl?: string; baseUrlEnv?: string },
  env: EnvReader,
): string | null {
  return (provider.baseUrlEnv && env(provider.baseUrlEnv)) || provider.baseUrl || null;
}

/** A base URL as the public health report may show it: no credentials, query or fragment (where a proxy's
 * password or an API key could sit). */
function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(not a URL)";
  }
}

/** What is configured; with `detailed` (operators), also what is missing and where the AI providers are.
 * Anyone else sees booleans only: internal hosts and secret names are a map for an attacker. */
export function integrationStatus(
  config: ProductConfig,
  env: EnvReader,
  detailed = false,
): IntegrationStatus {
  const missing = (names: (string | undefined)[]) => names.filter((n): n is string => !!n && !env(n));
  const stripeMissing = missing(["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"]);
  const secretsMissing = missing(["SAASBASE_SECRETS_KEYS", "SAASBASE_SECRETS_KEY_ID"]);
  return {
    stripe: {
      configured: !stripeMissing.includes("STRIPE_SECRET_KEY"),
      webhookConfigured: !stripeMissing.includes("STRIPE_WEBHOOK_SECRET"),
      ...(detailed ? { missing: stripeMissing } : {}),
    },
    ai: config.ai.providers.map((p) => {
      const baseUrl = providerBaseUrl(p, env);
      const absent = missing([p.apiKeyEnv]);
      if (!baseUrl && p.kind === "openai-compatible") absent.push(p.baseUrlEnv ?? "baseUrl");
      const status: ProviderStatus = { id: p.id, kind: p.kind, configured: absent.length === 0 };
      return detailed ? { ...status, baseUrl: baseUrl && shownUrl(baseUrl), missing: absent } : status;
    }),
    userSecrets: { configured: secretsMissing.length === 0, ...(detailed ? { missing: secretsMissing } : {}) },
  };
}
