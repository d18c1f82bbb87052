// MyBeing (seed 001): self-discovery quizzes, premium articles and an AI companion. Premium ($32/month)
// includes 2 quizzes and 3 premium articles a month and unlimited AI conversations; free users get 5 AI chats
// a day (a hard limit), and anyone buys quizzes and articles one at a time.
//
// Credits are cents here (100 a dollar), so a feature's price in credits is its one-time price in cents.
// The seed names no quiz or article prices: $9.99 and $2.99 below are placeholders to set.
//
// Not built yet, so not here: Premium's discounts on additional quizzes (20%, up to 3) and articles (30%) —
// the schema discounts credit packs per plan, not features; purchases by anonymous sessions (credits belong
// to accounts); longitudinal check-ins and research analytics (no issue yet); the transactional emails
// (issue 18).
// Use it: `npm run dev -- --preset mybeing`; make it your config: `npm run config:preset -- mybeing`.
import { defineConfig } from "../supabase/functions/_shared/config-schema.ts";

export default defineConfig({
  product: {
    name: "MyBeing",
    url: "https://mybeing.example.com",
    supportEmail: "support@mybeing.example.com",
  },
  currency: "usd",
  signupCredits: 0,

  features: {
    chat: { name: "AI conversation message", credits: 0, unit: "message" },
    quiz: { name: "Quiz", credits: 999, unit: "quiz" },
    premium_article: { name: "Premium article", credits: 299, unit: "article" },
  },

  plans: [
    {
      id: "free",
      name: "Free",
      description: "5 AI chats a day; quizzes and articles bought one at a time.",
      priceMonthlyCents: 0,
      // Seed 001: "Rate limiting for free users (5 AI chats/day)".
      quotas: [{ feature: "chat", period: "day", limit: 5, overage: "block" }],
    },
    {
      id: "premium",
      name: "Premium",
      description: "2 quizzes and 3 premium articles a month, unlimited AI conversations.",
      priceMonthlyCents: 3200,
      quotas: [
        { feature: "quiz", period: "month", limit: 2 },
        { feature: "premium_article", period: "month", limit: 3 },
      ],
      unlimited: ["chat"],
    },
  ],
  defaultPlan: "free",

  // One-time payments: credits for a quiz or an article, any amount from a quiz's price up.
  creditPacks: [],
  purchase: { minCents: 299, maxCents: 50_000, creditsPerDollar: 100 },

  personas: [
    {
      id: "companion",
      name: "MyBeing companion",
      systemPrompt:
        "You are a warm, thoughtful companion for self-discovery. Help the user reflect on their quiz results " +
        "and their wellbeing; you are not a therapist, and you say so when it matters.",
      creditsPerMessage: 0,
    },
  ],
  defaultPersona: "companion",

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

  // Seed 001: AI chat for "anonymous + authenticated" users; visitors get the free plan's 5 a day.
  anonymous: { chatMessagesPerDay: 5, chatMessagesPerDayTotal: 1000, eventsPerMinuteTotal: 600 },
  conversationsPerHour: 100,

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
