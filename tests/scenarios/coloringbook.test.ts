// ColoringBook AI (seed 003, presets/coloringbook.ts) end to end, as its frontend drives it: a parent signs up,
// makes the 3 free coloring pages (stored in Storage, listed with signed URLs whose bytes are the pages), is
// refused the 4th with a 402 that says what a page costs and what the smallest deposit buys, deposits $5 through
// Polar (the checkout function, Polar's side played by its local server, the signed order.paid webhook), and pays
// the next pages in credits; Gemini failing once hands the page to OpenAI; an admin lowers the page price at
// runtime (no deploy) and rolls it back.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageBytesFor } from "../support/image-servers.ts";
import { type Scenario, startScenario, type User } from "./harness.ts";

let s: Scenario;
beforeAll(async () => {
  s = await startScenario("coloringbook", ["generate-image", "checkout", "polar-webhook", "credits"]);
  // What the operator runs once before launch: `npm run polar:sync -- --preset coloringbook`.
  await s.polarSync();
}, 180_000);
afterAll(() => s?.stop());

const mail = (who: string) => `${who}-${crypto.randomUUID().slice(0, 8)}@coloringbook.test`;
const PAGE_KEY = "image.gemini-2.5-flash-image.1024x1024.credits";
// The feature's own price is a page's floor (config images.feature): a cheaper page lowers both.
const FLOOR_KEY = "feature.coloring_page.credits";

async function page(user: User, prompt: string) {
  const res = await s.post("generate-image", user.token, { prompt });
  return { status: res.status, body: await res.json() };
}
const balance = async (user: User) =>
  (await s.sql`select balance::int from public.wallets where account_id = ${user.id}`)[0].balance as number;

