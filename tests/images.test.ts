// Image generation through the generate-image function (real Deno, real Postgres, the local Storage API),
// against the local Gemini + OpenAI images servers (tests/support/image-servers.ts) with the real clients: the
// shipped config's 3 free coloring pages then pages paid at image_price, the image's bytes back through its
// signed URL, 429 retried, Gemini failing over to OpenAI (charged OpenAI's price), a safety refusal (422
// content_refused, nothing charged or stored), the client hanging up (released), Idempotency-Key replays,
// concurrent generations against a small balance and the last free page, list / get / delete, API keys and
// teams, and bad input (4xx JSON, nothing charged, nothing stored).
import { beforeEach, describe, expect, it } from "vitest";
import { imageBytesFor, type ImageProviderName, type ImageRequestRecord, type ImageStep } from "./support/image-servers.ts";
import { asUser, callFunction, connectDb, createUser, setBalance, stack } from "./support/stack.ts";

const sql = connectDb(8);
type User = { id: string; token: string };

async function script(provider: ImageProviderName, ...steps: ImageStep[]) {
  await fetch(`${stack().imagesUrl}/_test/script`, { method: "POST", body: JSON.stringify({ provider, steps }) });
}
async function upstream(): Promise<ImageRequestRecord[]> {
  return (await (await fetch(`${stack().imagesUrl}/_test/state`)).json()).requests;
}

beforeEach(async () => {
  await fetch(`${stack().imagesUrl}/_test/reset`, { method: "POST" });
});

async function newUser(credits = 0): Promise<User> {
  const user = await createUser(sql, `images-${crypto.randomUUID()}@test.local`);
  await setBalance(sql, user.id, credits);
  return user;
}

/** A user whose 3 free pages are used up (as if made earlier), with `credits`. */
async function payingUser(credits: number): Promise<User> {
  const user = await newUser(credits);
  await sql`insert into public.usage_counters (account_id, feature_id, period_key, used)
    values (${user.id}, 'coloring_page', 'lifetime', 3)`;
  return user;
}

function generate(user: { token?: string }, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) {
  return callFunction("generate-image", {
    method: "POST",
    token: user.token,
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal,
  });
}

async function balance(account: string): Promise<number> {
  const [w] = await sql`select balance from public.wallets where account_id = ${account}`;
  return Number(w.balance);
}
async function generations(account: string) {
  return await sql<{ id: string; status: string; cost: string; free: boolean; storage_path: string | null; provider: string | null }[]>`
    select id, status, cost, free, storage_path, provider from public.generations where account_id = ${account}
    order by created_at`;
}
async function objects(account: string): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`select name from storage.objects
    where bucket_id = 'generations' and name like ${account + "/%"} order by name`;
  return rows.map((r) => r.name);
}
async function used(account: string): Promise<number> {
  const [c] = await sql`select used from public.usage_counters
    where account_id = ${account} and feature_id = 'coloring_page' and period_key = 'lifetime'`;
  return c?.used ?? 0;
}

