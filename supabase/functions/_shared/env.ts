// Reads of the environment the Supabase platform gives every function (and the local stack mirrors).

/** A variable that must be set; a missing one is a deployment mistake, reported by name. */
export function requireEnv(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
}

/** A variable that may be absent (an integration not configured yet). */
export function optionalEnv(name: string): string | undefined {
  return Deno.env.get(name) || undefined;
}
