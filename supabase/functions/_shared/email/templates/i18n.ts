// The mail's language: the recipient's profile `language` ('it', 'pt-BR'; public.profiles.language), matched
// to the languages a template is written in, English when none fits. Numbers, money and dates are written the
// way that language writes them (Intl), so a receipt in Italian says "12,00 €" and "7 dicembre 2026".

/** Languages the shared wording (greeting, footer) exists in; a template may cover fewer, never more. */
export const LANGUAGES = ["en", "it"] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = "en";

/** The best of `available` for `requested`: the exact tag, then its language alone, then English. */
export function pickLanguage<L extends string>(requested: string | null | undefined, available: readonly L[]): L {
  const wanted = (requested ?? "").trim().replace("_", "-").toLowerCase();
  const exact = available.find((l) => l.toLowerCase() === wanted);
  if (exact) return exact;
  const base = available.find((l) => l.toLowerCase() === wanted.split("-")[0]);
  if (base) return base;
  return (available.find((l) => l === DEFAULT_LANGUAGE) ?? available[0]);
}

/** The shared wording of the frame and of greetings, per language. */
export const COMMON: Record<Language, {
  hello: (name?: string | null) => string;
  supportLine: (support: string) => string;
  unsubscribe: string;
  buttonFallback: string;
  notYou: string;
}> = {
  en: {
    hello: (name) => (name ? `Hi ${name},` : "Hi,"),
    supportLine: (support) => `Questions? Write to ${support}.`,
    unsubscribe: "Unsubscribe from these emails",
    buttonFallback: "If the button does not work, paste this link into your browser:",
    notYou: "If you did not ask for this, you can ignore this email.",
  },
  it: {
    hello: (name) => (name ? `Ciao ${name},` : "Ciao,"),
    supportLine: (support) => `Domande? Scrivi a ${support}.`,
    unsubscribe: "Non ricevere più queste email",
    buttonFallback: "Se il pulsante non funziona, incolla questo link nel browser:",
    notYou: "Se non l'hai richiesto tu, puoi ignorare questa email.",
  },
};

/** Writes numbers, money and dates in one language. */
export class Formatter {
  constructor(readonly language: Language) {}

  /** An amount in a currency's smallest unit (cents), as that language writes it: 1200 usd -> "$12.00". */
  money(cents: number, currency: string): string {
    const code = currency.toUpperCase();
    let digits = 2;
    try {
      digits = new Intl.NumberFormat("en", { style: "currency", currency: code }).resolvedOptions()
        .maximumFractionDigits ?? 2;
    } catch {
      return `${(cents / 100).toFixed(2)} ${code}`;
    }
    return new Intl.NumberFormat(this.language, { style: "currency", currency: code }).format(
      cents / 10 ** digits,
    );
  }

  number(n: number): string {
    return new Intl.NumberFormat(this.language).format(n);
  }

  /** A day, in words ("December 7, 2026"), in UTC: the mail does not know the reader's zone. */
  date(value: string | Date): string {
    const d = value instanceof Date ? value : new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    return new Intl.DateTimeFormat(this.language, { dateStyle: "long", timeZone: "UTC" }).format(d);
  }
}
