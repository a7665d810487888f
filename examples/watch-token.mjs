// Mints a paywatch watch token, as a shop's backend would (any language
// will do: server/README.md, "Only the payer watches an order").
//   node examples/watch-token.mjs SECRET_FILE ORDER_NO EXP_UNIX_SECONDS
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";

const [secretFile, orderNo, exp] = process.argv.slice(2);
let secret = readFileSync(secretFile);
if (secret.at(-1) === 0x0a) secret = secret.subarray(0, -1);
if (secret.at(-1) === 0x0d) secret = secret.subarray(0, -1);
const sig = createHmac("sha256", secret).update(`v1\n${orderNo}\n${exp}`).digest("hex");
console.log(`v1.${exp}.${sig}`);
