// Supabase Auth: a sign-in link and code (the Send Email hook's `magiclink`).
import { z } from "zod";
import { defineTemplate, url } from "./define.ts";

export default defineTemplate({
  name: "auth_magiclink",
  category: "transactional",
  props: z.object({ email: z.email(), confirmation_url: url, token: z.string().min(1).max(64) }),
  copy: {
    en: (p, { product, notYou }) => ({
      subject: `Your ${product.name} sign-in link`,
      heading: `Sign in to ${product.name}`,
      blocks: [
        { kind: "p", text: `Use this link to sign in as ${p.email}. It works once and expires soon.` },
        { kind: "button", label: "Sign in", url: p.confirmation_url },
        { kind: "p", text: "Or enter this code:" },
        { kind: "code", text: p.token },
        { kind: "note", text: notYou },
      ],
    }),
    it: (p, { product, notYou }) => ({
      subject: `Il tuo link di accesso a ${product.name}`,
      heading: `Accedi a ${product.name}`,
      blocks: [
        { kind: "p", text: `Usa questo link per accedere come ${p.email}. Funziona una sola volta e scade presto.` },
        { kind: "button", label: "Accedi", url: p.confirmation_url },
        { kind: "p", text: "Oppure inserisci questo codice:" },
        { kind: "code", text: p.token },
        { kind: "note", text: notYou },
      ],
    }),
  },
  example: {
    email: "ada@example.com",
    confirmation_url: "http://127.0.0.1:54321/auth/v1/verify?token=example&type=magiclink&redirect_to=http%3A%2F%2Flocalhost%3A3000",
    token: "123456",
  },
});
