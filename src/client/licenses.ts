// Licenses for apps: verifying a signed license file offline (the licenses function's GET /licenses/:key/file)
// with the project's public key (GET /licenses/public-key, or the status table of `npm run dev`). WebCrypto's
// Ed25519: Node 20+, Deno, current browsers. The license API itself is plain HTTP (docs/licenses.md); an owner's
// licenses and machines are table reads through RLS (`from("licenses")`, `from("license_machines")`) and their
// changes RPCs (`rpc("suspend_license", { license_id })`, ...).
export {
  LICENSE_FILE_FORMAT,
  type LicenseFile,
  type LicenseFileCheck,
  type LicenseFilePayload,
  verifyLicenseFile,
} from "../../supabase/functions/_shared/licenses/file.ts";
