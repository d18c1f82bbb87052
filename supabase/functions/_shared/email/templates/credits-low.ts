// An account's credit balance fell below the low-credit threshold. Queued when a charge takes the balance
// across it (not on every charge below it), once per crossing.
import { z } from "zod";
import { accountName, count, defineTemplate, url } from "./define.ts";

export default defineTemplate({
  name: "credits_low",
  category: "notification",
  props: z.object({
    balance: count,
    threshold: count.nonnegative(),
    buy_url: url,
    account_name: accountName,
  }),
  copy: {
    en: (p, { product, f }) => ({
      subject: `Your ${product.name} credits are running low`,
      heading: "Your credits are running low",
      blocks: [
        {
          kind: "p",
          text: `${p.account_name ? `The team ${p.account_name} has` : "You have"} ${f.number(p.balance)} credits left.`,
        },
        { kind: "p", text: "Top up now so nothing stops halfway." },
        { kind: "button", label: "Buy credits", url: p.buy_url },
      ],
    }),
    it: (p, { product, f }) => ({
      subject: `I tuoi crediti ${product.name} stanno finendo`,
      heading: "I crediti stanno finendo",
      blocks: [
        {
          kind: "p",
          text: `${p.account_name ? `Al team ${p.account_name} restano` : "Ti restano"} ${f.number(p.balance)} crediti.`,
        },
        { kind: "p", text: "Ricarica ora, così niente si ferma a metà." },
        { kind: "button", label: "Acquista crediti", url: p.buy_url },
      ],
    }),
  },
  example: { balance: 12, threshold: 20, buy_url: "http://localhost:3000/credits" },
});
