/**
 * Server reflection for the manager's services and the health service, so that `grpcurl list` and
 * `grpcurl describe` work without the .proto files. The contract's descriptors come from
 * `src/gen/contract.binpb` (written by `npm run gen` with the generated code); the health service's
 * from the package that implements it.
 */
import { readFileSync } from 'node:fs';
import type { Server } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { service as healthService } from 'grpc-health-check';

const CONTRACT = new URL('../gen/contract.binpb', import.meta.url);

/** The encoded FileDescriptorProtos of a FileDescriptorSet (field 1, repeated). */
export function fileDescriptorProtos(set: Uint8Array): Buffer[] {
  const reader = new BinaryReader(set);
  const files: Buffer[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) files.push(Buffer.from(reader.bytes()));
    else reader.skip(wireType);
  }
  return files;
}

export function addReflection(server: Server): void {
  const contract = { fileDescriptorProtos: fileDescriptorProtos(readFileSync(CONTRACT)) };
  // The health service's request type is proto-loader's message definition at run time (grpc-js's
  // types do not say so). The reflection service reads only each definition's `fileDescriptorProtos`,
  // which both entries have, so a package definition of the two is all it needs.
  const health = healthService.Check.requestType;
  new ReflectionService({ contract, health } as unknown as PackageDefinition).addToServer(server);
}
