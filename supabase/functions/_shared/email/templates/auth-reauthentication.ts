// Supabase Auth: a code to confirm it is really the user before a sensitive change (the Send Email hook's
// `reauthentication`; a code only, no link).
import { z } from "zod";
import { defineTemplate } from "./define.ts";

export default defineTemplate({
  name: "auth_reauthentication",
  category: "transactional",
  props: z.object({ email: z.email(), token: z.string().min(1).max(64) }),
  copy: {
    en: (p, { product, notYou }) => ({
      subject: `Your ${product.name} verification code`,
      heading: "Confirm it is you",
      blocks: [
        { kind: "p", text: `Enter this code to confirm the change to ${p.email}'s account:` },
        { kind: "code", text: p.token },
        { kind: "note", text: notYou },
      ],
    }),
    it: (p, { product, notYou }) => ({
      subject: `Il tuo codice di verifica ${product.name}`,
      heading: "Conferma che sei tu",
      blocks: [
        { kind: "p", text: `Inserisci questo codice per confermare la modifica all'account di ${p.email}:` },
        { kind: "code", text: p.token },
        { kind: "note", text: notYou },
      ],
    }),
  },
  example: { email: "ada@example.com", token: "123456" },
});
