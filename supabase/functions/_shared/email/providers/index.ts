// The configured provider: config `email.provider`, unless the function secret SAASBASE_EMAIL_PROVIDER names
// another (the local stack sets `console`; a developer sets `resend` in supabase/functions/.env to try the real
// one). Keys and base URLs are function secrets: RESEND_API_KEY / RESEND_BASE_URL, POSTMARK_SERVER_TOKEN /
// POSTMARK_BASE_URL, SENDGRID_API_KEY / SENDGRID_BASE_URL (the base URLs for a proxy, or the tests' local
// servers), SAASBASE_MAIL_SINK for console.
import { config } from "../../config.ts";
import { type EmailProviderName, emailProviders } from "../../config/email.ts";
import { optionalEnv } from "../../env.ts";
import { consoleProvider } from "./console.ts";
import { postmarkProvider } from "./postmark.ts";
import { resendProvider } from "./resend.ts";
import { sendgridProvider } from "./sendgrid.ts";
import type { EmailProvider } from "./types.ts";

export type { EmailProvider, OutgoingEmail } from "./types.ts";

/** The provider's name as configured (SAASBASE_EMAIL_PROVIDER over the config). */
export function providerName(): EmailProviderName {
  const override = optionalEnv("SAASBASE_EMAIL_PROVIDER");
  if (override && !(emailProviders as readonly string[]).includes(override)) {
    throw new Error(`SAASBASE_EMAIL_PROVIDER=${override} is none of ${emailProviders.join(", ")}`);
  }
  return (override as EmailProviderName | undefined) ?? config.email.provider;
}

export function providerFor(name: EmailProviderName): EmailProvider {
  switch (name) {
    case "resend":
      return resendProvider(optionalEnv("RESEND_API_KEY"), optionalEnv("RESEND_BASE_URL"));
    case "postmark":
      return postmarkProvider(optionalEnv("POSTMARK_SERVER_TOKEN"), {
        baseUrl: optionalEnv("POSTMARK_BASE_URL"),
        messageStream: config.email.postmarkStream,
      });
    case "sendgrid":
      return sendgridProvider(optionalEnv("SENDGRID_API_KEY"), optionalEnv("SENDGRID_BASE_URL"));
    case "console":
      return consoleProvider(optionalEnv("SAASBASE_MAIL_SINK"));
  }
}

let current: EmailProvider | undefined;
/** The configured provider, made once per function instance. */
export function emailProvider(): EmailProvider {
  current ??= providerFor(providerName());
  return current;
}
