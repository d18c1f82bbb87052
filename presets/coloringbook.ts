// ColoringBook AI (seed 003), the example fork of a forkable AI framework: coloring pages from a child's
// idea, made by Gemini's image model with OpenAI's images API as the fallback, stored in Storage and listed
// with signed URLs (the generate-image function). 3 free pages per account, then token credits bought through
// Polar as deposits of $5 or more; each page costs its image price in credits. Prices, the free allowance, the
// provider order, maintenance and an announcement change at runtime with versions and rollback
// (docs/runtime-settings.md); the chat function, Gemini first, turns an idea into a page description.
// The journey end to end: tests/scenarios/coloringbook.test.ts.
// Not built yet, so not here: Anthropic and Stability AI as providers (no issue yet).
// Use it: `npm run dev -- --preset coloringbook`; make it your config: `npm run config:preset -- coloringbook`.
import { defineConfig } from "../supabase/functions/_shared/config-schema.ts";

export default defineConfig({
  product: {
    name: "ColoringBook AI",
    url: "https://coloringbook.example.com",
    supportEmail: "support@coloringbook.example.com",
  },
  currency: "usd",
  signupCredits: 0,

  // Credits are the seed's tokens: 100 a dollar. The seed names no price per page: 25 tokens is a placeholder (a
  // page's price is its image's, images.providers[].prices; the feature's credits are their floor).
  features: {
    coloring_page: { name: "Coloring page", credits: 25, unit: "page" },
    chat: { name: "Page idea message", credits: 1, unit: "message" },
  },

  plans: [
    {
      id: "free",
      name: "Free",
      description: "3 coloring pages free, then pages paid with tokens.",
      priceMonthlyCents: 0,
      // Seed 003: "3 free generations", per account, not per month.
      quotas: [{ feature: "coloring_page", period: "lifetime", limit: 3 }],
    },
  ],
  defaultPlan: "free",

  // Seed 003: token deposits, "$5 minimum deposit".
  creditPacks: [],
  purchase: { minCents: 500, maxCents: 50_000, creditsPerDollar: 100 },

  personas: [
    {
      id: "illustrator",
      name: "Page designer",
      systemPrompt:
        "Turn the user's idea into a description of one printable coloring page for children: bold clean " +
        "outlines, large areas to color, no shading, nothing frightening.",
      creditsPerMessage: 1,
    },
  ],
  defaultPersona: "illustrator",

  // Seed 003: Gemini first; OpenAI as the fallback its contingency plan asks for ("multiple fallback
  // providers"). "Gemini 2.5 nano" is served as gemini-2.5-flash-lite on the Gemini API.
  ai: {
    providers: [
      {
        id: "gemini",
        kind: "gemini",
        baseUrl: "https://generativelanguage.googleapis.com/v1beta/openai/",
        baseUrlEnv: "GEMINI_BASE_URL",
        apiKeyEnv: "GEMINI_API_KEY",
        models: [{
          id: "gemini-2.5-flash-lite",
          contextWindow: 1_000_000,
          maxOutputTokens: 8192,
          creditsPer1kTokens: 1,
        }],
      },
      {
        id: "openai",
        kind: "openai",
        baseUrlEnv: "OPENAI_BASE_URL",
        apiKeyEnv: "OPENAI_API_KEY",
        models: [{ id: "gpt-4o-mini", contextWindow: 128_000, maxOutputTokens: 4096, creditsPer1kTokens: 1 }],
      },
    ],
    fallbackOrder: ["gemini", "openai"],
    defaultModel: "gemini-2.5-flash-lite",
  },

  // The pages themselves: Gemini's image model ("Gemini 2.5 nano" in the seed: gemini-2.5-flash-image) first,
  // OpenAI's images API as the fallback the seed's contingency plan asks for. Gemini gets no retry of its own: a
  // failed page goes to OpenAI at once (a child waits for it), at OpenAI's price.
  images: {
    feature: "coloring_page",
    providers: [
      {
        id: "gemini-image",
        kind: "gemini",
        baseUrl: "https://generativelanguage.googleapis.com/v1beta",
        baseUrlEnv: "GEMINI_IMAGE_BASE_URL",
        apiKeyEnv: "GEMINI_API_KEY",
        model: "gemini-2.5-flash-image",
        prices: { "1024x1024": 25, "1024x1536": 30 },
        timeoutMs: 60_000,
        maxRetries: 0,
      },
      {
        id: "openai-image",
        kind: "openai",
        baseUrlEnv: "OPENAI_IMAGES_BASE_URL",
        apiKeyEnv: "OPENAI_API_KEY",
        model: "gpt-image-1",
        prices: { "1024x1024": 30, "1024x1536": 40 },
        timeoutMs: 90_000,
        maxRetries: 1,
      },
    ],
    fallbackOrder: ["gemini-image", "openai-image"],
    // Square first; a portrait page prints on letter or A4.
    sizes: ["1024x1024", "1024x1536"],
    styles: [{
      id: "coloring-page",
      name: "Coloring page",
      prompt: "A printable coloring page for children: bold clean black outlines on white, large areas to color, " +
        "no shading, no text, nothing frightening.",
    }],
    defaultStyle: "coloring-page",
    maxPromptChars: 1000,
  },

  // Seed 003: deposits through Polar (no subscription plans to sell).
  payments: { provider: "polar" },

  // Sign-up (Klerk in the seed, Supabase Auth here) comes before any generation.
  anonymous: { chatMessagesPerDay: 0, chatMessagesPerDayTotal: 0, eventsPerMinuteTotal: 600 },
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
