// Pure chat arithmetic, unit-tested: trimming history to the model's window, with tokens counted as the model's
// family bills them (token-count.ts). A message's price is SQL's (saasbase.chat_price), from these counts.
import type { TokenCounter } from "./token-count.ts";

export interface ChatTurn {
  role: "system" | "user" | "assistant";
  content: string;
}

/** The tokens a prompt of these messages takes: each message with its framing, and the answer's opening. */
export function promptTokens(messages: ChatTurn[], count: TokenCounter): number {
  return messages.reduce((n, m) => n + count.message(m), count.reply);
}

/**
 * The messages to send: the system prompt, then as much recent history as fits, then the new message.
 * History is dropped oldest first so that prompt + the answer's budget stay within the context window.
 */
export function buildContext(
  system: string,
  history: ChatTurn[],
  message: string,
  window: { contextWindow: number; maxOutputTokens: number },
  count: TokenCounter,
): { messages: ChatTurn[]; promptTokens: number; dropped: number } {
  const budget = window.contextWindow - window.maxOutputTokens;
  const first: ChatTurn = { role: "system", content: system };
  const last: ChatTurn = { role: "user", content: message };
  let used = count.reply + count.message(first) + count.message(last);
  const kept: ChatTurn[] = [];
  for (let i = history.length - 1; i >= 0; i--) {
    const cost = count.message(history[i]);
    if (used + cost > budget) break;
    used += cost;
    kept.unshift(history[i]);
  }
  return { messages: [first, ...kept, last], promptTokens: used, dropped: history.length - kept.length };
}

/** A title from the first message: its first line, at most 60 characters. */
export function titleFrom(message: string): string {
  const line = message.trim().split("\n")[0].trim();
  return (line.length > 60 ? `${line.slice(0, 57)}...` : line) || "New chat";
}
