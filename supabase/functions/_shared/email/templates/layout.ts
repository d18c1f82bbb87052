// One layout for every mail: a template says WHAT a mail contains as blocks of plain text (paragraphs, a button,
// a code, a table of facts), and this module says how that looks, in HTML and in text. Every string a template
// hands over is text, escaped here and only here, so no prop (a team called `<script>`, a display name with
// quotes) can put markup into a mail, and the text part always says the same as the HTML part.

/** What a mail is made of. Strings are plain text: never HTML. */
export type Block =
  | { kind: "p"; text: string }
  /** A call to action: the one link a reader should follow (http(s) only, checked by the template's props). */
  | { kind: "button"; label: string; url: string }
  /** A one-time code, shown large (auth mails). */
  | { kind: "code"; text: string }
  /** Label / value rows: what was bought, for how much. */
  | { kind: "facts"; rows: [label: string, value: string][] }
  /** Small print under the rest (why you got this, what to do if it was not you). */
  | { kind: "note"; text: string };

export interface Content {
  subject: string;
  /** The first line a mail client shows after the subject (hidden in the body). */
  preheader?: string;
  heading: string;
  blocks: Block[];
}

/** The frame's own words, in the mail's language. */
export interface Chrome {
  locale: string;
  productName: string;
  productUrl: string;
  supportEmail: string;
  /** "Questions? Write to {support}." with the address already in it. */
  supportLine: string;
  /** "Unsubscribe" and its URL, for mail a reader may opt out of. */
  unsubscribe?: { label: string; url: string };
  /** "If the button does not work, paste this link into your browser:" */
  buttonFallback: string;
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text for an HTML text node or a quoted attribute value. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Only http(s) URLs go into an href: a `javascript:` or `data:` URL from a payload never becomes a link. */
export function safeUrl(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    return null;
  }
}

const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";

function blockHtml(block: Block, chrome: Chrome): string {
  switch (block.kind) {
    case "p":
      return `<p style="margin:0 0 16px;font-size:16px;line-height:24px;color:#1f2937">${escapeHtml(block.text)}</p>`;
    case "note":
      return `<p style="margin:0 0 12px;font-size:13px;line-height:20px;color:#6b7280">${escapeHtml(block.text)}</p>`;
    case "code":
      return `<p style="margin:0 0 16px;font-size:28px;letter-spacing:6px;font-weight:700;font-family:monospace;color:#111827">${
        escapeHtml(block.text)
      }</p>`;
    case "facts":
      return `<table role="presentation" cellpadding="0" cellspacing="0" style="margin:0 0 16px;border-collapse:collapse;width:100%">${
        block.rows.map(([label, value]) =>
          `<tr><td style="padding:6px 12px 6px 0;font-size:14px;color:#6b7280;border-bottom:1px solid #e5e7eb">${
            escapeHtml(label)
          }</td><td style="padding:6px 0;font-size:14px;color:#111827;text-align:right;border-bottom:1px solid #e5e7eb">${
            escapeHtml(value)
          }</td></tr>`
        ).join("")
      }</table>`;
    case "button": {
      const url = safeUrl(block.url);
      if (!url) return "";
      const href = escapeHtml(url);
      return `<p style="margin:8px 0 24px"><a href="${href}" style="display:inline-block;padding:12px 20px;border-radius:6px;background:#111827;color:#ffffff;font-size:16px;font-weight:600;text-decoration:none">${
        escapeHtml(block.label)
      }</a></p><p style="margin:0 0 16px;font-size:12px;line-height:18px;color:#6b7280">${
        escapeHtml(chrome.buttonFallback)
      }<br><a href="${href}" style="color:#2563eb;word-break:break-all">${escapeHtml(url)}</a></p>`;
    }
  }
}

function blockText(block: Block): string {
  switch (block.kind) {
    case "p":
    case "note":
      return block.text;
    case "code":
      return `    ${block.text}`;
    case "facts": {
      const width = Math.max(...block.rows.map(([label]) => label.length));
      return block.rows.map(([label, value]) => `${(label + ":").padEnd(width + 2)}${value}`).join("\n");
    }
    case "button": {
      const url = safeUrl(block.url);
      return url ? `${block.label}: ${url}` : "";
    }
  }
}

/** The mail's HTML document: table layout and inline styles, what mail clients render alike. */
export function renderHtml(content: Content, chrome: Chrome): string {
  const productUrl = safeUrl(chrome.productUrl);
  const brand = productUrl
    ? `<a href="${escapeHtml(productUrl)}" style="color:#111827;text-decoration:none">${escapeHtml(chrome.productName)}</a>`
    : escapeHtml(chrome.productName);
  const unsubscribeUrl = chrome.unsubscribe && safeUrl(chrome.unsubscribe.url);
  const footer = [
    escapeHtml(chrome.supportLine),
    unsubscribeUrl
      ? `<a href="${escapeHtml(unsubscribeUrl)}" style="color:#6b7280">${escapeHtml(chrome.unsubscribe!.label)}</a>`
      : "",
  ].filter(Boolean).join("<br>");
  return `<!doctype html>
<html lang="${escapeHtml(chrome.locale)}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${
    escapeHtml(content.subject)
  }</title></head>
<body style="margin:0;padding:0;background:#f3f4f6;font-family:${FONT}">
${
    content.preheader
      ? `<div style="display:none;max-height:0;overflow:hidden">${escapeHtml(content.preheader)}</div>\n`
      : ""
  }<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f3f4f6"><tr><td align="center" style="padding:24px 12px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:560px;background:#ffffff;border-radius:8px">
<tr><td style="padding:24px 32px 0;font-size:18px;font-weight:700">${brand}</td></tr>
<tr><td style="padding:16px 32px 8px">
<h1 style="margin:0 0 16px;font-size:22px;line-height:30px;color:#111827">${escapeHtml(content.heading)}</h1>
${content.blocks.map((b) => blockHtml(b, chrome)).filter(Boolean).join("\n")}
</td></tr>
<tr><td style="padding:16px 32px 24px;border-top:1px solid #e5e7eb;font-size:12px;line-height:18px;color:#6b7280">${footer}</td></tr>
</table>
</td></tr></table>
</body>
</html>
`;
}

/** The plain-text part: the same blocks, one paragraph each, links written out. */
export function renderText(content: Content, chrome: Chrome): string {
  const unsubscribeUrl = chrome.unsubscribe && safeUrl(chrome.unsubscribe.url);
  const parts = [
    content.heading,
    ...content.blocks.map(blockText).filter(Boolean),
    "--",
    `${chrome.productName}${safeUrl(chrome.productUrl) ? ` - ${chrome.productUrl}` : ""}`,
    chrome.supportLine,
    ...(unsubscribeUrl ? [`${chrome.unsubscribe!.label}: ${unsubscribeUrl}`] : []),
  ];
  return parts.join("\n\n").replace(/\n--\n\n/, "\n--\n") + "\n";
}
