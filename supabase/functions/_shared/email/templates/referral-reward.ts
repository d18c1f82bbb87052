// A referrer earned their reward for someone they referred (credits and/or cash, queued when the reward is
// paid: public.referrals.rewarded_at set).
import { z } from "zod";
import { cents, count, currency, defineTemplate } from "./define.ts";

export default defineTemplate({
  name: "referral_reward",
  category: "notification",
  props: z.object({
    referral_id: z.string().min(1),
    credits: count.nonnegative().nullish(),
    cash_cents: cents.nullish(),
    currency: currency.nullish(),
  }),
  copy: {
    en: (p, { product, f }) => {
      const parts = [
        ...(p.credits ? [`${f.number(p.credits)} credits`] : []),
        ...(p.cash_cents && p.currency ? [f.money(p.cash_cents, p.currency)] : []),
      ];
      return {
        subject: `You earned a referral reward on ${product.name}`,
        heading: "Someone joined through your link",
        blocks: [
          {
            kind: "p",
            text: `Thank you for spreading the word. You earned ${parts.length ? parts.join(" and ") : "a reward"}.`,
          },
          ...(p.cash_cents
            ? [{ kind: "p" as const, text: "Cash rewards add up in your referral balance; cash it out once it reaches the minimum." }]
            : []),
          { kind: "button", label: "See your referrals", url: `${product.url}/referrals` },
        ],
      };
    },
    it: (p, { product, f }) => {
      const parts = [
        ...(p.credits ? [`${f.number(p.credits)} crediti`] : []),
        ...(p.cash_cents && p.currency ? [f.money(p.cash_cents, p.currency)] : []),
      ];
      return {
        subject: `Hai ottenuto una ricompensa per un invito su ${product.name}`,
        heading: "Qualcuno si è iscritto con il tuo link",
        blocks: [
          { kind: "p", text: `Grazie per il passaparola. Hai ottenuto ${parts.length ? parts.join(" e ") : "una ricompensa"}.` },
          ...(p.cash_cents
            ? [{ kind: "p" as const, text: "Le ricompense in denaro si sommano al tuo saldo inviti; puoi incassarle al raggiungimento del minimo." }]
            : []),
          { kind: "button", label: "Vedi i tuoi inviti", url: `${product.url}/referrals` },
        ],
      };
    },
  },
  example: { referral_id: "7c4e1b2a-0d3f-4e5a-8b6c-9d0e1f2a3b4c", credits: 300, cash_cents: 200, currency: "usd" },
});
