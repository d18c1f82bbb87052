// Units of the chat gateway's pure logic: token counts, context trimming, pricing, provider order.
import assert from "node:assert/strict";
import { providerPlan } from "../_shared/ai.ts";
import { buildContext, promptTokens, titleFrom } from "../_shared/chat-logic.ts";
import { config } from "../_shared/config.ts";
import { LONG_PIECE, MEMO_CHARS, memoSize, tokenCounter, tokenFamily, utf8Bytes } from "../_shared/token-count.ts";

Deno.test("each model family is counted with its own tokenizer, unknown ones by UTF-8 bytes", async () => {
  assert.deepEqual(
    ["gpt-4o-mini", "gpt-4o", "gpt-4.1-nano", "gpt-5", "o3-mini", "gpt-4-turbo", "gpt-3.5-turbo", "gemini-2.5-flash",
      "llama3.1:8b"].map(tokenFamily),
    ["o200k_base", "o200k_base", "o200k_base", "o200k_base", "o200k_base", "cl100k_base", "cl100k_base", "bytes",
      "bytes"],
  );
  const o200k = await tokenCounter("gpt-4o-mini");
  // Counts OpenAI's own tokenizer gives (tiktoken o200k_base).
  assert.equal(o200k.text("Hello, world!"), 4);
  assert.equal(o200k.text("漢".repeat(100)), 100);
  // Special-token text is ordinary text in a message, never an error.
  assert.ok(o200k.text("<|endoftext|>") > 1);
  const cl100k = await tokenCounter("gpt-4");
  assert.equal(cl100k.text("Hello, world!"), 4);
  const bytes = await tokenCounter("gemini-2.5-flash");
  assert.equal(bytes.text("漢字"), 6);
});

Deno.test("dense text is counted as billed, and a run with no break is counted as its bytes", async () => {
  const count = await tokenCounter("gpt-4o");
  // 30,000 "漢" in one piece: an upper bound (its bytes), not BPE's exact 30,000 (bench/token-count: the cost).
  assert.equal(count.text("漢".repeat(30_000)), 90_000);
  assert.equal(count.text("漢".repeat(LONG_PIECE)), LONG_PIECE); // a piece up to LONG_PIECE: exact
  // Short runs are exact; long ones are bounded and never undercounted.
  const mixed = `${"a".repeat(LONG_PIECE + 1)} tail`;
  assert.ok(count.text(mixed) >= (await tokenCounter("gpt-4o")).text("tail") + utf8Bytes("a".repeat(LONG_PIECE + 1)));
  const prose = "The quick brown fox jumps over the lazy dog. ".repeat(500);
  assert.equal(count.text(prose), 10 * 500 + 1); // ten a sentence, and the last space alone
});

Deno.test("a prompt's tokens are its messages with their framing, and the answer's opening", async () => {
  const count = await tokenCounter("gpt-4o-mini");
  const messages = [{ role: "system" as const, content: "You are helpful." }, { role: "user" as const, content: "Hi" }];
  // As OpenAI bills a chat: 3 + 1 per message for the framing and role, 3 to open the answer.
  assert.equal(promptTokens(messages, count), (4 + 4) + (1 + 4) + 3);
});

Deno.test("context keeps the system prompt and the new message, dropping the oldest history first", async () => {
  const count = await tokenCounter("gemini-2.5-flash"); // bytes: 400 characters, 400 tokens + 16 framing
  const history = Array.from(
    { length: 10 },
    (_, i) => ({ role: (i % 2 ? "assistant" : "user") as "user" | "assistant", content: `${i}`.repeat(400) }),
  );
  const { messages, dropped, promptTokens: used } = buildContext("sys", history, "new", {
    contextWindow: 2000,
    maxOutputTokens: 500,
  }, count);
  assert.equal(messages[0].content, "sys");
  assert.equal(messages.at(-1)!.content, "new");
  assert.equal(dropped, 7); // 3 of 416 tokens fit in 1500 - 16 - 19 - 19
  assert.deepEqual(messages.slice(1, -1).map((m) => m.content[0]), ["7", "8", "9"]);
  assert.equal(used, promptTokens(messages, count));
  assert.ok(used <= 1500);
});

Deno.test("a text counted again is remembered, and the memory stays within its bound", async () => {
  const count = await tokenCounter("gpt-4o-mini");
  const text = "A conversation's history is counted again for every message. ".repeat(50);
  const first = count.text(text);
  const held = memoSize().entries;
  assert.equal(count.text(text), first);
  assert.equal(memoSize().entries, held, "counted once, then remembered");
  // Far more text than the memory keeps: the oldest go, the memory stays within MEMO_CHARS, counts stay right.
  const long = (i: number) => `${i} ${"word ".repeat(100_000)}`;
  const once = count.text(long(0));
  for (let i = 1; i < Math.ceil(MEMO_CHARS / 500_000) + 2; i++) assert.equal(count.text(long(i)), once);
  assert.ok(memoSize().chars <= MEMO_CHARS);
  assert.equal(count.text(text), first);
});

Deno.test("titles come from the first line of the first message", () => {
  assert.equal(titleFrom("  Plan my trip\nto Rome"), "Plan my trip");
  assert.equal(titleFrom("x".repeat(80)).length, 60);
  assert.equal(titleFrom("   "), "New chat");
});

Deno.test("the provider serving a model goes first, then the fallback order with each one's own model", () => {
  assert.deepEqual(providerPlan(config, "gemini-2.5-flash", 8192).map((p) => [p.provider.id, p.model, p.maxTokens]), [
    ["gemini", "gemini-2.5-flash", 8192],
    ["openai", "gpt-4o-mini", 4096], // within what the fallback's model takes
  ]);
  assert.deepEqual(providerPlan(config, "gpt-4o", 4096).map((p) => [p.provider.id, p.model, p.maxTokens]), [
    ["openai", "gpt-4o", 4096],
    ["gemini", "gemini-2.5-flash", 4096],
  ]);
});
