/**
 * An OIP v2 gRPC client for tests: @grpc/grpc-js with stubs from the protocol's proto
 * (kernel-service/proto/grpc_predict_v2.proto, the contract), the token in the
 * `authorization` metadata, each unary call as a promise.
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ROOT, type ServiceProcess } from './service.js';

export const PROTO_FILE = path.join(ROOT, 'kernel-service', 'proto', 'grpc_predict_v2.proto');

const definition = protoLoader.loadSync(PROTO_FILE, { keepCase: true, longs: String, enums: String, defaults: true, arrays: true, oneofs: true });
const Service = (grpc.loadPackageDefinition(definition).inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor;

export type Method = 'ServerLive' | 'ServerReady' | 'ModelReady' | 'ServerMetadata' | 'ModelMetadata' | 'ModelInfer';

/** A failed call: its gRPC status code, details and the nbdeploy error code from the trailers. */
export interface CallError extends Error {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
}

export class GrpcClient {
  readonly client: grpc.Client;

  /** `token`: the service's by default; null sends no authorization metadata. */
  constructor(
    readonly address: string,
    private readonly _token: string | null,
    options: grpc.ClientOptions = {}
  ) {
    this.client = new Service(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, ...options });
  }

  static of(service: ServiceProcess, token: string | null = service.token, options: grpc.ClientOptions = {}): GrpcClient {
    if (!service.grpcAddress) throw new Error('the service was started without --grpc-port');
    return new GrpcClient(service.grpcAddress, token, options);
  }

  call<T = any>(method: Method, request: object, headers: Record<string, string> = {}): Promise<T> {
    const metadata = new grpc.Metadata();
    if (this._token !== null) metadata.set('authorization', `Bearer ${this._token}`);
    for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
    return new Promise((resolve, reject) => {
      (this.client as any)[method](request, metadata, (error: grpc.ServiceError | null, response: T) => (error ? reject(error) : resolve(response)));
    });
  }

  /** The error a call fails with (fails the test when it succeeds). */
  async failure(method: Method, request: object, headers: Record<string, string> = {}): Promise<CallError & { nbdCode: string | undefined }> {
    try {
      const response = await this.call(method, request, headers);
      throw new Error(`${method} succeeded: ${JSON.stringify(response).slice(0, 300)}`);
    } catch (error) {
      const e = error as CallError;
      if (typeof e.code !== 'number') throw error;
      return Object.assign(e, { nbdCode: e.metadata?.get('nbd-error-code')[0]?.toString() });
    }
  }

  close(): void {
    this.client.close();
  }
}
