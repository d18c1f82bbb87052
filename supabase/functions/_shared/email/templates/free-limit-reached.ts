// Seed 000: a free user used up a feature's free allowance ("10 component generations per month"); the mail
// says so and links to the upgrade. Queued once per account, feature and period.
import { z } from "zod";
import { accountName, count, defineTemplate, name, url } from "./define.ts";

const PERIOD_EN = { day: "today", month: "this month", lifetime: "" } as const;
const PERIOD_IT = { day: "oggi", month: "questo mese", lifetime: "" } as const;

export default defineTemplate({
  name: "free_limit_reached",
  category: "notification",
  props: z.object({
    feature: z.string().min(1),
    feature_name: z.string().trim().min(1).max(200),
    limit: count.nonnegative(),
    period: z.enum(["day", "month", "lifetime"]),
    plan_name: z.string().trim().min(1).max(200),
    /** The cheapest plan with more of the feature, when there is one. */
    upgrade_plan_name: name,
    upgrade_url: url,
    account_name: accountName,
  }),
  copy: {
    en: (p, { product, f }) => ({
      subject: `You have used your free ${p.feature_name.toLowerCase()} allowance`,
      heading: "You reached the free limit",
      blocks: [
        {
          kind: "p",
          text: `${p.account_name ? `The team ${p.account_name} has` : "You have"} used all ${f.number(p.limit)} free uses of ${p.feature_name} ${
            PERIOD_EN[p.period] ? `${PERIOD_EN[p.period]} ` : ""
          }on the ${p.plan_name} plan.`,
        },
        {
          kind: "p",
          text: p.upgrade_plan_name
            ? `Upgrade to ${p.upgrade_plan_name} to keep going with ${product.name}.`
            : `Upgrade your plan to keep going with ${product.name}.`,
        },
        { kind: "button", label: p.upgrade_plan_name ? `Upgrade to ${p.upgrade_plan_name}` : "Upgrade", url: p.upgrade_url },
      ],
    }),
    it: (p, { product, f }) => ({
      subject: `Hai esaurito gli utilizzi gratuiti di ${p.feature_name}`,
      heading: "Hai raggiunto il limite gratuito",
      blocks: [
        {
          kind: "p",
          text: `${p.account_name ? `Il team ${p.account_name} ha` : "Hai"} usato tutti i ${f.number(p.limit)} utilizzi gratuiti di ${p.feature_name} ${
            PERIOD_IT[p.period] ? `${PERIOD_IT[p.period]} ` : ""
          }con il piano ${p.plan_name}.`,
        },
        {
          kind: "p",
          text: p.upgrade_plan_name
            ? `Passa a ${p.upgrade_plan_name} per continuare a usare ${product.name}.`
            : `Passa a un piano superiore per continuare a usare ${product.name}.`,
        },
        { kind: "button", label: p.upgrade_plan_name ? `Passa a ${p.upgrade_plan_name}` : "Aggiorna il piano", url: p.upgrade_url },
      ],
    }),
  },
  example: {
    feature: "component_generation",
    feature_name: "Component generation",
    limit: 10,
    period: "month",
    plan_name: "Free",
    upgrade_plan_name: "Pro",
    upgrade_url: "http://localhost:3000/pricing?plan=pro",
  },
});
