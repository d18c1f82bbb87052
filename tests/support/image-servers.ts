// Local servers speaking the image providers' wire formats, so the real clients inside the generate-image
// function (plain fetch for Gemini, the openai SDK for OpenAI's images API) talk to them as to the vendors:
//   Gemini API   POST /gemini/v1beta/models/{model}:generateContent   (JSON; the image as a part's inlineData,
//                refusals as promptFeedback.blockReason or a candidate's finishReason, errors as
//                { error: { code, message, status } })
//   OpenAI       POST /openai/v1/images/generations (JSON) and /openai/v1/images/edits (multipart/form-data);
//                the image as data[0].b64_json, refusals as a 400 { error: { code: "moderation_blocked" } }
// What the next requests of a provider get is scripted with POST /_test/script { provider, steps }; requests
// are read from GET /_test/state. Every image is a real PNG, made distinct by a trailer after its IEND chunk
// naming the request (`#<n>`), so a test can tell which request's bytes it got back. Only node: built-ins, so
// Deno's unit tests run it too.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type ImageStep =
  | { kind: "ok"; delayMs?: number }
  | { kind: "status"; status: number }
  /** Gemini: the prompt blocked (promptFeedback.blockReason) or the image (a candidate's finishReason);
   * OpenAI: a 400 moderation_blocked. */
  | { kind: "refuse"; reason?: string; stage?: "prompt" | "image" }
  /** 200 without an image (Gemini: a text part only; OpenAI: data without b64_json). */
  | { kind: "empty" }
  /** Answers only after `ms` (or never, when the client hangs up first). */
  | { kind: "slow"; ms: number };

export type ImageProviderName = "gemini" | "openai";

export interface ImageRequestRecord {
  provider: ImageProviderName;
  n: number;
  path: string;
  model: string;
  prompt: string;
  /** Gemini: imageConfig.aspectRatio; OpenAI: size. */
  size: string;
  /** The reference image's bytes as base64, and its type, when one was sent (Gemini inlineData, OpenAI edit). */
  reference?: { mimeType: string; base64: string };
  /** The key it came with (x-goog-api-key, or the bearer token). */
  apiKey?: string;
  /** What the request got: ok, a status, refused, empty, or aborted (the client hung up first). */
  outcome?: string;
  at: number;
}

/** A 1x1 white PNG. */
const PNG_1X1 = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC",
  "base64",
);

/** The PNG answered to request `n`: a valid image with `#n` after its end. */
export function imageBytesFor(n: number): Buffer {
  return Buffer.concat([PNG_1X1, Buffer.from(`#${n}`)]);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** The parts of a multipart/form-data body: name, filename, content type and bytes. */
function multipart(body: Buffer, contentType: string) {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  const parts: { name: string; filename?: string; type?: string; data: Buffer }[] = [];
  if (!boundary) return parts;
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === "--") break;
    const next = body.indexOf(delimiter, start);
    if (next === -1) break;
    const part = body.subarray(start + 2, next - 2); // after CRLF, before CRLF
    const split = part.indexOf("\r\n\r\n");
    const head = part.subarray(0, split).toString();
    const name = /name="([^"]*)"/.exec(head)?.[1] ?? "";
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    const type = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1];
    parts.push({ name, filename, type, data: part.subarray(split + 4) });
    at = next;
  }
  return parts;
}

