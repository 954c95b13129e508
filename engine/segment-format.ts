// The blob of one sealed segment. Columnar, so that a reader in any language
// can take the vectors without touching the rows, and written once: a segment
// never changes after sealing (its deletes live in separate delete logs).
//
//   0   "VBSG"                      magic
//   4   u16 LE version, u16 0
//   8   u32 LE manifest length
//   12  manifest (plain msgpack map, SegmentManifest)
//       zero padding to a multiple of 8: the data section starts here
//       columns, each at data start + its `offset`, each offset a multiple of 8
//
// Column kinds: `int64` / `uint64` little-endian 8-byte integers (Int64
// primary keys, the `$ts` write timestamps), `float32` little-endian float32,
// row-major, `dim` per row (vector fields), `msgpack` one msgpack array with a
// value (or nil) per row (VarChar keys, scalar, JSON and Array fields, `$meta`,
// `$partition`). Pure but for readSegmentFile, which reads a local file.
import fs from "node:fs";
import { aligned, float32View } from "../protocol/binary.js";
import { VecbusError } from "../protocol/errors.js";
import { PARTITION_FIELD } from "../protocol/partitions.js";
import type { PrimaryKey } from "../protocol/rows.js";
import { int64Of } from "../protocol/schema.js";
import { decode, encode } from "../runtime/codec.js";
import { comparePk } from "./reduce.js";
import { VectorColumn } from "./vector-column.js";

const MAGIC = 0x47534256; // "VBSG" read as a little-endian u32
const VERSION = 1;
const HEADER_BYTES = 12;
const ALIGN = 8;
/** The column of write timestamps; `$` keeps it apart from schema field names. */
export const TS_COLUMN = "$ts";

export type ColumnKind = "int64" | "uint64" | "float32" | "msgpack";

export interface ColumnEntry {
  name: string;
  kind: ColumnKind;
  /** From the start of the data section. */
  offset: number;
  length: number;
  dim?: number;
}

/** Who a segment belongs to and which WAL records it holds the rows of. */
export interface SegmentHead {
  segment_id: number;
  collection_id: number;
  shard: number;
  seq_from: number;
  seq_to: number;
}

export interface SegmentManifest extends SegmentHead {
  row_count: number;
  ts_min: bigint;
  ts_max: bigint;
  pk: { field: string; type: "Int64" | "VarChar"; min: PrimaryKey | null; max: PrimaryKey | null };
  columns: ColumnEntry[];
}

/** A segment's rows as columns, all of the same length. */
export interface SegmentColumns {
  pk: { field: string; type: "Int64" | "VarChar"; values: PrimaryKey[] };
  timestamps: BigUint64Array;
  /** Scalar, JSON and Array fields, `$meta` and `$partition`: one value (or null) per row. */
  scalars: Map<string, unknown[]>;
  vectors: Map<string, VectorColumn>;
}

/**
 * A segment's blob as its parts in order (header and manifest, then each
 * column and the padding after it), so a writer can stream them without
 * first copying every column into one buffer: a 100k × 128-d segment's
 * vectors are 51 MB.
 */
export function encodeSegmentParts(head: SegmentHead, cols: SegmentColumns): { parts: Uint8Array[]; byteLength: number; manifest: SegmentManifest } {
  const columnBytes: { name: string; kind: ColumnKind; parts: Uint8Array[]; length: number; dim?: number }[] = [
    { name: cols.pk.field, kind: cols.pk.type === "Int64" ? "int64" : "msgpack", ...whole(pkBytes(cols.pk)) },
    { name: TS_COLUMN, kind: "uint64", ...whole(bytesOf(cols.timestamps)) },
  ];
  for (const [name, values] of cols.scalars) columnBytes.push({ name, kind: "msgpack", ...whole(encode(values)) });
  for (const [name, v] of cols.vectors) columnBytes.push({ name, kind: "float32", parts: v.byteParts(), length: v.byteLength, dim: v.dim });
  const columns: ColumnEntry[] = [];
  let offset = 0;
  for (const p of columnBytes) {
    columns.push({ name: p.name, kind: p.kind, offset, length: p.length, ...(p.dim === undefined ? {} : { dim: p.dim }) });
    offset = alignUp(offset + p.length);
  }
  const manifest: SegmentManifest = { ...head, ...summary(cols), columns };
  const packed = encode(manifest);
  const dataStart = alignUp(HEADER_BYTES + packed.byteLength);
  const header = new Uint8Array(dataStart);
  const view = new DataView(header.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint16(4, VERSION, true);
  view.setUint32(8, packed.byteLength, true);
  header.set(packed, HEADER_BYTES);
  const parts: Uint8Array[] = [header];
  columnBytes.forEach((p, i) => {
    parts.push(...p.parts);
    const pad = alignUp(columns[i].offset + p.length) - (columns[i].offset + p.length);
    if (pad > 0) parts.push(new Uint8Array(pad));
  });
  return { parts, byteLength: dataStart + offset, manifest };
}

/** The blob as one buffer. */
export function encodeSegment(head: SegmentHead, cols: SegmentColumns): { bytes: Uint8Array; manifest: SegmentManifest } {
  const { parts, byteLength, manifest } = encodeSegmentParts(head, cols);
  const bytes = new Uint8Array(byteLength);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.byteLength;
  }
  return { bytes, manifest };
}

