// A subscription was cancelled: it ends at the period's end (cancel_at_period_end set) or has ended
// (status canceled). Queued once per subscription.
import { z } from "zod";
import { accountName, defineTemplate, timestamp } from "./define.ts";

export default defineTemplate({
  name: "subscription_cancelled",
  category: "transactional",
  props: z.object({
    subscription_id: z.string().min(1),
    plan_name: z.string().trim().min(1).max(200),
    /** When access ends; absent or past: it has ended. */
    ends_at: timestamp.nullish(),
    account_name: accountName,
  }),
  copy: {
    en: (p, { product, f }) => ({
      subject: `Your ${product.name} subscription is cancelled`,
      heading: "Your subscription is cancelled",
      blocks: [
        {
          kind: "p",
          text: `${p.account_name ? `The team ${p.account_name}'s` : "Your"} ${p.plan_name} subscription is cancelled.${
            p.ends_at && Date.parse(p.ends_at) > Date.now()
              ? ` It stays active until ${f.date(p.ends_at)}; after that the account returns to the free plan.`
              : " The account is back on the free plan."
          }`,
        },
        { kind: "p", text: "Changed your mind? You can subscribe again at any time." },
        { kind: "button", label: "See the plans", url: `${product.url}/pricing` },
      ],
    }),
    it: (p, { product, f }) => ({
      subject: `Il tuo abbonamento ${product.name} è stato annullato`,
      heading: "Abbonamento annullato",
      blocks: [
        {
          kind: "p",
          text: `L'abbonamento ${p.plan_name}${p.account_name ? ` del team ${p.account_name}` : ""} è stato annullato.${
            p.ends_at && Date.parse(p.ends_at) > Date.now()
              ? ` Resta attivo fino al ${f.date(p.ends_at)}; poi l'account torna al piano gratuito.`
              : " L'account è tornato al piano gratuito."
          }`,
        },
        { kind: "p", text: "Hai cambiato idea? Puoi abbonarti di nuovo quando vuoi." },
        { kind: "button", label: "Vedi i piani", url: `${product.url}/pricing` },
      ],
    }),
  },
  example: { subscription_id: "sub_1QExample", plan_name: "Pro", ends_at: "2099-01-07T23:10:00+00:00" },
});
