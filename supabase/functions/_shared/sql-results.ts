// The SQL API's results, from the generated types (database.types.ts, `npm run gen:types`): each RPC returns a
// composite type, which `supabase gen types` describes field by field, so a result that changes in SQL changes
// here and fails the typecheck of every function and of src/client that reads it. Postgres has no NOT NULL for a
// composite's fields, so the generator types them all `| null`: NULLABLE names, once, the fields of each result
// that really can be null, and the types below make the others required (supabase/functions/tests/
// sql_results_test.ts calls the API in the states that make fields null and checks the others never are).
import type { Database } from "./database.types.ts";

type Composite = Database["public"]["CompositeTypes"];

export const NULLABLE = {
  // Catalog (supabase/migrations/20261124000100_catalog.sql)
  config_sync_summary: [],
  // Credits (supabase/migrations/20261124000300_ledger.sql to 000330_credits_api.sql, by account since
  // 20261207000100_account_credits.sql)
  credit_grant: [],
  feature_check: ["plan", "free_remaining", "period", "resets_at"],
  reservation_hold: ["balance"],
  reservation_settlement: [],
  reservation_release: [],
  credit_charge: [],
  wallet_lot: [],
  wallet_quota: ["period", "limit", "remaining", "resets_at"],
  // spend_cap, spend_left: a member's monthly cap on a team wallet (null: none, or a personal account).
  wallet_summary: ["plan", "discount", "spend_cap", "spend_left"],
  pack_price: [],
  amount_price: ["credits"],
  credit_debit: ["ledger_id"],
  reservation_lease: [],
  // Chat (supabase/migrations/20261124000500_chat.sql)
  chat_hold: [],
  chat_exchange: ["message_id", "balance"],
  // Referrals (supabase/migrations/20261124000600_referrals.sql)
  referral_summary: ["code", "share_link"],
  cashout_status: [],
  cashout_claim: ["destination", "transfer_id"],
  payout_outcome: ["transfer_id", "failure"],
  // Account billing (supabase/migrations/20261207000200_account_billing.sql)
  billing_customer: ["email", "stripe_customer_id"],
  // Seats: an account without a live per-seat subscription has none of it (nor its item, quantity or wanted
  // quantity); a subscription mirrored before its item was read has no item or quantity; a team never bought
  // seats (no per-seat subscription went live) has no seats_bought.
  seat_quantity: ["subscription_id", "item_id", "quantity", "wanted", "seats_bought"],
  // Analytics and admin (supabase/migrations/20261124000700_analytics_admin.sql)
  credit_adjustment: [],
  role_assignment: [],
  plan_assignment: ["plan_id"],
  kpi_range: [],
  kpi_totals: [],
  feature_credits: ["feature"],
  funnel_step: [],
  kpi_bucket: [],
  kpi_report: [],
  // Teams (supabase/migrations/20261207000000_teams.sql): a link invitation has no email, a reusable one no
  // use limit.
  team_invitation: ["email", "max_uses"],
  // A member with no display name or avatar, an email only for those who may manage members or invite, no cap.
  team_member: ["display_name", "avatar_url", "email", "monthly_spend_cap"],
  // User secrets (supabase/migrations/20261207000400_user_secrets.sql): the member who stored it may be deleted
  // since.
  user_secret: ["created_by"],
  // API keys (supabase/migrations/20261207000300_api_keys.sql): no scopes = every function; no expiry; never
  // used; not revoked.
  api_key_info: ["scopes", "expires_at", "last_used_at", "revoked_at"],
  api_key_created: ["scopes", "expires_at"],
  verified_api_key: ["scopes"],
  // Releases (supabase/migrations/20261207001100_releases.sql): a download by nobody signed in counts for no
  // account; a free product's needs no license.
  release_offer: [],
  release_download: ["account_id", "license_id"],
  release_download_count: [],
  // Licenses (supabase/migrations/20261207001000_licenses.sql): NOT_FOUND names no license; a perpetual license
  // has no expiry (nor grace), a floating one without a limit no max; a machine without a name or platform; a
  // policy without heartbeats or a version cap.
  license_validation: ["license_id", "account_id", "product_id", "expires_at", "machines_used", "machines_max"],
  license_issued: ["expires_at"],
  license_details: ["expires_at", "grace_until", "max_machines", "heartbeat_minutes", "max_major_version"],
  license_machine_result: ["name", "platform", "machines_max"],
  // Images (supabase/migrations/20261207000700_images.sql): a pending generation has no image yet.
  generation_start: ["storage_path"],
  generation_outcome: [],
  // Email (supabase/migrations/20261207001200_email.sql): a mail to an address with no account has no user, one
  // with neither a user nor payload.email no address; most addresses are not suppressed. An event about a
  // message not found here (another sender's, or sent before it was recorded) has no outbox row.
  email_claim: ["user_id", "to_email", "suppression"],
  email_event_result: ["outbox_id"],
  // Runtime settings (supabase/migrations/20261207000900_runtime_settings.sql): bounds and choices only for the
  // types that have them, no override (the default in force); a maintenance message only in maintenance, no
  // announcement.
  runtime_setting: ["min", "max", "allowed", "override_value"],
  runtime_status: ["maintenance_message", "announcement"],
  runtime_settings_snapshot: [],
} as const satisfies { [Name in keyof Composite]?: readonly (keyof Composite[Name])[] };

