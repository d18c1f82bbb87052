// Every mail the product sends, by template name (the `template` column of public.email_outbox), and the one
// call that turns a queued row into a mail: renderEmail(template, payload, { locale, config }). The send-email
// worker and the auth-email-hook function call it; `npm run email:preview` renders each for a browser.
//
// Errors are permanent for that row (retrying renders the same): UnknownTemplateError for a name not listed
// here, TemplatePropsError for a payload its template refuses (a missing accept_url, a `javascript:` link).
// Both extend TemplateError.
import type { z } from "zod";
import type { ProductConfig } from "../../config-schema.ts";
import { COMMON, Formatter, type Language, pickLanguage } from "./i18n.ts";
import { type Content, renderHtml, renderText } from "./layout.ts";
import type { Category, TemplateDefinition } from "./define.ts";

import authEmailChange from "./auth-email-change.ts";
import authInvite from "./auth-invite.ts";
import authMagiclink from "./auth-magiclink.ts";
import authReauthentication from "./auth-reauthentication.ts";
import authRecovery from "./auth-recovery.ts";
import authSignup from "./auth-signup.ts";
import cashoutPaid from "./cashout-paid.ts";
import creditsLow from "./credits-low.ts";
import freeLimitReached from "./free-limit-reached.ts";
import licenseExpiring from "./license-expiring.ts";
import licenseIssued from "./license-issued.ts";
import paymentFailed from "./payment-failed.ts";
import receipt from "./receipt.ts";
import referralReward from "./referral-reward.ts";
import subscriptionCancelled from "./subscription-cancelled.ts";
import subscriptionChanged from "./subscription-changed.ts";
import subscriptionStarted from "./subscription-started.ts";
import teamInvitation from "./team-invitation.ts";
import welcome from "./welcome.ts";

export type { Category } from "./define.ts";
export { escapeHtml } from "./layout.ts";

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
  category: Category;
}

export interface RenderContext {
  /** The recipient's language (public.profiles.language); null or unknown: English. */
  locale?: string | null;
  /** The product config: its name, URL and support address go into every mail. */
  config: Pick<ProductConfig, "product">;
  /** The one-click unsubscribe link (email's signed token); shown on notification mail only. */
  unsubscribeUrl?: string;
}

export class TemplateError extends Error {
  constructor(message: string, readonly template: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** No template by that name: the row names a template this version of the code does not have. */
export class UnknownTemplateError extends TemplateError {
  constructor(template: string) {
    super(`No email template "${template}"`, template);
  }
}

/** The payload does not give the template what it needs; `issues` names each bad field. */
export class TemplatePropsError extends TemplateError {
  constructor(template: string, readonly issues: { path: string; message: string }[]) {
    super(
      `Email template "${template}" refused its payload: ${issues.map((i) => `${i.path || "(payload)"}: ${i.message}`).join("; ")}`,
      template,
    );
  }
}

// deno-lint-ignore no-explicit-any
type AnyTemplate = TemplateDefinition<any>;

const ALL: AnyTemplate[] = [
  welcome,
  receipt,
  paymentFailed,
  subscriptionStarted,
  subscriptionChanged,
  subscriptionCancelled,
  freeLimitReached,
  creditsLow,
  teamInvitation,
  referralReward,
  cashoutPaid,
  licenseIssued,
  licenseExpiring,
  authSignup,
  authMagiclink,
  authRecovery,
  authEmailChange,
  authInvite,
  authReauthentication,
];

/** The templates by name. */
export const templates: ReadonlyMap<string, AnyTemplate> = new Map(ALL.map((t) => [t.name, t]));

/** The template names, in the order above. */
export const templateNames: readonly string[] = ALL.map((t) => t.name);

/** The languages a template is written in (English first). */
export function templateLanguages(template: string): Language[] {
  const t = templates.get(template);
  if (!t) throw new UnknownTemplateError(template);
  return Object.keys(t.copy) as Language[];
}

/** Renders one mail: the template's props validated, its wording in the reader's language, both parts. */
export function renderEmail(template: string, payload: unknown, ctx: RenderContext): RenderedEmail {
  const t = templates.get(template);
  if (!t) throw new UnknownTemplateError(template);
  const parsed = (t.props as z.ZodType).safeParse(payload ?? {});
  if (!parsed.success) {
    throw new TemplatePropsError(
      template,
      parsed.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })),
    );
  }
  const language = pickLanguage(ctx.locale, Object.keys(t.copy) as Language[]);
  const common = COMMON[language];
  const product = ctx.config.product;
  const copy = t.copy[language] ?? t.copy.en;
  const content: Content = copy(parsed.data, {
    product: { name: product.name, url: product.url, supportEmail: product.supportEmail },
    f: new Formatter(language),
    hello: common.hello,
    notYou: common.notYou,
  });
  const chrome = {
    locale: language,
    productName: product.name,
    productUrl: product.url,
    supportEmail: product.supportEmail,
    supportLine: common.supportLine(product.supportEmail),
    buttonFallback: common.buttonFallback,
    unsubscribe: t.category === "notification" && ctx.unsubscribeUrl
      ? { label: common.unsubscribe, url: ctx.unsubscribeUrl }
      : undefined,
  };
  // Subjects are one line: a newline from a prop must not reach a mail header.
  const subject = content.subject.replace(/[\r\n]+/g, " ").trim();
  return {
    subject,
    html: renderHtml({ ...content, subject }, chrome),
    text: renderText(content, chrome),
    category: t.category,
  };
}
