// openStream with the real openai SDK against a local server speaking the chat-completions stream format:
// streams that stall after their headers, streams with no content, and a client that leaves before any.
import assert from "node:assert/strict";
import { NoProviderError, openStream, StreamStalledError } from "../_shared/ai.ts";
import { config } from "../_shared/config.ts";
import type { ProductConfig } from "../_shared/config-schema.ts";

type Behaviour = "stall-first" | "empty" | "stall-after-first" | "trickle" | "ok";

/** A provider per behaviour, each at its own path of one local server. */
async function withServer(fn: (base: string, hits: Record<string, number>) => Promise<void>) {
  const hits: Record<string, number> = {};
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${
      JSON.stringify({
        id: "c",
        object: "chat.completion.chunk",
        created: 1,
        model: "m",
        choices: [{ index: 0, delta, finish_reason: finish }],
      })
    }\n\n`;
  const held: ReadableStreamDefaultController<Uint8Array>[] = [];
  const trickles: ReturnType<typeof setInterval>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const behaviour = new URL(req.url).pathname.split("/")[1] as Behaviour;
    hits[behaviour] = (hits[behaviour] ?? 0) + 1;
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode(chunk({ role: "assistant", content: "" })));
        if (behaviour === "empty") {
          c.enqueue(enc.encode(chunk({}, "stop")));
          c.enqueue(enc.encode("data: [DONE]\n\n"));
          c.close();
        } else if (behaviour === "stall-after-first") {
          c.enqueue(enc.encode(chunk({ content: "Hel" })));
          held.push(c); // and nothing more
        } else if (behaviour === "stall-first") {
          held.push(c);
        } else if (behaviour === "trickle") {
          // Alive, never answering: an empty chunk every 50 ms.
          const timer = setInterval(() => {
            try {
              c.enqueue(enc.encode(chunk({ content: "" })));
            } catch {
              clearInterval(timer); // the client gave up on it
            }
          }, 50);
          trickles.push(timer);
        } else {
          c.enqueue(enc.encode(chunk({ content: "Hello" })));
          c.enqueue(enc.encode(chunk({}, "stop")));
          c.enqueue(enc.encode("data: [DONE]\n\n"));
          c.close();
        }
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, hits);
  } finally {
    for (const t of trickles) clearInterval(t);
    for (const c of held) {
      try {
        c.close();
      } catch { /* cancelled already: the client gave up on it */ }
    }
    await server.shutdown();
  }
}

const provider = (id: Behaviour, base: string) => ({
  id,
  kind: "openai-compatible" as const,
  baseUrl: `${base}/${id}/v1`,
  models: [{ id: `m-${id}`, contextWindow: 8000, maxOutputTokens: 100, creditsPer1kTokens: 0 }],
  timeoutMs: 1000, // generous: a loaded CI machine must not miss it with a healthy provider
  maxRetries: 1,
});
const configWith = (order: Behaviour[], base: string): ProductConfig => ({
  ...config,
  ai: {
    ...config.ai,
    providers: order.map((b) => provider(b, base)),
    fallbackOrder: order,
    defaultModel: `m-${order[0]}`,
  },
});
const open = (cfg: ProductConfig, signal = new AbortController().signal, budgetMs?: number) =>
  openStream(
    cfg,
    () => undefined,
    cfg.ai.defaultModel,
    [{ role: "user", content: "Hi" }],
    100,
    signal,
    () => Promise.resolve(),
    budgetMs,
  );

Deno.test("a provider that stalls after its headers, or ends without content, is retried, then the next one answers", async () => {
  await withServer(async (base, hits) => {
    const started = Date.now();
    const stream = await open(configWith(["stall-first", "empty", "ok"], base));
    assert.equal(stream.provider, "ok");
    assert.equal(stream.first, "Hello");
    assert.deepEqual([hits["stall-first"], hits["empty"]], [2, 2]); // each tried 1 + maxRetries times
    assert.ok(Date.now() - started < 10_000, "stalls are cut at the provider's timeoutMs");
  });
});

Deno.test("empty chunks do not keep an attempt alive: the first content is due within timeoutMs", async () => {
  await withServer(async (base, hits) => {
    const started = Date.now();
    const stream = await open(configWith(["trickle", "ok"], base));
    assert.equal(stream.provider, "ok");
    assert.equal(hits["trickle"], 2);
    assert.ok(Date.now() - started < 10_000, `cut at timeoutMs (${Date.now() - started} ms)`);
  });
});

Deno.test("all attempts together have a budget for the first token", async () => {
  await withServer(async (base, hits) => {
    const cfg = configWith(["trickle", "stall-first"], base);
    const started = Date.now();
    await assert.rejects(open(cfg, undefined, 1500), NoProviderError);
    // trickle: 1,000 ms, then its retry cut at the budget's 1,500; the next provider is never tried.
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1400 && elapsed < 10_000, `gave up at the budget (${elapsed} ms)`);
    assert.deepEqual(
      [hits["trickle"], hits["stall-first"] ?? 0],
      [2, 0],
      "no attempt starts after the budget is spent",
    );
  });
});

Deno.test("no provider with content is a NoProviderError (nothing to pay for)", async () => {
  await withServer(async (base) => {
    await assert.rejects(open(configWith(["empty"], base)), NoProviderError);
  });
});

Deno.test("a stream that stalls after its first token ends with StreamStalledError", async () => {
  await withServer(async (base) => {
    const stream = await open(configWith(["stall-after-first"], base));
    assert.equal(stream.first, "Hel");
    await assert.rejects(stream.rest.next(), StreamStalledError);
  });
});

Deno.test("a client gone before any content makes openStream throw, never return an empty answer", async () => {
  await withServer(async (base) => {
    const client = new AbortController();
    setTimeout(() => client.abort(new DOMException("client disconnected", "AbortError")), 100);
    await assert.rejects(
      open(configWith(["stall-first"], base), client.signal),
      (err: unknown) => err instanceof DOMException && err.name === "AbortError",
    );
  });
});
