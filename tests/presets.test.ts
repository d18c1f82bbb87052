// The presets (presets/<name>.ts): every one valid against the config schema and true to its seed product
// (/work/shared/seeds in the project's notes: 000 nuggetwise ... 004 miky), loadable as the functions load it,
// and copyable over saasbase.config.ts.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { parseConfig, type ProductConfig } from "../supabase/functions/_shared/config-schema.ts";
import shipped from "../supabase/functions/_shared/saasbase.config.ts";
import {
  asShippedConfig, loadProductConfig, presetFile, presetFromArgs, presetNames, SHIPPED_CONFIG,
} from "../src/config/presets.ts";
import { DENO_BIN, FUNCTIONS_DIR } from "../src/local/paths.ts";
import { presetDenoConfig } from "../src/local/preset-imports.ts";
import { join } from "node:path";

const SEEDS = ["coloringbook", "devforge", "miky", "mybeing", "nuggetwise"];
const load = (name: string) => loadProductConfig(name);
const plan = (c: ProductConfig, id: string) => c.plans.find((p) => p.id === id)!;
const quota = (c: ProductConfig, planId: string, feature: string) => plan(c, planId).quotas.find((q) => q.feature === feature);

describe("presets", () => {
  it("one per seed product, each valid against the schema", async () => {
    expect(presetNames()).toEqual(SEEDS);
    for (const name of SEEDS) {
      const config = await load(name);
      // loadProductConfig validates; the raw file parses to the same config.
      expect(parseConfig((await import(pathToFileURL(presetFile(name)).href)).default)).toEqual(config);
      expect(config.defaultPlan).toBe("free");
    }
  });

  it("nuggetwise (000): 10 free generations a month, Pro $19 unlimited, Enterprise $99; no chat", async () => {
    const c = await load("nuggetwise");
    expect(quota(c, "free", "component_generation")).toMatchObject({ period: "month", limit: 10, overage: "credits" });
    expect(plan(c, "pro")).toMatchObject({ priceMonthlyCents: 1900, unlimited: ["component_generation"] });
    expect(plan(c, "enterprise")).toMatchObject({ priceMonthlyCents: 9900, unlimited: ["component_generation"] });
    // Team collaboration is Enterprise's: the other plans have one seat.
    expect(c.plans.map((p) => [p.id, p.maxSeats ?? null])).toEqual([["free", 1], ["pro", 1], ["enterprise", null]]);
    for (const p of c.plans) expect(quota(c, p.id, "chat")).toMatchObject({ limit: 0, overage: "block" });
    expect(c.anonymous.chatMessagesPerDay).toBe(0);
    // The MCP server's generate_component: v0's Model API with the user's own key, metered as the generations.
    expect(c.mcp.components).toMatchObject({ feature: "component_generation", secret: "v0", model: "v0-1.5-md",
      provider: { kind: "openai-compatible", baseUrl: "https://api.v0.dev/v1" } });
    expect(c.mcp.components!.provider.apiKeyEnv).toBeUndefined();
  });

  it("mybeing (001): Premium $32 with 2 quizzes and 3 articles a month and unlimited chat; free users 5 chats a day", async () => {
    const c = await load("mybeing");
    expect(plan(c, "premium")).toMatchObject({ priceMonthlyCents: 3200, unlimited: ["chat"] });
    expect(quota(c, "premium", "quiz")).toMatchObject({ period: "month", limit: 2 });
    expect(quota(c, "premium", "premium_article")).toMatchObject({ period: "month", limit: 3 });
    expect(quota(c, "free", "chat")).toMatchObject({ period: "day", limit: 5, overage: "block" });
    expect(c.anonymous.chatMessagesPerDay).toBe(5);
  });

  it("devforge (002): the support chatbot on OpenAI; the editor as a yearly license for 3 machines, its CLI free", async () => {
    const c = await load("devforge");
    expect(c.plans.map((p) => [p.id, p.priceMonthlyCents, p.priceYearlyCents ?? null])).toEqual([["free", 0, null], ["pro", 1500, 14900]]);
    // The seed's License API: a yearly license (the Pro plan's subscription issues and renews it), 3 machines.
    expect(c.licensing.products).toEqual([expect.objectContaining({ id: "forge-desktop", durationDays: 365, plans: ["pro"],
      machines: expect.objectContaining({ floating: true, max: 3 }), graceDays: 14 })]);
    // Its distribution services: the editor's releases need the license, the CLI is free.
    expect(c.releases.freeProducts.map((p) => p.id)).toEqual(["forge-cli"]);
    expect(c.creditPacks).toEqual([]);
    expect(c.personas.map((p) => p.id)).toEqual(["support"]);
    expect(c.ai.fallbackOrder).toEqual(["openai"]);
  });

  it("coloringbook (003): 3 free generations, a $5 minimum deposit of token credits, Gemini first", async () => {
    const c = await load("coloringbook");
    expect(quota(c, "free", "coloring_page")).toMatchObject({ period: "lifetime", limit: 3, overage: "credits" });
    expect(c.signupCredits).toBe(0);
    expect(c.purchase.minCents).toBe(500);
    expect(c.ai.fallbackOrder[0]).toBe("gemini");
    const gemini = c.ai.providers.find((p) => p.id === "gemini")!;
    expect(gemini.models.map((m) => m.id)).toContain(c.ai.defaultModel);
    // Pages are images: Gemini's image model first, OpenAI's images API second, metered as coloring_page; Polar
    // takes the deposits.
    expect(c.images?.feature).toBe("coloring_page");
    expect(c.images?.providers.map((p) => [p.kind, p.model])).toEqual([["gemini", "gemini-2.5-flash-image"], ["openai", "gpt-image-1"]]);
    expect(c.images?.fallbackOrder).toEqual(["gemini-image", "openai-image"]);
    expect(c.payments.provider).toBe("polar");
  });

  it("miky (004): the shipped demo's plans, packs, personas, AI and referral rewards; every answer paid in credits", async () => {
    const c = await load("miky");
    const demo = parseConfig(shipped);
    const prices = (x: ProductConfig) =>
      x.plans.map(({ id, name, priceMonthlyCents, priceYearlyCents, monthlyCredits, discountPercent }) =>
        ({ id, name, priceMonthlyCents, priceYearlyCents, monthlyCredits, discountPercent }));
    expect(prices(c)).toEqual(prices(demo));
    expect(c.creditPacks).toEqual(demo.creditPacks);
    expect(c.personas).toEqual(demo.personas);
    expect(c.ai).toEqual(demo.ai);
    expect(c.referrals).toEqual(demo.referrals);
    expect(c.referrals).toMatchObject({ referrerCredits: 300, referrerCashCents: 200 });
    expect(c.signupCredits).toBe(100);
    expect(c.personas.map((p) => p.id).sort()).toEqual(
      ["academic", "coach", "engineer", "general", "god-mode", "lawyer", "marketer", "medical", "richman", "sensei"],
    );
    // Miky's only metered feature is chat, with no free allowance on any plan (the demo's 5 a day are seed 001's).
    expect(Object.keys(c.features)).toEqual(["chat"]);
    for (const p of c.plans) expect(p.quotas).toEqual([]);
  });

  it("without a preset, the config is saasbase.config.ts; an unknown name lists the presets", async () => {
    expect(await loadProductConfig()).toEqual(parseConfig(shipped));
    expect(() => presetFile("nope")).toThrow(/Unknown preset "nope": one of coloringbook, devforge, miky, mybeing, nuggetwise/);
    expect(() => presetFile("../supabase/functions/_shared/saasbase.config")).toThrow(/Unknown preset/);
    expect(presetFromArgs(["--preset", "miky"])).toBe("miky");
    expect(presetFromArgs(["--preset=devforge"])).toBe("devforge");
    expect(() => presetFromArgs(["--preset"])).toThrow(/needs a name/);
  });

  it("copied over saasbase.config.ts, a preset is the same file with the import saasbase.config.ts has", () => {
    const shippedImport = /^import .* from "\.\/config-schema\.ts";$/m.exec(readFileSync(SHIPPED_CONFIG, "utf8"))![0];
    for (const name of SEEDS) {
      const source = readFileSync(presetFile(name), "utf8");
      const copied = asShippedConfig(source);
      expect(copied).toContain(shippedImport);
      expect(copied.replace(shippedImport, "")).toBe(source.replace(/^import .* from "[^"]+";$/m, ""));
    }
  });

  it.skipIf(process.platform === "win32")("writes a preset's Deno config only in a temp folder of the account's own: one others may change is refused", () => {
    const saved = process.env.TMPDIR;
    const tmp = mkdtempSync(join(tmpdir(), "saasbase-presets-tmp-"));
    process.env.TMPDIR = tmp;
    try {
      // Made first by someone else, writable by all (as anyone may make it in a shared /tmp): the import map the
      // functions would run could be swapped for one sending them to another account's code.
      const base = join(tmp, `saasbase-presets-${process.getuid?.() ?? "user"}`);
      mkdirSync(base);
      chmodSync(base, 0o777);
      expect(() => presetDenoConfig("miky", join(FUNCTIONS_DIR, "import_map.json"))).toThrow(
        `${base} is not a folder of this account's alone (another account made it, may write to it, or it is a ` +
          `link): remove it (the functions' Deno config for a preset is written there).`,
      );
      chmodSync(base, 0o755);
      expect(presetDenoConfig("miky", join(FUNCTIONS_DIR, "import_map.json")).startsWith(`${base}/`)).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("the functions' Deno import map sends saasbase.config.ts to the preset, and nothing else changes", () => {
    const configFile = presetDenoConfig("coloringbook", join(FUNCTIONS_DIR, "import_map.json"));
    const denoJson = JSON.parse(readFileSync(configFile, "utf8"));
    const map = JSON.parse(readFileSync(join(configFile, "..", denoJson.importMap), "utf8"));
    const shared = JSON.parse(readFileSync(join(FUNCTIONS_DIR, "import_map.json"), "utf8"));
    expect(map.imports).toEqual({ ...shared.imports, [pathToFileURL(SHIPPED_CONFIG).href]: pathToFileURL(presetFile("coloringbook")).href });
    // Asked again (the next function of the stack), the files are left as they are: a rewrite would restart
    // every function watching them.
    const written = statSync(configFile).mtimeMs;
    expect(presetDenoConfig("coloringbook", join(FUNCTIONS_DIR, "import_map.json"))).toBe(configFile);
    expect(statSync(configFile).mtimeMs).toBe(written);
    // Real Deno, loading the module every function imports.
    const configTs = pathToFileURL(join(FUNCTIONS_DIR, "_shared/config.ts")).href;
    const run = spawnSync(DENO_BIN, ["eval", "--config", configFile, `const { config } = await import("${configTs}"); console.log(config.product.name);`], {
      encoding: "utf8",
    });
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("ColoringBook AI");
  });
});
