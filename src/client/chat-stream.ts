// The chat function's Server-Sent Events, parsed into typed events (the format is documented in
// supabase/functions/chat/handler.ts and docs/chat.md).

export interface ChatMeta {
  conversation_id: string;
  provider: string;
  model: string;
  /** Credits held for the worst case until the answer is settled. */
  reserved: number;
}

export interface ChatDone {
  /** Null when the conversation was deleted while the answer streamed (the answer is paid, not stored). */
  message_id: number | null;
  usage: { prompt_tokens: number; completion_tokens: number };
  credits_charged: number;
  /** The balance after settling; null for anonymous chat. */
  balance: number | null;
}

export type ChatEvent =
  | { event: "meta"; data: ChatMeta }
  | { event: "token"; data: { content: string } }
  | { event: "done"; data: ChatDone }
  /** The answer broke off after it started (the provider failed or went quiet); nothing was charged. */
  | { event: "error"; data: { code: string; message: string } };

import { SaasbaseError } from "./errors.ts";

const EVENTS = new Set(["meta", "token", "done", "error"]);

/** Yields the events of a chat response body as they arrive (a block per event, separated by a blank line).
 * Leaving the loop early (a stop button: `break`) closes the stream, so the server stops the answer and
 * charges only what was received. A connection lost midway, or the caller's abort, throws a SaasbaseError
 * with code network_error. */
export async function* readChatStream(body: ReadableStream<Uint8Array>): AsyncGenerator<ChatEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let ended = false;
  try {
    while (true) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw new SaasbaseError(0, "network_error", `The answer's stream broke off: ${(err as Error)?.message ?? err}`);
      }
      const { value, done } = chunk;
      if (done) {
        ended = true;
        break;
      }
      buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n/g, "\n");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseBlock(block);
        if (event) yield event;
      }
    }
    buffer = (buffer + decoder.decode()).replace(/\r\n/g, "\n");
    if (buffer.trim()) {
      const last = parseBlock(buffer);
      if (last) yield last;
    }
  } finally {
    // Not read to its end: the consumer stopped, or an error is on its way out. Closing the body is what tells
    // the server the client left.
    if (!ended) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

function parseBlock(block: string): ChatEvent | undefined {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!EVENTS.has(event) || data.length === 0) return undefined; // comments, keep-alives, unknown events
  try {
    return { event, data: JSON.parse(data.join("\n")) } as ChatEvent;
  } catch {
    throw new SaasbaseError(502, "bad_response", `An unreadable ${event} event in the answer's stream`);
  }
}
