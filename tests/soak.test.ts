// The fault-injection soak's short version (bench/soak.ts runs the long one): a few hundred operations of every
// kind from concurrent clients against a stack of its own, with backends terminated, function processes killed
// mid-request and the AI provider and Stripe failing meanwhile; then every ledger check holds, and each
// violation planted afterwards (rolled back) is caught by its check.
import { describe, expect, it } from "vitest";
import { FULL_MIX, runSoak, type SoakResult } from "../bench/support/soak-run.ts";

const mix = FULL_MIX;

describe("the fault-injection soak (short)", () => {
  let result: SoakResult;

  it("runs 300 operations under faults with no violation of the ledger's rules", async () => {
    result = await runSoak({
      operations: 300,
      clients: 8,
      users: 16,
      seed: 13,
      mix,
      dbKillsPerSecond: 3,
      functionKillsPerSecond: 0.6,
      // No timeouts here: a provider that never answers costs its 30 s (the long soak has them).
      providerFaults: { error: 0.05, reset: 0.03, cut_stream: 0.05, slow: 0.05 },
      stripeFaults: { error: 0.05, reset: 0.03, lost_answer: 0.04, slow: 0.05 },
    });
    expect(result.violations).toEqual([]);
    expect(result.operations).toBe(300);
    expect(result.checks.map((c) => c.name)).toHaveLength(13);
    // Every check looked at something.
    for (const c of result.checks) expect(c.checked, c.name).toBeGreaterThan(0);
  }, 240_000);

  it("injected every kind of fault meanwhile", () => {
    const f = result.faultsByKind;
    const sum = (prefix: string) => Object.entries(f).filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);
    expect(f.backend_terminated).toBeGreaterThan(0);
    expect(f.function_killed).toBeGreaterThan(0);
    expect(sum("provider_")).toBeGreaterThan(0);
    expect(sum("stripe_")).toBeGreaterThan(0);
    expect(result.faults).toBe(Object.values(f).reduce((a, b) => a + b, 0));
  });

  it("did every kind of operation, chats answered, stopped and refused among them", () => {
    expect(Object.keys(result.operationsByKind).sort()).toEqual(Object.keys(mix).sort());
    expect(result.outcomes["chat done"]).toBeGreaterThan(0);
    expect(result.outcomes["chat stopped"]).toBeGreaterThan(0);
  });

  it("its checks can fail: each violation planted after the run is caught by its check", () => {
    const planted = result.selfTest.filter((t) => t.planted);
    expect(planted.length).toBeGreaterThanOrEqual(4);
    expect(planted.filter((t) => !t.caught)).toEqual([]);
  });
});
