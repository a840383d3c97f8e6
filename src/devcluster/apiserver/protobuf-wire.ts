/**
 * The protobuf wire format, only as far as Kubernetes bodies need it: a reader that walks the
 * fields of one message. It knows nothing of schemas; `protobuf.ts` gives the fields their meaning.
 * Every malformation is a `WireError` carrying the byte offset, so a 400 can say where the body broke.
 */

export const WireType = { varint: 0, fixed64: 1, bytes: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

export class WireError extends Error {}

export interface WireField {
  number: number;
  wireType: number;
  /** Set for varint, fixed64 and fixed32 fields: the raw unsigned value. */
  int?: bigint;
  /** Set for length-delimited fields: the payload (a string, bytes, a message or a packed list). */
  bytes?: Buffer;
}

/** Reads a base-128 varint at `pos`; returns the value and the offset after it. */
export function readVarint(buf: Buffer, pos: number): { value: bigint; next: number } {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= buf.length) throw new WireError(`truncated varint at byte ${pos}`);
    const b = buf[pos + i];
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) return { value, next: pos + i + 1 };
  }
  throw new WireError(`varint longer than 10 bytes at byte ${pos}`);
}

/** Splits one message into its fields, in wire order. `base` is the message's offset in the whole body, for error messages. */
export function readFields(buf: Buffer, base = 0): WireField[] {
  const fields: WireField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const at = base + pos;
    const tag = readVarint(buf, pos);
    pos = tag.next;
    const number = Number(tag.value >> 3n);
    const wireType = Number(tag.value & 7n);
    if (number === 0) throw new WireError(`field number 0 at byte ${at}`);
    switch (wireType) {
      case WireType.varint: {
        const v = readVarint(buf, pos);
        fields.push({ number, wireType, int: v.value });
        pos = v.next;
        break;
      }
      case WireType.fixed64:
        if (pos + 8 > buf.length) throw new WireError(`truncated fixed64 field ${number} at byte ${at}`);
        fields.push({ number, wireType, int: buf.readBigUInt64LE(pos) });
        pos += 8;
        break;
      case WireType.fixed32:
        if (pos + 4 > buf.length) throw new WireError(`truncated fixed32 field ${number} at byte ${at}`);
        fields.push({ number, wireType, int: BigInt(buf.readUInt32LE(pos)) });
        pos += 4;
        break;
      case WireType.bytes: {
        const len = readVarint(buf, pos);
        pos = len.next;
        const end = pos + Number(len.value);
        if (len.value > BigInt(buf.length) || end > buf.length) {
          throw new WireError(`field ${number} at byte ${at} claims ${len.value} bytes but only ${buf.length - pos} remain`);
        }
        fields.push({ number, wireType, bytes: buf.subarray(pos, end) });
        pos = end;
        break;
      }
      default:
        // Groups (3, 4) are proto1 leftovers that Kubernetes never emits; 6 and 7 do not exist.
        throw new WireError(`unsupported wire type ${wireType} for field ${number} at byte ${at}`);
    }
  }
  return fields;
}

/** Reads a packed run of varints (proto3-style repeated scalars). */
export function readPackedVarints(buf: Buffer): bigint[] {
  const out: bigint[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const v = readVarint(buf, pos);
    out.push(v.value);
    pos = v.next;
  }
  return out;
}

/** A signed 64-bit value as a JS number: negative int32/int64 travel as 10-byte two's complement varints. */
export function toSignedNumber(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}
