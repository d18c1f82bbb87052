// The chat function's Server-Sent Events, parsed into typed events (the format is documented in
// supabase/functions/chat/handler.ts and the README).

export interface ChatMeta {
  conversation_id: string;
  provider: string;
  model: string;
  /** Credits held for the worst case until the answer is settled. */
  reserved: number;
}

export interface ChatDone {
  message_id: number;
  usage: { prompt_tokens: number; completion_tokens: number };
  credits_charged: number;
  /** The balance after settling; null for anonymous chat. */
  balance: number | null;
}

export type ChatEvent =
  | { event: "meta"; data: ChatMeta }
  | { event: "token"; data: { content: string } }
  | { event: "done"; data: ChatDone }
  /** The answer broke off after it started; nothing was charged. */
  | { event: "error"; data: { code: string; message: string } };

const EVENTS = new Set(["meta", "token", "done", "error"]);

/** Yields the events of a chat response body as they arrive (a block per event, separated by a blank line). */
export async function* readChatStream(body: ReadableStream<Uint8Array>): AsyncGenerator<ChatEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n/g, "\n");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseBlock(block);
        if (event) yield event;
      }
    }
    const last = parseBlock(buffer);
    if (last) yield last;
  } finally {
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
  return { event, data: JSON.parse(data.join("\n")) } as ChatEvent;
}
