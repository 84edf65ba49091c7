/**
 * Open Inference Protocol v2 over gRPC (`inference.GRPCInferenceService`, the contract in
 * kernel-service/proto/grpc_predict_v2.proto) on its own port (`serve --grpc-port`), with
 * @grpc/grpc-js. A transport like REST and WebSocket: it checks the token and the role (people/permissions.ts), translates
 * messages (tensors.ts) and goes through the same data plane, so requests get the same
 * checks, integrity policy, batching, canary routing, monitoring and metrics (transport
 * "grpc"). ServerLive and ServerReady answer without a token, as the HTTP health probes do.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Access } from '../auth.js';
import { ServiceError } from '../errors.js';
import { authorize } from '../people/authorize.js';
import { GRPC_PERMISSIONS } from '../people/permissions.js';
import type { Registry } from '../registry/registry.js';
import type { DataPlane } from '../serving/data-plane.js';
import { isModelReady, modelMetadata, parseVersion, serverMetadata } from '../serving/model-metadata.js';
import type { ModelServer } from '../serving/model-server.js';
import { grpcError } from './status.js';
import { type ModelInferRequest, type ModelInferResponse, inferResponse, readInferRequest } from './tensors.js';

/** The protocol's proto file, shipped with the package. */
export const PROTO_FILE = fileURLToPath(new URL('../../../kernel-service/proto/grpc_predict_v2.proto', import.meta.url));

export interface GrpcContext {
  access: Access;
  registry: Registry;
  server: ModelServer;
  dataPlane: DataPlane;
  /** Largest request message, in bytes (grpc-js answers RESOURCE_EXHAUSTED past it). */
  maxRequestBytes: number;
  /** False once shutdown began. */
  isAcceptingTraffic: () => boolean;
}

interface ModelRef {
  name: string;
  version: string;
}

type Unary = (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => void;

export class GrpcInferenceServer {
  constructor(private readonly _ctx: GrpcContext) {
    this._server = new grpc.Server({
      'grpc.max_receive_message_length': _ctx.maxRequestBytes,
      'grpc.max_send_message_length': -1
    });
    this._server.addService(loadService(), this._handlers());
  }

  /** Binds `host:port` (0 picks a free port) and resolves with the port. */
  listen(host: string, port: number): Promise<number> {
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      this._server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(new Error(`gRPC cannot listen on ${address}: ${error.message}`)) : resolve(bound)
      );
    });
  }

  /** Stops taking new calls (listeners close, connections get GOAWAY); resolves once the calls under way have answered. */
  shutdown(): Promise<void> {
    return new Promise((resolve) => this._server.tryShutdown(() => resolve()));
  }

  /** Ends every call and connection now (after the shutdown timeout). */
  forceShutdown(): void {
    this._server.forceShutdown();
  }

  private _handlers(): grpc.UntypedServiceImplementation {
    const ctx = this._ctx;
    const model = (request: ModelRef, field = 'name') => {
      if (!request.name) throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: `${field}: give the model's name` });
      return { name: request.name, version: parseVersion(request.name, request.version) };
    };
    const access = ctx.access;
    return {
      ServerLive: unary(access, 'ServerLive', () => ({ live: true })),
      ServerReady: unary(access, 'ServerReady', () => ({ ready: ctx.isAcceptingTraffic() })),
      ServerMetadata: unary(access, 'ServerMetadata', () => serverMetadata()),
      ModelMetadata: unary(access, 'ModelMetadata', (request: ModelRef) => {
        const { name, version } = model(request);
        return modelMetadata(ctx.registry, name, version);
      }),
      ModelReady: unary(access, 'ModelReady', async (request: ModelRef) => {
        const { name, version } = model(request);
        return { ready: (await isModelReady(ctx.registry, ctx.server, name, version)) && ctx.isAcceptingTraffic() };
      }),
      ModelInfer: unary(access, 'ModelInfer', async (request: ModelInferRequest): Promise<ModelInferResponse> => {
        const { name, version } = model({ name: request.model_name, version: request.model_version }, 'model_name');
        const { request: input, raw } = readInferRequest(request);
        return inferResponse(await ctx.dataPlane.infer(name, version, input, 'grpc'), raw);
      })
    };
  }

  private readonly _server: grpc.Server;
}

/**
 * A unary handler: the token and the role the permission table asks for first (nothing for
 * the health probes), then the answer or the error as a status.
 */
function unary<Request, Response>(access: Access, method: string, answer: (request: Request) => Response | Promise<Response>): Unary {
  if (!(method in GRPC_PERMISSIONS)) throw new Error(`gRPC method ${method} has no entry in people/permissions.ts`);
  const requirement = GRPC_PERMISSIONS[method]!;
  const run = async (call: Parameters<Unary>[0]): Promise<Response> => {
    if (requirement !== null) {
      const principal = await access.authenticateAuthorization(firstValue(call.metadata.get('authorization')));
      const request = call.request as { name?: string; model_name?: string };
      authorize(principal, requirement, method, request.model_name || request.name || undefined);
    }
    return answer(call.request as Request);
  };
  return (call, callback) => {
    run(call).then(
      (response) => callback(null, response),
      (error: unknown) => callback(grpcError(error))
    );
  };
}

function firstValue(values: grpc.MetadataValue[]): string | undefined {
  const value = values[0];
  return value === undefined ? undefined : value.toString();
}

function loadService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(PROTO_FILE, {
    // The protocol's field names as written (model_name, raw_input_contents), 64-bit integers
    // as decimal strings (exact), every field present with its default.
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    arrays: true,
    oneofs: true
  });
  const inference = grpc.loadPackageDefinition(definition).inference as grpc.GrpcObject;
  return (inference.GRPCInferenceService as grpc.ServiceClientConstructor).service;
}
