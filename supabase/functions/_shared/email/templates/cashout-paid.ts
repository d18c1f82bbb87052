// A referral cash-out was paid out (public.cashouts reaches 'paid').
import { z } from "zod";
import { cents, currency, defineTemplate } from "./define.ts";

export default defineTemplate({
  name: "cashout_paid",
  category: "transactional",
  props: z.object({
    cashout_id: z.string().min(1),
    amount_cents: cents,
    currency,
  }),
  copy: {
    en: (p, { product, f }) => ({
      subject: `Your ${product.name} cash-out is on its way`,
      heading: "Your cash-out was paid",
      blocks: [
        { kind: "p", text: `We sent ${f.money(p.amount_cents, p.currency)} to your connected payout account.` },
        { kind: "note", text: "Banks usually take a few business days to show it." },
        { kind: "facts", rows: [["Cash-out", p.cashout_id], ["Amount", f.money(p.amount_cents, p.currency)]] },
      ],
    }),
    it: (p, { product, f }) => ({
      subject: `Il tuo prelievo ${product.name} è in arrivo`,
      heading: "Il prelievo è stato pagato",
      blocks: [
        { kind: "p", text: `Abbiamo inviato ${f.money(p.amount_cents, p.currency)} al tuo conto di pagamento collegato.` },
        { kind: "note", text: "Di solito la banca lo mostra entro qualche giorno lavorativo." },
        { kind: "facts", rows: [["Prelievo", p.cashout_id], ["Importo", f.money(p.amount_cents, p.currency)]] },
      ],
    }),
  },
  example: { cashout_id: "3a2b1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d", amount_cents: 2500, currency: "usd" },
});
