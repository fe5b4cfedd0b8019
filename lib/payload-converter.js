// The payload converter of every client and worker, inside and outside the workflow sandbox: Temporal's
// default converters, plus one for the content-free marker a worker's codec leaves where it refused a payload
// (lib/codec.ts, WorkerPayloadCodec). The marker converts to a frozen "refused" value that the worker's guards
// (lib/workflow-guard.ts, workers/create.ts) turn into a refusal of that start, signal, update, query or
// activity, so a payload the project's codec did not encrypt is never handed to workflow or activity code.
//
// Plain CommonJS on purpose, like failure-converter.js: the SDK loads it by path with Node's own require and
// webpack bundles it into the workflow code.
const {
  BinaryPayloadConverter,
  CompositePayloadConverter,
  JsonPayloadConverter,
  UndefinedPayloadConverter,
} = require('@temporalio/common');

const REFUSED_ENCODING = 'binary/refused';
const REASON_METADATA = 'refused-reason';
// The type of the ApplicationFailure each refusal raises; its message is the project's own words, so the
// failure converter leaves it readable (failure-converter.js).
const REFUSED_FAILURE_TYPE = 'PayloadRefused';
// A registered symbol: the same in the sandbox and in the worker's main thread, and no JSON can forge it.
const REFUSED = Symbol.for('giftcards.refusedPayload');

const ascii = (bytes) => (bytes ? String.fromCharCode(...bytes) : '');

class RefusedPayloadConverter {
  encodingType = REFUSED_ENCODING;

  toPayload() {
    return undefined; // never written: a refused value is not sent anywhere
  }

  fromPayload(payload) {
    const reason = ascii(payload.metadata?.[REASON_METADATA]) || 'not encrypted by the payload codec';
    return Object.freeze({ [REFUSED]: true, reason });
  }
}

/** The reason a value was refused (the codec's own words, never the payload's), or undefined. */
function refusedReason(value) {
  return typeof value === 'object' && value !== null && value[REFUSED] === true ? value.reason : undefined;
}

exports.REFUSED_ENCODING = REFUSED_ENCODING;
exports.REASON_METADATA = REASON_METADATA;
exports.REFUSED_FAILURE_TYPE = REFUSED_FAILURE_TYPE;
exports.refusedReason = refusedReason;
exports.payloadConverter = new CompositePayloadConverter(
  new UndefinedPayloadConverter(),
  new BinaryPayloadConverter(),
  new JsonPayloadConverter(),
  new RefusedPayloadConverter(),
);
