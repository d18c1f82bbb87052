// The Polar client (@polar-sh/sdk, API version 2026-10), for Deno (functions) and Node (scripts) alike. A base
// URL (POLAR_API_BASE) points the real SDK at another server speaking Polar's API (tests/support/polar-server.ts).
import { createPolar, type Polar } from "@polar-sh/sdk/2026-10";

export type { Polar };
export type PolarServer = "production" | "sandbox";

export function createPolarClient(accessToken: string, server: PolarServer, baseUrl?: string): Polar {
  // 10 s a request (the SDK's default is 5): a slow Polar is our 503, well inside the edge runtime's limit.
  return createPolar({ accessToken, environment: server, timeout: 10, ...(baseUrl ? { baseUrl } : {}) });
}

/** The status of a Polar API error (the SDK's PolarClientError and its subclasses carry it), if it is one. */
export function polarStatus(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown })?.statusCode;
  return typeof status === "number" ? status : undefined;
}
