// Miky.ai (seed 004): AI chat with ten expert personas, paid in credits (100 at sign-up, each answer costs its
// persona's price plus the model's tokens), Plus and Business subscriptions, credit packs, and referrals that
// pay the referrer 300 credits and $2.00 in cash, cashed out through Stripe Connect once an admin approves.
//
// The shipped demo (supabase/functions/_shared/saasbase.config.ts) has the same plans, packs, personas, AI
// providers and referral rewards; it also carries the other seeds' features for show and seed 001's free
// allowance of 5 chats a day. Miky has neither: every answer is paid in credits, as its seed's
// `messages.credits_consumed` and `users.credits` (default 100) say.
//
// Mail goes out through SendGrid, as in the seed (docs/email.md). Not built yet, so not here: voice-to-text (no
// issue yet).
// Use it: `npm run dev -- --preset miky`; make it your config: `npm run config:preset -- miky`.
import { defineConfig } from "../supabase/functions/_shared/config-schema.ts";

export default defineConfig({
  product: {
    name: "Miky.ai",
    url: "https://miky.ai",
    supportEmail: "support@example.com",
  },
  currency: "usd",
  // Seed 004: `credits (Integer, Default: 100)`.
  signupCredits: 100,
  grantExpiryDays: null,

  features: {
    chat: { name: "AI chat message", credits: 1, unit: "message" },
  },

  // Seed 004: plan 'free', 'plus', 'business'; the prices are the shipped demo's.
  plans: [
    {
      id: "free",
      name: "Free",
      description: "The 100 credits you sign up with, spent one answer at a time.",
      priceMonthlyCents: 0,
      monthlyCredits: 0,
    },
    {
      id: "plus",
      name: "Plus",
      description: "For individuals: 1,000 credits a month and 20% off credit packs.",
      priceMonthlyCents: 1900,
      priceYearlyCents: 19000,
      monthlyCredits: 1000,
      discountPercent: 20,
    },
    {
      id: "business",
      name: "Business",
      description: "For heavy users: 6,000 credits a month and 30% off credit packs.",
      priceMonthlyCents: 9900,
      priceYearlyCents: 99000,
      monthlyCredits: 6000,
      discountPercent: 30,
    },
  ],
  defaultPlan: "free",

  creditPacks: [
    { id: "credits_500", name: "500 credits", credits: 500, priceCents: 500 },
    { id: "credits_1200", name: "1,200 credits", credits: 1200, priceCents: 1000 },
    { id: "credits_4000", name: "4,000 credits", credits: 4000, priceCents: 3000 },
  ],
  purchase: { minCents: 500, maxCents: 100_000, creditsPerDollar: 100 },

  // Seed 004: persona (Enum: 'academic', 'marketer', 'engineer', 'coach', 'sensei', 'lawyer', 'medical',
  // 'god-mode', 'richman', 'general').
  personas: [
    {
      id: "general",
      name: "General",
      systemPrompt: "You are a helpful, concise assistant.",
      creditsPerMessage: 1,
    },
    {
      id: "academic",
      name: "Academic",
      systemPrompt: "You are a rigorous academic tutor. Cite reasoning step by step.",
      creditsPerMessage: 1,
    },
    {
      id: "marketer",
      name: "Marketer",
      systemPrompt: "You are a senior growth marketer. Be concrete and data-driven.",
      creditsPerMessage: 1,
    },
    {
      id: "engineer",
      name: "Engineer",
      systemPrompt: "You are a pragmatic senior software engineer.",
      creditsPerMessage: 1,
    },
    {
      id: "coach",
      name: "Coach",
      systemPrompt: "You are a supportive life and career coach.",
      creditsPerMessage: 1,
    },
    {
      id: "sensei",
      name: "Sensei",
      systemPrompt: "You are a calm sensei who teaches through questions.",
      creditsPerMessage: 1,
    },
    {
      id: "lawyer",
      name: "Lawyer",
      systemPrompt: "You explain legal topics clearly and remind users you are not their lawyer.",
      creditsPerMessage: 2,
    },
    {
      id: "medical",
      name: "Medical",
      systemPrompt: "You explain health topics clearly and remind users to see a doctor.",
      creditsPerMessage: 2,
    },
    {
      id: "richman",
      name: "Rich Man",
      systemPrompt: "You are a seasoned investor sharing frank financial perspective.",
      creditsPerMessage: 2,
    },
    {
      id: "god-mode",
      name: "God Mode",
      systemPrompt: "You are an expert in every field. Answer with depth and precision.",
      creditsPerMessage: 5,
      model: "gpt-4o",
    },
  ],
  defaultPersona: "general",

  // Seed 004: OpenAI (GPT-4 / GPT-4-mini); Gemini is the shipped demo's fallback.
  ai: {
    providers: [
      {
        id: "openai",
        kind: "openai",
        baseUrlEnv: "OPENAI_BASE_URL",
        apiKeyEnv: "OPENAI_API_KEY",
        models: [
          { id: "gpt-4o-mini", contextWindow: 128_000, maxOutputTokens: 4096, creditsPer1kTokens: 1 },
          { id: "gpt-4o", contextWindow: 128_000, maxOutputTokens: 4096, creditsPer1kTokens: 5 },
        ],
      },
      {
        id: "gemini",
        kind: "gemini",
        baseUrl: "https://generativelanguage.googleapis.com/v1beta/openai/",
        baseUrlEnv: "GEMINI_BASE_URL",
        apiKeyEnv: "GEMINI_API_KEY",
        models: [{
          id: "gemini-2.5-flash",
          contextWindow: 1_000_000,
          maxOutputTokens: 8192,
          creditsPer1kTokens: 1,
        }],
      },
    ],
    fallbackOrder: ["openai", "gemini"],
    defaultModel: "gpt-4o-mini",
  },

  // Seed 004 makes email verification mandatory: visitors without an account do not chat.
  anonymous: { chatMessagesPerDay: 0, chatMessagesPerDayTotal: 0, eventsPerMinuteTotal: 600 },
  conversationsPerHour: 100,

  // Seed 004: `credits_awarded (Integer, Default: 300)`, `cash_awarded (Decimal, Default: 2.00)`, paid once the
  // referred user has verified their email (mandatory there); cash-outs from $10.00.
  referrals: {
    referrerCredits: 300,
    referrerCashCents: 200,
    referredCredits: 0,
    payWhen: "email_confirmed",
    monthlyCapPerReferrer: 50,
    minCashoutCents: 1000,
  },

  // Seed 004 sends its mail with SendGrid (the key: the SENDGRID_API_KEY function secret).
  email: { provider: "sendgrid" },
});
