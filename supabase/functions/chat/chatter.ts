// Who is chatting (a signed-in user, or an anonymous session), and with which persona and model.
import { z } from "zod";
import { callerAccount } from "../_shared/account.ts";
import { type Caller, callerOf } from "../_shared/auth.ts";
import { config } from "../_shared/config.ts";
import { UnauthorizedError, ValidationError } from "../_shared/errors.ts";

export const sessionId = z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, "16 to 128 letters, digits, - or _");

/** Who is chatting: a signed-in user, or an anonymous session (anon key + session id, stored hashed). A user's
 * messages are paid from `account` (X-Account-Id: a team they belong to; null: their personal account), checked
 * by the SQL API; their conversations stay their own whichever account pays. */
export type Chatter =
  | { kind: "user"; caller: Caller & { userId: string }; account: string | null }
  | { kind: "anon"; sessionHash: string };

export async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function chatterOf(req: Request, session: string | null | undefined): Promise<Chatter> {
  const caller = await callerOf(req);
  if (caller.role === "authenticated" && caller.userId) {
    return { kind: "user", caller: { ...caller, userId: caller.userId }, account: callerAccount(req, caller) };
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

/** A visitor's message counts against the anonymous allowances (per visitor, and the day's total): an
 * anonymous session's, and an anonymous sign-in's (GoTrue's is_anonymous) as well, so minting anonymous users
 * buys no more chat than new session ids do. The visitor's key, or undefined for an account. */
export async function visitorOf(who: Chatter): Promise<string | undefined> {
  if (who.kind === "anon") return who.sessionHash;
  return who.caller.claims.is_anonymous === true ? await sha256(`user:${who.caller.userId}`) : undefined;
}

export type Persona = (typeof config.personas)[number];
export type Model = (typeof config.ai.providers)[number]["models"][number];

export const modelById = (id: string): Model | undefined =>
  config.ai.providers.flatMap((p) => p.models).find((m) => m.id === id);

/** The persona asked for must exist; a conversation's own may have left the config since (or be the table's
 * default): the default persona takes over. The model: the one asked for, the persona's, or the default. */
export function personaAndModel(asked: { persona?: string; model?: string }, conversationPersona?: string) {
  const byId = (id: string | undefined) => config.personas.find((p) => p.id === id);
  const persona = asked.persona !== undefined
    ? byId(asked.persona)
    : byId(conversationPersona) ?? byId(config.defaultPersona);
  if (!persona) {
    throw new ValidationError(`Unknown persona ${asked.persona}`, [{ path: "persona", message: "unknown" }]);
  }
  const modelId = asked.model ?? persona.model ?? config.ai.defaultModel;
  const model = modelById(modelId);
  if (!model) throw new ValidationError(`Unknown model ${modelId}`, [{ path: "model", message: "unknown" }]);
  return { persona, model };
}
