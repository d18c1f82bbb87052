// The image provider layer (_shared/images/) with its real clients (fetch for Gemini, the openai SDK for
// OpenAI's images API) against tests/support/image-servers.ts, the providers' wire formats: an image from
// each, 429 then success, a 500 falling back, refusals (Gemini's blockReason and finishReason, OpenAI's
// moderation_blocked) never retried nor tried elsewhere, a slow provider timed out and passed over, the
// client's abort, a reference image through Gemini's inlineData and OpenAI's multipart edit; and the config
// section's checks.
import assert from "node:assert/strict";
import { startImageServers } from "../../../tests/support/image-servers.ts";
import { aspectRatio } from "../_shared/images/gemini.ts";
import {
  generateImage,
  imagePlan,
  NoImageProviderError,
  SafetyRefusalError,
  sniffImage,
} from "../_shared/images/index.ts";
import { fromBase64 } from "../_shared/images/mime.ts";
import { config } from "../_shared/config.ts";
import { type ImagesConfig, imagesSchema } from "../_shared/config/images.ts";
import { parseConfig } from "../_shared/config-schema.ts";

const images = (overrides: Partial<Record<string, unknown>> = {}): ImagesConfig =>
  imagesSchema.parse({
    feature: "coloring_page",
    providers: [
      {
        id: "gemini-image",
        kind: "gemini",
        baseUrlEnv: "T_GEMINI",
        apiKeyEnv: "T_GEMINI_KEY",
        model: "gemini-2.5-flash-image",
        prices: { "1024x1024": 3, "1024x1536": 4 },
        timeoutMs: 2000,
        maxRetries: 2,
      },
      {
        id: "openai-image",
        kind: "openai",
        baseUrlEnv: "T_OPENAI",
        apiKeyEnv: "T_OPENAI_KEY",
        model: "gpt-image-1",
        prices: { "1024x1024": 5, "1024x1536": 8 },
        timeoutMs: 2000,
        maxRetries: 1,
      },
    ],
    fallbackOrder: ["gemini-image", "openai-image"],
    sizes: ["1024x1024", "1024x1536"],
    ...overrides,
  });

async function withServers(fn: (s: Awaited<ReturnType<typeof startImageServers>>, env: (n: string) => string | undefined) => Promise<void>) {
  const s = await startImageServers();
  const vars: Record<string, string> = {
    T_GEMINI: s.geminiBase,
    T_OPENAI: s.openaiBase,
    T_GEMINI_KEY: "gemini-key",
    T_OPENAI_KEY: "openai-key",
  };
  try {
    await fn(s, (n) => vars[n]);
  } finally {
    await s.close();
  }
}

const noSleep = () => Promise.resolve();
const request = { prompt: "a cat", size: "1024x1024" };

Deno.test("Gemini: the image from inlineData, with the key, the model and the aspect ratio", async () => {
  await withServers(async (s, env) => {
    const image = await generateImage(imagePlan(images()), { ...request, size: "1024x1536" }, env, new AbortController().signal);
    assert.equal(image.provider, "gemini-image");
    assert.equal(image.model, "gemini-2.5-flash-image");
    assert.equal(image.mimeType, "image/png");
    assert.equal(new TextDecoder().decode(image.bytes.slice(-2)), "#1", "the bytes the server sent");
    assert.equal(s.requests.length, 1);
    assert.deepEqual(
      [s.requests[0].model, s.requests[0].prompt, s.requests[0].size, s.requests[0].apiKey],
      ["gemini-2.5-flash-image", "a cat", "2:3", "gemini-key"],
    );
  });
});

Deno.test("OpenAI: generate through the SDK, b64_json decoded", async () => {
  await withServers(async (s, env) => {
    const image = await generateImage(imagePlan(images(), ["openai-image"]), request, env, new AbortController().signal);
    assert.equal(image.provider, "openai-image");
    assert.equal(sniffImage(image.bytes), "image/png");
    assert.deepEqual([s.requests[0].path, s.requests[0].model, s.requests[0].size, s.requests[0].apiKey],
      ["/openai/v1/images/generations", "gpt-image-1", "1024x1024", "openai-key"]);
  });
});

