// The money side of a message, before and while it is answered: the hold (the worst case of every provider
// that may answer it), the reservation taken for a signed-in user (held by the server), the lease that keeps it
// alive while the answer streams, and what is given back when no answer comes.
import type { Attempt } from "../_shared/ai.ts";
import { type ChatTurn, promptTokens } from "../_shared/chat-logic.ts";
import { db } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import type { ChatHold, ReservationLease } from "../_shared/sql-results.ts";
import { tokenCounter } from "../_shared/token-count.ts";
import { type Chatter, type Persona, sha256 } from "./chatter.ts";

export interface Held {
  hold: ChatHold;
  /** The providers this hold covers, in order. */
  plan: Attempt[];
}

/** Reserves a signed-in user's message in the account they act for (service_role_reserve_chat, which prices it
 * and checks their membership and right to spend, and their spending cap on a team wallet): every provider that may
 * answer it (the model's, then the fallbacks) with the most tokens it may bill, the whole prompt as its model
 * counts it plus the whole answer budget it is given. The key is the client's Idempotency-Key (hashed: any 200
 * characters fit the ledger's) or a fresh one. 402 when not even the first provider's worst case fits (the
 * dearer fallbacks are left out when only it does); 409 idempotency_conflict for a key whose message was
 * answered or is being answered. */
export async function reserve(
  who: Extract<Chatter, { kind: "user" }>,
  idempotencyKey: string | undefined,
  persona: Persona,
  plan: Attempt[],
  messages: ChatTurn[],
): Promise<Held> {
  const key = `chat:${idempotencyKey ? await sha256(idempotencyKey) : crypto.randomUUID()}`;
  const worstTokens = await Promise.all(
    plan.map(async (a) => promptTokens(messages, await tokenCounter(a.served.id)) + a.maxTokens),
  );
  const [{ hold }] = await dbCall(db()`select to_jsonb(public.service_role_reserve_chat(${who.account}, ${who.caller.userId}, ${key},
    ${persona.id}, ${plan.map((a) => a.served.id)}::text[], ${worstTokens}::integer[])) as hold`);
  const held = hold as ChatHold;
  return { hold: held, plan: plan.filter((_, i) => held.covered[i]) };
}

/**
 * Keeps a reservation alive while its answer streams: renewed every third of its lifetime, so another
 * operation on the user's wallet (even GET /credits, which does the wallet's due work) never finds it overdue
 * and releases it under a running answer. Stops with the answer. A renewal that fails is logged and tried again
 * at the next tick; should the hold lapse all the same, the answer is still paid when it is recorded.
 */
export function keepAlive(who: Extract<Chatter, { kind: "user" }>, hold: ChatHold): () => void {
  const every = Math.max(250, (hold.lifetime_seconds * 1000) / 3);
  const timer = setInterval(async () => {
    try {
      const [{ lease }] = await db()`select to_jsonb(public.service_role_renew_reservation(${who.account}, ${who.caller.userId},
        ${hold.reservation_id})) as lease`;
      if ((lease as ReservationLease).status !== "open") clearInterval(timer);
    } catch (err) {
      console.error("reservation renewal failed", err);
    }
  }, every);
  return () => clearInterval(timer);
}

/** Gives back what a message took when no answer came of it: its reservation, and a visitor's allowance. */
export function giveBack(who: Chatter, visitor: string | undefined, held: Held | undefined) {
  return async () => {
    if (who.kind === "user" && held) {
      await db()`select public.service_role_release_reservation(${who.account}, ${who.caller.userId},
        ${held.hold.reservation_id})`;
    }
    if (visitor) await db()`select public.service_role_return_anon_chat(${visitor})`;
  };
}
