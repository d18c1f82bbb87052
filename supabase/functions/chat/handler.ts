// The metered AI chat gateway.
//
// POST /chat { message, conversation_id?, persona?, model?, session_id? } answers with Server-Sent Events:
//   event: meta    data: { conversation_id, provider, model, reserved }         once, first
//   event: token   data: { content }                                           each piece of the answer
//   event: done    data: { message_id, usage: { prompt_tokens, completion_tokens }, credits_charged, balance }
//   event: error   data: { code, message }                                     the answer broke off (not charged)
// A client that closes the stream midway (a stop button) pays for what it received; one gone before any
// content pays nothing.
// Before the stream starts, errors are JSON: 401, 402 insufficient_credits, 404 conversation_not_found,
// 422 invalid input, 429 rate_limited, 502 ai_unavailable (every provider failed; nothing charged).
// Signed-in users pay per message (persona price + model rate per 1,000 tokens): the worst case of every
// provider that may answer is reserved before the model is called (held by the server: the user cannot close
// it, and kept alive while the answer streams) and settled at the real usage after; a failed answer is released.
// With the anon key and a client session_id, chat is free within the config's daily allowance.
//
// GET /chat/conversations, GET /chat/messages: history.ts.
import { z } from "zod";
import { NoProviderError, openStream, providerPlan } from "../_shared/ai.ts";
import { buildContext, titleFrom } from "../_shared/chat-logic.ts";
import { config } from "../_shared/config.ts";
import { db } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import { AppError, MethodNotAllowedError, NotFoundError } from "../_shared/errors.ts";
import { withHttp } from "../_shared/http.ts";
import { idempotencyKeyHeader, readJson } from "../_shared/request.ts";
import { fallbackOrder, runtimeSettings, withMaintenance } from "../_shared/runtime-settings.ts";
import { tokenCounter } from "../_shared/token-count.ts";
import { chatterOf, personaAndModel, sessionId, visitorOf } from "./chatter.ts";
import { conversations, findConversation, messages } from "./history.ts";
import { giveBack, type Held, keepAlive, reserve } from "./reservation.ts";
import { answerStream } from "./stream.ts";

const chatBody = z.object({
  message: z.string().trim().min(1).max(32_000),
  conversation_id: z.uuid().optional(),
  persona: z.string().min(1).max(63).optional(),
  model: z.string().min(1).max(100).optional(),
  session_id: sessionId.optional(),
});

async function chat(req: Request): Promise<Response> {
  const idempotencyKey = idempotencyKeyHeader(req);
  const body = await readJson(req, chatBody);

  // Who is chatting, with which persona and model, in which conversation.
  const who = await chatterOf(req, body.session_id);
  const existing = body.conversation_id ? await findConversation(who, body.conversation_id, true) : undefined;
  const { persona, model } = personaAndModel(body, existing?.persona);
  const context = buildContext(
    persona.systemPrompt,
    existing?.history ?? [],
    body.message,
    model,
    await tokenCounter(model.id),
  );

  // Money first: nothing is written, and no model is called, for a caller who cannot pay.
  const visitor = await visitorOf(who);
  if (visitor) await dbCall(db()`select public.service_role_take_anon_chat(${visitor})`);
  let held: Held | undefined;
  // The fallback order in force (a runtime setting: an admin routes around a provider without a deploy).
  let plan = providerPlan(config, model.id, model.maxOutputTokens, fallbackOrder(config, await runtimeSettings()));
  try {
    if (who.kind === "user") {
      held = await reserve(who, idempotencyKey, persona, plan, context.messages);
      plan = held.plan;
    }
  } catch (err) {
    await giveBack(who, visitor, undefined)();
    throw err;
  }
  const release = giveBack(who, visitor, held);
  const stopLease = who.kind === "user" && held ? keepAlive(who, held.hold) : () => {};

  // Open the model's stream before answering: until the first token, failures are plain JSON errors.
  const upstream = new AbortController();
  const clientGone = () => upstream.abort(new DOMException("client disconnected", "AbortError"));
  req.signal.addEventListener("abort", clientGone);
  if (req.signal.aborted) clientGone(); // gone while the reservation was made: no model is called

  let stream;
  try {
    stream = await openStream(
      config,
      (n) => Deno.env.get(n),
      model.id,
      context.messages,
      model.maxOutputTokens,
      upstream.signal,
      undefined,
      undefined,
      plan,
    );
  } catch (err) {
    stopLease();
    await release();
    if (err instanceof NoProviderError) {
      console.error(err.message);
      throw new AppError(502, "ai_unavailable", "No AI provider answered; nothing was charged. Try again shortly.");
    }
    throw err; // the client went away: nothing to answer
  }
  const served = plan.find((a) => a.provider.id === stream.provider)!;

  // A new conversation is written with its first exchange, at the end: no database work before the first
  // token but the reservation.
  return answerStream(
    {
      who,
      conversationId: existing?.id ?? crypto.randomUUID(),
      newConversation: !existing,
      title: titleFrom(body.message),
      persona,
      question: body.message,
      context: context.messages,
      held,
    },
    stream,
    served,
    upstream,
    stopLease,
    release,
  );
}

export const handler = withHttp(withMaintenance(config, async (req) => {
  const route = new URL(req.url).pathname.replace(/^.*?\/chat/, "").replace(/\/$/, "");
  if (route === "") {
    if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
    return await chat(req);
  }
  if (route === "/conversations" || route === "/messages") {
    if (req.method !== "GET") throw new MethodNotAllowedError(req.method);
    return route === "/conversations" ? await conversations(req) : await messages(req);
  }
  throw new NotFoundError(`No route ${route}`, "route_not_found");
}));