/**
 * Reads a blob from any byte offset. Vectors are views of `bytes` when they
 * sit 4-aligned in memory, else copied once; the other columns are decoded.
 */
export function decodeSegment(bytes: Uint8Array): { manifest: SegmentManifest; columns: SegmentColumns } {
  const { manifest, dataStart } = readHead(bytes.byteLength, (at, len) => bytes.subarray(at, at + len));
  const columns = emptyColumns(manifest);
  for (const c of manifest.columns) {
    const start = dataStart + c.offset;
    if (start + c.length > bytes.byteLength) throw corrupt(`column "${c.name}" runs past the end`);
    const raw = bytes.subarray(start, start + c.length);
    if (c.kind === "float32") {
      const dim = checkVectorColumn(manifest, c);
      columns.vectors.set(c.name, VectorColumn.of(dim, float32View(raw, manifest.row_count * dim)));
    } else readColumn(manifest, c, raw, columns);
  }
  return { manifest, columns };
}

/** What a shard owner keeps of a segment a query node serves: its keys and partition labels. */
export interface SegmentKeyColumns {
  manifest: SegmentManifest;
  pks: PrimaryKey[];
  partitions: unknown[];
}

/**
 * How many bytes from the start of a blob hold its primary keys and
 * partition labels (columns written before the vectors); undefined while
 * `head` is too short to hold the manifest.
 */
export function keyColumnsEnd(head: Uint8Array): number | undefined {
  if (head.byteLength < HEADER_BYTES || head.byteLength < HEADER_BYTES + new DataView(head.buffer, head.byteOffset).getUint32(8, true)) return undefined;
  const { manifest, dataStart } = readHead(head.byteLength, (at, len) => head.subarray(at, at + len));
  return manifest.columns.filter((c) => isKeyColumn(manifest, c)).reduce((end, c) => Math.max(end, dataStart + c.offset + c.length), dataStart);
}

/** The keys and partition labels from a blob's first keyColumnsEnd bytes (or more). */
export function decodeKeyColumns(prefix: Uint8Array): SegmentKeyColumns {
  const { manifest, dataStart } = readHead(prefix.byteLength, (at, len) => prefix.subarray(at, at + len));
  const columns = emptyColumns(manifest);
  for (const c of manifest.columns) {
    if (!isKeyColumn(manifest, c)) continue;
    const start = dataStart + c.offset;
    if (start + c.length > prefix.byteLength) throw corrupt(`column "${c.name}" runs past the bytes read`);
    readColumn(manifest, c, prefix.subarray(start, start + c.length), columns);
  }
  const partitions = columns.scalars.get(PARTITION_FIELD);
  if (columns.pk.values.length !== manifest.row_count || partitions?.length !== manifest.row_count) throw corrupt("its keys or partition labels do not match its row count");
  return { manifest, pks: columns.pk.values, partitions };
}

function isKeyColumn(manifest: SegmentManifest, c: ColumnEntry): boolean {
  return c.name === manifest.pk.field || c.name === PARTITION_FIELD;
}

export function headOf(m: SegmentHead): SegmentHead {
  const { segment_id, collection_id, shard, seq_from, seq_to } = m;
  return { segment_id, collection_id, shard, seq_from, seq_to };
}

/** Where a vector column sits in a segment file: its rows are read from there one at a time. */
export interface VectorsOnDisk {
  dim: number;
  /** From the start of the file. */
  offset: number;
}

/**
 * A segment from a local file, without its vector columns: those stay on
 * disk (a query node reads only the rows it scores), so memory holds the
 * keys and scalars alone.
 */
export function readSegmentFile(fd: number): { manifest: SegmentManifest; columns: SegmentColumns; onDisk: Map<string, VectorsOnDisk> } {
  const { manifest, dataStart, onDisk, read } = segmentFileLayout(fd);
  const columns = emptyColumns(manifest);
  for (const c of manifest.columns) if (c.kind !== "float32") readColumn(manifest, c, read(dataStart + c.offset, c.length), columns);
  return { manifest, columns, onDisk };
}

