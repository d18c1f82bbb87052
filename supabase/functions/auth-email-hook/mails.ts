// What Supabase Auth's Send Email hook asks for, as the mails to send: its payload (`user` and `email_data`, as
// supabase/auth's internal/api/mail.go fills them) parsed with zod, and each mail's recipient, template, props
// and dedupe key. Pure: the handler sends them.
//
// The links are Auth's verify endpoint, `<SUPABASE_URL>/auth/v1/verify?token=<token_hash>&type=<action>&
// redirect_to=<redirect_to>`, what Auth's own mails link to. A secure email change (config.toml
// [auth.email] double_confirm_changes) is two mails: the current address gets `token` with `token_hash_new`,
// the new address `token_new` with `token_hash` (Auth's field names cross over there; see mail.go). Without it,
// one mail to the new address with `token` and `token_hash`.
import { z } from "zod";

export const hookPayload = z.object({
  user: z.object({
    id: z.guid(),
    email: z.string().nullish(),
    new_email: z.string().nullish(),
    user_metadata: z.record(z.string(), z.unknown()).nullish(),
  }),
  email_data: z.object({
    token: z.string().nullish(),
    token_hash: z.string().nullish(),
    redirect_to: z.string().nullish(),
    email_action_type: z.string().min(1),
    site_url: z.string().nullish(),
    token_new: z.string().nullish(),
    token_hash_new: z.string().nullish(),
  }),
});
export type HookPayload = z.infer<typeof hookPayload>;

/** The actions this hook mails, and their templates. Auth's security notifications (password_changed_notification
 * and the like) are not among them: the hook answers them without a mail (docs/notifications.md). */
export const ACTION_TEMPLATES: Record<string, string> = {
  signup: "auth_signup",
  magiclink: "auth_magiclink",
  // A one-time code sign-in (signInWithOtp without a link) reads as a magic link mail.
  email: "auth_magiclink",
  recovery: "auth_recovery",
  invite: "auth_invite",
  email_change: "auth_email_change",
  reauthentication: "auth_reauthentication",
};

export interface AuthMail {
  to: string;
  template: string;
  props: Record<string, unknown>;
  /** What makes it this mail (action, recipient, token hash): a retried or replayed hook call has the same. */
  dedupeSource: string;
}

/** The verify link of a token hash. */
export function verifyUrl(authUrl: string, tokenHash: string, action: string, redirectTo: string | null | undefined): string {
  const url = new URL(`${authUrl.replace(/\/+$/, "")}/verify`);
  url.searchParams.set("token", tokenHash);
  url.searchParams.set("type", action);
  if (redirectTo) url.searchParams.set("redirect_to", redirectTo);
  return url.href;
}

/** The mails a hook call asks for; [] for an action this hook does not mail. `authUrl` is Auth's public URL
 * (`<SUPABASE_URL>/auth/v1`, else the payload's site_url). */
export function mailsFor(payload: HookPayload, authUrl: string): AuthMail[] {
  const { user, email_data: d } = payload;
  const action = d.email_action_type;
  const template = ACTION_TEMPLATES[action];
  if (!template) return [];
  const email = user.email ?? "";
  const link = (hash: string | null | undefined) => verifyUrl(authUrl, hash ?? "", action, d.redirect_to);
  const mail = (to: string, token: string | null | undefined, hash: string | null | undefined, extra = {}): AuthMail => ({
    to,
    template,
    props: {
      email: to,
      token: token ?? "",
      ...(action === "reauthentication" ? {} : { confirmation_url: link(hash) }),
      ...extra,
    },
    dedupeSource: `${action}|${to.toLowerCase()}|${hash || token || ""}`,
  });
  if (action !== "email_change") return [mail(email, d.token, d.token_hash)];

  const newEmail = user.new_email ?? "";
  const change = { old_email: email, new_email: newEmail };
  if (d.token_hash_new && email) {
    return [
      mail(email, d.token, d.token_hash_new, change),
      mail(newEmail, d.token_new, d.token_hash, change),
    ];
  }
  return [mail(newEmail, d.token, d.token_hash, change)];
}
