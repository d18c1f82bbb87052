// Token counts that bound what a provider will bill, so a chat's hold covers its real cost: OpenAI's models
// through their own tokenizer (gpt-tokenizer, a maintained pure-JS port of tiktoken's BPE: o200k_base for the
// GPT-4o, 4.1, 5 and o-series families, cl100k_base for GPT-4 and 3.5), every other model (Gemini, Ollama,
// vLLM...) through UTF-8 bytes, which no byte-level or byte-fallback tokenizer exceeds (each token stands for
// at least one byte).
//
// The tokenizer's data loads once per instance (about 2.4 MB of ranks, a few hundred ms, ~20 MB of heap), in the
// background from the first import of this module, so the first answer rarely waits for it.
//
// BPE's cost grows faster than linearly with the length of one pre-tokenized piece (a run of letters with no
// break: 30,000 "漢" take seconds, where 30,000 characters of prose take milliseconds), so a piece longer than
// LONG_PIECE is counted as its UTF-8 bytes instead: still an upper bound, and a user cannot buy CPU time with
// one long word.
import type { ChatTurn } from "./chat-logic.ts";

export type TokenFamily = "o200k_base" | "cl100k_base" | "bytes";

/** Which tokenizer bounds a model's billed tokens. OpenAI model ids by family; unknown ones by UTF-8 bytes. */
export function tokenFamily(model: string): TokenFamily {
  const id = model.toLowerCase().replace(/^openai\//, "");
  if (/^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4)(\b|-|$)/.test(id)) return "o200k_base";
  if (/^(gpt-4|gpt-3\.5)(\b|-|$)/.test(id)) return "cl100k_base";
  return "bytes";
}

/** Per message framing (role, separators) and the reply's priming, as OpenAI's chat format spends them
 * (3 + 1 for the role, and 3 to open the answer); templates of other models spend a few more, so the bytes
 * family is given a generous 16 of each. */
const FRAMING: Record<TokenFamily, { perMessage: number; reply: number }> = {
  o200k_base: { perMessage: 4, reply: 3 },
  cl100k_base: { perMessage: 4, reply: 3 },
  bytes: { perMessage: 16, reply: 16 },
};

/** Pieces longer than this (in UTF-16 units) are counted as their bytes (see the top of this file). */
export const LONG_PIECE = 200;

interface Encoder {
  countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number;
}
interface Tokenizer {
  encoder: Encoder;
  split: RegExp;
}

const utf8 = new TextEncoder();
export const utf8Bytes = (text: string) => utf8.encode(text).length;

const loaders: Record<Exclude<TokenFamily, "bytes">, () => Promise<Tokenizer>> = {
  o200k_base: async () => ({
    encoder: await import("gpt-tokenizer/encoding/o200k_base"),
    split: (await import("gpt-tokenizer/encodingParams/constants")).O200K_TOKEN_SPLIT_REGEX,
  }),
  cl100k_base: async () => ({
    encoder: await import("gpt-tokenizer/encoding/cl100k_base"),
    split: (await import("gpt-tokenizer/encodingParams/constants")).CL100K_TOKEN_SPLIT_REGEX,
  }),
};
const loaded = new Map<TokenFamily, Promise<Tokenizer>>();
function tokenizer(family: Exclude<TokenFamily, "bytes">): Promise<Tokenizer> {
  let t = loaded.get(family);
  if (!t) {
    t = loaders[family]();
    loaded.set(family, t);
  }
  return t;
}
// The family almost every answer needs starts loading now, in the background (a failure shows when used).
tokenizer("o200k_base").catch(() => loaded.delete("o200k_base"));

// Text such as "<|endoftext|>" is ordinary text in a message (the API never reads it as a special token).
const PLAIN = { disallowedSpecial: new Set<string>() };

// A piece is a run of whitespace, or at most one other character before a run with no whitespace: text with
// neither run longer than this has no long piece, and is counted in one call without splitting it first.
const LONG_RUN = new RegExp(`\\S{${LONG_PIECE},}|\\s{${LONG_PIECE + 1},}`);

function countWith(t: Tokenizer, text: string): number {
  if (!LONG_RUN.test(text)) return t.encoder.countTokens(text, PLAIN);
  let total = 0;
  let from = 0;
  const stretch = (to: number) => {
    // A stretch counted alone may end in whitespace the whole text would have split once more: +1 each.
    if (to > from) total += t.encoder.countTokens(text.slice(from, to), PLAIN) + 1;
  };
  for (const piece of text.matchAll(new RegExp(t.split.source, t.split.flags))) {
    if (piece[0].length <= LONG_PIECE) continue;
    stretch(piece.index);
    total += utf8Bytes(piece[0]);
    from = piece.index + piece[0].length;
  }
  if (from === 0) return t.encoder.countTokens(text, PLAIN);
  stretch(text.length);
  return total;
}

/**
 * Counts already made, per family, most recently used last, up to MEMO_CHARS characters of text in all: a
 * conversation's history is counted again for every message (and for each provider that may answer it), and
 * an instance serves the same conversations over and over, so each message is tokenized about once.
 */
export const MEMO_CHARS = 4_000_000;
const memo = new Map<string, number>();
let memoChars = 0;
function remembered(family: TokenFamily, text: string, count: (s: string) => number): number {
  if (text.length < 64) return count(text); // not worth a key
  const key = `${family}\u0000${text}`;
  const known = memo.get(key);
  if (known !== undefined) {
    memo.delete(key);
    memo.set(key, known);
    return known;
  }
  const n = count(text);
  memo.set(key, n);
  memoChars += key.length;
  for (const [old] of memo) {
    if (memoChars <= MEMO_CHARS) break;
    memo.delete(old);
    memoChars -= old.length;
  }
  return n;
}

/** What the memory holds now (for its tests). */
export const memoSize = () => ({ entries: memo.size, chars: memoChars });

/** Counts text the way a model family bills it (an upper bound: see the top of this file). */
export interface TokenCounter {
  family: TokenFamily;
  /** The tokens of a piece of text (an answer, or one message's content). */
  text(text: string): number;
  /** The tokens of one message of a prompt: its content and its framing. */
  message(turn: ChatTurn): number;
  /** What opens the answer, once per prompt. */
  reply: number;
}

export async function tokenCounter(model: string): Promise<TokenCounter> {
  const family = tokenFamily(model);
  const framing = FRAMING[family];
  const t = family === "bytes" ? undefined : await tokenizer(family);
  const text = t ? (s: string) => remembered(family, s, (x) => countWith(t, x)) : utf8Bytes;
  return {
    family,
    text,
    message: (turn) => text(turn.content) + framing.perMessage,
    reply: framing.reply,
  };
}
