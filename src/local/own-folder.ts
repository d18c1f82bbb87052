// The local stack keeps things under /var/tmp and /tmp (the copy of npm's PostgreSQL binaries, a state folder
// when root runs it, the presets' Deno configs), where any account may create a name first. It then writes,
// chowns and runs what it finds there: a folder some other account made, or may change, would hand that account
// our hand (a server.log linked to /etc/shadow, chowned to the server's account; binaries of its choosing run
// for every project; an import map sending the functions to its code). So such a folder must be a real folder
// of ours that no one else may write to.
import { lstatSync } from "node:fs";

/** Throws, in one line saying what to do (`remedy`), unless `path` is missing or a folder (not a link) owned by
 * this process's account and writable by no other. (Windows gives each account a temp folder of its own.) */
export function assertOwnFolder(
  path: string,
  remedy = "remove it, or set SAASBASE_STATE_DIR to a folder of your own",
): void {
  if (process.platform === "win32") return;
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  const mine = !st.isSymbolicLink() && st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o022) === 0;
  if (!mine) {
    throw new Error(
      `${path} is not a folder of this account's alone (another account made it, may write to it, or it is a ` +
        `link): ${remedy}.`,
    );
  }
}
