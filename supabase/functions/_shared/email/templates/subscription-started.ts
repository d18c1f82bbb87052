// A subscription to a paid plan began (queued when public.subscriptions gets an active row for an account
// that had none).
import { z } from "zod";
import { accountName, count, defineTemplate, timestamp } from "./define.ts";

export default defineTemplate({
  name: "subscription_started",
  category: "transactional",
  props: z.object({
    subscription_id: z.string().min(1),
    plan_id: z.string().nullish(),
    plan_name: z.string().trim().min(1).max(200),
    monthly_credits: count.nonnegative().nullish(),
    current_period_end: timestamp.nullish(),
    account_name: accountName,
  }),
  copy: {
    en: (p, { product, f }) => ({
      subject: `You are on ${product.name} ${p.plan_name}`,
      heading: `Welcome to ${p.plan_name}`,
      blocks: [
        {
          kind: "p",
          text: `${p.account_name ? `The team ${p.account_name} is` : "You are"} now subscribed to the ${p.plan_name} plan.${
            p.monthly_credits ? ` Each paid period adds ${f.number(p.monthly_credits)} credits.` : ""
          }`,
        },
        ...(p.current_period_end
          ? [{ kind: "p" as const, text: `The subscription renews on ${f.date(p.current_period_end)}.` }]
          : []),
        { kind: "button", label: `Open ${product.name}`, url: product.url },
      ],
    }),
    it: (p, { product, f }) => ({
      subject: `Ora hai ${product.name} ${p.plan_name}`,
      heading: `Benvenuto in ${p.plan_name}`,
      blocks: [
        {
          kind: "p",
          text: `${p.account_name ? `Il team ${p.account_name} è` : "Sei"} ora abbonato al piano ${p.plan_name}.${
            p.monthly_credits ? ` Ogni periodo pagato aggiunge ${f.number(p.monthly_credits)} crediti.` : ""
          }`,
        },
        ...(p.current_period_end
          ? [{ kind: "p" as const, text: `L'abbonamento si rinnova il ${f.date(p.current_period_end)}.` }]
          : []),
        { kind: "button", label: `Apri ${product.name}`, url: product.url },
      ],
    }),
  },
  example: {
    subscription_id: "sub_1QExample",
    plan_id: "pro",
    plan_name: "Pro",
    monthly_credits: 1000,
    current_period_end: "2027-01-07T23:10:00+00:00",
  },
});
