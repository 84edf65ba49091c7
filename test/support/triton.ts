/**
 * Requests and responses of Triton's binary tensor data extension, built byte for byte as
 * `tritonclient.http` builds them (its `_get_inference_request` and `InferResult`), written
 * from that client's behaviour rather than with the service's code:
 *
 * - the JSON header is `rapidjson.dumps` of the request: compact, keys in the order the
 *   client adds them (`id`, `inputs`, `outputs`, `parameters`; per input `name`, `shape`,
 *   `datatype`, `parameters`, `data`);
 * - `InferInput.set_data_from_numpy(array)` (binary by default) sets
 *   `parameters.binary_data_size` to the length of `array.tobytes()` (BYTES: each element
 *   as a u32 LE length then its bytes) and sends no `data`;
 * - without requested outputs the client sets `parameters.binary_data_output: true`;
 *   `InferRequestedOutput(name)` sends `{"name", "parameters": {"binary_data": true}}`;
 * - the body is the JSON then every binary input's bytes in order, with
 *   `Inference-Header-Content-Length` the JSON's length, when any input is binary.
 */

export interface TritonInput {
  name: string;
  shape: number[];
  datatype: string;
  /** The elements as bytes (`set_data_from_numpy(array)`), or … */
  binary?: Buffer;
  /** … as JSON values (`set_data_from_numpy(array, binary_data=False)`). */
  data?: unknown[];
}

export interface TritonOutput {
  name: string;
  /** `InferRequestedOutput(name, binary_data=…)`; the client's default is true. */
  binaryData?: boolean;
}

export interface TritonRequest {
  id?: string;
  inputs: TritonInput[];
  /** Absent: the client asks for every output in binary (`binary_data_output`). */
  outputs?: TritonOutput[];
}

/** The body and headers `InferenceServerClient.infer` sends. */
export function tritonRequest(request: TritonRequest): { body: Buffer; headers: Record<string, string> } {
  const message: Record<string, unknown> = {};
  const parameters: Record<string, unknown> = {};
  if (request.id !== undefined && request.id !== '') message.id = request.id;
  message.inputs = request.inputs.map((input) => {
    const tensor: Record<string, unknown> = { name: input.name, shape: input.shape, datatype: input.datatype };
    if (input.binary !== undefined) tensor.parameters = { binary_data_size: input.binary.length };
    else tensor.data = input.data;
    return tensor;
  });
  if (request.outputs && request.outputs.length > 0) {
    message.outputs = request.outputs.map((o) => ({ name: o.name, parameters: { binary_data: o.binaryData ?? true } }));
  } else {
    parameters.binary_data_output = true;
  }
  if (Object.keys(parameters).length > 0) message.parameters = parameters;
  const json = Buffer.from(JSON.stringify(message), 'utf8');
  const binaries = request.inputs.flatMap((i) => (i.binary !== undefined ? [i.binary] : []));
  if (binaries.length === 0) return { body: json, headers: {} };
  return {
    body: Buffer.concat([json, ...binaries]),
    headers: { 'Inference-Header-Content-Length': String(json.length) }
  };
}

export interface TritonResultTensor {
  name: string;
  datatype: string;
  shape: number[];
  /** The output's bytes when it came back binary. */
  binary?: Buffer;
  /** Its JSON data otherwise. */
  data?: unknown[];
}

/**
 * Reads a response as `tritonclient.http.InferResult` does: with the header, the JSON is its
 * first bytes and each output with `parameters.binary_data_size` takes its bytes from what
 * follows, in output order.
 */
export function tritonResult(headers: Record<string, string | string[] | undefined>, body: Buffer): { json: any; outputs: Map<string, TritonResultTensor> } {
  const headerLength = headers['inference-header-content-length'];
  const length = headerLength === undefined ? body.length : Number(headerLength);
  const json = JSON.parse(body.subarray(0, length).toString('utf8'));
  const outputs = new Map<string, TritonResultTensor>();
  let offset = length;
  for (const o of json.outputs as any[]) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) {
      outputs.set(o.name, { name: o.name, datatype: o.datatype, shape: o.shape, data: o.data });
    } else {
      outputs.set(o.name, { name: o.name, datatype: o.datatype, shape: o.shape, binary: body.subarray(offset, offset + size) });
      offset += size;
    }
  }
  if (offset !== body.length) throw new Error(`the response has ${body.length - offset} bytes past its outputs`);
  return { json, outputs };
}
