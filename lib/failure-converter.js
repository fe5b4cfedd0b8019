// The failure converter of every client and worker, inside and outside the workflow sandbox: failure
// messages and stack traces move into an encoded payload, so the payload codec encrypts them too (a provider
// error message or a stack may quote an order's data; DESIGN 3.6). One exception: a refusal of a payload the
// codec did not accept (type PayloadRefused, lib/workflow-guard.ts) says only what was refused and why, in
// the project's own words, and must be readable by the client without the codec that sent the payload.
//
// Plain CommonJS on purpose: the SDK loads it by path (`failureConverterPath`) with Node's own require, in
// the worker's main thread, in clients and in vitest alike, and webpack bundles it into the workflow code.
const { ApplicationFailure, DefaultFailureConverter } = require('@temporalio/common');
const { REFUSED_FAILURE_TYPE } = require('./payload-converter');

const readable = new DefaultFailureConverter({ encodeCommonAttributes: false });

class FailureConverter extends DefaultFailureConverter {
  errorToFailure(err, payloadConverter, context) {
    if (err instanceof ApplicationFailure && err.type === REFUSED_FAILURE_TYPE && !err.cause) {
      return { ...readable.errorToFailure(err, payloadConverter, context), stackTrace: '' };
    }
    return super.errorToFailure(err, payloadConverter, context);
  }
}

exports.failureConverter = new FailureConverter({ encodeCommonAttributes: true });
