// A receipt for money taken: a credit purchase (public.purchases) or a paid subscription invoice
// (public.invoices), queued by the notifications triggers in the transaction that records the payment.
import { z } from "zod";
import { accountName, cents, count, currency, defineTemplate, timestamp, url } from "./define.ts";

export default defineTemplate({
  name: "receipt",
  category: "transactional",
  props: z.object({
    kind: z.enum(["purchase", "invoice"]),
    /** The purchase's id or the Stripe invoice id. */
    reference: z.string().min(1),
    /** What was bought: a pack's or plan's name. */
    description: z.string().trim().min(1).max(200),
    amount_cents: cents,
    currency,
    credits: count.nonnegative().nullish(),
    paid_at: timestamp,
    receipt_url: url.nullish(),
    account_name: accountName,
  }),
  copy: {
    en: (p, { product, f }) => ({
      subject: `Your ${product.name} receipt`,
      preheader: `${f.money(p.amount_cents, p.currency)} paid on ${f.date(p.paid_at)}.`,
      heading: "Thank you for your payment",
      blocks: [
        {
          kind: "p",
          text: `We received ${f.money(p.amount_cents, p.currency)} for ${p.description}${
            p.account_name ? ` (team ${p.account_name})` : ""
          }.`,
        },
        {
          kind: "facts",
          rows: [
            [p.kind === "invoice" ? "Invoice" : "Purchase", p.reference],
            ["Date", f.date(p.paid_at)],
            ["Item", p.description],
            ...(p.credits ? [["Credits", f.number(p.credits)] as [string, string]] : []),
            ["Total", f.money(p.amount_cents, p.currency)],
          ],
        },
        ...(p.receipt_url ? [{ kind: "button" as const, label: "View the invoice", url: p.receipt_url }] : []),
      ],
    }),
    it: (p, { product, f }) => ({
      subject: `La tua ricevuta ${product.name}`,
      preheader: `${f.money(p.amount_cents, p.currency)} pagati il ${f.date(p.paid_at)}.`,
      heading: "Grazie per il pagamento",
      blocks: [
        {
          kind: "p",
          text: `Abbiamo ricevuto ${f.money(p.amount_cents, p.currency)} per ${p.description}${
            p.account_name ? ` (team ${p.account_name})` : ""
          }.`,
        },
        {
          kind: "facts",
          rows: [
            [p.kind === "invoice" ? "Fattura" : "Acquisto", p.reference],
            ["Data", f.date(p.paid_at)],
            ["Articolo", p.description],
            ...(p.credits ? [["Crediti", f.number(p.credits)] as [string, string]] : []),
            ["Totale", f.money(p.amount_cents, p.currency)],
          ],
        },
        ...(p.receipt_url ? [{ kind: "button" as const, label: "Vedi la fattura", url: p.receipt_url }] : []),
      ],
    }),
  },
  example: {
    kind: "purchase",
    reference: "5f0c6a9e-2d7b-4c1e-9a55-0d6f3e1b2c44",
    description: "Starter pack",
    amount_cents: 1000,
    currency: "usd",
    credits: 500,
    paid_at: "2026-12-07T23:10:00+00:00",
  },
});
