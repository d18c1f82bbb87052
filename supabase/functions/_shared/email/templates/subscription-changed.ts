// A subscription moved to another plan (queued when public.subscriptions.plan_id changes on a live row).
import { z } from "zod";
import { accountName, defineTemplate, timestamp } from "./define.ts";

export default defineTemplate({
  name: "subscription_changed",
  category: "transactional",
  props: z.object({
    subscription_id: z.string().min(1),
    old_plan_name: z.string().trim().min(1).max(200),
    plan_id: z.string().nullish(),
    plan_name: z.string().trim().min(1).max(200),
    current_period_end: timestamp.nullish(),
    account_name: accountName,
  }),
  copy: {
    en: (p, { product, f }) => ({
      subject: `Your ${product.name} plan is now ${p.plan_name}`,
      heading: "Your plan changed",
      blocks: [
        {
          kind: "p",
          text: `${p.account_name ? `The team ${p.account_name}'s` : "Your"} subscription moved from ${p.old_plan_name} to ${p.plan_name}.`,
        },
        ...(p.current_period_end
          ? [{ kind: "p" as const, text: `The current period ends on ${f.date(p.current_period_end)}.` }]
          : []),
        { kind: "note", text: "Stripe prorates the difference on your next invoice." },
      ],
    }),
    it: (p, { product, f }) => ({
      subject: `Il tuo piano ${product.name} ora è ${p.plan_name}`,
      heading: "Il tuo piano è cambiato",
      blocks: [
        {
          kind: "p",
          text: `L'abbonamento${p.account_name ? ` del team ${p.account_name}` : ""} è passato da ${p.old_plan_name} a ${p.plan_name}.`,
        },
        ...(p.current_period_end
          ? [{ kind: "p" as const, text: `Il periodo corrente termina il ${f.date(p.current_period_end)}.` }]
          : []),
        { kind: "note", text: "La differenza viene calcolata pro rata sulla prossima fattura." },
      ],
    }),
  },
  example: {
    subscription_id: "sub_1QExample",
    old_plan_name: "Pro",
    plan_id: "business",
    plan_name: "Business",
    current_period_end: "2027-01-07T23:10:00+00:00",
  },
});
