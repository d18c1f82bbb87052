// Units of the chat gateway's pure logic: token estimates, context trimming, pricing, provider order.
import assert from "node:assert/strict";
import { providerPlan } from "../_shared/ai.ts";
import {
  buildContext,
  estimateTokens,
  messageCost,
  titleFrom,
  worstCaseCost,
} from "../_shared/chat-logic.ts";
import { config } from "../_shared/config.ts";

Deno.test("token estimates are about four characters a token, plus framing", () => {
  assert.equal(estimateTokens(""), 4);
  assert.equal(estimateTokens("x".repeat(400)), 104);
});

Deno.test("context keeps the system prompt and the new message, dropping the oldest history first", () => {
  const history = Array.from(
    { length: 10 },
    (_, i) => ({ role: (i % 2 ? "assistant" : "user") as "user" | "assistant", content: `${i}`.repeat(400) }),
  );
  const { messages, dropped, promptTokens } = buildContext("sys", history, "new", {
    contextWindow: 1000,
    maxOutputTokens: 500,
  });
  assert.equal(messages[0].content, "sys");
  assert.equal(messages.at(-1)!.content, "new");
  assert.equal(dropped, 6); // 4 of 104 tokens fit in 500 - 5 - 5
  assert.deepEqual(messages.slice(1, -1).map((m) => m.content[0]), ["6", "7", "8", "9"]);
  assert.ok(promptTokens <= 500);
});

Deno.test("a message costs the persona's price plus the model's rate per 1,000 tokens, rounded up", () => {
  assert.equal(messageCost(1, 1, 44), 2);
  assert.equal(messageCost(5, 0, 100_000), 5);
  assert.equal(messageCost(1, 5, 1000), 6);
  assert.equal(worstCaseCost(1, 1, 20, 4096), 1 + Math.ceil((25 + 4096) / 1000));
});

Deno.test("titles come from the first line of the first message", () => {
  assert.equal(titleFrom("  Plan my trip\nto Rome"), "Plan my trip");
  assert.equal(titleFrom("x".repeat(80)).length, 60);
  assert.equal(titleFrom("   "), "New chat");
});

Deno.test("the provider serving a model goes first, then the fallback order with each one's own model", () => {
  assert.deepEqual(providerPlan(config, "gemini-2.5-flash").map((p) => [p.provider.id, p.model]), [
    ["gemini", "gemini-2.5-flash"],
    ["openai", "gpt-4o-mini"],
  ]);
  assert.deepEqual(providerPlan(config, "gpt-4o").map((p) => [p.provider.id, p.model]), [
    ["openai", "gpt-4o"],
    ["gemini", "gemini-2.5-flash"],
  ]);
});
