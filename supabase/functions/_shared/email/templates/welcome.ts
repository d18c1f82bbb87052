// Sent once to a new user (queued when their profile is made, for a user with an email address).
import { z } from "zod";
import { count, defineTemplate, name } from "./define.ts";

export default defineTemplate({
  name: "welcome",
  category: "transactional",
  props: z.object({
    display_name: name,
    /** The credits a new account starts with (config signupCredits); 0 or absent: not mentioned. */
    signup_credits: count.nonnegative().nullish(),
  }),
  copy: {
    en: (p, { product, f, hello }) => ({
      subject: `Welcome to ${product.name}`,
      preheader: `Your ${product.name} account is ready.`,
      heading: `Welcome to ${product.name}`,
      blocks: [
        { kind: "p", text: hello(p.display_name) },
        {
          kind: "p",
          text: `Your account is ready${
            p.signup_credits ? `, with ${f.number(p.signup_credits)} free credits to start with` : ""
          }.`,
        },
        { kind: "button", label: `Open ${product.name}`, url: product.url },
      ],
    }),
    it: (p, { product, f, hello }) => ({
      subject: `Benvenuto in ${product.name}`,
      preheader: `Il tuo account ${product.name} è pronto.`,
      heading: `Benvenuto in ${product.name}`,
      blocks: [
        { kind: "p", text: hello(p.display_name) },
        {
          kind: "p",
          text: `Il tuo account è pronto${
            p.signup_credits ? `, con ${f.number(p.signup_credits)} crediti gratuiti per iniziare` : ""
          }.`,
        },
        { kind: "button", label: `Apri ${product.name}`, url: product.url },
      ],
    }),
  },
  example: { display_name: "Ada", signup_credits: 100 },
});
