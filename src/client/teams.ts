// Team accounts from a frontend: the teams SQL API (supabase/migrations/20261207000000_teams.sql) through
// supabase-js `.rpc()`, typed by the generated types, each answering `{ data, error }` with `error` a
// SaasbaseError (`invitation_expired`, `seat_limit_reached`, `last_owner`, ...). Reading teams, members,
// roles and invitations is plain supabase-js on the tables (RLS decides): `supabase.from("account_members")`.
// A change of members (accept, remove, leave) is followed by the team's seat sync (the `seats` function: a
// per-seat subscription's quantity at Stripe made the seat rule's, with proration), whose outcome comes as
// `seats`; the change stands whatever the sync answers (a sync that failed is retried by the scheduled sweep).
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "../database.types.ts";
import type { TeamInvitation, TeamMember } from "../../supabase/functions/_shared/sql-results.ts";
// What the seat sync of an account found and did (POST /seats/sync; see docs/billing.md#seats): the function's own
// type, so the two cannot drift.
import type { SeatSync } from "../../supabase/functions/_shared/billing/seats.ts";
import { type Result, rpcResult, toSaasbaseError } from "./errors.ts";

type Tables = Database["public"]["Tables"];
/** A personal account or a team (public.accounts). */
export type Account = Tables["accounts"]["Row"];
/** A membership (public.account_members). */
export type Membership = Tables["account_members"]["Row"];
/** An invitation as its team's inviters read it (public.account_invitations): never its token. */
export type Invitation = Tables["account_invitations"]["Row"];
/** A role and its rights (public.team_roles, from the config's teams.roles). */
export type TeamRole = Tables["team_roles"]["Row"];
export type { SeatSync, TeamInvitation, TeamMember };


/** A membership change, and the seat sync run right after it (absent when the change was refused). */
export type MembershipChange<T> = Result<T> & { seats?: Result<SeatSync> };

export interface TeamCreateParams {
  name: string;
  /** 1 to 48 lower-case letters, digits and inner dashes; unique. */
  slug: string;
}
export interface InvitationCreateParams {
  account: string;
  /** A role of team_roles; only an owner invites an owner. */
  role: string;
  /** The invitee's address; none for a link anyone holding the token may use. */
  email?: string;
}
export interface MemberParams {
  account: string;
  user_id: string;
}

export function teamsClient(supabase: SupabaseClient<Database>) {
  /** The seat sync of `account`, as the signed-in member (any role: it only applies the seat rule). */
  async function syncSeats(account: string): Promise<Result<SeatSync>> {
    const { data, error } = await supabase.functions.invoke("seats/sync", {
      method: "POST",
      body: {},
      headers: { "X-Account-Id": account },
    });
    if (error) return { data: null, error: await toSaasbaseError(error) };
    return { data: data as SeatSync, error: null };
  }
  /** A membership change, then its account's seat sync. */
  async function thenSyncSeats<T extends { account_id: string }>(change: Promise<Result<T>>): Promise<MembershipChange<T>> {
    const result = await change;
    if (result.error) return result;
    return { ...result, seats: await syncSeats(result.data.account_id) };
  }

  return {
    /** Creates a team owned by the signed-in user. */
    create: (params: TeamCreateParams) => rpcResult<Account>(supabase.rpc("create_team", { ...params })),
    /** Renames a team or changes its slug (right manage_team); a field left out is kept. */
    update: (account: string, params: { name?: string; slug?: string }) =>
      rpcResult<Account>(supabase.rpc("update_team", { account, ...params })),
    /** Deletes a team (right manage_team); refused (`team_not_empty`) while it has credits or a live subscription. */
    del: (account: string) => rpcResult<Account>(supabase.rpc("delete_team", { account })),
    /** The signed-in user leaves a team (`last_owner` for its last owner). */
    leave: (account: string) => thenSyncSeats(rpcResult<Membership>(supabase.rpc("leave_team", { account }))),
    /** Hands the team to another member (owners only); the caller becomes an admin. */
    transferOwnership: (params: MemberParams) => rpcResult<Membership>(supabase.rpc("transfer_ownership", { ...params })),
    invitations: {
      /** Invites by email, or by link without one. The result's `token` is shown this once: put it in the link. */
      create: (params: InvitationCreateParams) => rpcResult<TeamInvitation>(supabase.rpc("invite_member", { ...params })),
      /** The signed-in user joins the team the token invites to. */
      accept: (token: string) => thenSyncSeats(rpcResult<Membership>(supabase.rpc("accept_invitation", { token }))),
      /** The signed-in user turns the invitation down. */
      decline: (token: string) => rpcResult<Invitation>(supabase.rpc("decline_invitation", { token })),
      /** Withdraws an invitation (right invite). */
      revoke: (invitation_id: string) => rpcResult<Invitation>(supabase.rpc("revoke_invitation", { invitation_id })),
    },
    seats: {
      /** Runs the team's seat sync now (POST /seats/sync); the helpers above run it after each change. */
      sync: syncSeats,
    },
    members: {
      /** The account's members (user, role, display name, avatar, cap, joined), owners first; their emails only
       * for a caller whose role may manage members or invite. */
      list: (account: string) => rpcResult<TeamMember[]>(supabase.rpc("list_team_members", { account })),
      /** Removes a member (right manage_members; only an owner removes an owner). */
      remove: (params: MemberParams) => thenSyncSeats(rpcResult<Membership>(supabase.rpc("remove_member", { ...params }))),
      /** Gives a member another role (right manage_members; only an owner makes or unmakes an owner). */
      update: (params: MemberParams & { role: string }) =>
        rpcResult<Membership>(supabase.rpc("set_member_role", { ...params })),
      /** Caps a member's monthly spending from the team wallet, in credits; null lifts it. */
      setSpendCap: (params: MemberParams & { monthly_credits: number | null }) =>
        rpcResult<Membership>(supabase.rpc("set_member_spend_cap", {
          account: params.account,
          user_id: params.user_id,
          // Null lifts the cap: SQL takes it, the generated Args type (which cannot say so) does not.
          monthly_credits: params.monthly_credits as number,
        })),
    },
  };
}