Deno.test("429 then success: retried on the same provider", async () => {
  await withServers(async (s, env) => {
    s.script("gemini", { kind: "status", status: 429 });
    s.script("openai", { kind: "status", status: 429 });
    const slept: number[] = [];
    const image = await generateImage(imagePlan(images()), request, env, new AbortController().signal, {
      sleep: (ms) => (slept.push(ms), Promise.resolve()),
    });
    assert.equal(image.provider, "gemini-image");
    assert.deepEqual(s.requests.map((r) => [r.provider, r.outcome]), [["gemini", "429"], ["gemini", "ok"]]);
    assert.deepEqual(slept, [100], "a backoff before the retry");
  });
});

Deno.test("500s past the retries: the next provider of the fallback order", async () => {
  await withServers(async (s, env) => {
    s.script("gemini", { kind: "status", status: 500 }, { kind: "status", status: 503 }, { kind: "status", status: 500 });
    const image = await generateImage(imagePlan(images()), request, env, new AbortController().signal, { sleep: noSleep });
    assert.equal(image.provider, "openai-image");
    assert.deepEqual(s.requests.map((r) => r.provider), ["gemini", "gemini", "gemini", "openai"]);
  });
});

Deno.test("a 4xx other than 429 is not retried; every provider failing is NoImageProviderError", async () => {
  await withServers(async (s, env) => {
    s.script("gemini", { kind: "status", status: 400 });
    s.script("openai", { kind: "status", status: 500 }, { kind: "status", status: 500 });
    const err = await generateImage(imagePlan(images()), request, env, new AbortController().signal, { sleep: noSleep })
      .then(() => null, (e) => e);
    assert.ok(err instanceof NoImageProviderError);
    assert.deepEqual(err.attempts.map((a: { provider: string }) => a.provider), ["gemini-image", "openai-image", "openai-image"]);
    assert.match(err.attempts[0].error, /400/);
  });
});

Deno.test("refusals: Gemini's blockReason and finishReason, OpenAI's moderation_blocked; never tried elsewhere", async () => {
  await withServers(async (s, env) => {
    const plan = imagePlan(images());
    for (const step of [{ kind: "refuse" as const, reason: "SAFETY" }, { kind: "refuse" as const, stage: "image" as const, reason: "IMAGE_SAFETY" }]) {
      s.reset();
      s.script("gemini", step);
      const err = await generateImage(plan, request, env, new AbortController().signal, { sleep: noSleep }).then(() => null, (e) => e);
      assert.ok(err instanceof SafetyRefusalError, `${step.reason} is a refusal`);
      assert.equal(err.reason, step.reason);
      assert.equal(s.requests.length, 1, "not retried, not sent to the fallback");
    }
    s.reset();
    s.script("openai", { kind: "refuse" });
    const err = await generateImage(imagePlan(images(), ["openai-image"]), request, env, new AbortController().signal)
      .then(() => null, (e) => e);
    assert.ok(err instanceof SafetyRefusalError);
    assert.equal(err.reason, "moderation_blocked");
    assert.equal(s.requests.length, 1);
  });
});

Deno.test("an answer without an image moves on to the next provider at once", async () => {
  await withServers(async (s, env) => {
    s.script("gemini", { kind: "empty" });
    const image = await generateImage(imagePlan(images()), request, env, new AbortController().signal, { sleep: noSleep });
    assert.equal(image.provider, "openai-image");
    assert.deepEqual(s.requests.map((r) => r.provider), ["gemini", "openai"]);
  });
});

Deno.test("a slow provider: timed out after its timeoutMs, not retried, the next one asked", async () => {
  await withServers(async (s, env) => {
    const cfg = images();
    cfg.providers[0].timeoutMs = 300;
    s.script("gemini", { kind: "slow", ms: 5000 });
    const started = Date.now();
    const image = await generateImage(imagePlan(cfg), request, env, new AbortController().signal, { sleep: noSleep });
    assert.equal(image.provider, "openai-image");
    assert.ok(Date.now() - started < 4000, "it did not wait for the slow answer");
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(s.requests.map((r) => [r.provider, r.outcome]), [["gemini", "aborted"], ["openai", "ok"]]);
  });
});

