// The money side of a message, before and while it is answered: the hold (the worst case of every provider
// that may answer it), the reservation taken for a signed-in user (held by the server), the lease that keeps it
// alive while the answer streams, and what is given back when no answer comes.
import { type Attempt, providerPlan } from "../_shared/ai.ts";
import { type ChatTurn, promptTokens, worstCaseCost } from "../_shared/chat-logic.ts";
import { config } from "../_shared/config.ts";
import { db } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import { AppError } from "../_shared/errors.ts";
import type { ChatHold, ReservationLease } from "../_shared/sql-results.ts";
import { tokenCounter } from "../_shared/token-count.ts";
import { type Chatter, type Model, type Persona, sha256 } from "./chatter.ts";

/** A provider to try, with the most its answer can cost: the whole prompt as its model bills it, plus the
 * whole answer budget it is given. */
export interface PricedAttempt extends Attempt {
  worst: number;
}

/** Every provider the message may go to (the model's, then the fallbacks), each priced at its worst case. */
export async function pricedPlan(persona: Persona, model: Model, messages: ChatTurn[]): Promise<PricedAttempt[]> {
  return await Promise.all(providerPlan(config, model.id, model.maxOutputTokens).map(async (a) => ({
    ...a,
    worst: worstCaseCost(
      persona.creditsPerMessage,
      a.served.creditsPer1kTokens,
      promptTokens(messages, await tokenCounter(a.served.id)),
      a.maxTokens,
    ),
  })));
}

/** The hold a message needs: what its most expensive provider may cost. When the wallet cannot hold that but
 * can hold the first provider's, that is held and the fallbacks that cost more are left out. */
function holdLevels(plan: PricedAttempt[]): number[] {
  const all = Math.max(...plan.map((a) => a.worst));
  return all > plan[0].worst ? [all, plan[0].worst] : [all];
}

export interface Held {
  hold: ChatHold;
  /** The providers this hold covers, in order. */
  plan: PricedAttempt[];
}

/** Reserves a signed-in user's message (service_role_reserve_chat): the key is the client's Idempotency-Key
 * (hashed: any 200 characters fit the ledger's) or a fresh one. 402 when not even the first provider's worst
 * case fits; 409 idempotency_conflict for a key whose message was answered or is being answered. */
export async function reserve(
  userId: string,
  idempotencyKey: string | undefined,
  plan: PricedAttempt[],
): Promise<Held> {
  const key = `chat:${idempotencyKey ? await sha256(idempotencyKey) : crypto.randomUUID()}`;
  const levels = holdLevels(plan);
  for (const [i, amount] of levels.entries()) {
    try {
      const [{ hold }] = await dbCall(
        db()`select to_jsonb(public.service_role_reserve_chat(${userId}, ${key}, ${amount})) as hold`,
      );
      return { hold: hold as ChatHold, plan: plan.filter((a) => a.worst <= amount) };
    } catch (err) {
      const last = i === levels.length - 1;
      if (last || !(err instanceof AppError && err.code === "insufficient_credits")) throw err;
    }
  }
  throw new Error("unreachable");
}

/**
 * Keeps a reservation alive while its answer streams: renewed every third of its lifetime, so another
 * operation on the user's wallet (even GET /credits, which does the wallet's due work) never finds it overdue
 * and releases it under a running answer. Stops with the answer. A renewal that fails is logged and tried again
 * at the next tick; should the hold lapse all the same, the answer is still paid when it is recorded.
 */
export function keepAlive(userId: string, hold: ChatHold): () => void {
  const every = Math.max(250, (hold.lifetime_seconds * 1000) / 3);
  const timer = setInterval(async () => {
    try {
      const [{ lease }] = await db()`select to_jsonb(public.service_role_renew_reservation(${userId},
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
      await db()`select public.service_role_release_reservation(${who.caller.userId}, ${held.hold.reservation_id})`;
    }
    if (visitor) await db()`select public.service_role_return_anon_chat(${visitor})`;
  };
}
