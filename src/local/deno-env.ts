// The environment our Deno processes (function workers, the dependency fetch) start with. A function gets the
// platform's variables and its secrets from the stack; from our own environment only what a Deno process
// needs to find its toolchain and cache and to reach the npm registry: the certificate authority and proxy
// of a network that inspects TLS (a corporate proxy, a CI sandbox), which Deno reads from these variables.
// Nothing else of ours (database URLs, Stripe keys in the shell) leaks into a function.

/** Where Deno finds its toolchain, cache and temp folder (the Windows ones are Windows' own). */
const SYSTEM = [
  "PATH", "HOME", "TMPDIR", "DENO_DIR", "XDG_CACHE_HOME",
  "SYSTEMROOT", "USERPROFILE", "LOCALAPPDATA", "APPDATA", "TEMP", "TMP",
];
/** How Deno reaches the npm registry: which registry, which certificate authorities it trusts. */
const NETWORK = ["NPM_CONFIG_REGISTRY", "NODE_EXTRA_CA_CERTS", "DENO_CERT", "DENO_TLS_CA_STORE", "SSL_CERT_FILE"];
/** HTTP_PROXY, https_proxy, NO_PROXY, ALL_PROXY, ...: both cases are in use, and Deno reads both. */
const PROXY = /_proxy$/i;

export function denoProcessEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const keep = (name: string) => SYSTEM.includes(name.toUpperCase()) || NETWORK.includes(name.toUpperCase()) || PROXY.test(name);
  return Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== undefined && v !== "" && keep(k))) as Record<string, string>;
}
