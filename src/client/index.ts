// Typed helpers over supabase-js for a SaaSbase frontend. Tables and the SQL API are reached through
// `client.supabase` (createClient<Database>: `from("conversations")`, `rpc("check_feature")`, ...); what goes
// through edge functions (credits for server-side features, chat streams, checkout, the billing portal) has a
// typed method here. Every method returns `{ data, error }` like supabase-js, with `error` a SaasbaseError.
//
//   const saas = createSaasbaseClient(SUPABASE_URL, SUPABASE_ANON_KEY);
//   const { data: events, error } = await saas.chat.create({ message: "Hi" });
//   if (error?.code === "insufficient_credits") showPricing();
//   for await (const e of events ?? []) if (e.event === "token") append(e.data.content);
import { createClient, type SupabaseClient, type SupabaseClientOptions } from "@supabase/supabase-js";
import type { Database } from "../database.types.ts";
import type {
  CreditCharge,
  UserSecret as StoredSecret,
  WalletQuota,
  WalletSummary,
} from "../../supabase/functions/_shared/sql-results.ts";
import { type ChatEvent, readChatStream } from "./chat-stream.ts";
import { type Result, SaasbaseError, toSaasbaseError } from "./errors.ts";
import { teamsClient } from "./teams.ts";
import { apiKeysClient } from "./api-keys.ts";

export { type ChatDone, type ChatEvent, type ChatMeta, readChatStream } from "./chat-stream.ts";
export { ERROR_CODES, type KnownErrorCode, SaasbaseError, toSaasbaseError } from "./errors.ts";
export type {
  Account, Invitation, InvitationCreateParams, MemberParams, Membership, MembershipChange, SeatSync, TeamCreateParams,
  TeamInvitation, TeamMember, TeamRole,
} from "./teams.ts";

export type { ApiKeyCreated, ApiKeyCreateParams, ApiKeyInfo } from "./api-keys.ts";
export {
  LICENSE_FILE_FORMAT, type LicenseFile, type LicenseFileCheck, type LicenseFilePayload, verifyLicenseFile,
} from "./licenses.ts";

export type { Result } from "./errors.ts";

export interface ChargeCreateParams {
  feature: string;
  quantity?: number;
  /** The same key returns the first outcome instead of charging twice. */
  idempotency_key: string;
  /** The account to charge: a team the user belongs to (sent as X-Account-Id); default their personal account. */
  account?: string;
}

// Results of the SQL API, as the generated types describe them (supabase/functions/_shared/sql-results.ts):
// `supabase.rpc("check_feature", ...)` and the rest are typed by createClient<Database> itself.
export type {
  AmountPrice,
  CashoutStatus,
  CreditAdjustment,
  CreditCharge,
  CreditDebit,
  CreditGrant,
  FeatureCheck,
  FeatureCredits,
  FunnelStep,
  KpiBucket,
  KpiReport,
  KpiTotals,
  PackPrice,
  PlanAssignment,
  ReferralSummary,
  ChatExchange,
  ChatHold,
  ReservationHold,
  ReservationLease,
  ReservationRelease,
  ReservationSettlement,
  RoleAssignment,
  SqlResult,
  WalletLot,
  WalletQuota,
  WalletSummary,
} from "../../supabase/functions/_shared/sql-results.ts";

/** What POST /credits/charge answers: the charge_credits result. */
export type Charge = CreditCharge;

type LedgerRow = Database["public"]["Tables"]["credit_ledger"]["Row"];
/** A ledger row as GET /credits lists it (feature_id named feature; actor_id: the member who spent). */
export type LedgerEntry =
  & Pick<LedgerRow, "id" | "kind" | "amount" | "balance_after" | "quantity" | "reason" | "reference" | "actor_id" | "created_at">
  & { feature: LedgerRow["feature_id"] };

export type Quota = WalletQuota;

/** What GET /credits answers: get_wallet's result and the most recent ledger rows. */
export type Wallet = WalletSummary & { ledger: LedgerEntry[] };

export interface ChatCreateParams {
  message: string;
  conversation_id?: string;
  persona?: string;
  model?: string;
  /** Anonymous chat (anon key, no session): a client-chosen id of 16 to 128 letters, digits, - or _. */
  session_id?: string;
  /** The account that pays for the message: a team the user belongs to (sent as X-Account-Id); default their
   * personal account. The conversation stays the user's own either way. */
  account?: string;
}

