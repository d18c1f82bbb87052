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
// Signed-in users pay per message (persona price + model rate per 1,000 tokens): the worst case is reserved
// before the model is called (held by the server: the user cannot close it) and settled at the real usage
// after; a failed answer is released.
// With the anon key and a client session_id, chat is free within the config's daily allowance.
//
// GET /chat/conversations[?session_id=&limit=&older_than=]   the caller's conversations, last message first
// GET /chat/messages?conversation_id=[&session_id=&before=&limit=]   a page of messages, newest first
import { z } from "zod";
import { type Caller, callerOf } from "../_shared/auth.ts";
import { NoProviderError, openStream, type Usage } from "../_shared/ai.ts";
import {
  buildContext,
  type ChatTurn,
  estimateTokens,
  messageCost,
  titleFrom,
  worstCaseCost,
} from "../_shared/chat-logic.ts";
import { config } from "../_shared/config.ts";
import { asCaller, db } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import {
  AppError,
  ConflictError,
  MethodNotAllowedError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { idempotencyKeyHeader, queryTime, readJson } from "../_shared/request.ts";
import { corsHeaders } from "../_shared/cors.ts";
import type { ReservationHold } from "../_shared/sql-results.ts";

const sessionId = z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, "16 to 128 letters, digits, - or _");

const chatBody = z.object({
  message: z.string().trim().min(1).max(32_000),
  conversation_id: z.uuid().optional(),
  persona: z.string().min(1).max(63).optional(),
  model: z.string().min(1).max(100).optional(),
  session_id: sessionId.optional(),
});

/** Who is chatting: a signed-in user, or an anonymous session (anon key + session id, stored hashed). */
type Chatter = { kind: "user"; caller: Caller & { userId: string } } | { kind: "anon"; sessionHash: string };

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function chatterOf(req: Request, session: string | null | undefined): Promise<Chatter> {
  const caller = await callerOf(req);
  if (caller.role === "authenticated" && caller.userId) {
    return { kind: "user", caller: { ...caller, userId: caller.userId } };
  }
  if (caller.role === "anon") {
    const parsed = sessionId.safeParse(session);
    if (!parsed.success) {
      throw new ValidationError("Anonymous chat needs a session_id", [{
        path: "session_id",
        message: parsed.error.issues[0].message,
      }]);
    }
    return { kind: "anon", sessionHash: await sha256(parsed.data) };
  }
  throw new UnauthorizedError(
    "Chat as a signed-in user, or with the anon key and a session_id",
    "user_or_session_required",
  );
}

/** The most recent turns read for a conversation's context: buildContext keeps what fits the model, and a
 * conversation of thousands of turns must not be read whole for every message. */
const HISTORY_MESSAGES = 200;

/** The caller's conversation (404 when it is not theirs); with `withHistory`, also its latest turns the user
 * saw (complete, or stopped by them midway), oldest first, read in the same round trip. */
async function findConversation(who: Chatter, id: string, withHistory = false) {
  const sql = db();
  const owner = who.kind === "user"
    ? sql`c.user_id = ${who.caller.userId}`
    : sql`c.anon_session_hash = ${who.sessionHash}`;
  const rows = withHistory
    ? await sql`select c.id, c.persona, m.role, m.content from public.conversations c
        left join lateral (
          select m.id, m.role, m.content from public.messages m
          where m.conversation_id = c.id and m.status in ('complete', 'stopped')
          order by m.id desc limit ${HISTORY_MESSAGES}
        ) m on true
        where c.id = ${id} and ${owner} order by m.id`
    : await sql`select c.id, c.persona from public.conversations c where c.id = ${id} and ${owner}`;
  if (rows.length === 0) throw new NotFoundError("No such conversation", "conversation_not_found");
  const history: ChatTurn[] = rows.filter((r) => r.role).map((r) => ({ role: r.role, content: r.content }));
  return { id: rows[0].id as string, persona: rows[0].persona as string, history };
}

