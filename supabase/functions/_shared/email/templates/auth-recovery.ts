// Supabase Auth: reset a forgotten password (the Send Email hook's `recovery`).
import { z } from "zod";
import { defineTemplate, url } from "./define.ts";

export default defineTemplate({
  name: "auth_recovery",
  category: "transactional",
  props: z.object({ email: z.email(), confirmation_url: url, token: z.string().min(1).max(64) }),
  copy: {
    en: (p, { product }) => ({
      subject: `Reset your ${product.name} password`,
      heading: "Reset your password",
      blocks: [
        { kind: "p", text: `Someone asked to reset the password of ${p.email} on ${product.name}.` },
        { kind: "button", label: "Choose a new password", url: p.confirmation_url },
        { kind: "p", text: "Or enter this code:" },
        { kind: "code", text: p.token },
        { kind: "note", text: "If it was not you, ignore this email: your password stays as it is." },
      ],
    }),
    it: (p, { product }) => ({
      subject: `Reimposta la password di ${product.name}`,
      heading: "Reimposta la password",
      blocks: [
        { kind: "p", text: `È stato chiesto di reimpostare la password di ${p.email} su ${product.name}.` },
        { kind: "button", label: "Scegli una nuova password", url: p.confirmation_url },
        { kind: "p", text: "Oppure inserisci questo codice:" },
        { kind: "code", text: p.token },
        { kind: "note", text: "Se non sei stato tu, ignora questa email: la password resta invariata." },
      ],
    }),
  },
  example: {
    email: "ada@example.com",
    confirmation_url: "http://127.0.0.1:54321/auth/v1/verify?token=example&type=recovery&redirect_to=http%3A%2F%2Flocalhost%3A3000",
    token: "123456",
  },
});
