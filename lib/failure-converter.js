// The failure converter of every client and worker, inside and outside the workflow sandbox: failure
// messages and stack traces move into an encoded payload, so the payload codec encrypts them too (a provider
// error message or a stack may quote an order's data; DESIGN 3.6).
//
// Plain CommonJS on purpose: the SDK loads it by path (`failureConverterPath`) with Node's own require, in
// the worker's main thread, in clients and in vitest alike, and webpack bundles it into the workflow code.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
