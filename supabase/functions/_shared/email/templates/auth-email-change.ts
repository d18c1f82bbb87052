// Supabase Auth: confirm a change of address (the Send Email hook's `email_change`). With secure email change
// (double_confirm_changes) Auth asks for two mails, one to each address, each with its own link and code.
import { z } from "zod";
import { defineTemplate, url } from "./define.ts";

export default defineTemplate({
  name: "auth_email_change",
  category: "transactional",
  props: z.object({
    /** The address this mail goes to: the current one or the new one. */
    email: z.email(),
    old_email: z.email(),
    new_email: z.email(),
    confirmation_url: url,
    token: z.string().min(1).max(64),
  }),
  copy: {
    en: (p, { product, notYou }) => ({
      subject: `Confirm your new ${product.name} email address`,
      heading: "Confirm the change of email",
      blocks: [
        { kind: "p", text: `Confirm changing the email of your ${product.name} account from ${p.old_email} to ${p.new_email}.` },
        { kind: "button", label: "Confirm the change", url: p.confirmation_url },
        { kind: "p", text: "Or enter this code:" },
        { kind: "code", text: p.token },
        { kind: "note", text: notYou },
      ],
    }),
    it: (p, { product, notYou }) => ({
      subject: `Conferma il nuovo indirizzo email di ${product.name}`,
      heading: "Conferma il cambio di email",
      blocks: [
        { kind: "p", text: `Conferma il cambio dell'email del tuo account ${product.name} da ${p.old_email} a ${p.new_email}.` },
        { kind: "button", label: "Conferma il cambio", url: p.confirmation_url },
        { kind: "p", text: "Oppure inserisci questo codice:" },
        { kind: "code", text: p.token },
        { kind: "note", text: notYou },
      ],
    }),
  },
  example: {
    email: "ada.new@example.com",
    old_email: "ada@example.com",
    new_email: "ada.new@example.com",
    confirmation_url: "http://127.0.0.1:54321/auth/v1/verify?token=example&type=email_change&redirect_to=http%3A%2F%2Flocalhost%3A3000",
    token: "123456",
  },
});
