// What a template is: its props (a zod schema: the payload a row of public.email_outbox carries, snake_case as
// the SQL writes it), its wording per language (English required), whether a reader may unsubscribe from it,
// and an example payload (for the preview and the tests). A template file exports one `defineTemplate(...)`.
import { z } from "zod";
import type { Content } from "./layout.ts";
import type { Formatter, Language } from "./i18n.ts";

/** Transactional mail is sent whatever the reader's preferences; notifications carry an unsubscribe link. */
export type Category = "transactional" | "notification";

/** What a template's wording gets besides its props: the product, and the formatter of its language. */
export interface CopyContext {
  product: { name: string; url: string; supportEmail: string };
  f: Formatter;
  /** "Hi Ada," / "Ciao Ada,": the shared greeting in the mail's language. */
  hello: (name?: string | null) => string;
  /** "If you did not ask for this, you can ignore this email." */
  notYou: string;
}

export type Copy<P> = (props: P, ctx: CopyContext) => Content;

export interface TemplateDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  category: Category;
  props: S;
  copy: { en: Copy<z.output<S>> } & Partial<Record<Exclude<Language, "en">, Copy<z.output<S>>>>;
  /** A payload that renders: the preview's and the tests' sample. */
  example: z.input<S>;
}

export function defineTemplate<S extends z.ZodType>(t: TemplateDefinition<S>): TemplateDefinition<S> {
  return t;
}

// Props shared by many templates. Links must be http(s) (the layout drops any other), amounts integers in the
// currency's smallest unit as Stripe and the SQL keep them.
export const url = z.url({ protocol: /^https?$/, error: "an http(s) URL" });
export const cents = z.number().int().nonnegative();
export const currency = z.string().regex(/^[a-zA-Z]{3}$/, "an ISO 4217 code");
export const count = z.number().int();
/** A name a person typed: trimmed, bounded; empty reads as absent (the greeting then goes without it). */
export const name = z.string().trim().max(200).nullish().transform((s) => s || null);
/** An ISO timestamp as Postgres' to_jsonb writes it ("2026-12-07T23:10:00.123+00:00"). */
export const timestamp = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "a timestamp");
/** A team's name when the mail is about a team account (absent: the reader's own account). */
export const accountName = name;
