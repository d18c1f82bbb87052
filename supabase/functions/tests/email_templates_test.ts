// Every email template rendered in every language it is written in, from its example payload: a subject, an
// HTML document and a text part saying the same, the product's name and support address, links only http(s);
// hostile props (markup in a team name, quotes, a `javascript:` URL, a newline in a subject) never reach the
// HTML as markup; a missing required prop and an unknown template are errors naming what is wrong.
import nodeAssert from "node:assert/strict";
import { config } from "../_shared/config.ts";
import {
  renderEmail,
  TemplateError,
  templateLanguages,
  templateNames,
  TemplatePropsError,
  templates,
  UnknownTemplateError,
} from "../_shared/email/templates/index.ts";
import { escapeHtml } from "../_shared/email/templates/layout.ts";
import { pickLanguage } from "../_shared/email/templates/i18n.ts";

const assert = (ok: unknown, message?: string) => nodeAssert.ok(ok, message);
const assertEquals = (actual: unknown, expected: unknown, message?: string) =>
  nodeAssert.deepEqual(actual, expected, message);
const assertMatch = (actual: string, re: RegExp, message?: string) => nodeAssert.match(actual, re, message);

const product = { name: "Acme AI", url: "https://acme.example", supportEmail: "help@acme.example" };
const ctx = { config: { product } };

/** The text of an HTML document with tags dropped and entities decoded: what a reader sees. */
function visible(html: string): string {
  return html.replace(/<[^>]*>/g, " ").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'").replace(/&amp;/g, "&");
}

