// GitHub's own webhook signing code (@octokit/webhooks-methods), for the webhook tests.
// Reads one JSON object from stdin: {"secret", "payload", "signature"?} (the secret never
// appears in the process list). "sign" prints sign(secret, payload); "verify" prints
// verify(secret, payload, signature) as true or false.
// The package lives in the forge fixtures' cache: DEVPUSH_FORGES_DIR/node_modules.
import { pathToFileURL } from "node:url";
import path from "node:path";

const mode = process.argv[2];
const dir = process.env.DEVPUSH_FORGES_DIR;
if (!dir || !["sign", "verify"].includes(mode)) {
  console.error("usage: DEVPUSH_FORGES_DIR=<dir> node octokit.mjs sign|verify < {json}");
  process.exit(2);
}
const entry = path.join(dir, "node_modules/@octokit/webhooks-methods/dist-node/index.js");
const { sign, verify } = await import(pathToFileURL(entry).href);

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { secret, payload, signature } = JSON.parse(input);
if (mode === "sign") {
  process.stdout.write(await sign(secret, payload));
} else {
  process.stdout.write(String(await verify(secret, payload, signature)));
}
