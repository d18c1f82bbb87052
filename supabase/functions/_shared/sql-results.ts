// The SQL API's results, from the generated types (database.types.ts, `npm run gen:types`): each RPC returns a
// composite type, which `supabase gen types` describes field by field, so a result that changes in SQL changes
// here and fails the typecheck of every function and of src/client that reads it. Postgres has no NOT NULL for a
// composite's fields, so the generator types them all `| null`; each result below names the fields that really
// can be null and makes the others required. (Type-only: nothing here runs.)
import type { Database } from "./database.types.ts";

type Composite = Database["public"]["CompositeTypes"];

/** A composite result with its fields non-null but for `Nullable`. */
export type SqlResult<Name extends keyof Composite, Nullable extends keyof Composite[Name] = never> = {
  [K in keyof Composite[Name]]-?: K extends Nullable ? Composite[Name][K] : NonNullable<Composite[Name][K]>;
};

// Catalog (supabase/migrations/20261124000100_catalog.sql)
export type ConfigSyncSummary = SqlResult<"config_sync_summary">;

// Credits (supabase/migrations/20261124000300_ledger.sql to 000330_credits_api.sql)
export type CreditCharge = SqlResult<"credit_charge">;
export type ReservationHold = SqlResult<"reservation_hold", "balance">;
export type ReservationSettlement = SqlResult<"reservation_settlement">;
export type ReservationRelease = SqlResult<"reservation_release">;
export type FeatureCheck = SqlResult<"feature_check", "plan" | "free_remaining" | "period" | "resets_at">;
export type WalletLot = SqlResult<"wallet_lot">;
export type WalletQuota = SqlResult<"wallet_quota", "period" | "limit" | "remaining" | "resets_at">;
export type WalletSummary =
  & Omit<SqlResult<"wallet_summary", "plan" | "discount">, "expiring" | "quotas">
  & { expiring: WalletLot[]; quotas: WalletQuota[] };
export type PackPrice = SqlResult<"pack_price">;
export type CreditGrant = SqlResult<"credit_grant">;
export type CreditDebit = SqlResult<"credit_debit", "ledger_id">;

// Referrals (supabase/migrations/20261124000600_referrals.sql)
export type ReferralSummary = SqlResult<"referral_summary", "code" | "share_link">;
export type CashoutStatus = SqlResult<"cashout_status">;
export type CashoutClaim = SqlResult<"cashout_claim", "destination" | "transfer_id">;
export type PayoutOutcome = SqlResult<"payout_outcome", "transfer_id" | "failure">;

// Analytics and admin (supabase/migrations/20261124000700_analytics_admin.sql)
export type CreditAdjustment = SqlResult<"credit_adjustment">;
export type RoleAssignment = SqlResult<"role_assignment">;
export type PlanAssignment = SqlResult<"plan_assignment", "plan_id">;
export type KpiTotals = SqlResult<"kpi_totals">;
export type FeatureCredits = SqlResult<"feature_credits", "feature">;
export type FunnelStep = SqlResult<"funnel_step">;
export type KpiBucket = SqlResult<"kpi_bucket">;
export type KpiReport = {
  range: SqlResult<"kpi_range">;
  totals: KpiTotals;
  credits_by_feature: FeatureCredits[];
  funnel: FunnelStep[];
  series: KpiBucket[];
};
