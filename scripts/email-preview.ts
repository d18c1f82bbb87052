// npm run email:preview [-- <template>...] [--locale it] [--preset <name>] [--out <dir>]: renders each template's
// example payload (every language it is written in, or the one asked for) with the product config, into
// <out>/<template>.<language>.html and .txt (default .saasbase/email-preview), and an index.html linking them.
// Open the index in a browser to see every mail as it will be sent.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { loadProductConfig, presetOrExit } from "../src/config/presets.ts";
import { ROOT } from "../src/local/paths.ts";
import {
  renderEmail,
  templateLanguages,
  templateNames,
  templates,
} from "../supabase/functions/_shared/email/templates/index.ts";

function option(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const value = args[i].includes("=") ? args[i].slice(name.length + 3) : args[i + 1];
  args.splice(i, args[i].includes("=") ? 1 : 2);
  if (!value) {
    console.error(`--${name} needs a value`);
    process.exit(1);
  }
  return value;
}

const args = process.argv.slice(2);
const preset = presetOrExit(args);
option(args, "preset");
const locale = option(args, "locale");
const out = resolve(option(args, "out") ?? join(ROOT, ".saasbase", "email-preview"));
const asked = args.filter((a) => !a.startsWith("-"));
const unknown = asked.filter((t) => !templates.has(t));
if (unknown.length) {
  console.error(`Unknown template(s): ${unknown.join(", ")}. Templates: ${templateNames.join(", ")}`);
  process.exit(1);
}

const config = await loadProductConfig(preset);
mkdirSync(out, { recursive: true });
const links: string[] = [];
for (const name of asked.length ? asked : templateNames) {
  const languages = locale ? [locale] : templateLanguages(name);
  for (const language of languages) {
    const mail = renderEmail(name, templates.get(name)!.example, {
      locale: language,
      config,
      unsubscribeUrl: `${config.product.url}/unsubscribe?token=preview`,
    });
    const base = `${name}.${language}`;
    writeFileSync(join(out, `${base}.html`), mail.html);
    writeFileSync(join(out, `${base}.txt`), `Subject: ${mail.subject}\nCategory: ${mail.category}\n\n${mail.text}`);
    links.push(`<li><a href="${base}.html">${base}</a> (<a href="${base}.txt">text</a>): ${mail.subject.replace(/</g, "&lt;")}</li>`);
    console.log(`${relative(process.cwd(), join(out, base))}.html  ${mail.subject}`);
  }
}
writeFileSync(
  join(out, "index.html"),
  `<!doctype html><meta charset="utf-8"><title>${config.product.name} emails</title><h1>${config.product.name} emails</h1><ul>\n${links.join("\n")}\n</ul>\n`,
);
console.log(`\nOpen ${relative(process.cwd(), join(out, "index.html"))} in a browser.`);
