// Supabase Auth: confirm the address a user signed up with (the Send Email hook's `signup`).
import { z } from "zod";
import { defineTemplate, url } from "./define.ts";

export default defineTemplate({
  name: "auth_signup",
  category: "transactional",
  props: z.object({ email: z.email(), confirmation_url: url, token: z.string().min(1).max(64) }),
  copy: {
    en: (p, { product, notYou }) => ({
      subject: `Confirm your ${product.name} sign-up`,
      heading: "Confirm your email address",
      blocks: [
        { kind: "p", text: `Confirm ${p.email} to finish signing up for ${product.name}.` },
        { kind: "button", label: "Confirm my email", url: p.confirmation_url },
        { kind: "p", text: "Or enter this code:" },
        { kind: "code", text: p.token },
        { kind: "note", text: notYou },
      ],
    }),
    it: (p, { product, notYou }) => ({
      subject: `Conferma la registrazione a ${product.name}`,
      heading: "Conferma il tuo indirizzo email",
      blocks: [
        { kind: "p", text: `Conferma ${p.email} per completare la registrazione a ${product.name}.` },
        { kind: "button", label: "Conferma la mia email", url: p.confirmation_url },
        { kind: "p", text: "Oppure inserisci questo codice:" },
        { kind: "code", text: p.token },
        { kind: "note", text: notYou },
      ],
    }),
  },
  example: {
    email: "ada@example.com",
    confirmation_url: "http://127.0.0.1:54321/auth/v1/verify?token=pkce_example&type=signup&redirect_to=http%3A%2F%2Flocalhost%3A3000",
    token: "123456",
  },
});
