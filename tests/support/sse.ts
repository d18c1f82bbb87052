// The chat function's Server-Sent Events as tests read them: whole, after the response ended (the client SDK's
// streaming reader is src/client/chat-stream.ts).

export interface SseEvent {
  event: string;
  data: any;
}

/** The events of a whole SSE body (each `data:` is one JSON line). */
export function parseSse(text: string): SseEvent[] {
  return text.split("\n\n").filter((b) => b.trim()).map((block) => ({
    event: /^event: (.*)$/m.exec(block)?.[1] ?? "message",
    data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null"),
  }));
}

/** A response's events, read whole as the frontend's stream reader would ([] when it is no event stream). */
export async function readSse(res: Response): Promise<SseEvent[]> {
  if (!res.headers.get("content-type")?.includes("text/event-stream")) return [];
  return parseSse(await res.text());
}
