// What npm test reads from each runner's output (scripts/test.ts): the counts, the failed tests by name and the
// work that did not run (skipped, todo, ignored), so that the summary names both.
import { relative } from "node:path";
import { ROOT } from "../src/local/paths.ts";

/** What a runner's output says: its counts, the failures and the skipped work by name. */
export type Counted = { passed: number; failed: number; failures?: string[]; skipped?: string[] };

/** pg_prove's output, run with --directives (which prints each SKIP and TODO result under its file). */
export const tap = (output: string): Counted | undefined => {
  const m = /Files=\d+, Tests=(\d+)/.exec(output);
  if (!m) return undefined;
  const failedLines = [...output.matchAll(/Failed (\d+)\/\d+ subtests/g)].reduce((n, x) => n + Number(x[1]), 0);
  const [run, report = ""] = output.split("Test Summary Report");
  const skipped: string[] = [];
  let file = "";
  for (const line of run.split("\n")) {
    const heading = /^(\S+\.sql) \.+/.exec(line);
    if (heading) file = heading[1];
    const directive = /^(?:not )?ok (\d+)(?: - (.*?))? # (SKIP|TODO)\s*(.*)$/i.exec(line);
    if (directive) {
      const [, n, what, kind, why] = directive;
      skipped.push(`${file} > test ${n}${what ? ` ${what}` : ""} (${kind.toLowerCase()}${why ? `: ${why}` : ""})`);
    }
  }
  // The "Test Summary Report": each failing file, then its failed test numbers, or the plan it broke (a file
  // that ran fewer or more tests than it planned, or died midway).
  const failures: string[] = [];
  for (const block of report.split(/^(?=\S+\.sql \()/m).slice(1)) {
    const where = block.split(" ")[0];
    for (const x of block.matchAll(/^\s+(Failed tests?|Parse errors|Non-zero exit status|Non-zero wait status):\s+(.+)$/gm)) {
      failures.push(`${where}: ${x[1] === "Failed tests" || x[1] === "Failed test" ? `failed test ${x[2]}` : `${x[1].toLowerCase()}: ${x[2]}`}`);
    }
  }
  // Tests= counts the tests that ran; of those, the report's `Failed: N` failed. A broken plan's missing tests
  // did not run and are among the "Failed x/y subtests" only.
  const failedThatRan = [...report.matchAll(/\(Wstat: \d+ Tests: \d+ Failed: (\d+)\)/g)].reduce((n, x) => n + Number(x[1]), 0);
  return { passed: Number(m[1]) - failedThatRan - skipped.length, failed: failedLines, failures, skipped };
};
export const denoCounts = (output: string): Counted | undefined => {
  const m = /(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(output);
  // deno test's FAILURES section: `name => file:line:col`.
  const failures = [...(output.split(/^ *(?:ERRORS|FAILURES) *$/m).at(-1) ?? "").matchAll(/^(.+ => \S+)$/gm)].map((x) => x[1]);
  // Ignored tests and steps: `name ... ignored`, under `running N tests from ./file`.
  const skipped: string[] = [];
  let file = "";
  for (const line of output.split("\n")) {
    const running = /^running \d+ tests? from (\S+)/.exec(line);
    if (running) file = running[1].replace(/^\.\//, "");
    const ignored = /^(\s*)(.+) \.\.\. ignored/.exec(line);
    if (ignored) skipped.push(`${file} > ${ignored[2]} (${ignored[1] ? "step " : ""}ignored)`);
  }
  return m ? { passed: Number(m[1]), failed: Number(m[2]), failures: Number(m[2]) ? failures : [], skipped } : undefined;
};

export type VitestReport = {
  testResults?: { name: string; status: string; message?: string; assertionResults?: { fullName: string; status: string; failureMessages?: string[] }[] }[];
};

/** `file > test (skipped|todo|...)` for each test that did not run. */
export function vitestSkipped(report: VitestReport): string[] {
  const out: string[] = [];
  for (const file of report.testResults ?? []) {
    for (const a of file.assertionResults ?? []) {
      if (a.status !== "passed" && a.status !== "failed") out.push(`${relative(ROOT, file.name)} > ${a.fullName} (${a.status})`);
    }
  }
  return out;
}

/** `file > test: first line of the message` for each failed test (and each file that failed to run). */
export function vitestFailures(report: VitestReport): string[] {
  const out: string[] = [];
  for (const file of report.testResults ?? []) {
    const where = relative(ROOT, file.name);
    const failed = (file.assertionResults ?? []).filter((a) => a.status === "failed");
    for (const a of failed) out.push(`${where} > ${a.fullName}: ${firstLine(a.failureMessages?.[0])}`);
    if (!failed.length && file.status === "failed") out.push(`${where}: ${firstLine(file.message)}`);
  }
  return out;
}
const firstLine = (s?: string) => (s ?? "").split("\n").find((l) => l.trim())?.slice(0, 300) ?? "";
