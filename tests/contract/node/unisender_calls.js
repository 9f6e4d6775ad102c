// Runs calls through the published npm client `unisender` (node-unisender) and prints
// what the client hands its caller, for tests/integration/test_contract_selzy.py.
//
// Input (argv[2], JSON): {"base_url": ..., "api_key": ..., "lang": ...,
//                         "calls": [{"method": "...", "params": {...}}, ...]}
// Output (stdout, JSON): one {"resolved": <value>} or {"rejected": <reason>} per call.
//
// The client is pointed at the stack only through its own base-URL setting: the `url`
// of its config module (src/config/defaults.js), which every request URL starts with.
// It has no async/* methods in its method table (src/config/methods.js), so they are
// added to that table before the client builds its methods from it; a call then goes
// through the client's own URL, body and response handling, as by-name calls do.
"use strict";

const plan = JSON.parse(process.argv[2]);

const defaults = require("unisender/src/config/defaults");
const methods = require("unisender/src/config/methods");

defaults.url = plan.base_url;
for (const call of plan.calls) {
  if (!methods.includes(call.method)) {
    methods.push(call.method);
  }
}

const UniSender = require("unisender");

function describe(reason) {
  // The client rejects with the parsed body (no `result`) or with a JSON.parse error.
  if (reason instanceof Error) {
    return { error_class: reason.constructor.name, message: reason.message };
  }
  return reason;
}

async function main() {
  const client = new UniSender({ api_key: plan.api_key, lang: plan.lang });
  const outcomes = [];
  for (const call of plan.calls) {
    try {
      outcomes.push({ resolved: await client[call.method](call.params || {}) });
    } catch (reason) {
      outcomes.push({ rejected: describe(reason) });
    }
  }
  process.stdout.write(JSON.stringify(outcomes));
}

main();
