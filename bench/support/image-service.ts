// The local image upstream (tests/support/image-servers.ts: Gemini's and OpenAI's image wire formats) as a
// benchmark's service; the message `{ delayMs }` sets how long each answer takes (a model's pace).
import { startImageServers } from "../../tests/support/image-servers.ts";
import { serve } from "./service.ts";

const upstream = await startImageServers();
serve({ url: upstream.url, geminiBase: upstream.geminiBase, openaiBase: upstream.openaiBase }, {
  message: (m) => {
    upstream.pace((m as { delayMs: number }).delayMs);
  },
  stop: () => upstream.close(),
});