/** A segment file's manifest and where its vector columns sit, from its head alone (an index build reads one column's rows, and nothing else). */
export function segmentFileLayout(fd: number): { manifest: SegmentManifest; dataStart: number; onDisk: Map<string, VectorsOnDisk>; read: (at: number, len: number) => Uint8Array } {
  const size = fs.fstatSync(fd).size;
  const read = (at: number, len: number) => {
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, at);
    return buf;
  };
  const { manifest, dataStart } = readHead(size, read);
  const onDisk = new Map<string, VectorsOnDisk>();
  for (const c of manifest.columns) {
    const start = dataStart + c.offset;
    if (start + c.length > size) throw corrupt(`column "${c.name}" runs past the end`);
    if (c.kind === "float32") onDisk.set(c.name, { dim: checkVectorColumn(manifest, c), offset: start });
  }
  return { manifest, dataStart, onDisk, read };
}

/** A vector column's dim, once its length is found to hold exactly the segment's rows (readers take row_count × dim floats from its start). */
function checkVectorColumn(manifest: SegmentManifest, c: ColumnEntry): number {
  const dim = c.dim ?? 0;
  if (!Number.isInteger(dim) || dim < 1) throw corrupt(`vector column "${c.name}" has no dim of 1 or more`);
  if (c.length !== manifest.row_count * dim * 4) throw corrupt(`vector column "${c.name}" holds ${c.length} bytes, not ${manifest.row_count} rows of ${dim} float32`);
  return dim;
}

function readHead(size: number, read: (at: number, len: number) => Uint8Array): { manifest: SegmentManifest; dataStart: number } {
  if (size < HEADER_BYTES) throw corrupt("it does not start with the segment magic");
  const head = read(0, HEADER_BYTES);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw corrupt("it does not start with the segment magic");
  const version = view.getUint16(4, true);
  if (version !== VERSION) throw corrupt(`its format version ${version} is not ${VERSION}`);
  const manifestEnd = HEADER_BYTES + view.getUint32(8, true);
  if (manifestEnd > size) throw corrupt("its manifest runs past the end");
  const manifest = decode(read(HEADER_BYTES, manifestEnd - HEADER_BYTES)) as SegmentManifest;
  manifest.ts_min = BigInt(manifest.ts_min);
  manifest.ts_max = BigInt(manifest.ts_max);
  return { manifest, dataStart: alignUp(manifestEnd) };
}

function emptyColumns(manifest: SegmentManifest): SegmentColumns {
  return { pk: { field: manifest.pk.field, type: manifest.pk.type, values: [] }, timestamps: new BigUint64Array(0), scalars: new Map(), vectors: new Map() };
}

/** Every column but the vectors. */
function readColumn(manifest: SegmentManifest, c: ColumnEntry, raw: Uint8Array, columns: SegmentColumns): void {
  const n = manifest.row_count;
  if (c.name === manifest.pk.field) columns.pk.values = c.kind === "int64" ? readInt64s(raw, n) : (decode(raw) as PrimaryKey[]);
  else if (c.name === TS_COLUMN) {
    const a = aligned(raw, 8);
    columns.timestamps = new BigUint64Array(a.buffer, a.byteOffset, n);
  } else columns.scalars.set(c.name, decode(raw) as unknown[]);
}

function summary(cols: SegmentColumns): Pick<SegmentManifest, "row_count" | "ts_min" | "ts_max" | "pk"> {
  const pks = cols.pk.values;
  let min: PrimaryKey | null = null;
  let max: PrimaryKey | null = null;
  for (const k of pks) {
    if (min === null || comparePk(k, min) < 0) min = k;
    if (max === null || comparePk(k, max) > 0) max = k;
  }
  let tsMin = pks.length > 0 ? cols.timestamps[0] : 0n;
  let tsMax = tsMin;
  for (const t of cols.timestamps) {
    if (t < tsMin) tsMin = t;
    if (t > tsMax) tsMax = t;
  }
  return { row_count: pks.length, ts_min: tsMin, ts_max: tsMax, pk: { field: cols.pk.field, type: cols.pk.type, min, max } };
}

function pkBytes(pk: SegmentColumns["pk"]): Uint8Array {
  if (pk.type === "VarChar") return encode(pk.values);
  const out = new Uint8Array(pk.values.length * 8);
  const view = new DataView(out.buffer);
  pk.values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return out;
}

function readInt64s(raw: Uint8Array, n: number): PrimaryKey[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Array.from({ length: n }, (_, i) => int64Of(view.getBigInt64(i * 8, true))!);
}

// Typed arrays are in platform byte order: little-endian on every platform Node runs vecbus on (x64, arm64).
function bytesOf(a: Float32Array | BigUint64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function whole(bytes: Uint8Array): { parts: Uint8Array[]; length: number } {
  return { parts: [bytes], length: bytes.byteLength };
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

function corrupt(why: string): VecbusError {
  return new VecbusError("INTERNAL", `a segment blob is unreadable: ${why}`);
}
