// The product config as catalog rows (column names of public.features, plans, plan_quotas, credit_packs,
// chat_personas, chat_models, team_roles), the payload of public.service_role_sync_config.
import type { ProductConfig } from "../../supabase/functions/_shared/config-schema.ts";
import { licensingRows } from "../../supabase/functions/_shared/config/licensing.ts";
import { imagePriceRows } from "../../supabase/functions/_shared/config/images.ts";

export function catalogRows(config: ProductConfig) {
  return {
    settings: {
      signup_credits: config.signupCredits,
      grant_expiry_days: config.grantExpiryDays,
      reservation_ttl_minutes: config.reservationTtlMinutes,
      anonymous_chat_per_day: config.anonymous.chatMessagesPerDay,
      anonymous_chat_total_per_day: config.anonymous.chatMessagesPerDayTotal,
      anonymous_events_per_minute: config.anonymous.eventsPerMinuteTotal,
      conversations_per_hour: config.conversationsPerHour,
      product_url: config.product.url,
      referrer_credits: config.referrals.referrerCredits,
      referrer_cash_cents: config.referrals.referrerCashCents,
      referred_credits: config.referrals.referredCredits,
      referral_pay_when: config.referrals.payWhen,
      referral_monthly_cap: config.referrals.monthlyCapPerReferrer,
      min_cashout_cents: config.referrals.minCashoutCents,
      currency: config.currency,
      purchase_min_cents: config.purchase.minCents,
      purchase_max_cents: config.purchase.maxCents,
      credits_per_dollar: config.purchase.creditsPerDollar,
      invitation_expiry_days: config.teams.invitationExpiryDays,
      reusable_link_invitations: config.teams.reusableLinks,
      invitations_per_day: config.teams.invitationsPerDay,
      teams_per_month: config.teams.teamsPerMonth,
    },
    features: Object.entries(config.features).map(([id, f]) => ({ id, name: f.name, credits: f.credits, unit: f.unit })),
    plans: config.plans.map((p, i) => ({
      id: p.id,
      name: p.name,
      description: p.description,
      price_monthly_cents: p.priceMonthlyCents,
      price_yearly_cents: p.priceYearlyCents ?? null,
      monthly_credits: p.monthlyCredits,
      discount_percent: p.discountPercent,
      sort_order: i,
      is_default: p.id === config.defaultPlan,
      per_seat: p.perSeat,
      max_seats: p.maxSeats ?? null,
    })),
    plan_quotas: config.plans.flatMap((p) => [
      ...p.quotas.map((q) => ({
        plan_id: p.id,
        feature_id: q.feature,
        period: q.period,
        free_limit: q.limit,
        overage: q.overage,
        unlimited: false,
      })),
      ...p.unlimited.map((f) => ({
        plan_id: p.id,
        feature_id: f,
        period: null,
        free_limit: null,
        overage: "credits",
        unlimited: true,
      })),
    ]),
    credit_packs: config.creditPacks.map((c, i) => ({
      id: c.id,
      name: c.name,
      credits: c.credits,
      price_cents: c.priceCents,
      sort_order: i,
    })),
    // Chat's prices (SQL computes a message's cost from them: saasbase.chat_price).
    chat_personas: config.personas.map((p) => ({ id: p.id, name: p.name, credits_per_message: p.creditsPerMessage })),
    chat_models: config.ai.providers.flatMap((p) =>
      p.models.map((m) => ({ id: m.id, credits_per_1k_tokens: m.creditsPer1kTokens }))
    ),
    // Team roles and their rights (public.team_roles: what each member of a team may do).
    team_roles: config.teams.roles.map((r, i) => ({ role: r.id, name: r.name, rights: r.rights, sort_order: i })),
    // Products with releases (public.release_products, service_role_sync_releases): the free ones,
    // and the licensed ones (a download needs a valid license of the product).
    release_products: [
      ...config.releases.freeProducts.map((p) => ({ id: p.id, name: p.name, license_required: false })),
      ...config.licensing.products.map((p) => ({ id: p.id, name: p.name, license_required: true })),
    ],
    // Licensed products and the limits of requests by key (public.service_role_sync_licensing).
    ...licensingRows(config.licensing),
    // saasbase.notification_settings (public.service_role_sync_notifications).
    notifications: {
      welcome_email: config.notifications.welcomeEmail,
      low_credits_threshold: config.notifications.lowCreditsThreshold,
      upgrade_path: config.notifications.upgradePath,
      buy_credits_path: config.notifications.buyCreditsPath,
    },
    // Image prices per model and size (public.image_prices, service_role_sync_images; SQL prices an image with
    // saasbase.image_price).
    image_prices: imagePriceRows(config.images),
    // The config's values of the runtime settings that are no catalog column (public.service_role_sync_runtime_settings;
    // the catalog columns above are the defaults of the others), and the providers the fallback order may name.
    runtime_settings: {
      defaults: {
        "maintenance.enabled": config.runtime.maintenance.enabled,
        "maintenance.message": config.runtime.maintenance.message,
        "announcement.message": config.runtime.announcement.message,
        "announcement.level": config.runtime.announcement.level,
        "ai.fallback_order": config.ai.fallbackOrder,
        ...(config.images ? { "images.fallback_order": config.images.fallbackOrder } : {}),
      },
      ai_providers: config.ai.providers.map((p) => p.id),
      image_providers: config.images?.providers.map((p) => p.id) ?? [],
    },
  };
}

export type CatalogRows = ReturnType<typeof catalogRows>;
