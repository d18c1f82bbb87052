// The seat sync: a per-seat plan's subscription quantity at Stripe made what the seat rule wants. The rule is
// SQL's (saasbase.seat_quantity, in the account-billing migration: members joining raise the quantity when they
// outnumber the seats bought, a member leaving lowers it to the members left, never below 1); this only carries
// its answer to Stripe and records what Stripe accepted.
//
// One account's sync, in one transaction that holds the account's seat lock (public.service_role_seat_quantity
// takes it): read what the rule wants, ask Stripe to set the plan item's quantity with proration
// (create_prorations: the next invoice charges the added seats' and credits the removed seats' share of the
// period), then record the quantity (accounts.billed_seats) at the seat_version it was computed at. So:
//   * two syncs of one account run one after the other; the second sees the first's record and asks nothing;
//   * a membership change during Stripe's call bumps seat_version past the one recorded, so the next sync (the
//     change's own, or a sweep) applies it;
//   * a Stripe call that fails records nothing and rolls back: the account stays due, and the next sync
//     retries it;
//   * Stripe's idempotency key is (subscription, seat_version, quantity before, quantity after): a replay of the
//     same decision is the same request, answered once by Stripe.
// subscriptions.quantity is not written here: the webhook's customer.subscription.updated sets it, as Stripe
// has it.
//
// Node-safe like stripe-events.ts: the seats and stripe-reconcile functions hand in the pool and the client.
import { appErrorFromDb } from "../db-errors.ts";
import type { SeatQuantity } from "../sql-results.ts";
import type { Stripe } from "../stripe-client.ts";
import type { Sql } from "./stripe-events.ts";

/** What a sync of one account found and did. */
export interface SeatSync {
  account_id: string;
  /** The live per-seat subscription; null: none (nothing billed per seat, nothing done). */
  subscription_id: string | null;
  members: number;
  /** Stripe's quantity as best known (what the sync last applied, or the mirror's), and what the rule wants. */
  quantity: number | null;
  wanted: number | null;
  seat_version: number;
  /** Whether Stripe was asked to change the quantity (false: it already had it, or this version was applied). */
  updated: boolean;
}

export interface SeatSweep {
  synced: SeatSync[];
  /** Accounts whose sync failed (Stripe refused or was unreachable): nothing recorded, retried by the next sweep. */
  failed: { account_id: string; error: { code: string; message: string } }[];
}


/** Syncs one account's seats (as `userId`, a member of it, when given: 404 account_not_found otherwise). */
export async function syncSeats(
  sql: Sql,
  stripe: () => Stripe,
  accountId: string,
  userId: string | null = null,
): Promise<SeatSync> {
  return await sql.begin(async (tx) => {
    const [{ q }] = await tx`select to_jsonb(public.service_role_seat_quantity(${accountId}, ${userId})) as q`;
    const seats = q as SeatQuantity;
    const result: SeatSync = {
      account_id: seats.account_id,
      subscription_id: seats.subscription_id,
      members: seats.members,
      quantity: seats.quantity,
      wanted: seats.wanted,
      seat_version: Number(seats.seat_version),
      updated: false,
    };
    if (!seats.subscription_id || seats.wanted === null) return result;
    if (seats.needs_update && seats.item_id) {
      await stripe().subscriptionItems.update(
        seats.item_id,
        { quantity: seats.wanted, proration_behavior: "create_prorations" },
        {
          idempotencyKey: `saasbase-seats-${seats.subscription_id}-v${seats.seat_version}-${
            seats.quantity ?? "unknown"
          }-${seats.wanted}`,
        },
      );
      result.updated = true;
    }
    await tx`select public.service_role_record_seats(${seats.account_id}, ${seats.subscription_id},
      ${seats.seat_version}, ${seats.wanted})`;
    return result;
  }) as SeatSync;
}

/** Syncs every account that is due (members changed since its last sync, or Stripe's quantity is not the rule's),
 * at most `max` of them, one after the other; one account's failure does not stop the others. */
export async function syncDueSeats(sql: Sql, stripe: () => Stripe, max = 100): Promise<SeatSweep> {
  const due = await sql`select public.service_role_seats_due(${max}) as account_id`;
  const sweep: SeatSweep = { synced: [], failed: [] };
  for (const { account_id } of due) {
    try {
      sweep.synced.push(await syncSeats(sql, stripe, account_id));
    } catch (err) {
      sweep.failed.push({ account_id, error: errorOf(err) });
    }
  }
  return sweep;
}

function errorOf(err: unknown): { code: string; message: string } {
  const app = appErrorFromDb(err);
  if (app) return { code: app.code, message: app.message };
  const e = err as { type?: unknown; code?: unknown; message?: unknown };
  if (typeof e?.type === "string" && e.type.startsWith("Stripe")) {
    console.error(err);
    return { code: "payment_provider_error", message: String(e.message ?? "Stripe refused the request") };
  }
  throw err;
}