/** A conversation as GET /chat/conversations lists it: a row of list_conversations (the same SQL serves an
 * anonymous session's), as the generated types describe it. */
type ConversationRow = Database["public"]["Functions"]["list_conversations"]["Returns"][number];
export type ConversationSummary = Omit<ConversationRow, "last_message_at" | "last_message_role" | "last_message"> & {
  last_message_at: string | null;
  last_message_role: "user" | "assistant" | null;
  last_message: string | null;
};

type MessageRow = Database["public"]["Tables"]["messages"]["Row"];
/** A message as GET /chat/messages pages it: a row of public.messages, as the generated types describe it. */
export type ChatMessage =
  & Pick<MessageRow, "id" | "content" | "persona" | "model" | "prompt_tokens" | "completion_tokens" | "credits_consumed" | "created_at">
  & { role: "user" | "assistant"; status: "complete" | "stopped" | "failed" };

/** One of: a plan price by lookup key, a credit pack, or a custom amount of credits. */
export type CheckoutCreateParams =
  // `seats`: for a per-seat plan, the seats bought (default: the account's members; see docs/billing.md#seats).
  & ({ price: string; seats?: number } | { pack: string } | { amount_cents: number })
  & { success_url?: string; cancel_url?: string };

/** A stored secret as the `secrets` function lists it: never its value. */
export type UserSecret = StoredSecret;

/** An MCP installation row (public.installations), as the installations function answers it. */
export type Installation = Database["public"]["Tables"]["installations"]["Row"];
export type McpClient = "cursor" | "claude-desktop" | "vscode" | "windsurf" | "other";

export interface InstallationTrackParams {
  client: McpClient;
  /** The editor's version. */
  version?: string;
  /** The editor's MCP config file as JSON (stored redacted: header and env values, our API keys cut to their
   * prefix). */
  mcp_config?: Record<string, unknown>;
  /** A team the user installs for (sent as X-Account-Id); default their personal account. */
  account?: string;
}

export interface InstallationValidateParams extends InstallationTrackParams {
  /** The tracked installation to validate; none: a new one is tracked first. */
  installation_id?: string;
  mcp_config: Record<string, unknown>;
}

/** The header naming the account a function acts for (a team's id); none: the caller's personal account. */
function accountHeader(account: string | undefined): Record<string, string> {
  return account ? { "X-Account-Id": account } : {};
}