type Nullable<Name> = Name extends keyof typeof NULLABLE ? (typeof NULLABLE)[Name][number] : never;

/** A composite result: its fields non-null but for those NULLABLE names. */
export type SqlResult<Name extends keyof Composite> = {
  [K in keyof Composite[Name]]-?: K extends Nullable<Name> ? Composite[Name][K]
    : NonNullable<Composite[Name][K]>;
};

export type ConfigSyncSummary = SqlResult<"config_sync_summary">;

export type CreditGrant = SqlResult<"credit_grant">;
export type FeatureCheck = SqlResult<"feature_check">;
export type ReservationHold = SqlResult<"reservation_hold">;
export type ReservationSettlement = SqlResult<"reservation_settlement">;
export type ReservationRelease = SqlResult<"reservation_release">;
export type CreditCharge = SqlResult<"credit_charge">;
export type WalletLot = SqlResult<"wallet_lot">;
export type WalletQuota = SqlResult<"wallet_quota">;
export type WalletSummary =
  & Omit<SqlResult<"wallet_summary">, "expiring" | "quotas">
  & { expiring: WalletLot[]; quotas: WalletQuota[] };
export type PackPrice = SqlResult<"pack_price">;
export type AmountPrice = SqlResult<"amount_price">;
export type CreditDebit = SqlResult<"credit_debit">;
export type ReservationLease = SqlResult<"reservation_lease">;

export type ChatHold = SqlResult<"chat_hold">;
export type ChatExchange = SqlResult<"chat_exchange">;

export type ReferralSummary = SqlResult<"referral_summary">;
export type CashoutStatus = SqlResult<"cashout_status">;
export type CashoutClaim = SqlResult<"cashout_claim">;
export type PayoutOutcome = SqlResult<"payout_outcome">;

export type BillingCustomer = SqlResult<"billing_customer">;
export type SeatQuantity = SqlResult<"seat_quantity">;

export type CreditAdjustment = SqlResult<"credit_adjustment">;
export type RoleAssignment = SqlResult<"role_assignment">;
export type PlanAssignment = SqlResult<"plan_assignment">;
export type KpiTotals = SqlResult<"kpi_totals">;
export type TeamInvitation = SqlResult<"team_invitation">;
export type TeamMember = SqlResult<"team_member">;
export type UserSecret = SqlResult<"user_secret">;
export type FeatureCredits = SqlResult<"feature_credits">;
export type FunnelStep = SqlResult<"funnel_step">;
export type KpiBucket = SqlResult<"kpi_bucket">;
export type KpiReport = {
  range: SqlResult<"kpi_range">;
  totals: KpiTotals;
  credits_by_feature: FeatureCredits[];
  funnel: FunnelStep[];
  series: KpiBucket[];
};

export type ApiKeyInfo = SqlResult<"api_key_info">;
export type ApiKeyCreated = SqlResult<"api_key_created">;

export type ReleaseOffer = SqlResult<"release_offer">;
export type ReleaseDownload = SqlResult<"release_download">;
export type ReleaseDownloadCount = SqlResult<"release_download_count">;
export type LicenseValidation = SqlResult<"license_validation">;
export type LicenseIssued = SqlResult<"license_issued">;
export type LicenseDetails = Omit<SqlResult<"license_details">, "validation" | "machines"> & {
  validation: LicenseValidation;
  machines: LicenseMachine[];
};
export type LicenseMachineResult = SqlResult<"license_machine_result">;
/** A machine as GET /licenses/:key lists it (license_details.machines). */
export interface LicenseMachine {
  id: string;
  fingerprint: string;
  name: string | null;
  platform: string | null;
  last_heartbeat_at: string;
  created_at: string;
  alive: boolean;
}
export type RuntimeSetting = SqlResult<"runtime_setting">;
export type RuntimeStatus = SqlResult<"runtime_status">;
export type RuntimeSettingsSnapshot = SqlResult<"runtime_settings_snapshot">;