describe("ColoringBook AI: free pages, a Polar deposit, paid pages, a fallback, a price changed at runtime", () => {
  let parent: User;
  let admin: User;
  const made: { id: string; url: string; n: number }[] = [];

  it("runs the preset: pages are Gemini's images first, 3 free, then paid in credits bought through Polar", async () => {
    expect(s.config.images?.providers.map((p) => p.id)).toEqual(["gemini-image", "openai-image"]);
    expect(s.config.payments.provider).toBe("polar");
    const prices = await s.sql`select model, size, credits from public.image_prices order by model, size`;
    expect(prices.map((p) => [p.model, p.size, p.credits])).toEqual([
      ["gemini-2.5-flash-image", "1024x1024", 25], ["gemini-2.5-flash-image", "1024x1536", 30],
      ["gpt-image-1", "1024x1024", 30], ["gpt-image-1", "1024x1536", 40],
    ]);
  });

  it("a parent signs up and makes 3 free pages, stored and listed with signed URLs", async () => {
    parent = await s.signUp(mail("parent"), { confirmed: true });
    for (const idea of ["a dinosaur having a picnic", "a castle in the clouds", "a cat astronaut"]) {
      const { status, body } = await page(parent, idea);
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body.usage).toMatchObject({ free: true, credits_charged: 0, balance: 0 });
      expect(body.generation).toMatchObject({ status: "succeeded", provider: "gemini-image", size: "1024x1024", cost: 0 });
      expect(body.generation.image.path).toBe(`${parent.id}/${body.generation.id}.png`);
      const asked = s.images.requests.at(-1)!;
      expect(asked).toMatchObject({ provider: "gemini", model: "gemini-2.5-flash-image" });
      expect(asked.prompt).toContain(idea);
      made.push({ id: body.generation.id, url: body.generation.image.url, n: asked.n });
    }
    const list = await s.call("generate-image", { token: parent.token });
    expect(list.status).toBe(200);
    const { generations } = await list.json();
    expect(generations.map((g: { id: string }) => g.id)).toEqual(made.map((m) => m.id).reverse());
    // Each listed page's fresh signed URL serves the page's bytes, to anyone holding it (a browser's <img>).
    for (const g of generations) {
      const mine = made.find((m) => m.id === g.id)!;
      const bytes = Buffer.from(await (await fetch(g.image.url)).arrayBuffer());
      expect(bytes.equals(imageBytesFor(mine.n))).toBe(true);
    }
    // The objects are private: without the signed URL, another user sees nothing of them.
    const stranger = await s.signUp(mail("stranger"), { confirmed: true });
    const theirs = await s.call(`generate-image/${made[0].id}`, { token: stranger.token });
    expect(theirs.status).toBe(404);
  });

  it("the 4th page is refused with 402 and what a page costs; nothing is charged or stored", async () => {
    const asked = s.images.requests.length;
    const { status, body } = await page(parent, "a whale reading a book");
    expect(status).toBe(402);
    expect(body.error.code).toBe("insufficient_credits");
    expect(body.error.message).toMatch(/A page costs 25 credits; the smallest deposit, \$5\.00, buys 500/);
    expect(body.error.details).toEqual({ price_credits: 25, balance: 0, min_deposit_cents: 500, credits_per_dollar: 100 });
    expect(s.images.requests.length).toBe(asked); // no provider was asked
    expect((await s.sql`select count(*)::int as n from public.generations where account_id = ${parent.id} and status = 'succeeded'`)[0].n).toBe(3);
  });

  it("a $5 deposit through Polar: checkout, payment, the signed order.paid webhook, 500 credits", async () => {
    const below = await s.post("checkout", parent.token, { amount_cents: 400 });
    expect(below.status).toBe(422); // the seed's $5 minimum
    const res = await s.post("checkout", parent.token, { amount_cents: 500 });
    expect(res.status, await res.clone().text()).toBe(200);
    const { id } = await res.json();
    const paid = await s.completePolarCheckout(id);
    expect(paid.status).toBe(200);
    expect(paid.body.outcome).toBe("applied");
    expect(await balance(parent)).toBe(500);
    const [purchase] = await s.sql`select provider, credits, amount_cents, status from public.purchases where account_id = ${parent.id}`;
    expect(purchase).toMatchObject({ provider: "polar", credits: 500, amount_cents: 500, status: "paid" });
  });

  it("pages are now paid in credits, at Gemini's price", async () => {
    const { status, body } = await page(parent, "a whale reading a book");
    expect(status).toBe(200);
    expect(body.usage).toMatchObject({ free: false, credits_charged: 25, balance: 475 });
    expect(body.generation).toMatchObject({ provider: "gemini-image", cost: 25 });
    expect(await balance(parent)).toBe(475);
  });

  it("Gemini failing once hands the page to OpenAI, charged OpenAI's price", async () => {
    s.images.script("gemini", { kind: "status", status: 500 });
    const before = s.images.requests.length;
    const { status, body } = await page(parent, "a robot watering flowers");
    expect(status).toBe(200);
    expect(s.images.requests.slice(before).map((r) => r.provider)).toEqual(["gemini", "openai"]);
    expect(body.generation).toMatchObject({ provider: "openai-image", model: "gpt-image-1", cost: 30 });
    expect(body.usage).toMatchObject({ credits_charged: 30, balance: 445 });
  });

  it("an admin lowers the page price at runtime, and rolls it back", async () => {
    admin = await s.signUp(mail("admin"), { confirmed: true, appMetadata: { role: "admin" } });
    const lowered = await s.rpc(admin, "admin_set_runtime_settings", [{ [PAGE_KEY]: 10, [FLOOR_KEY]: 10 }, "Back-to-school week"]);
    expect(lowered).toMatchObject({
      settings: { [PAGE_KEY]: 10, [FLOOR_KEY]: 10 },
      changes: { [PAGE_KEY]: { old: null, new: 10 }, [FLOOR_KEY]: { old: null, new: 10 } },
      created_by: admin.id,
    });
    // A parent is no admin.
    expect(await s.rpc(parent, "admin_set_runtime_settings", [{ [PAGE_KEY]: 0 }, "free pages"]))
      .toEqual({ error: { status: 403, code: "admin_only" } });
    // The pricing page (public.image_prices, readable by anyone) and the next page: no deploy, no cache.
    expect((await s.sql`select credits from public.image_prices where model = 'gemini-2.5-flash-image' and size = '1024x1024'`)[0].credits).toBe(10);
    const cheap = await page(parent, "a bear on a bicycle");
    expect(cheap.status).toBe(200);
    expect(cheap.body.usage).toMatchObject({ credits_charged: 10, balance: 435 });

    const back = await s.rpc(admin, "admin_rollback_runtime_settings", [lowered.version - 1, "Back-to-school week is over"]);
    expect(back).toMatchObject({ version: lowered.version + 1, rolled_back_to: lowered.version - 1, settings: {} });
    const full = await page(parent, "an owl in a library");
    expect(full.status).toBe(200);
    expect(full.body.usage).toMatchObject({ credits_charged: 25, balance: 410 });
    // The books: every page's charge in the ledger, the deposit's grant, nothing else.
    const ledger = await s.sql`select kind, amount::int from public.credit_ledger where account_id = ${parent.id} order by id`;
    const net = ledger.reduce((n, r) => n + r.amount, 0);
    expect(net).toBe(410);
  });
});
