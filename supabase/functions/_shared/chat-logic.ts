// Pure chat arithmetic, unit-tested: token estimates, trimming history to the model's window, and the price
// of a message (the persona's price per message plus the model's rate per 1,000 tokens).

export interface ChatTurn {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A conservative token estimate (about 4 characters a token, plus each message's framing). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4) + 4;
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
): { messages: ChatTurn[]; promptTokens: number; dropped: number } {
  const budget = window.contextWindow - window.maxOutputTokens;
  let used = estimateTokens(system) + estimateTokens(message);
  const kept: ChatTurn[] = [];
  for (let i = history.length - 1; i >= 0; i--) {
    const cost = estimateTokens(history[i].content);
    if (used + cost > budget) break;
    used += cost;
    kept.unshift(history[i]);
  }
  return {
    messages: [{ role: "system", content: system }, ...kept, { role: "user", content: message }],
    promptTokens: used,
    dropped: history.length - kept.length,
  };
}

/** Credits for one answered message. */
export function messageCost(perMessage: number, per1kTokens: number, tokens: number): number {
  return perMessage + Math.ceil((tokens * per1kTokens) / 1000);
}

/** The most a message can cost: the prompt estimate with a margin, plus the whole answer budget. */
export function worstCaseCost(
  perMessage: number,
  per1kTokens: number,
  promptTokens: number,
  maxOutputTokens: number,
) {
  return messageCost(perMessage, per1kTokens, Math.ceil(promptTokens * 1.25) + maxOutputTokens);
}

/** A title from the first message: its first line, at most 60 characters. */
export function titleFrom(message: string): string {
  const line = message.trim().split("\n")[0].trim();
  return (line.length > 60 ? `${line.slice(0, 57)}...` : line) || "New chat";
}
