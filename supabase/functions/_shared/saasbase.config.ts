// SaaSbase product config: the one file a fork edits. Plans, prices, credit costs, free quotas, personas,
// AI providers and referral rewards live here; the edge functions read it at load, and
// `npm run config:sync` writes what SQL needs of it (plans, features, quotas) into the database.
//
// It lives inside supabase/functions/ because `supabase functions deploy` only reliably bundles files
// under that folder (imports from outside it fail with --use-api, supabase/cli#3467).
// Validated by config-schema.ts when loaded: a bad field fails with its path, e.g. `plans[1].priceMonthlyCents`.
import { defineConfig } from "./config-schema.ts";

export default defineConfig({
  product: {
    name: "SaaSbase Demo",
    url: "http://localhost:3000",
    supportEmail: "support@example.com",
  },
  currency: "usd",
  signupCredits: 100,
  grantExpiryDays: null,

  // Metered features and what one unit costs in credits once a plan's free allowance is used up.
  features: {
    chat: { name: "AI chat message", credits: 1, unit: "message" },
    component_generation: { name: "Component generation", credits: 5, unit: "component" },
    coloring_page: { name: "Coloring page", credits: 3, unit: "page" },
    quiz: { name: "Quiz", credits: 2, unit: "quiz" },
    premium_article: { name: "Premium article", credits: 1, unit: "article" },
  },

  plans: [
    {
      id: "free",
      name: "Free",
      description: "Try the product: a daily chat allowance and a few generations a month.",
      priceMonthlyCents: 0,
      monthlyCredits: 0,
      // A team on the free plan: its owner and two others, to try the product together.
      maxSeats: 3,
      quotas: [
        // Seed 001: 5 AI chats a day on the free plan, a hard limit (credits do not extend it).
        { feature: "chat", period: "day", limit: 5, overage: "block" },
        { feature: "component_generation", period: "month", limit: 10 },
        { feature: "quiz", period: "month", limit: 2 },
        { feature: "premium_article", period: "month", limit: 3 },
        { feature: "coloring_page", period: "lifetime", limit: 3 },
      ],
    },
    {
      id: "plus",
      name: "Plus",
      description: "For individuals: monthly credits and unlimited generations.",
      priceMonthlyCents: 1900,
      maxSeats: 1,
      priceYearlyCents: 19000,
      monthlyCredits: 1000,
      discountPercent: 20,
      quotas: [{ feature: "chat", period: "day", limit: 100 }],
      unlimited: ["component_generation", "quiz", "premium_article"],
    },
    {
      id: "business",
      name: "Business",
      description: "For teams: more credits, every feature, priority support. Priced per member.",
      // The price is per seat: the subscription's quantity is the team's member count.
      priceMonthlyCents: 9900,
      priceYearlyCents: 99000,
      perSeat: true,
      maxSeats: 100,
      monthlyCredits: 6000,
      discountPercent: 30,
      quotas: [{ feature: "chat", period: "day", limit: 1000 }],
      // Coloring pages are paid from the team's monthly credits: with every feature free, a team's wallet, its
      // credits and its members' spending caps would have nothing to do.
      unlimited: ["component_generation", "quiz", "premium_article"],
    },
  ],
  defaultPlan: "free",

  creditPacks: [
    { id: "credits_500", name: "500 credits", credits: 500, priceCents: 500 },
    { id: "credits_1200", name: "1,200 credits", credits: 1200, priceCents: 1000 },
    { id: "credits_4000", name: "4,000 credits", credits: 4000, priceCents: 3000 },
  ],
  // Bounds for one purchase (seed 003: $5 minimum deposit) and the rate for custom amounts.
  purchase: { minCents: 500, maxCents: 100_000, creditsPerDollar: 100 },

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

  // The MCP server's generate_component tool (the mcp function, docs/mcp.md): v0's Model API (OpenAI's wire
  // format) with the user's own v0 key, stored with PUT /secrets/v0; each call metered as component_generation.
  mcp: {
    components: {
      feature: "component_generation",
      secret: "v0",
      provider: {
        id: "v0",
        kind: "openai-compatible",
        baseUrl: "https://api.v0.dev/v1",
        baseUrlEnv: "V0_BASE_URL",
        models: [{ id: "v0-1.5-md", contextWindow: 128_000, maxOutputTokens: 32_000 }],
        timeoutMs: 60_000,
        maxRetries: 1,
      },
      model: "v0-1.5-md",
      systemPrompt:
        "You generate one self-contained React component (TypeScript, Tailwind CSS) for the request. Answer with the code in a single fenced block, then one line on how to use it.",
      maxPromptChars: 8000,
    },
  },

  // Who takes the money (docs/polar.md): "stripe" sells everything; "polar" has Polar sell plans, packs and
  // deposits; "both" keeps plans on Stripe and sells credits through Polar. Polar's secrets are POLAR_ACCESS_TOKEN
  // and POLAR_WEBHOOK_SECRET (payments.polar.accessTokenEnv / webhookSecretEnv), its catalog `npm run polar:sync`.
  payments: { provider: "stripe" },

  // Image generation (the generate-image function, docs/images.md): each image is a coloring_page (the free
  // plan's 3 lifetime pages first, then its price in credits), Gemini's image model first, OpenAI's images API
  // as the fallback.
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
        prices: { "1024x1024": 3, "1024x1536": 4, "1536x1024": 4 },
        timeoutMs: 60_000,
        maxRetries: 2,
      },
      {
        id: "openai-image",
        kind: "openai",
        baseUrlEnv: "OPENAI_IMAGES_BASE_URL",
        apiKeyEnv: "OPENAI_API_KEY",
        model: "gpt-image-1",
        prices: { "1024x1024": 5, "1024x1536": 8, "1536x1024": 8 },
        timeoutMs: 90_000,
        maxRetries: 1,
      },
    ],
    fallbackOrder: ["gemini-image", "openai-image"],
    sizes: ["1024x1024", "1024x1536", "1536x1024"],
    styles: [
      {
        id: "coloring-book",
        name: "Coloring book",
        prompt: "A printable coloring page: bold clean black outlines on white, large areas to color, no shading, no text.",
      },
      { id: "sketch", name: "Pencil sketch", prompt: "A loose pencil sketch, black and white." },
    ],
    defaultStyle: "coloring-book",
    maxPromptChars: 2000,
    reference: { maxBytes: 4 * 1024 * 1024, mimeTypes: ["image/png", "image/jpeg", "image/webp"] },
    signedUrlSeconds: 3600,
  },

  // Visitors without an account (anon key plus a client session id): chat per session per day, and ceilings for
  // all of them together (new session ids cost nothing).
  anonymous: { chatMessagesPerDay: 5, chatMessagesPerDayTotal: 1000, eventsPerMinuteTotal: 600 },
  conversationsPerHour: 100,

  // Seed 004: 300 credits and $2.00 to the referrer.
  // Team accounts: roles and what each may do with the team's wallet and subscription, and invitations.
  teams: {
    roles: [
      { id: "owner", name: "Owner", rights: ["spend", "buy", "manage_billing", "invite", "manage_members", "manage_team"] },
      { id: "admin", name: "Admin", rights: ["spend", "buy", "manage_billing", "invite", "manage_members"] },
      { id: "member", name: "Member", rights: ["spend"] },
      { id: "billing", name: "Billing", rights: ["buy", "manage_billing"] },
    ],
    invitationExpiryDays: 7,
    // A link invitation joins one person; an email invitation always does.
    reusableLinks: false,
    // Invitations a team may make a day: each email invitation is a mail sent in the product's name.
    invitationsPerDay: 50,
    // Teams a user may create in 30 days: each has its plan's free allowances (the free plan's, until it pays).
    teamsPerMonth: 10,
  },

  referrals: {
    referrerCredits: 300,
    referrerCashCents: 200,
    referredCredits: 0,
    payWhen: "email_confirmed",
    monthlyCapPerReferrer: 50,
    minCashoutCents: 1000,
  },
});