function query(params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined);
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)]))}` : "";
}

export function createSaasbaseClient(
  supabaseUrl: string,
  supabaseKey: string,
  options?: SupabaseClientOptions<"public">,
) {
  const supabase: SupabaseClient<Database> = createClient<Database>(supabaseUrl, supabaseKey, options);

  /** Calls an edge function; a JSON answer is the data, an error answer a SaasbaseError. */
  async function invoke<T>(
    name: string,
    init: {
      method?: "GET" | "POST" | "PUT" | "DELETE";
      body?: object;
      signal?: AbortSignal;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Result<T>> {
    const { data, error } = await supabase.functions.invoke(name, {
      method: init.method ?? "POST",
      body: init.method === "GET" || init.method === "DELETE" ? undefined : init.body ?? {},
      headers: init.headers,
      signal: init.signal,
    });
    if (error) return { data: null, error: await toSaasbaseError(error) };
    return { data: data as T, error: null };
  }

  return {
    supabase,
    /** Team accounts: create, invite, accept, manage members (the teams SQL API, over `.rpc()`). */
    teams: teamsClient(supabase),
    /** Third-party keys (a v0 key) of the personal account or of `account`, stored encrypted by the `secrets`
     * function: a value goes in and never comes back; lists show provider, last 4 and times (docs/secrets.md).
     * Setting or deleting a team's takes the `manage_team` right. */
    secrets: {
      list: (opts: { account?: string } = {}) =>
        invoke<{ secrets: UserSecret[] }>("secrets", { method: "GET", headers: accountHeader(opts.account) }),
      set: (provider: string, value: string, opts: { account?: string } = {}) =>
        invoke<UserSecret>(`secrets/${encodeURIComponent(provider)}`, {
          method: "PUT",
          body: { value },
          headers: accountHeader(opts.account),
        }),
      del: (provider: string, opts: { account?: string } = {}) =>
        invoke<{ deleted: true; provider: string }>(`secrets/${encodeURIComponent(provider)}`, {
          method: "DELETE",
          headers: accountHeader(opts.account),
        }),
    },
    /** API keys for programs (CLIs, MCP servers, scripts): create (shown once), list, rename, revoke. */
    apiKeys: apiKeysClient(supabase),
    credits: {
      /** Balance, reservations, plan, quotas and the `ledger_limit` (20) most recent ledger rows of the
       * personal account, or of `account` (a team the user belongs to). */
      retrieve: (params: { ledger_limit?: number; account?: string } = {}) =>
        invoke<Wallet>(`credits${query({ limit: params.ledger_limit })}`, {
          method: "GET",
          headers: accountHeader(params.account),
        }),
      /** Charges one use of a feature (free quota first, then credits) to the personal account or `account`. */
      charge: ({ account, ...params }: ChargeCreateParams) =>
        invoke<Charge>("credits/charge", { body: params, headers: accountHeader(account) }),
    },
    chat: {
      /** Sends a message; the answer streams as events (meta, token..., then done or error). */
      async create(
        { account, ...params }: ChatCreateParams,
        opts: { signal?: AbortSignal } = {},
      ): Promise<Result<AsyncGenerator<ChatEvent>>> {
        const result = await invoke<Response | string>("chat", {
          body: params,
          signal: opts.signal,
          headers: accountHeader(account),
        });
        if (result.error) return result;
        if (!(result.data instanceof Response) || !result.data.body) {
          return { data: null, error: new SaasbaseError(502, "bad_response", "The chat answer was not an event stream") };
        }
        return { data: readChatStream(result.data.body), error: null };
      },
      conversations: {
        /** The caller's conversations, most recent first (anonymous: those of `session_id`). */
        list: (params: { limit?: number; older_than?: string; session_id?: string } = {}) =>
          invoke<{ conversations: ConversationSummary[] }>(`chat/conversations${query(params)}`, { method: "GET" }),
      },
      messages: {
        /** A page of a conversation's messages, newest first; pass `next_before` back as `before`. */
        list: (params: { conversation_id: string; before?: number; limit?: number; session_id?: string }) =>
          invoke<{ messages: ChatMessage[]; next_before: number | null }>(`chat/messages${query(params)}`, {
            method: "GET",
          }),
      },
    },
    installations: {
      /** Records an installation attempt (status attempted). */
      track: ({ account, ...params }: InstallationTrackParams) =>
        invoke<Installation>("installations/track", { body: params, headers: accountHeader(account) }),
      /** Checks the editor's MCP config on the server: the installation comes back validated, or failed with
       * `error_message` saying why (show it to the user). */
      validate: ({ account, ...params }: InstallationValidateParams) =>
        invoke<Installation>("installations/validate", { body: params, headers: accountHeader(account) }),
    },
    billing: {
      checkout: {
        /** A Stripe Checkout Session; send the user to `url`. The same `idempotency_key` returns the same one.
         * `account`: a team to buy for (its id; the caller's role needs 'buy' for credits, 'manage_billing' for a
         * plan), else the caller's personal account. */
        create: (params: CheckoutCreateParams, opts: { idempotency_key?: string; account?: string } = {}) =>
          invoke<{ id: string; url: string }>("checkout", {
            body: params,
            headers: {
              ...(opts.idempotency_key ? { "Idempotency-Key": opts.idempotency_key } : {}),
              ...accountHeader(opts.account),
            },
          }),
      },
      portal: {
        /** The Stripe billing portal (plan changes, cards, cancelling); send the user to `url`. `account`: a team's
         * portal (the caller's role needs 'manage_billing'), else the personal account's. */
        create: (params: { return_url?: string } = {}, opts: { account?: string } = {}) =>
          invoke<{ url: string }>("portal", { body: params, headers: accountHeader(opts.account) }),
      },
    },
  };
}

export type SaasbaseClient = ReturnType<typeof createSaasbaseClient>;
