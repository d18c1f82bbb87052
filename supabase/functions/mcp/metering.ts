// How a tool call is paid for: through the credits SQL API as the caller (their plan's free allowance first,
// then the account's credits), under an idempotency key derived from the JSON-RPC request, so a client
// re-sending a call it got no answer to is not charged twice.
//
// A generation is held first (reserve_credits: a free unit of the month, or its credits), then settled once
// the model has answered, or released (quota and credits back) when it has not: a call that fails costs
// nothing, and two calls racing for the last free unit cannot both have it.
import type { Caller } from "../_shared/auth.ts";
import { callAsCaller } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";

export interface Hold {
  reservation_id: string;
  status: "open" | "settled" | "released";
  amount: number;
  free_units: number;
  replayed: boolean;
}

export interface Settlement {
  reservation_id: string;
  credits_charged: number;
  balance: number;
  replayed: boolean;
  cost: number;
}

/** Keys' fields in a fixed order, so the same arguments always make the same key. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The idempotency key of a tool call: the client's own (the Idempotency-Key header) when it sends one, else
 * derived from the request: who calls (the member, and the API key when one is used), the JSON-RPC id, the tool
 * and its arguments. A retried request is the same request, so it gets the same key; another call differs in
 * its id or its arguments. (MCP clients number requests per connection from 0: a new connection repeating an
 * earlier connection's call with the same id and the very same arguments counts as its retry. That generation
 * is made again with the user's own model key and not charged again.) */
export async function callKey(
  caller: Caller & { userId: string },
  account: string,
  tool: string,
  requestId: string | number,
  args: unknown,
  clientKey?: string,
): Promise<string> {
  const hash = await sha256Hex(
    canonical([clientKey ? "client" : "request", account, caller.userId, caller.apiKey?.id ?? null,
      clientKey ?? requestId, tool, clientKey ? null : args]),
  );
  return `mcp:${tool}:${hash}`;
}

/** Holds one use of `feature` under `key`. A key whose hold was released (the model failed on an earlier
 * try) is not reused: the retry is a new attempt, held under the key's next generation (`key/2`, ...). */
export async function hold(
  caller: Caller & { userId: string },
  account: string | null,
  feature: string,
  key: string,
): Promise<Hold> {
  for (let attempt = 1;; attempt++) {
    const k = attempt === 1 ? key : `${key}/${attempt}`;
    const held = await dbCall(callAsCaller<Hold>(caller, (sql) =>
      sql`public.reserve_credits(${feature}, 1, ${k}, null, ${account})`));
    if (!(held.replayed && held.status === "released") || attempt >= 20) return held;
  }
}

/** Pays for a held use (its price, or nothing when a free unit held it); a settled one answers as before. */
export function settle(caller: Caller & { userId: string }, account: string | null, held: Hold) {
  return dbCall(callAsCaller<Settlement>(caller, (sql) =>
    sql`public.settle_reservation(${held.reservation_id}::uuid, 0, ${account})`));
}

/** Gives a held use back: its free unit and its credits. */
export function release(caller: Caller & { userId: string }, account: string | null, held: Hold) {
  return dbCall(callAsCaller<unknown>(caller, (sql) =>
    sql`public.release_reservation(${held.reservation_id}::uuid, ${account})`));
}
