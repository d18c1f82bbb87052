// The history routes (GET /chat/conversations, GET /chat/messages) and the conversation a message continues.
// Signed-in users and anonymous sessions read through the same SQL (saasbase.conversation_page): a user's as
// the caller (RLS applies), a session's by its hash.
import { z } from "zod";
import type { ChatTurn } from "../_shared/chat-logic.ts";
import { asCaller, db } from "../_shared/db.ts";
import { NotFoundError, ValidationError } from "../_shared/errors.ts";
import { json } from "../_shared/http.ts";
import { queryTime } from "../_shared/request.ts";
import { type Chatter, chatterOf, sessionId } from "./chatter.ts";

/** The most recent turns read for a conversation's context: buildContext keeps what fits the model, and a
 * conversation of thousands of turns must not be read whole for every message. */
const HISTORY_MESSAGES = 200;

/** The caller's conversation (404 when it is not theirs); with `withHistory`, also its latest turns the user
 * saw (complete, or stopped by them midway), oldest first, read in the same round trip. */
export async function findConversation(who: Chatter, id: string, withHistory = false) {
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

/** GET /chat/conversations[?session_id=&limit=&older_than=]: the caller's conversations, last message first. */
export async function conversations(req: Request): Promise<Response> {
  const q = params(req);
  const who = await chatterOf(req, q.session_id);
  const olderThan = q.older_than ?? null;
  const rows = who.kind === "user"
    ? await asCaller(who.caller, (tx) => tx`select * from public.list_conversations(${q.limit}, ${olderThan})`)
    : await db()`select * from public.service_role_list_conversations(${who.sessionHash}, ${q.limit}, ${olderThan})`;
  return json({ conversations: rows });
}

/** GET /chat/messages?conversation_id=[&session_id=&before=&limit=]: a page of messages, newest first. */
export async function messages(req: Request): Promise<Response> {
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