export async function startImageServers(port = 0) {
  const scripts = new Map<ImageProviderName, ImageStep[]>();
  const requests: ImageRequestRecord[] = [];
  /** Delay before every unscripted answer (benchmarks: a model's pace). */
  let defaultDelayMs = 0;
  let count = 0;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };

  /** Waits `ms`, or until the client hangs up (then false). */
  function wait(req: IncomingMessage, res: ServerResponse, ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(!res.destroyed);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(true), ms);
      res.once("close", () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }

  async function answer(
    req: IncomingMessage,
    res: ServerResponse,
    record: ImageRequestRecord,
    ok: (bytes: Buffer) => unknown,
    refuse: (step: Extract<ImageStep, { kind: "refuse" }>) => [number, unknown],
    empty: () => unknown,
    error: (status: number) => unknown,
  ) {
    requests.push(record);
    const step = scripts.get(record.provider)?.shift() ?? { kind: "ok", delayMs: defaultDelayMs };
    if (step.kind === "slow" || (step.kind === "ok" && step.delayMs)) {
      const ms = step.kind === "slow" ? step.ms : step.delayMs!;
      if (!await wait(req, res, ms)) {
        record.outcome = "aborted";
        return;
      }
    }
    if (step.kind === "status") {
      record.outcome = String(step.status);
      return json(res, step.status, error(step.status));
    }
    if (step.kind === "refuse") {
      record.outcome = "refused";
      const [status, body] = refuse(step);
      return json(res, status, body);
    }
    if (step.kind === "empty") {
      record.outcome = "empty";
      return json(res, 200, empty());
    }
    record.outcome = "ok";
    return json(res, 200, ok(imageBytesFor(record.n)));
  }

  async function gemini(req: IncomingMessage, res: ServerResponse, model: string) {
    const body = JSON.parse((await readBody(req)).toString() || "{}");
    const parts: { text?: string; inlineData?: { mimeType: string; data: string } }[] = body.contents?.[0]?.parts ?? [];
    const image = parts.find((p) => p.inlineData)?.inlineData;
    const record: ImageRequestRecord = {
      provider: "gemini",
      n: ++count,
      path: req.url ?? "",
      model,
      prompt: parts.filter((p) => p.text).map((p) => p.text).join("\n"),
      size: body.generationConfig?.imageConfig?.aspectRatio ?? "",
      reference: image && { mimeType: image.mimeType, base64: image.data },
      apiKey: req.headers["x-goog-api-key"] as string | undefined,
      at: Date.now(),
    };
    await answer(req, res, record,
      (bytes) => ({
        candidates: [{
          content: { role: "model", parts: [{ text: "Here is your page." }, {
            inlineData: { mimeType: "image/png", data: bytes.toString("base64") },
          }] },
          finishReason: "STOP",
          index: 0,
        }],
        usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 1290, totalTokenCount: 1300 },
        modelVersion: model,
      }),
      (step) => step.stage === "image"
        ? [200, { candidates: [{ finishReason: step.reason ?? "IMAGE_SAFETY", index: 0 }], modelVersion: model }]
        : [200, { promptFeedback: { blockReason: step.reason ?? "SAFETY" }, modelVersion: model }],
      () => ({
        candidates: [{ content: { role: "model", parts: [{ text: "I can only describe it." }] }, finishReason: "STOP" }],
      }),
      (status) => ({
        error: {
          code: status,
          message: status === 429 ? "Resource has been exhausted (e.g. check quota)." : "An internal error has occurred.",
          status: status === 429 ? "RESOURCE_EXHAUSTED" : status === 503 ? "UNAVAILABLE" : "INTERNAL",
        },
      }),
    );
  }

  async function openai(req: IncomingMessage, res: ServerResponse, edit: boolean) {
    const raw = await readBody(req);
    let model = "", prompt = "", size = "";
    let reference: ImageRequestRecord["reference"];
    if (edit) {
      const parts = multipart(raw, String(req.headers["content-type"] ?? ""));
      const field = (n: string) => parts.find((p) => p.name === n)?.data.toString() ?? "";
      model = field("model");
      prompt = field("prompt");
      size = field("size");
      const image = parts.find((p) => p.name === "image" || p.name === "image[]");
      if (image) reference = { mimeType: image.type ?? "", base64: image.data.toString("base64") };
    } else {
      const body = JSON.parse(raw.toString() || "{}");
      ({ model, prompt, size } = body);
    }
    const record: ImageRequestRecord = {
      provider: "openai",
      n: ++count,
      path: req.url ?? "",
      model,
      prompt,
      size,
      reference,
      apiKey: /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ""))?.[1],
      at: Date.now(),
    };
    await answer(req, res, record,
      (bytes) => ({
        created: Math.floor(Date.now() / 1000),
        data: [{ b64_json: bytes.toString("base64") }],
        usage: { input_tokens: 50, output_tokens: 4160, total_tokens: 4210 },
      }),
      () => [400, {
        error: {
          message: "Your request was rejected by the safety system.",
          type: "image_generation_user_error",
          param: null,
          code: "moderation_blocked",
        },
      }],
      () => ({ created: Math.floor(Date.now() / 1000), data: [{}] }),
      (status) => ({
        error: {
          message: status === 429 ? "Rate limit reached for images" : "The server had an error processing your request.",
          type: status === 429 ? "requests" : "server_error",
          param: null,
          code: status === 429 ? "rate_limit_exceeded" : null,
        },
      }),
    );
  }

  const server: Server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (url.pathname === "/_test/script" && req.method === "POST") {
        const { provider, steps } = JSON.parse((await readBody(req)).toString());
        scripts.set(provider, [...(scripts.get(provider) ?? []), ...steps]);
        return json(res, 200, { ok: true });
      }
      if (url.pathname === "/_test/reset" && req.method === "POST") {
        scripts.clear();
        requests.length = 0;
        return json(res, 200, { ok: true });
      }
      if (url.pathname === "/_test/pace" && req.method === "POST") {
        defaultDelayMs = JSON.parse((await readBody(req)).toString()).delayMs ?? 0;
        return json(res, 200, { ok: true });
      }
      if (url.pathname === "/_test/state") return json(res, 200, { requests });
      const g = /^\/gemini\/v1beta\/models\/([^/:]+):generateContent$/.exec(url.pathname);
      if (g && req.method === "POST") return await gemini(req, res, decodeURIComponent(g[1]));
      if (url.pathname === "/openai/v1/images/generations" && req.method === "POST") return await openai(req, res, false);
      if (url.pathname === "/openai/v1/images/edits" && req.method === "POST") return await openai(req, res, true);
      return json(res, 404, { error: { code: 404, message: `No route ${req.method} ${url.pathname}`, status: "NOT_FOUND" } });
    } catch (err) {
      if (!res.headersSent) json(res, 500, { error: { code: 500, message: String(err), status: "INTERNAL" } });
    }
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    /** Base URLs as the config's baseUrlEnv take them. */
    geminiBase: `${url}/gemini/v1beta`,
    openaiBase: `${url}/openai/v1`,
    /** Queues what the next requests of `provider` get. */
    script: (provider: ImageProviderName, ...steps: ImageStep[]) => {
      scripts.set(provider, [...(scripts.get(provider) ?? []), ...steps]);
    },
    reset: () => {
      scripts.clear();
      requests.length = 0;
    },
    pace: (ms: number) => (defaultDelayMs = ms),
    requests,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

export type ImageServers = Awaited<ReturnType<typeof startImageServers>>;
