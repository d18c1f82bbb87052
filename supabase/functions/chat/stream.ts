// The answer as Server-Sent Events, and its record: the exchange stored and paid in one statement
// (service_role_record_chat_exchange) when it ends complete or stopped by the client; stored as failed, and the
// hold given back, when the provider breaks off.
import type { Attempt, OpenStream, Usage } from "../_shared/ai.ts";
import { promptTokens } from "../_shared/chat-logic.ts";
import { corsHeaders } from "../_shared/cors.ts";
import { db } from "../_shared/db.ts";
import type { ChatExchange } from "../_shared/sql-results.ts";
import { tokenCounter } from "../_shared/token-count.ts";
import type { Chatter, Persona } from "./chatter.ts";
import type { Held } from "./reservation.ts";

function sse(event: string, data: unknown): Uint8Array {
  return new TextEncoder().encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export interface Exchange {
  who: Chatter;
  conversationId: string;
  newConversation: boolean;
  title: string;
  persona: Persona;
  question: string;
  /** What the provider was sent (the served model's count bounds a stopped answer's prompt). */
  context: { role: "system" | "user" | "assistant"; content: string }[];
  held: Held | undefined;
}

/** The tokens the answer is paid for: the provider's usage when it reported one, else the prompt and the text
 * delivered counted as the served model bills them. SQL prices them at the served model's rate (a fallback's
 * may differ): service_role_record_chat_exchange. */
async function tokens(x: Exchange, served: Attempt, answer: string, usage: Usage | undefined) {
  const count = await tokenCounter(served.served.id);
  const prompt = usage?.promptTokens ?? promptTokens(x.context, count);
  const completion = usage?.completionTokens ?? count.text(answer);
  return { prompt, completion };
}

/** Stores the exchange (and a new conversation); for a complete or stopped answer also settles the reservation
 * at its cost, past the hold if need be (see service_role_record_chat_exchange; a failed one is not charged). */
async function record(
  x: Exchange,
  stream: OpenStream,
  served: Attempt,
  answer: string,
  usage: Usage | undefined,
  status: "complete" | "stopped" | "failed",
) {
  // What a model sends is stored as text: a NUL (which no Postgres text holds) or a lone surrogate would
  // make the write fail, and the answer the user already has go unpaid.
  answer = answer.replaceAll("\u0000", "\uFFFD").toWellFormed();
  const { prompt, completion } = await tokens(x, served, answer, usage);
  const userId = x.who.kind === "user" ? x.who.caller.userId : null;
  const account = x.who.kind === "user" ? x.who.account : null;
  const anonHash = x.who.kind === "anon" ? x.who.sessionHash : null;
  const [{ r }] = await db()`select to_jsonb(public.service_role_record_chat_exchange(${x.conversationId},
    ${x.newConversation}, ${userId}, ${anonHash}, ${x.title}, ${x.persona.id}, ${stream.provider}, ${stream.model},
    ${x.question}, ${answer}, ${status}, ${prompt}, ${completion}, ${x.held?.hold.reservation_id ?? null}, ${account})) as r`;
  const done = r as ChatExchange;
  if (done.credits_unpaid > 0) {
    console.error(`answer ${done.message_id} cost ${done.credits_unpaid} credits more than the wallet held`);
  }
  return { ...done, prompt, completion };
}

/**
 * The SSE response for an open answer: meta and the first token in one write, each further piece as it comes,
 * then `done` (stored and paid) or `error` (the provider broke off: stored as failed, nothing paid). A client
 * that leaves after content reached it (a stop button) pays for what it got. `stopLease` ends the reservation's
 * renewals once the answer is recorded; `giveBack` returns the hold and a visitor's allowance.
 */
export function answerStream(
  x: Exchange,
  stream: OpenStream,
  served: Attempt,
  upstream: AbortController,
  stopLease: () => void,
  giveBack: () => Promise<void>,
): Response {
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      let answer = stream.first;
      let done;
      try {
        const meta = sse("meta", {
          conversation_id: x.conversationId,
          provider: stream.provider,
          model: stream.model,
          reserved: x.held?.hold.amount ?? 0,
        });
        const first = sse("token", { content: stream.first });
        const opening = new Uint8Array(meta.length + first.length);
        opening.set(meta);
        opening.set(first, meta.length);
        controller.enqueue(opening);
        let next = await stream.rest.next();
        while (!next.done) {
          answer += next.value;
          controller.enqueue(sse("token", { content: next.value }));
          next = await stream.rest.next();
        }
        done = await record(x, stream, served, answer, next.value, "complete").finally(stopLease);
      } catch (err) {
        if (upstream.signal.aborted) {
          // The client left after content reached it (the user pressed stop): it pays for what it got, at the
          // tokens sent so far, never the worst case held.
          await record(x, stream, served, answer, undefined, "stopped").catch(async (e) => {
            console.error("record failed", e);
            await giveBack().catch((e) => console.error("release failed", e));
          }).finally(stopLease);
          return;
        }
        // The provider broke off or went quiet: the user pays nothing for a broken answer.
        console.error("stream failed", err);
        stopLease();
        await giveBack().catch((e) => console.error("release failed", e));
        await record(x, stream, served, answer, undefined, "failed").catch((e) => console.error("record failed", e));
        try {
          controller.enqueue(
            sse("error", { code: "ai_stream_failed", message: "The answer broke off; nothing was charged." }),
          );
          controller.close();
        } catch { /* the client is gone too */ }
        return;
      }
      try {
        controller.enqueue(sse("done", {
          message_id: done.message_id,
          usage: { prompt_tokens: done.prompt, completion_tokens: done.completion },
          credits_charged: done.credits_charged,
          balance: done.balance,
        }));
        controller.close();
      } catch {
        /* the client left after the last token: the answer is stored and paid, nothing is left to do */
      }
    },
    cancel() {
      upstream.abort(new DOMException("client disconnected", "AbortError"));
    },
  });

  return new Response(body, {
    headers: {
      ...corsHeaders,
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-conversation-id": x.conversationId,
    },
  });
}
