// Dev Forge (seed 002): the services behind a desktop code editor: accounts with roles (admin, developer,
// customer), Stripe payments with refunds, an AI support chatbot, analytics and an admin API, and what it sells:
// the editor as a yearly license for 3 machines (Pro, $149 a year, 14 days of grace after it lapses; issue 17),
// with its releases, update checks and licensed downloads; the command-line tool is free to download.
//
// Not built yet, so not here: the extension marketplace with its 70/30 revenue split and developer payouts,
// support tickets with their emails, the knowledge base and the forums (no issue yet), tax calculation and
// multi-currency (no issue yet).
// Use it: `npm run dev -- --preset devforge`; make it your config: `npm run config:preset -- devforge`.
import { defineConfig } from "../supabase/functions/_shared/config-schema.ts";

export default defineConfig({
  product: {
    name: "Dev Forge",
    url: "https://devforge.example.com",
    supportEmail: "support@devforge.example.com",
  },
  currency: "usd",
  signupCredits: 0,

  features: {
    // The support chatbot: free to customers, within a daily bound that keeps the AI bill in check.
    chat: { name: "Support chatbot message", credits: 0, unit: "message" },
  },

  plans: [
    {
      id: "free",
      name: "Customer",
      description: "Every account: the support chatbot, 50 messages a day.",
      priceMonthlyCents: 0,
      quotas: [{ feature: "chat", period: "day", limit: 50, overage: "block" }],
    },
    {
      // Its subscription issues the editor's license (licensing below) and each paid renewal extends it.
      id: "pro",
      name: "Dev Forge Pro",
      description: "The Dev Forge editor on 3 machines, with every update; the support chatbot, 200 messages a day.",
      priceMonthlyCents: 1_500,
      priceYearlyCents: 14_900,
      quotas: [{ feature: "chat", period: "day", limit: 200, overage: "block" }],
    },
  ],
  defaultPlan: "free",

  creditPacks: [],
  // Nothing is sold in credits yet; the bounds a custom amount would need.
  purchase: { minCents: 500, maxCents: 100_000, creditsPerDollar: 100 },

  personas: [
    {
      id: "support",
      name: "Dev Forge support",
      systemPrompt:
        "You are Dev Forge's support assistant. Answer questions about installing, licensing and using the " +
        "Dev Forge editor and its extensions; when you cannot solve a problem, tell the user to contact " +
        "support@devforge.example.com.",
      creditsPerMessage: 0,
    },
  ],
  defaultPersona: "support",

  // Seed 002: OpenAI for the AI chatbot.
  ai: {
    providers: [
      {
        id: "openai",
        kind: "openai",
        baseUrlEnv: "OPENAI_BASE_URL",
        apiKeyEnv: "OPENAI_API_KEY",
        models: [{ id: "gpt-4o-mini", contextWindow: 128_000, maxOutputTokens: 4096, creditsPer1kTokens: 0 }],
      },
    ],
    fallbackOrder: ["openai"],
    defaultModel: "gpt-4o-mini",
  },

  // Visitors may ask the chatbot before they have an account (a pre-sales question).
  anonymous: { chatMessagesPerDay: 10, chatMessagesPerDayTotal: 1000, eventsPerMinuteTotal: 600 },
  conversationsPerHour: 100,

  // The seed's License API: the editor, licensed a year at a time on up to 3 machines of the buyer's, valid for 14
  // days past its expiry while the customer renews (docs/licenses.md).
  licensing: {
    products: [
      {
        id: "forge-desktop",
        name: "Dev Forge",
        durationDays: 365,
        machines: { floating: true, max: 3 },
        graceDays: 14,
        entitlements: ["editor"],
        plans: ["pro"],
        renewsWithSubscription: true,
      },
    ],
  },

  // The seed's distribution services (versions, update checks, licensed downloads, rollback, download analytics:
  // docs/releases.md): the editor's releases need its license; the command-line tool is free.
  releases: {
    freeProducts: [{ id: "forge-cli", name: "Dev Forge CLI" }],
  },

  // The seed has no referral programme: nothing is paid (the referral codes still exist).
  referrals: {
    referrerCredits: 0,
    referrerCashCents: 0,
    referredCredits: 0,
    payWhen: "signup",
    monthlyCapPerReferrer: 1000,
    minCashoutCents: 1000,
  },
});
