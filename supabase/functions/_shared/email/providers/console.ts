// `console`: development mail. Nothing leaves the machine: each mail is written to the local sink folder
// (SAASBASE_MAIL_SINK; `npm run dev` sets .saasbase/mail and lists it in its status table) as <id>.html,
// <id>.txt and <id>.json, and index.html in that folder lists them newest first, so a developer opens the
// receipt they just triggered. Without a sink the mail is printed to the function's log. The idempotency key
// is honoured as Resend honours it: a second send with a key answers the first id and writes nothing.
import type { EmailProvider, OutgoingEmail } from "./types.ts";

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

interface SinkEntry {
  id: string;
  at: string;
  to: string;
  from: string;
  subject: string;
  headers: Record<string, string>;
  tags: Record<string, string>;
  idempotency_key: string;
}

/** Rewrites index.html from the .json files in the sink (newest first, the last 500). */
async function writeIndex(dir: string): Promise<void> {
  const entries: SinkEntry[] = [];
  for await (const f of Deno.readDir(dir)) {
    if (!f.isFile || !f.name.endsWith(".json")) continue;
    try {
      entries.push(JSON.parse(await Deno.readTextFile(`${dir}/${f.name}`)));
    } catch {
      // unreadable (removed meanwhile, or written by hand): the next index has what is there
    }
  }
  entries.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  const rows = entries.slice(0, 500).map((e) =>
    `<tr><td>${escape(e.at)}</td><td>${escape(e.to)}</td><td><a href="${escape(e.id)}.html">${escape(e.subject)}</a></td>` +
    `<td><a href="${escape(e.id)}.txt">text</a></td><td>${escape(e.tags.template ?? "")}</td></tr>`
  ).join("\n");
  const html = `<!doctype html><meta charset="utf-8"><title>Local mail</title>
<style>body{font:14px system-ui;margin:2em}td,th{padding:4px 10px;text-align:left;border-bottom:1px solid #ddd}</style>
<h1>Mail sent by the local stack (console provider)</h1><p>${entries.length} mails, newest first.</p>
<table><tr><th>sent</th><th>to</th><th>subject</th><th></th><th>template</th></tr>
${rows}
</table>`;
  const tmp = `${dir}/.index-${crypto.randomUUID()}.html`;
  await Deno.writeTextFile(tmp, html);
  await Deno.rename(tmp, `${dir}/index.html`);
}

// One index rewrite at a time in this process, each after the mails before it are in: of two mails sent at
// once, the later rewrite lists both (two rewrites racing let the one that listed first rename last).
let indexQueue: Promise<void> = Promise.resolve();
function rewriteIndex(dir: string): Promise<void> {
  const next = indexQueue.then(() => writeIndex(dir));
  indexQueue = next.catch(() => {});
  return next;
}

export function consoleProvider(sinkDir: string | undefined): EmailProvider {
  return {
    name: "console",
    async send(message: OutgoingEmail) {
      const key = await sha256Hex(message.idempotencyKey);
      if (!sinkDir) {
        console.log(`[mail] to ${message.to}: ${message.subject}\n${message.text}`);
        return { messageId: `console-${key.slice(0, 32)}` };
      }
      await Deno.mkdir(`${sinkDir}/.keys`, { recursive: true });
      // The key file is created exclusively (createNew): of two workers sending the same mail, one writes it.
      const keyFile = `${sinkDir}/.keys/${key}`;
      const id = `${new Date().toISOString().replace(/[:.]/g, "-")}-${key.slice(0, 12)}`;
      try {
        await Deno.writeTextFile(keyFile, id, { createNew: true });
      } catch (err) {
        if (err instanceof Deno.errors.AlreadyExists) {
          return { messageId: `console-${(await Deno.readTextFile(keyFile)) || id}` };
        }
        throw err;
      }
      const entry: SinkEntry = {
        id,
        at: new Date().toISOString(),
        to: message.to,
        from: message.from,
        subject: message.subject,
        headers: message.headers ?? {},
        tags: message.tags ?? {},
        idempotency_key: message.idempotencyKey,
      };
      await Deno.writeTextFile(`${sinkDir}/${id}.html`, message.html);
      await Deno.writeTextFile(`${sinkDir}/${id}.txt`, message.text);
      // Written whole under another name, then renamed: an index being rebuilt meanwhile reads all of it or none.
      const tmp = `${sinkDir}/.${id}.json.tmp`;
      await Deno.writeTextFile(tmp, JSON.stringify(entry, null, 2));
      await Deno.rename(tmp, `${sinkDir}/${id}.json`);
      await rewriteIndex(sinkDir);
      return { messageId: `console-${id}` };
    },
  };
}
