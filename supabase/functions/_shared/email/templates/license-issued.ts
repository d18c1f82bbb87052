// Seed 002: a license issued for a purchase (the licenses domain queues it through saasbase.notify when it
// issues one). The key itself is shown once in the app, never mailed: the mail names its prefix and links the
// account's licenses.
import { z } from "zod";
import { accountName, defineTemplate, timestamp, url } from "./define.ts";

export default defineTemplate({
  name: "license_issued",
  category: "transactional",
  props: z.object({
    license_id: z.string().min(1),
    product_name: z.string().trim().min(1).max(200),
    /** The key's first characters, to tell it apart (too few to use it). */
    key_prefix: z.string().trim().max(32).nullish(),
    expires_at: timestamp.nullish(),
    licenses_url: url,
    account_name: accountName,
  }),
  copy: {
    en: (p, { f }) => ({
      subject: `Your ${p.product_name} license`,
      heading: `Your ${p.product_name} license is ready`,
      blocks: [
        {
          kind: "p",
          text: `${p.account_name ? `The team ${p.account_name} has` : "You have"} a new ${p.product_name} license${
            p.expires_at ? `, valid until ${f.date(p.expires_at)}` : ""
          }.`,
        },
        ...(p.key_prefix ? [{ kind: "facts" as const, rows: [["License key", `${p.key_prefix}…`]] as [string, string][] }] : []),
        { kind: "button", label: "See your licenses", url: p.licenses_url },
        { kind: "note", text: "For your safety the full key is not in this email: copy it from your account." },
      ],
    }),
    it: (p, { f }) => ({
      subject: `La tua licenza ${p.product_name}`,
      heading: `La licenza ${p.product_name} è pronta`,
      blocks: [
        {
          kind: "p",
          text: `${p.account_name ? `Il team ${p.account_name} ha` : "Hai"} una nuova licenza ${p.product_name}${
            p.expires_at ? `, valida fino al ${f.date(p.expires_at)}` : ""
          }.`,
        },
        ...(p.key_prefix ? [{ kind: "facts" as const, rows: [["Chiave di licenza", `${p.key_prefix}…`]] as [string, string][] }] : []),
        { kind: "button", label: "Vedi le tue licenze", url: p.licenses_url },
        { kind: "note", text: "Per sicurezza la chiave completa non è in questa email: copiala dal tuo account." },
      ],
    }),
  },
  example: {
    license_id: "0d6f3e1b-2c44-4c1e-9a55-5f0c6a9e2d7b",
    product_name: "DevForge Pro",
    key_prefix: "DF-7Q2M",
    expires_at: "2027-12-07T00:00:00+00:00",
    licenses_url: "http://localhost:3000/licenses",
  },
});
