// The chat function's Server-Sent Events, parsed into typed events (the format is documented in
// supabase/functions/chat/handler.ts and docs/chat.md).

export interface ChatMeta {
  conversation_id: string;
  provider: string;
  model: string;
  /** Credits held for the worst case until the answer is settled. */
  reserved: number;
}

/** The answer stored and paid: service_role_record_chat_exchange's result (message_id null when the conversation
 * was deleted while the answer streamed: paid, not stored; balance null for anonymous chat), with the usage. */
export type ChatDone = Pick<ChatExchange, "message_id" | "credits_charged" | "balance"> & {
  usage: { prompt_tokens: number; completion_tokens: number };
};

export type ChatEvent =
  | { event: "meta"; data: ChatMeta }
  | { event: "token"; data: { content: string } }
  | { event: "done"; data: ChatDone }
  /** The answer broke off after it started (the provider failed or went quiet); nothing was charged. */
  | { event: "error"; data: { code: string; message: string } };

import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { ChatExchange } from "../../supabase/functions/_shared/sql-results.ts";
import { SaasbaseError } from "./errors.ts";

const EVENTS = new Set(["meta", "token", "done", "error"]);

/** Yields the events of a chat response body as they arrive (parsed by eventsource-parser, as the Server-Sent
 * Events standard reads them). Leaving the loop early (a stop button: `break`) closes the stream, so the server
 * stops the answer and charges only what was received. A connection lost midway, or the caller's abort, throws
 * a SaasbaseError with code network_error. */
export async function* readChatStream(body: ReadableStream<Uint8Array>): AsyncGenerator<ChatEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parsed: EventSourceMessage[] = [];
  // Comments (keep-alives) and unknown fields are skipped by the parser.
  const parser = createParser({ onEvent: (message) => parsed.push(message) });
  let ended = false;
  try {
    while (!ended) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw new SaasbaseError(0, "network_error", `The answer's stream broke off: ${(err as Error)?.message ?? err}`);
      }
      if (chunk.done) {
        ended = true;
        // The server's last event is whole once the body ends, even without its closing blank line.
        parser.feed(`${decoder.decode()}\n\n`);
      } else {
        parser.feed(decoder.decode(chunk.value, { stream: true }));
      }
      while (parsed.length) {
        const event = chatEvent(parsed.shift()!);
        if (event) yield event;
      }
    }
  } finally {
    // Not read to its end: the consumer stopped, or an error is on its way out. Closing the body is what tells
    // the server the client left.
    if (!ended) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

function chatEvent(message: EventSourceMessage): ChatEvent | undefined {
  const event = message.event ?? "message";
  if (!EVENTS.has(event)) return undefined; // pings, unknown events
  try {
    return { event, data: JSON.parse(message.data) } as ChatEvent;
  } catch {
    throw new SaasbaseError(502, "bad_response", `An unreadable ${event} event in the answer's stream`);
  }
}