/** Every href in a document. */
function hrefs(html: string): string[] {
  return [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
}

// The templates the SQL queues (email_outbox rows of billing, teams and the notifications triggers) and the
// auth hook's, each of which must exist: a renamed template would leave rows nobody can send.
const QUEUED = [
  "payment_failed",
  "team_invitation",
  "welcome",
  "receipt",
  "subscription_started",
  "subscription_changed",
  "subscription_cancelled",
  "free_limit_reached",
  "credits_low",
  "referral_reward",
  "cashout_paid",
  // For the licenses domain (seed 002), queued by its SQL through saasbase.notify.
  "license_issued",
  "license_expiring",
  "auth_signup",
  "auth_magiclink",
  "auth_recovery",
  "auth_email_change",
  "auth_invite",
  "auth_reauthentication",
];

Deno.test("every template the SQL and the auth hook use exists, each in English and Italian", () => {
  for (const name of QUEUED) {
    assert(templates.has(name), `template ${name}`);
    assertEquals(templateLanguages(name), ["en", "it"], name);
  }
  assertEquals([...templateNames].sort(), [...QUEUED].sort());
});

for (const name of templateNames) {
  for (const language of templateLanguages(name)) {
    Deno.test(`${name} (${language}) renders its example`, () => {
      const t = templates.get(name)!;
      const mail = renderEmail(name, t.example, { ...ctx, locale: language, unsubscribeUrl: "https://acme.example/u?t=1" });
      assert(mail.subject.length > 0 && !/[\r\n]/.test(mail.subject), "a one-line subject");
      assertEquals(mail.category, t.category);
      assertMatch(mail.html, /^<!doctype html>/);
      assertMatch(mail.html, new RegExp(`<html lang="${language}">`));
      assert(mail.html.includes(escapeHtml(mail.subject)), "the subject is the title");
      for (const part of [visible(mail.html), mail.text]) {
        assert(part.includes("Acme AI"), "the product name");
        assert(part.includes("help@acme.example"), "the support address");
      }
      // The text part says what the HTML says: every paragraph of the HTML's body is in the text.
      const paragraphs = [...mail.html.matchAll(/<p style="[^"]*">([^<]+)<\/p>/g)].map((m) => visible(m[1]).trim());
      assert(paragraphs.length > 0);
      for (const p of paragraphs) assert(mail.text.includes(p), `text part has "${p}"`);
      for (const href of hrefs(mail.html)) assertMatch(href, /^https?:\/\//);
      // Only notification mail carries the unsubscribe link.
      assertEquals(mail.text.includes("https://acme.example/u?t=1"), t.category === "notification");
    });
  }
}

Deno.test("the reader's language picks the wording; unknown languages fall back to English", () => {
  const it = renderEmail("payment_failed", templates.get("payment_failed")!.example, { ...ctx, locale: "it" });
  const itIT = renderEmail("payment_failed", templates.get("payment_failed")!.example, { ...ctx, locale: "it-IT" });
  const fr = renderEmail("payment_failed", templates.get("payment_failed")!.example, { ...ctx, locale: "fr" });
  const none = renderEmail("payment_failed", templates.get("payment_failed")!.example, { ...ctx, locale: null });
  assertEquals(it.subject, "Il pagamento di Acme AI non è andato a buon fine");
  assertEquals(itIT.subject, it.subject);
  assertEquals(fr.subject, "Your Acme AI payment failed");
  assertEquals(none.subject, fr.subject);
  // Money and dates as each language writes them.
  assert(it.text.includes("19,00"), it.text);
  assert(fr.text.includes("$19.00"), fr.text);
  const receipt = templates.get("receipt")!.example;
  assert(renderEmail("receipt", receipt, { ...ctx, locale: "it" }).text.includes("7 dicembre 2026"));
  assert(renderEmail("receipt", receipt, ctx).text.includes("December 7, 2026"));
  assertEquals(pickLanguage("pt-BR", ["en", "it"]), "en");
  assertEquals(pickLanguage("IT_it", ["en", "it"]), "it");
});

Deno.test("markup in props is text: escaped in the HTML, verbatim in the text part", () => {
  const team = `<img src=x onerror="alert(1)">Evil & "Co" 'Ltd'`;
  const mail = renderEmail("team_invitation", {
    ...templates.get("team_invitation")!.example,
    team_name: team,
    invited_by_email: "<b>boss</b>@example.com",
  }, ctx);
  assert(!mail.html.includes("<img"), "no injected tag");
  assert(!mail.html.includes("<b>"), "no injected tag");
  assert(mail.html.includes("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;Evil &amp; &quot;Co&quot; &#39;Ltd&#39;"));
  assert(visible(mail.html).includes(team), "the reader sees the name as typed");
  assert(mail.text.includes(team), "the text part has it verbatim");
  // The subject carries the name too: one line even when the name had a newline in it.
  const newline = renderEmail("team_invitation", { ...templates.get("team_invitation")!.example, team_name: "A\r\nBcc: x@evil" }, ctx);
  assert(!/[\r\n]/.test(newline.subject), newline.subject);
});

Deno.test("a link that is not http(s) is refused, never rendered", () => {
  for (const accept_url of ["javascript:alert(1)", "data:text/html,<script>", "//evil.example/x", "not a url"]) {
    nodeAssert.throws(
      () => renderEmail("team_invitation", { ...templates.get("team_invitation")!.example, accept_url }, ctx),
      (err: unknown) => err instanceof TemplatePropsError && err.issues.some((i) => i.path === "accept_url"),
      accept_url,
    );
  }
  // A product URL with a quote in it cannot break out of the attribute either.
  const mail = renderEmail("welcome", {}, { config: { product: { ...product, url: 'https://acme.example/"onmouseover="x' } } });
  for (const href of hrefs(mail.html)) assert(!href.includes('"'), href);
  assert(!mail.html.includes('"onmouseover="'));
});

Deno.test("a missing optional name still renders; a missing required prop is an error naming it", () => {
  const mail = renderEmail("welcome", { display_name: null }, ctx);
  assert(mail.text.includes("Hi,"), mail.text);
  assertEquals(renderEmail("welcome", { display_name: "  " }, ctx).text, mail.text);
  assert(renderEmail("welcome", { display_name: "Ada" }, ctx).text.includes("Hi Ada,"));

  const { accept_url: _, ...withoutLink } = templates.get("team_invitation")!.example as Record<string, unknown>;
  nodeAssert.throws(() => renderEmail("team_invitation", withoutLink, ctx), (err: unknown) => {
    assert(err instanceof TemplatePropsError && err instanceof TemplateError);
    assertEquals((err as TemplatePropsError).issues.map((i) => i.path), ["accept_url"]);
    assertMatch((err as Error).message, /team_invitation.*accept_url/);
    return true;
  });
  nodeAssert.throws(() => renderEmail("receipt", null, ctx), TemplatePropsError);
  nodeAssert.throws(() => renderEmail("receipt", { ...templates.get("receipt")!.example, amount_cents: "12" }, ctx), TemplatePropsError);
});

Deno.test("an unknown template is an UnknownTemplateError", () => {
  nodeAssert.throws(() => renderEmail("no_such_mail", {}, ctx), (err: unknown) => {
    assert(err instanceof UnknownTemplateError && err instanceof TemplateError);
    assertEquals((err as UnknownTemplateError).template, "no_such_mail");
    return true;
  });
});

Deno.test("the shipped product config renders (its name, URL and support address in the mail)", () => {
  const mail = renderEmail("welcome", templates.get("welcome")!.example, { config });
  assert(mail.text.includes(config.product.name));
  assert(mail.text.includes(config.product.supportEmail));
  assert(hrefs(mail.html).some((h) => h.startsWith(config.product.url)));
});