describe("generate-image", () => {
  it("makes 3 free pages, stored and listed with signed URLs whose bytes are the provider's, then charges image_price", async () => {
    const user = await newUser(100);
    const made: { id: string; url: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await generate(user, { prompt: `a cat number ${i}` });
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.usage).toMatchObject({ free: true, credits_charged: 0, balance: 100, replayed: false });
      expect(body.generation).toMatchObject({ status: "succeeded", provider: "gemini-image", model: "gemini-2.5-flash-image",
        size: "1024x1024", style: "coloring-book", cost: 0, free: true, mime_type: "image/png" });
      expect(body.generation.image.path).toBe(`${user.id}/${body.generation.id}.png`);
      made.push({ id: body.generation.id, url: body.generation.image.url });
    }
    // The image's bytes round-trip: what the provider sent is what the signed URL serves, without a session.
    const calls = await upstream();
    expect(calls).toHaveLength(3);
    expect(calls[0]).toMatchObject({ provider: "gemini", model: "gemini-2.5-flash-image", size: "1:1", apiKey: "test-gemini-local" });
    expect(calls[0].prompt).toContain("a cat number 0");
    expect(calls[0].prompt).toContain("bold clean black outlines");
    const got = Buffer.from(await (await fetch(made[0].url)).arrayBuffer());
    expect(got.equals(imageBytesFor(calls[0].n))).toBe(true);

    const fourth = await generate(user, { prompt: "a dog", size: "1536x1024" });
    const paid = await fourth.json();
    expect(fourth.status).toBe(200);
    expect(paid.usage).toMatchObject({ free: false, credits_charged: 4, balance: 96 });
    expect(paid.generation).toMatchObject({ cost: 4, free: false, size: "1536x1024" });
    expect((await upstream()).at(-1)!.size).toBe("3:2");
    expect(await balance(user.id)).toBe(96);
    expect(await objects(user.id)).toHaveLength(4);

    const list = await callFunction("generate-image?limit=10", { token: user.token });
    const listed = await list.json();
    expect(list.status).toBe(200);
    expect(listed.generations.map((g: { id: string }) => g.id)).toEqual([paid.generation.id, ...made.map((m) => m.id).reverse()]);
    for (const g of listed.generations) expect(g.image.url).toMatch(/^https?:\/\//);

    const one = await callFunction(`generate-image/${made[1].id}`, { token: user.token });
    const fresh = await one.json();
    expect(one.status).toBe(200);
    expect(fresh.generation.id).toBe(made[1].id);
    const again = Buffer.from(await (await fetch(fresh.generation.image.url)).arrayBuffer());
    expect(again.equals(imageBytesFor(calls[1].n))).toBe(true);
  });

  it("retries a 429, and falls back to OpenAI when Gemini keeps failing (charged OpenAI's price)", async () => {
    const user = await payingUser(20);
    await script("gemini", { kind: "status", status: 429 });
    const retried = await generate(user, { prompt: "a fox" });
    expect(retried.status).toBe(200);
    expect((await retried.json()).usage.credits_charged).toBe(3);
    expect((await upstream()).map((r) => r.outcome)).toEqual(["429", "ok"]);

    await script("gemini", { kind: "status", status: 500 }, { kind: "status", status: 500 }, { kind: "status", status: 503 });
    const fell = await generate(user, { prompt: "an owl" });
    const body = await fell.json();
    expect(fell.status).toBe(200);
    expect(body.generation).toMatchObject({ provider: "openai-image", model: "gpt-image-1", cost: 5 });
    expect((await upstream()).slice(2).map((r) => r.provider)).toEqual(["gemini", "gemini", "gemini", "openai"]);
    expect(await balance(user.id)).toBe(12);
  });

  it("answers a safety refusal with 422 content_refused, nothing charged, nothing stored", async () => {
    const user = await payingUser(20);
    await script("gemini", { kind: "refuse", reason: "PROHIBITED_CONTENT" });
    const res = await generate(user, { prompt: "something not for children" });
    expect(res.status).toBe(422);
    expect((await res.json()).error.code).toBe("content_refused");
    expect(await balance(user.id)).toBe(20);
    expect(await objects(user.id)).toEqual([]);
    expect((await generations(user.id)).map((g) => [g.status, g.cost])).toEqual([["refused", "0"]]);
    expect(await upstream()).toHaveLength(1); // never sent to the fallback

    // A free page refused gives its free unit back.
    const fresh = await newUser(0);
    await script("gemini", { kind: "refuse", stage: "image", reason: "IMAGE_SAFETY" });
    expect((await generate(fresh, { prompt: "x" })).status).toBe(422);
    expect(await used(fresh.id)).toBe(0);
  });

  it("releases the hold when every provider fails (502 ai_unavailable)", async () => {
    const user = await payingUser(20);
    await script("gemini", ...Array(3).fill({ kind: "status", status: 500 }));
    await script("openai", ...Array(2).fill({ kind: "status", status: 500 }));
    const res = await generate(user, { prompt: "a bird" });
    expect(res.status).toBe(502);
    expect((await res.json()).error.code).toBe("ai_unavailable");
    expect(await balance(user.id)).toBe(20);
    expect((await generations(user.id)).map((g) => g.status)).toEqual(["failed"]);
    expect(await objects(user.id)).toEqual([]);
  });

  it("releases the hold when the client hangs up before the image is made", async () => {
    const user = await payingUser(20);
    await script("gemini", { kind: "slow", ms: 20_000 });
    const abort = new AbortController();
    const pending = generate(user, { prompt: "a slow whale" }, {}, abort.signal).catch((e) => e);
    for (let i = 0; i < 100 && (await upstream()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await balance(user.id)).toBe(15); // held: the dearest covered model's price
    abort.abort();
    await pending;
    let rows = await generations(user.id);
    for (let i = 0; i < 100 && rows[0]?.status === "pending"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      rows = await generations(user.id);
    }
    expect(rows.map((g) => g.status)).toEqual(["aborted"]);
    expect(await balance(user.id)).toBe(20);
    expect(await objects(user.id)).toEqual([]);
  });

  it("replays a made image under the same Idempotency-Key, charged once", async () => {
    const user = await payingUser(20);
    const key = { "idempotency-key": `img-${crypto.randomUUID()}` };
    const first = await (await generate(user, { prompt: "a tree" }, key)).json();
    const second = await generate(user, { prompt: "a tree" }, key);
    const replay = await second.json();
    expect(second.status).toBe(200);
    expect(replay.generation.id).toBe(first.generation.id);
    expect(replay.usage).toMatchObject({ replayed: true, credits_charged: 0, balance: 17 });
    expect(await upstream()).toHaveLength(1);
    const conflict = await generate(user, { prompt: "another tree" }, key);
    expect(conflict.status).toBe(409);
    expect((await conflict.json()).error.code).toBe("idempotency_conflict");
    expect(await balance(user.id)).toBe(17);
  });

  it("never overdraws: 8 concurrent pages against 10 credits", async () => {
    const user = await payingUser(10);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => generate(user, { prompt: `page ${i}` })));
    const statuses = results.map((r) => r.status);
    const codes = await Promise.all(results.map(async (r) => r.status === 200 ? "ok" : (await r.json()).error.code));
    const ok = statuses.filter((s) => s === 200).length;
    expect(ok).toBeGreaterThanOrEqual(2);
    expect(ok).toBeLessThanOrEqual(3);
    expect(codes.filter((c) => c !== "ok").every((c) => c === "insufficient_credits")).toBe(true);
    expect(await balance(user.id)).toBe(10 - 3 * ok);
    const rows = await generations(user.id);
    expect(rows.map((g) => g.status)).toEqual(Array(ok).fill("succeeded")); // a refused hold stores nothing
    expect(await objects(user.id)).toHaveLength(ok);
    const [ledger] = await sql`select coalesce(sum(amount), 0)::int as total from public.credit_ledger where account_id = ${user.id}`;
    expect(ledger.total).toBe(10 - 3 * ok);
  });

  it("gives the last free page to exactly one of 6 concurrent requests", async () => {
    const user = await newUser(0);
    await sql`insert into public.usage_counters (account_id, feature_id, period_key, used)
      values (${user.id}, 'coloring_page', 'lifetime', 2)`;
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => generate(user, { prompt: `last ${i}` })));
    const bodies = await Promise.all(results.map((r) => r.json()));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(bodies.filter((b) => b.error).map((b) => b.error.code)).toEqual(Array(5).fill("insufficient_credits"));
    expect(await used(user.id)).toBe(3);
    expect(await balance(user.id)).toBe(0);
    expect(await objects(user.id)).toHaveLength(1);
  });

  it("deletes a generation and its image; another user's is not found", async () => {
    const user = await newUser(0);
    const other = await newUser(0);
    const made = (await (await generate(user, { prompt: "a boat" })).json()).generation;
    expect(await objects(user.id)).toHaveLength(1);
    const theirs = await callFunction(`generate-image/${made.id}`, { token: other.token });
    expect(theirs.status).toBe(404);
    expect((await theirs.json()).error.code).toBe("generation_not_found");
    const notTheirs = await callFunction(`generate-image/${made.id}`, { method: "DELETE", token: other.token });
    expect(notTheirs.status).toBe(404);
    expect(await objects(user.id)).toHaveLength(1);

    const del = await callFunction(`generate-image/${made.id}`, { method: "DELETE", token: user.token });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ deleted: true, id: made.id });
    expect(await objects(user.id)).toEqual([]);
    expect(await generations(user.id)).toEqual([]);
    expect((await fetch(made.image.url)).ok).toBe(false);
    expect((await callFunction(`generate-image/${made.id}`, { method: "DELETE", token: user.token })).status).toBe(404);
  });

  it("acts for a team (X-Account-Id) and for an API key's account, with the generate-image scope", async () => {
    const owner = await newUser(0);
    const member = await newUser(0);
    const [team] = await asUser(sql, owner.id, (tx) => tx`select id from public.create_team('Pages', ${`pages-${crypto.randomUUID().slice(0, 8)}`})`);
    await sql`insert into public.account_members (account_id, user_id, role) values (${team.id}, ${member.id}, 'member')`;
    const res = await generate(member, { prompt: "a team page" }, { "x-account-id": team.id });
    const body = await res.json();
    expect(res.status).toBe(200);
    expect(body.generation.account_id).toBe(team.id);
    expect(body.generation.image.path).toBe(`${team.id}/${body.generation.id}.png`);
    const listed = await (await callFunction("generate-image", { token: owner.token, headers: { "x-account-id": team.id } })).json();
    expect(listed.generations.map((g: { id: string }) => g.id)).toEqual([body.generation.id]);
    expect((await (await callFunction("generate-image", { token: owner.token })).json()).generations).toEqual([]);

    const [key] = await asUser(sql, owner.id, (tx) => tx`select key from public.create_api_key('images', array['generate-image'], null, null)`);
    const byKey = await callFunction("generate-image", {
      method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${stack().anonKey}`, "x-api-key": key.key },
      body: JSON.stringify({ prompt: "by key" }),
    });
    expect(byKey.status).toBe(200);
    expect((await byKey.json()).generation.account_id).toBe(owner.id);
    const [other] = await asUser(sql, owner.id, (tx) => tx`select key from public.create_api_key('chat only', array['chat'], null, null)`);
    const scoped = await callFunction("generate-image", {
      method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${stack().anonKey}`, "x-api-key": other.key },
      body: JSON.stringify({ prompt: "by key" }),
    });
    expect(scoped.status).toBe(403);
    expect((await scoped.json()).error.code).toBe("api_key_scope");
  });

  it("refuses bad input with a 4xx JSON error, charging and storing nothing", async () => {
    const user = await payingUser(50);
    const png = imageBytesFor(0).toString("base64");
    const cases: [string, unknown, number, string][] = [
      ["empty prompt", { prompt: "" }, 422, "validation_failed"],
      ["blank prompt", { prompt: "   " }, 422, "validation_failed"],
      ["huge prompt", { prompt: "x".repeat(2001) }, 422, "validation_failed"],
      ["NUL in the prompt", { prompt: "a\u0000b" }, 422, "validation_failed"],
      ["no prompt", {}, 422, "validation_failed"],
      ["a size not in the config", { prompt: "a", size: "4096x4096" }, 422, "validation_failed"],
      ["a style not in the config", { prompt: "a", style: "oil-painting" }, 422, "validation_failed"],
      ["an unknown field", { prompt: "a", model: "dall-e-3" }, 422, "validation_failed"],
      ["a reference that is not base64", { prompt: "a", reference_image: "not base64!" }, 422, "invalid_reference_image"],
      ["a reference that is not an image", { prompt: "a", reference_image: Buffer.from("GIF89a....").toString("base64") }, 422, "invalid_reference_image"],
      ["a reference too big", { prompt: "a", reference_image: Buffer.concat([imageBytesFor(0), Buffer.alloc(4 * 1024 * 1024)]).toString("base64") }, 422, "invalid_reference_image"],
      ["not JSON", "{prompt:", 400, "invalid_json"],
    ];
    for (const [what, body, status, code] of cases) {
      const res = await generate(user, body);
      expect([what, res.status, (await res.json()).error?.code]).toEqual([what, status, code]);
    }
    const huge = await generate(user, { prompt: "a", reference_image: "A".repeat(8 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    expect((await huge.json()).error.code).toBe("payload_too_large");
    for (const [path, method] of [["generate-image/not-a-uuid", "GET"], [`generate-image/${crypto.randomUUID()}`, "GET"],
      [`generate-image/${crypto.randomUUID()}`, "DELETE"]]) {
      const res = await callFunction(path, { method, token: user.token });
      expect([path, method, res.status, (await res.json()).error.code]).toEqual([path, method, 404, "generation_not_found"]);
    }
    const badList = await callFunction("generate-image?limit=0", { token: user.token });
    expect(badList.status).toBe(422);
    const anon = await callFunction("generate-image", { method: "POST", token: stack().anonKey, body: "{}" });
    expect(anon.status).toBe(401);
    expect(await balance(user.id)).toBe(50);
    expect(await generations(user.id)).toEqual([]);
    expect(await objects(user.id)).toEqual([]);
    expect(await upstream()).toEqual([]);

    // A valid reference image is taken (the edit path reaches the provider with it).
    const ok = await generate(user, { prompt: "this as a coloring page", reference_image: `data:image/png;base64,${png}` });
    expect(ok.status).toBe(200);
    expect((await upstream())[0].reference).toEqual({ mimeType: "image/png", base64: png });
  });
});
