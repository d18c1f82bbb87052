// The local OpenAI-compatible upstream (tests/support/openai-server.ts) as a benchmark's service; the message
// `{ delayMs }` sets the pace of its answers.
import { startOpenAIServer } from "../../tests/support/openai-server.ts";
import { serve } from "./service.ts";

const upstream = await startOpenAIServer();
serve({ url: upstream.url }, {
  message: (m) => {
    upstream.setDefaultDelay((m as { delayMs: number }).delayMs);
  },
  stop: () => upstream.close(),
});
