// The product config: the shipped one is valid, and a bad field fails at load with its path.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../supabase/functions/_shared/config-schema.ts";
import raw from "../supabase/functions/_shared/saasbase.config.ts";

const clone = () => structuredClone(raw) as Record<string, any>;

function issuesOf(input: unknown) {
  try {
    parseConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error("expected the config to be rejected");
}

describe("product config", () => {
  it("accepts the shipped config and fills in defaults", () => {
    const config = parseConfig(raw);
    expect(config.plans.map((p) => p.id)).toEqual(["free", "plus", "business"]);
    expect(config.plans[0].discountPercent).toBe(0); // defaulted
    expect(config.ai.providers[0].timeoutMs).toBe(30_000); // defaulted
  });

  it("names the path of a field with the wrong type", () => {
    const bad = clone();
    bad.plans[1].priceMonthlyCents = "19.00";
    const issues = issuesOf(bad);
    expect(issues.map((i) => i.path)).toEqual(["plans[1].priceMonthlyCents"]);
    expect(issues[0].message).toMatch(/number/);
  });

  it("names every bad field at once, nested ones included", () => {
    const bad = clone();
    bad.currency = "USD";
    bad.personas[2].creditsPerMessage = -1;
    delete bad.product.supportEmail;
    expect(issuesOf(bad).map((i) => i.path).sort()).toEqual(
      ["currency", "personas[2].creditsPerMessage", "product.supportEmail"].sort(),
    );
  });

  it("checks references between sections", () => {
    const bad = clone();
    bad.plans[0].quotas[0].feature = "teleport";
    bad.ai.fallbackOrder = ["openai", "anthropic"];
    bad.defaultPlan = "gold";
    bad.personas[9].model = "gpt-99";
    const paths = issuesOf(bad).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining([
      "plans[0].quotas[0].feature",
      "ai.fallbackOrder[1]",
      "defaultPlan",
      "personas[9].model",
    ]));
  });

  it("keeps the default plan free: everyone without a subscription is on it", () => {
    const paid = clone();
    paid.defaultPlan = "business";
    expect(issuesOf(paid).find((i) => i.path === "defaultPlan")?.message).toMatch(/must be free/);
    const credits = clone();
    credits.plans[0].monthlyCredits = 50;
    expect(issuesOf(credits).map((i) => i.path)).toEqual(["plans[0].monthlyCredits"]);
  });

  it("refuses what passes a type check and breaks later: at Stripe, in Postgres, in the chat function", () => {
    const cases: [string, (c: Record<string, any>) => void, string, RegExp][] = [
      ["no chat feature", (c) => { delete c.features.chat; c.plans.forEach((p: any) => (p.quotas = p.quotas.filter((q: any) => q.feature !== "chat"))); }, "features", /"chat"/],
      ["a zero-decimal currency", (c) => (c.currency = "jpy"), "currency", /no cents/],
      ["a price under Stripe's minimum", (c) => (c.plans[1].priceMonthlyCents = 30), "plans[1].priceMonthlyCents", /at least 50/],
      ["a price over Stripe's maximum", (c) => (c.plans[2].priceYearlyCents = 100_000_000), "plans[2].priceYearlyCents", /99999999/],
      ["a discount taking a pack under Stripe's minimum", (c) => (c.plans[2].discountPercent = 100), "plans[2].discountPercent", /Stripe/],
      ["custom amounts worth no credit", (c) => { c.purchase.creditsPerDollar = 1; c.purchase.minCents = 50; c.creditPacks = []; }, "purchase.creditsPerDollar", /at least one credit/],
      ["custom amounts worth more credits than an integer holds", (c) => (c.purchase.creditsPerDollar = 10_000_000), "purchase.maxCents", /more than/],
      ["a referral cap of 0", (c) => (c.referrals.monthlyCapPerReferrer = 0), "referrals.monthlyCapPerReferrer", /at least 1/],
      ["a reservation lifetime shorter than an answer", (c) => (c.reservationTtlMinutes = 1), "reservationTtlMinutes", /10/],
      ["a grant expiry past the calendar", (c) => (c.grantExpiryDays = 200_000_000), "grantExpiryDays", /36500/],
      ["sign-up credits past an integer", (c) => (c.signupCredits = 3_000_000_000), "signupCredits", /2147483647/],
      ["a product URL that is no web page", (c) => (c.product.url = "localhost:3000"), "product.url", /http/],
      ["a model served by two providers", (c) => c.ai.providers[1].models.push({ ...c.ai.providers[0].models[0] }), "ai.providers", /two providers/],
      ["an answer budget as big as the window", (c) => (c.ai.providers[0].models[0].maxOutputTokens = c.ai.providers[0].models[0].contextWindow), "ai.providers[0].models[0].maxOutputTokens", /room/],
      ["a timeout past the edge runtime's", (c) => (c.ai.providers[0].timeoutMs = 600_000), "ai.providers[0].timeoutMs", /120000/],
    ];
    for (const [name, change, path, message] of cases) {
      const bad = clone();
      change(bad);
      const found = issuesOf(bad).find((i) => i.path === path);
      expect(found?.message, name).toMatch(message);
    }
    // A trailing slash is dropped, so return pages join cleanly.
    const slash = clone();
    slash.product.url = "https://app.example.com/";
    expect(parseConfig(slash).product.url).toBe("https://app.example.com");
  });

  it("teams: defaults for a config without the section, and an owner holding every right", () => {
    const none = clone();
    delete none.teams;
    const config = parseConfig(none);
    expect(config.teams.roles.map((r) => r.id)).toEqual(["owner", "admin", "member", "billing"]);
    expect(config.teams.roles[0].rights).toEqual(["spend", "buy", "manage_billing", "invite", "manage_members", "manage_team"]);
    expect(config.teams).toMatchObject({ invitationExpiryDays: 7, reusableLinks: false, invitationsPerDay: 50, teamsPerMonth: 10 });
    expect(config.plans.map((p) => [p.perSeat, p.maxSeats])).toEqual([[false, 3], [false, 1], [true, 100]]);
    delete none.plans[2].perSeat;
    expect(parseConfig(none).plans[2].perSeat).toBe(false);

    const cases: [string, (c: Record<string, any>) => void, string, RegExp][] = [
      ["no owner", (c) => (c.teams.roles = c.teams.roles.filter((r: any) => r.id !== "owner")), "teams.roles", /"owner"/],
      ["an owner short of a right", (c) => (c.teams.roles[0].rights = ["spend", "invite"]), "teams.roles[0].rights", /every right.*buy/],
      ["an unknown right", (c) => (c.teams.roles[2].rights = ["spend", "launch_rockets"]), "teams.roles[2].rights[1]", /spend/],
      ["a role id out of shape", (c) => (c.teams.roles[1].id = "Team Admin"), "teams.roles[1].id", /lower-case/],
      ["two roles of one id", (c) => c.teams.roles.push({ id: "member", name: "Again", rights: [] }), "teams.roles", /duplicate role id "member"/],
      ["a right twice", (c) => (c.teams.roles[3].rights = ["buy", "buy"]), "teams.roles[3].rights", /duplicate right "buy"/],
      ["invitations that never expire", (c) => (c.teams.invitationExpiryDays = 0), "teams.invitationExpiryDays", /1/],
      ["a seat limit of 0", (c) => (c.plans[0].maxSeats = 0), "plans[0].maxSeats", /0/],
      ["no invitations at all", (c) => (c.teams.invitationsPerDay = 0), "teams.invitationsPerDay", /1/],
      ["no teams at all", (c) => (c.teams.teamsPerMonth = 0), "teams.teamsPerMonth", /1/],
    ];
    for (const [name, change, path, message] of cases) {
      const bad = clone();
      change(bad);
      const found = issuesOf(bad).find((i) => i.path === path);
      expect(found?.message, name).toMatch(message);
    }
  });

  it("mcp.components: optional; a known feature, the user's key (no apiKeyEnv), a model its provider serves", () => {
    const none = clone();
    delete none.mcp;
    expect(parseConfig(none).mcp).toEqual({});
    expect(parseConfig(raw).mcp.components).toMatchObject({ feature: "component_generation", secret: "v0", model: "v0-1.5-md" });
    const bad = clone();
    bad.mcp.components.feature = "teleport";
    bad.mcp.components.provider.apiKeyEnv = "V0_API_KEY";
    bad.mcp.components.model = "gpt-4o";
    bad.mcp.components.secret = "V0 key";
    expect(issuesOf(bad).map((i) => i.path).sort()).toEqual([
      "mcp.components.feature", "mcp.components.model", "mcp.components.provider.apiKeyEnv", "mcp.components.secret",
    ]);
  });

  it("rejects a credit pack priced outside the purchase bounds and duplicate ids", () => {
    const bad = clone();
    bad.creditPacks[0].priceCents = 100; // below the $5 minimum
    bad.plans[2].id = "plus";
    const issues = issuesOf(bad);
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining(["creditPacks[0].priceCents", "plans"]));
    expect(issues.find((i) => i.path === "plans")?.message).toMatch(/duplicate plan id "plus"/);
  });

  it("npm run config:check fails on a bad config file, naming the field", () => {
    const dir = mkdtempSync(join(tmpdir(), "saasbase-config-"));
    try {
      const bad = clone();
      bad.plans[1].monthlyCredits = 12.5;
      const file = join(dir, "bad.config.mjs");
      writeFileSync(file, `export default ${JSON.stringify(bad)};`);
      const out = spawnSync("node_modules/.bin/tsx", ["scripts/config-check.ts", file], { encoding: "utf8" });
      expect(out.status).toBe(1);
      expect(out.stderr).toContain("plans[1].monthlyCredits");

      const ok = spawnSync("node_modules/.bin/tsx", ["scripts/config-check.ts"], { encoding: "utf8" });
      expect(ok.status).toBe(0);
      expect(ok.stdout).toMatch(/valid \(3 plans/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
