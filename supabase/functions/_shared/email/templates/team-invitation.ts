// An invitation to a team by email (queued by public.invite_member; the accept link carries the token, which
// is stored only hashed, so the mail is the one place it exists).
import { z } from "zod";
import { defineTemplate, name, timestamp, url } from "./define.ts";

export default defineTemplate({
  name: "team_invitation",
  category: "transactional",
  props: z.object({
    email: z.email(),
    invitation_id: z.string().optional(),
    account_id: z.string().optional(),
    team_name: z.string().trim().min(1).max(200),
    role: z.string().optional(),
    role_name: name,
    invited_by_email: z.string().nullish(),
    expires_at: timestamp,
    accept_url: url,
  }),
  copy: {
    en: (p, { product, f, notYou }) => ({
      subject: `You are invited to join ${p.team_name} on ${product.name}`,
      preheader: `${p.invited_by_email ?? "A teammate"} invited you to ${p.team_name}.`,
      heading: `Join ${p.team_name}`,
      blocks: [
        {
          kind: "p",
          text: `${p.invited_by_email ?? "A member of the team"} invited you to join the team ${p.team_name} on ${product.name}${
            p.role_name ? ` as ${p.role_name}` : ""
          }.`,
        },
        { kind: "button", label: "Accept the invitation", url: p.accept_url },
        { kind: "note", text: `The invitation expires on ${f.date(p.expires_at)}. ${notYou}` },
      ],
    }),
    it: (p, { product, f, notYou }) => ({
      subject: `Sei stato invitato nel team ${p.team_name} su ${product.name}`,
      preheader: `${p.invited_by_email ?? "Un collega"} ti ha invitato in ${p.team_name}.`,
      heading: `Unisciti a ${p.team_name}`,
      blocks: [
        {
          kind: "p",
          text: `${p.invited_by_email ?? "Un membro del team"} ti ha invitato nel team ${p.team_name} su ${product.name}${
            p.role_name ? ` come ${p.role_name}` : ""
          }.`,
        },
        { kind: "button", label: "Accetta l'invito", url: p.accept_url },
        { kind: "note", text: `L'invito scade il ${f.date(p.expires_at)}. ${notYou}` },
      ],
    }),
  },
  example: {
    email: "ada@example.com",
    team_name: "Analytical Engines",
    role: "member",
    role_name: "Member",
    invited_by_email: "charles@example.com",
    expires_at: "2026-12-14T12:00:00+00:00",
    accept_url: "http://localhost:3000/invitations/accept?token=sbi_example",
  },
});
