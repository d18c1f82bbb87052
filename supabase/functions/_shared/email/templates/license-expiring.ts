// Seed 002: a license expires soon (the licenses domain queues it, once per license and expiry date).
import { z } from "zod";
import { accountName, defineTemplate, timestamp, url } from "./define.ts";

export default defineTemplate({
  name: "license_expiring",
  category: "notification",
  props: z.object({
    license_id: z.string().min(1),
    product_name: z.string().trim().min(1).max(200),
    key_prefix: z.string().trim().max(32).nullish(),
    expires_at: timestamp,
    renew_url: url,
    account_name: accountName,
  }),
  copy: {
    en: (p, { f }) => ({
      subject: `Your ${p.product_name} license expires on ${f.date(p.expires_at)}`,
      heading: "Your license expires soon",
      blocks: [
        {
          kind: "p",
          text: `${p.account_name ? `The team ${p.account_name}'s` : "Your"} ${p.product_name} license${
            p.key_prefix ? ` (${p.key_prefix}…)` : ""
          } expires on ${f.date(p.expires_at)}. Renew it to keep updates and activations working.`,
        },
        { kind: "button", label: "Renew the license", url: p.renew_url },
      ],
    }),
    it: (p, { f }) => ({
      subject: `La tua licenza ${p.product_name} scade il ${f.date(p.expires_at)}`,
      heading: "La licenza sta per scadere",
      blocks: [
        {
          kind: "p",
          text: `La licenza ${p.product_name}${p.key_prefix ? ` (${p.key_prefix}…)` : ""}${
            p.account_name ? ` del team ${p.account_name}` : ""
          } scade il ${f.date(p.expires_at)}. Rinnovala per continuare a ricevere aggiornamenti e attivazioni.`,
        },
        { kind: "button", label: "Rinnova la licenza", url: p.renew_url },
      ],
    }),
  },
  example: {
    license_id: "0d6f3e1b-2c44-4c1e-9a55-5f0c6a9e2d7b",
    product_name: "DevForge Pro",
    key_prefix: "DF-7Q2M",
    expires_at: "2027-01-07T00:00:00+00:00",
    renew_url: "http://localhost:3000/licenses",
  },
});
