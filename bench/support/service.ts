// Runs part of a benchmark (the local stack, the fake upstream) in a Node process of its own, so the load
// generator does not share an event loop with what it measures: Stripe's senders, a chat's browser and an AI
// provider are never inside the API gateway. The child module starts its part, answers `{ ready: info }`,
// then acknowledges each message it handles with `{ ack: true }`; "stop" ends it.
import { fork, type ChildProcess } from "node:child_process";

export interface Service<I> {
  info: I;
  /** Sends a message and waits until the service has acted on it. */
  send(message: unknown): Promise<void>;
  stop(): Promise<void>;
}

type Reply<I> = { ready: I } | { ack: true } | { error: string };

export function startService<I>(module: string, options: unknown): Promise<Service<I>> {
  const child: ChildProcess = fork(module, [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, BENCH_SERVICE_OPTIONS: JSON.stringify(options) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const next = () =>
    new Promise<Reply<I>>((resolve, reject) => {
      const onExit = () => reject(new Error(`${module} exited`));
      child.once("exit", onExit);
      child.once("message", (m) => (child.off("exit", onExit), resolve(m as Reply<I>)));
    });
  const expect = async <T extends Reply<I>>(): Promise<T> => {
    const reply = await next();
    if ("error" in reply) throw new Error(`${module}: ${reply.error}`);
    return reply as T;
  };
  return expect<{ ready: I }>().then(({ ready }) => ({
    info: ready,
    send: async (message) => {
      const replied = expect();
      child.send(message as object);
      await replied;
    },
    stop: async () => {
      if (child.exitCode === null) child.send("stop");
      await exited;
    },
  }));
}

/** The child's side: its options, and the reply channel. */
export function serviceOptions<O>(): O {
  return JSON.parse(process.env.BENCH_SERVICE_OPTIONS ?? "{}") as O;
}

export function serve<I>(info: I, handlers: { message?: (m: unknown) => void | Promise<void>; stop: () => Promise<void> }) {
  process.send!({ ready: info });
  // The benchmark died (or was interrupted) without stopping us: clean up all the same.
  process.on("disconnect", () => void handlers.stop().finally(() => process.exit(0)));
  process.on("message", async (m) => {
    try {
      if (m === "stop") {
        await handlers.stop();
        process.exit(0);
      }
      await handlers.message?.(m);
      process.send!({ ack: true });
    } catch (err) {
      process.send!({ error: err instanceof Error ? err.message : String(err) });
    }
  });
}