Deno.test("the client's abort ends it with the abort's reason, the provider's request cancelled", async () => {
  await withServers(async (s, env) => {
    s.script("gemini", { kind: "slow", ms: 5000 });
    const client = new AbortController();
    setTimeout(() => client.abort(new Error("client gone")), 200);
    const err = await generateImage(imagePlan(images()), request, env, client.signal).then(() => null, (e) => e);
    assert.equal(err?.message, "client gone");
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(s.requests.map((r) => [r.provider, r.outcome]), [["gemini", "aborted"]], "no fallback after an abort");
  });
});

Deno.test("a reference image: Gemini's inlineData, OpenAI's multipart edit", async () => {
  await withServers(async (s, env) => {
    const bytes = fromBase64("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC")!;
    const reference = { bytes, mimeType: "image/png" as const };
    await generateImage(imagePlan(images()), { ...request, reference }, env, new AbortController().signal);
    await generateImage(imagePlan(images(), ["openai-image"]), { ...request, reference }, env, new AbortController().signal);
    assert.equal(s.requests[0].reference?.mimeType, "image/png");
    assert.deepEqual(fromBase64(s.requests[0].reference!.base64), bytes);
    assert.equal(s.requests[1].path, "/openai/v1/images/edits");
    assert.deepEqual([s.requests[1].model, s.requests[1].prompt, s.requests[1].size], ["gpt-image-1", "a cat", "1024x1024"]);
    assert.equal(s.requests[1].reference?.mimeType, "image/png");
    assert.deepEqual(fromBase64(s.requests[1].reference!.base64), bytes);
  });
});

Deno.test("a provider without its key is passed over", async () => {
  await withServers(async (s, env) => {
    const image = await generateImage(imagePlan(images()), request, (n) => (n === "T_GEMINI_KEY" ? undefined : env(n)),
      new AbortController().signal);
    assert.equal(image.provider, "openai-image");
    assert.deepEqual(s.requests.map((r) => r.provider), ["openai"]);
  });
});

Deno.test("aspect ratios and signatures", () => {
  assert.equal(aspectRatio("1024x1024"), "1:1");
  assert.equal(aspectRatio("1536x1024"), "3:2");
  assert.equal(sniffImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])), "image/jpeg");
  assert.equal(sniffImage(new TextEncoder().encode("RIFF\0\0\0\0WEBPVP8 ")), "image/webp");
  assert.equal(sniffImage(new TextEncoder().encode("GIF89a")), null);
  assert.equal(fromBase64("not base64!"), null);
});

Deno.test("the config section: every size priced, known providers and styles, the feature's price a floor", () => {
  const shipped = structuredClone(config) as unknown as Record<string, unknown>;
  const bad = (images: Record<string, unknown>) => {
    try {
      parseConfig({ ...shipped, images });
      return "";
    } catch (err) {
      return (err as Error).message;
    }
  };
  const base = structuredClone(config.images!) as unknown as Record<string, unknown> & { providers: Record<string, unknown>[] };
  assert.equal(bad(base), "", "the shipped section parses");
  assert.match(bad({ ...base, sizes: ["1024x1024", "512x512"] }), /no price for size 512x512/);
  assert.match(bad({ ...base, fallbackOrder: ["nope"] }), /unknown image provider "nope"/);
  assert.match(bad({ ...base, defaultStyle: "nope" }), /unknown style "nope"/);
  assert.match(bad({ ...base, feature: "nope" }), /unknown feature "nope"/);
  assert.match(bad({ ...base, providers: [{ ...base.providers[0], prices: { "1024x1024": 1, "1024x1536": 4, "1536x1024": 4 } }] }),
    /less than the feature "coloring_page"/);
  assert.match(bad({ ...base, sizes: ["big"] }), /WIDTHxHEIGHT/);
});