function sse(event: string, data: unknown): Uint8Array {
  return new TextEncoder().encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

async function chat(req: Request): Promise<Response> {
  const idempotencyKey = idempotencyKeyHeader(req);
  const body = await readJson(req, chatBody);
  const who = await chatterOf(req, body.session_id);
  const existing = body.conversation_id ? await findConversation(who, body.conversation_id, true) : undefined;

  // The persona asked for must exist; a conversation's own may have left the config since (or be the
  // table's default): the default persona takes over.
  const byId = (id: string | undefined) => config.personas.find((p) => p.id === id);
  const persona = body.persona !== undefined
    ? byId(body.persona)
    : byId(existing?.persona) ?? byId(config.defaultPersona);
  if (!persona) {
    throw new ValidationError(`Unknown persona ${body.persona}`, [{ path: "persona", message: "unknown" }]);
  }
  const modelId = body.model ?? persona.model ?? config.ai.defaultModel;
  const modelById = (id: string) => config.ai.providers.flatMap((p) => p.models).find((m) => m.id === id);
  const model = modelById(modelId);
  if (!model) throw new ValidationError(`Unknown model ${modelId}`, [{ path: "model", message: "unknown" }]);

  const context = buildContext(persona.systemPrompt, existing?.history ?? [], body.message, model);

  // Money first: nothing is written, and no model is called, for a caller who cannot pay.
  // A visitor's message counts against the anonymous allowances (per visitor, and the day's total): an
  // anonymous session's, and an anonymous sign-in's (GoTrue's is_anonymous) as well, so minting anonymous
  // users buys no more chat than new session ids do.
  const visitor = who.kind === "anon"
    ? who.sessionHash
    : who.caller.claims.is_anonymous === true
    ? await sha256(`user:${who.caller.userId}`)
    : undefined;
  if (visitor) await dbCall(db()`select public.service_role_take_anon_chat(${visitor})`);
  const returnVisit = async () => {
    if (visitor) await db()`select public.service_role_return_anon_chat(${visitor})`;
  };
  let reservation: ReservationHold | undefined;
  if (who.kind === "user") {
    const worst = worstCaseCost(
      persona.creditsPerMessage,
      model.creditsPer1kTokens,
      context.promptTokens,
      model.maxOutputTokens,
    );
    // Held by the server for the user: only this function settles or releases it (a user who could release
    // it mid-answer would chat free).
    // An Idempotency-Key makes a resent message (a retry after a dropped connection) a 409 instead of a
    // second answer paid twice, while the first is being answered or was answered; a message that got no
    // answer (its reservation released: no provider, the client gone first) may be sent again under it.
    // Without a key every request is a new message. (The key is hashed: any 200 characters fit the ledger's.)
    try {
      let key = `chat:${idempotencyKey ? await sha256(idempotencyKey) : crypto.randomUUID()}`;
      for (let attempt = 0; !reservation; attempt++) {
        const [row] = await dbCall(
          db()`select to_jsonb(public.service_role_reserve_credits(${who.caller.userId}, 'chat', 1, ${key},
            ${worst})) as r`,
        );
        const r = row.r as ReservationHold;
        if (!r.replayed) reservation = r;
        // No answer came of it: released, or left open by a function that died (past its lifetime).
        else if (
          (r.status === "released" || (r.status === "open" && Date.parse(r.expires_at) <= Date.now())) &&
          attempt < 20
        ) key = `${key.slice(0, 69)}:${r.reservation_id}`;
        else {
          throw new ConflictError(
            "This Idempotency-Key was used for a message already; send a new message with a new key",
            "idempotency_conflict",
          );
        }
      }
    } catch (err) {
      await returnVisit();
      throw err;
    }
  }
  const user = who.kind === "user" ? who : undefined;
  const giveBack = async () => {
    if (user && reservation) {
      await db()`select public.service_role_release_reservation(${user.caller.userId}, ${reservation.reservation_id})`;
    }
    await returnVisit();
  };

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
    );
  } catch (err) {
    await giveBack();
    if (err instanceof NoProviderError) {
      console.error(err.message);
      throw new AppError(
        502,
        "ai_unavailable",
        "No AI provider answered; nothing was charged. Try again shortly.",
      );
    }
    throw err; // the client went away: nothing to answer
  }

  const servedModel = modelById(stream.model) ?? model;

  // A new conversation is written with its first exchange, at the end: no database work before the first
  // token but the reservation.
  const conversationId = existing?.id ?? crypto.randomUUID();

  /** Stores the exchange (and a new conversation); for a complete or stopped answer also settles the reservation
   * at the cost of what was answered: one statement, so one transaction
   * (public.service_role_record_chat_exchange). */
  const record = async (
    answer: string,
    usage: Usage | undefined,
    status: "complete" | "stopped" | "failed",
  ) => {
    // What a model sends is stored as text: a NUL (which no Postgres text holds) or a lone surrogate would
    // make the write fail, and the answer the user already has go unpaid.
    answer = answer.replaceAll("\u0000", "\uFFFD").toWellFormed();
    const promptTokens = usage?.promptTokens ?? context.promptTokens;
    const completionTokens = usage?.completionTokens ?? estimateTokens(answer);
    const cost = status === "failed"
      ? 0
      // At the rate of the model that answered (a fallback provider's may differ); never past the reservation.
      : messageCost(
        persona.creditsPerMessage,
        servedModel.creditsPer1kTokens,
        promptTokens + completionTokens,
      );
    const [{ r }] =
      await db()`select public.service_role_record_chat_exchange(${conversationId}, ${!existing},
      ${user?.caller.userId ?? null}, ${who.kind === "anon" ? who.sessionHash : null}, ${
        titleFrom(body.message)
      },
      ${persona.id}, ${stream.provider}, ${stream.model}, ${body.message}, ${answer}, ${status}, ${promptTokens},
      ${completionTokens}, ${reservation?.reservation_id ?? null}, ${cost}) as r`;
    return {
      messageId: r.message_id,
      promptTokens,
      completionTokens,
      charged: Number(r.credits_charged),
      balance: r.balance === null ? null : Number(r.balance),
    };
  };

  const body$ = new ReadableStream<Uint8Array>({
    async start(controller) {
      let answer = stream.first;
      let done;
      try {
        // The meta event and the first token in one write: one chunk through every hop to the client.
        const meta = sse("meta", {
          conversation_id: conversationId,
          provider: stream.provider,
          model: stream.model,
          reserved: reservation?.amount ?? 0,
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
        done = await record(answer, next.value, "complete");
      } catch (err) {
        if (upstream.signal.aborted) {
          // The client left after content reached it (the user pressed stop): it pays for what it got, at the
          // tokens sent so far, never the worst case held.
          await record(answer, undefined, "stopped").catch(async (e) => {
            console.error("record failed", e);
            await giveBack().catch((e) => console.error("release failed", e));
          });
          return;
        }
        // The provider broke off or went quiet: the user pays nothing for a broken answer.
        console.error("stream failed", err);
        await giveBack().catch((e) => console.error("release failed", e));
        await record(answer, undefined, "failed").catch((e) => console.error("record failed", e));
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
          message_id: done.messageId,
          usage: { prompt_tokens: done.promptTokens, completion_tokens: done.completionTokens },
          credits_charged: done.charged,
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

  return new Response(body$, {
    headers: {
      ...corsHeaders,
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-conversation-id": conversationId,
    },
  });
}

const pageParams = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  session_id: sessionId.optional(),
  conversation_id: z.uuid().optional(),
  older_than: queryTime.optional(),
  before: z.coerce.number().int().positive().optional(),
});

function params(req: Request) {
  const parsed = pageParams.safeParse(Object.fromEntries(new URL(req.url).searchParams));
  if (!parsed.success) {
    throw new ValidationError(
      "Invalid query",
      parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    );
  }
  return parsed.data;
}

async function conversations(req: Request): Promise<Response> {
  const q = params(req);
  const who = await chatterOf(req, q.session_id);
  const rows = who.kind === "user"
    ? await asCaller(
      who.caller,
      (tx) => tx`select * from public.list_conversations(${q.limit}, ${q.older_than ?? null})`,
    )
    : await db()`
        select c.id, c.title, c.persona, c.message_count, c.last_message_at, c.created_at, m.role as last_message_role,
          left(m.content, 500) as last_message
        from public.conversations c
        left join lateral (select x.role, x.content from public.messages x where x.conversation_id = c.id order by x.id desc limit 1) m on true
        where c.anon_session_hash = ${who.sessionHash}
          and (${q.older_than ?? null}::timestamptz is null or coalesce(c.last_message_at, c.created_at) < ${
      q.older_than ?? null
    }::timestamptz)
        order by coalesce(c.last_message_at, c.created_at) desc limit ${q.limit}`;
  return json({ conversations: rows });
}

async function messages(req: Request): Promise<Response> {
  const q = params(req);
  if (!q.conversation_id) {
    throw new ValidationError("conversation_id is required", [{
      path: "conversation_id",
      message: "required",
    }]);
  }
  const who = await chatterOf(req, q.session_id);
  await findConversation(who, q.conversation_id);
  const rows = await db()`
    select id, role, content, status, persona, model, prompt_tokens, completion_tokens, credits_consumed, created_at
    from public.messages
    where conversation_id = ${q.conversation_id} and (${q.before ?? null}::bigint is null or id < ${
    q.before ?? null
  }::bigint)
    order by id desc limit ${q.limit}`;
  // bigint columns arrive from the driver as strings: numbers in the JSON, as the other routes give them.
  const messages = rows.map((m) => ({
    ...m,
    id: Number(m.id),
    credits_consumed: Number(m.credits_consumed),
  }));
  return json({
    messages,
    next_before: messages.length === q.limit ? messages[messages.length - 1].id : null,
  });
}

export const handler = withHttp(async (req) => {
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
});
