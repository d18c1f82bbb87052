// A subscription invoice failed to charge (queued by service_role_record_invoice, one per invoice and
// recipient: a personal account's owner, or each team member who manages billing).
import { z } from "zod";
import { accountName, cents, currency, defineTemplate, url } from "./define.ts";

export default defineTemplate({
  name: "payment_failed",
  category: "transactional",
  props: z.object({
    invoice: z.string().min(1),
    amount_due: cents,
    currency,
    hosted_invoice_url: url.nullish(),
    account_id: z.string().nullish(),
    account_name: accountName,
  }),
  copy: {
    en: (p, { product, f }) => ({
      subject: `Your ${product.name} payment failed`,
      preheader: `We could not charge ${f.money(p.amount_due, p.currency)}.`,
      heading: "Your payment failed",
      blocks: [
        {
          kind: "p",
          text: `We could not charge ${f.money(p.amount_due, p.currency)} for ${
            p.account_name ? `the team ${p.account_name}'s` : "your"
          } ${product.name} subscription. Please update the payment method so it continues without interruption.`,
        },
        ...(p.hosted_invoice_url
          ? [{ kind: "button" as const, label: "Pay the invoice", url: p.hosted_invoice_url }]
          : []),
        { kind: "facts", rows: [["Invoice", p.invoice], ["Amount due", f.money(p.amount_due, p.currency)]] },
        { kind: "note", text: "We will try again over the next days; your plan stays active meanwhile." },
      ],
    }),
    it: (p, { product, f }) => ({
      subject: `Il pagamento di ${product.name} non è andato a buon fine`,
      preheader: `Non siamo riusciti ad addebitare ${f.money(p.amount_due, p.currency)}.`,
      heading: "Il pagamento non è riuscito",
      blocks: [
        {
          kind: "p",
          text: `Non siamo riusciti ad addebitare ${f.money(p.amount_due, p.currency)} per l'abbonamento ${product.name}${
            p.account_name ? ` del team ${p.account_name}` : ""
          }. Aggiorna il metodo di pagamento perché continui senza interruzioni.`,
        },
        ...(p.hosted_invoice_url
          ? [{ kind: "button" as const, label: "Paga la fattura", url: p.hosted_invoice_url }]
          : []),
        { kind: "facts", rows: [["Fattura", p.invoice], ["Importo dovuto", f.money(p.amount_due, p.currency)]] },
        { kind: "note", text: "Riproveremo nei prossimi giorni; il piano intanto resta attivo." },
      ],
    }),
  },
  example: {
    invoice: "in_1QExample",
    amount_due: 1900,
    currency: "usd",
    hosted_invoice_url: "https://invoice.stripe.com/i/acct_123/test_abc",
  },
});
