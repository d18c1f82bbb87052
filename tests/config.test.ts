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
