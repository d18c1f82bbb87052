// Supabase Auth: an admin invited someone to create an account (the Send Email hook's `invite`).
import { z } from "zod";
import { defineTemplate, url } from "./define.ts";

export default defineTemplate({
  name: "auth_invite",
  category: "transactional",
  props: z.object({ email: z.email(), confirmation_url: url, token: z.string().min(1).max(64) }),
  copy: {
    en: (p, { product, notYou }) => ({
      subject: `You are invited to ${product.name}`,
      heading: `Join ${product.name}`,
      blocks: [
        { kind: "p", text: `You have been invited to create a ${product.name} account for ${p.email}.` },
        { kind: "button", label: "Accept the invitation", url: p.confirmation_url },
        { kind: "note", text: notYou },
      ],
    }),
    it: (p, { product, notYou }) => ({
      subject: `Sei stato invitato su ${product.name}`,
      heading: `Unisciti a ${product.name}`,
      blocks: [
        { kind: "p", text: `Sei stato invitato a creare un account ${product.name} per ${p.email}.` },
        { kind: "button", label: "Accetta l'invito", url: p.confirmation_url },
        { kind: "note", text: notYou },
      ],
    }),
  },
  example: {
    email: "ada@example.com",
    confirmation_url: "http://127.0.0.1:54321/auth/v1/verify?token=example&type=invite&redirect_to=http%3A%2F%2Flocalhost%3A3000",
    token: "123456",
  },
});
