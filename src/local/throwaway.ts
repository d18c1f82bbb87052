// A throwaway database for tests, type generation and benchmarks: a fresh cluster in a temp folder on a
// free port, with the platform bootstrap and hosted Supabase's privileges, migrations, seed and config sync
// applied. Deleted by destroy().
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { prepareDatabase } from "./database.ts";
import { freePort } from "./functions.ts";
import { prepareHostedCluster } from "./hosted.ts";
import { LocalCluster } from "./postgres.ts";

/** A fresh temp folder the cluster's server account can traverse (mkdtemp makes it private to us). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

export interface ThrowawayDatabase {
  url: string;
  cluster: LocalCluster;
  destroy(): Promise<void>;
}

export async function throwawayDatabase(opts: { seed?: boolean } = {}): Promise<ThrowawayDatabase> {
  const cluster = new LocalCluster({
    dataDir: join(tempDir("saasbase-db-"), "db"),
    port: await freePort(),
    durable: false,
  });
  try {
    await cluster.start();
    await prepareHostedCluster(cluster);
    await prepareDatabase(cluster.url, opts);
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return {
    url: cluster.url,
    cluster,
    destroy: async () => {
      await cluster.destroy();
      rmSync(dirname(cluster.dataDir), { recursive: true, force: true });
    },
  };
}
