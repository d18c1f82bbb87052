// The functions' Polar client, from the secrets the config names (payments.polar: POLAR_ACCESS_TOKEN by default;
// POLAR_API_BASE in tests). 503 billing_not_configured without a token.
import { config } from "../../config.ts";
import { optionalEnv } from "../../env.ts";
import { ServiceUnavailableError } from "../../errors.ts";
import { createPolarClient, type Polar } from "./client.ts";

let client: Polar | undefined;

export function polar(): Polar {
  const name = config.payments.polar.accessTokenEnv;
  const token = optionalEnv(name);
  if (!token) throw new ServiceUnavailableError(`Billing is not configured (${name})`, "billing_not_configured");
  client ??= createPolarClient(token, config.payments.polar.server, optionalEnv("POLAR_API_BASE"));
  return client;
}
