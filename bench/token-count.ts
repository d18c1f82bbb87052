// bench/token-count: what counting a chat's tokens costs (supabase/functions/_shared/token-count.ts), against
// gpt-tokenizer's plain countTokens (exact BPE over the whole text: the baseline) on the same inputs in the same
// run, as ratios. Three cases: prose and CJK clauses (short pieces: both exact, the cost should match), a run of
// one character with no break (a single long piece: BPE's cost grows faster than its length; ours counts it as
// its bytes), and a conversation's history counted again for every message of it (ours remembers counts).
//   npm run bench:tokens
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { tokenCounter } from "../supabase/functions/_shared/token-count.ts";

const plain = { disallowedSpecial: new Set<string>() };
const ours = await tokenCounter("gpt-4o");

/** Milliseconds `fn` takes, the best of `runs`, and its result. */
function time<T>(fn: () => T, runs = 3): { ms: number; value: T } {
  let best = Infinity;
  let value!: T;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    value = fn();
    best = Math.min(best, performance.now() - started);
  }
  return { ms: best, value };
}

let seed = 7;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const cjk = (n: number) => Array.from({ length: n }, () => String.fromCodePoint(0x4e00 + Math.floor(random() * 20_000))).join("");
let clauses = "";
while (clauses.length < 30_000) clauses += `${cjk(8 + Math.floor(random() * 20))}，`;
const words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "tokenization", "naïve"];
let prose = "";
while (prose.length < 100_000) prose += `${words[Math.floor(random() * words.length)]}${random() < 0.1 ? ". " : " "}`;

console.log("case                                   baseline ms   ours ms   ratio   tokens (baseline / ours)");
// Each run counts a text never counted before (`make(i)`, i new each time, baseline and ours alike), as BPE
// implementations remember pieces they have merged.
let fresh = 0;
const row = (name: string, make: (i: number) => string) => {
  const base = time(() => countTokens(make(fresh++), plain));
  const mine = time(() => ours.text(make(fresh++)));
  console.log(
    `${name.padEnd(38)} ${base.ms.toFixed(1).padStart(11)} ${mine.ms.toFixed(1).padStart(9)} ${
      (base.ms / mine.ms).toFixed(2).padStart(7)
    }   ${base.value} / ${mine.value}`,
  );
};
row("prose, 100,000 characters", (i) => `${i} ${prose}`);
row("CJK clauses, 30,000 characters", (i) => `${i} ${clauses}`);
row("one run: a CJK character x 10,000", (i) => String.fromCodePoint(0x6f22 + i).repeat(10_000));

// A conversation of 60 turns of ~2,000 characters, each new message counting the whole history again (as the
// chat function does, for the context and for each provider that may answer).
const turns = Array.from({ length: 60 }, (_, i) => `${i} ${prose.slice(i * 1_000, i * 1_000 + 2_000)}`);
const recount = (count: (s: string) => number) => () => {
  let total = 0;
  for (let message = 1; message <= turns.length; message++) {
    for (const turn of turns.slice(0, message)) total += count(turn);
  }
  return total;
};
const base = time(recount((s) => countTokens(s, plain)), 1);
const mine = time(recount((s) => ours.text(s)), 1);
console.log(
  `${"history of 60 turns, recounted".padEnd(38)} ${base.ms.toFixed(1).padStart(11)} ${mine.ms.toFixed(1).padStart(9)} ${
    (base.ms / mine.ms).toFixed(2).padStart(7)
  }   ${base.value} / ${mine.value}`,
);
