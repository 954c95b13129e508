// `vecbus search|hybrid-search|query|get`.
import type { Hit } from "../../protocol/api.js";
import { CONSISTENCY_LEVELS, type ConsistencyLevel } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import type { PrimaryKey, Row } from "../../protocol/rows.js";
import { int64Of } from "../../protocol/schema.js";
import { type AnnSearchRequest, type RankerSpec, type SearchParams } from "../../runtime/client.js";
import { Action, ClientCommandSpec, consistency, flag, int, list, need, nonNegativeInt, num, numberList, Options, Output, Parsed, partitionNames, plural, readJsonFile, str, UsageError } from "../command.js";
import { columnsOf, table } from "../table.js";
import { parseJson } from "../../runtime/json.js";

export function readCommands(): ClientCommandSpec[] {
  return [
    {
      name: "search",
      args:
        `NAME --vector '[0.1,...]' | --vectors-file FILE.json [--anns-field FIELD] [--limit 10] [--offset N] [--filter EXPR] [--filter-params JSON]` +
        ` [--output-fields a,b] [--ef N] [--radius X] [--range-filter X] [--group-by FIELD] [--group-size N]${READ_SCOPE_ARGS}`,
      summary: "nearest neighbours of one or more vectors",
      positionals: ["NAME"],
      options: {
        vector: { type: "string" },
        "vectors-file": { type: "string" },
        "anns-field": { type: "string" },
        limit: { type: "string" },
        offset: { type: "string" },
        filter: { type: "string" },
        "filter-params": { type: "string" },
        "output-fields": { type: "string" },
        ef: { type: "string" },
        radius: { type: "string" },
        "range-filter": { type: "string" },
        "group-by": { type: "string" },
        "group-size": { type: "string" },
        ...READ_SCOPE_OPTIONS,
      },
      plan: planSearch,
    },
    {
      name: "hybrid-search",
      args: `NAME --reqs FILE.json [--ranker rrf|weighted] [--k 60] [--weights 0.7,0.3] [--limit 10] [--offset N] [--output-fields a,b]${READ_SCOPE_ARGS}`,
      summary: "fuse several vector searches (a JSON list of {data, anns_field, limit, filter?, param?}) into one ranking",
      positionals: ["NAME"],
      options: {
        reqs: { type: "string" },
        ranker: { type: "string" },
        k: { type: "string" },
        weights: { type: "string" },
        limit: { type: "string" },
        offset: { type: "string" },
        "output-fields": { type: "string" },
        ...READ_SCOPE_OPTIONS,
      },
      plan: planHybridSearch,
    },
    {
      name: "query",
      args: `NAME --filter EXPR | --limit N | --count [--filter-params JSON] [--offset N] [--output-fields a,b]${READ_SCOPE_ARGS}`,
      summary: "rows matching a filter (or the first --limit rows), or --count them",
      positionals: ["NAME"],
      options: {
        filter: { type: "string" },
        "filter-params": { type: "string" },
        limit: { type: "string" },
        offset: { type: "string" },
        count: { type: "boolean" },
        "output-fields": { type: "string" },
        ...READ_SCOPE_OPTIONS,
      },
      plan: planQuery,
    },
    {
      name: "get",
      args: `NAME --ids 1,2,3 [--output-fields a,b]${READ_SCOPE_ARGS}`,
      summary: "rows by primary key (--ids may be a JSON list)",
      positionals: ["NAME"],
      options: { ids: { type: "string" }, "output-fields": { type: "string" }, ...READ_SCOPE_OPTIONS },
      plan: (p) => {
        const args = { collection_name: p.positionals[0], ids: parseIds(need(p, "ids")), output_fields: list(p, "output-fields"), ...readScope(p) };
        return async (client) => rowsOutput(await client.call("get", args));
      },
    },
  ];
}

const READ_SCOPE_ARGS = ` [--partitions a,b] [--consistency ${CONSISTENCY_LEVELS.join("|")}]`;
const READ_SCOPE_OPTIONS: Options = { partitions: { type: "string" }, consistency: { type: "string" } };

/** Which partitions a read looks at and how fresh it must be; absent fields leave the server's defaults. */
function readScope(p: Parsed): { partition_names?: string[]; consistency_level?: ConsistencyLevel } {
  return { partition_names: partitionNames(p), consistency_level: consistency(p) };
}

/** Integers when every id looks like one, else strings; a JSON list says exactly which. */
export function parseIds(s: string): PrimaryKey[] {
  if (s.trim().startsWith("[")) {
    let v: unknown;
    try {
      v = parseJson(s);
    } catch (e) {
      throw new UsageError(`--ids is not a valid JSON list: ${(e as Error).message}`);
    }
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === "number" || typeof x === "bigint" || typeof x === "string")) {
      throw new UsageError("--ids as JSON must be a non-empty list of numbers or strings");
    }
    return v as PrimaryKey[];
  }
  const parts = s.split(",").map((x) => x.trim()).filter((x) => x !== "");
  if (parts.length === 0) throw new UsageError("--ids needs at least one id");
  return parts.every((x) => /^-?\d+$/.test(x)) ? parts.map((x) => int64Of(BigInt(x)) ?? Number(x)) : parts;
}

function planSearch(p: Parsed): Action {
  const group_by_field = str(p, "group-by");
  const group_size = int(p, "group-size");
  if (group_size !== undefined && group_by_field === undefined) throw new UsageError("--group-size needs --group-by FIELD");
  const offset = nonNegativeInt(p, "offset");
  const args = {
    collection_name: p.positionals[0],
    data: searchVectors(p),
    anns_field: str(p, "anns-field"),
    limit: int(p, "limit"),
    offset,
    ...filterArgs(p),
    output_fields: list(p, "output-fields"),
    search_params: searchParams(p),
    group_by_field,
    group_size,
    ...readScope(p),
  };
  return async (client) => hitsOutput(await client.call("search", args), { offset, groupBy: group_by_field });
}

/**
 * --ef, --radius and --range-filter as `search_params.params`. A --range-filter
 * without --radius is sent as given: the server's answer says what is wrong.
 */
function searchParams(p: Parsed): SearchParams | undefined {
  const radius = num(p, "radius");
  const range_filter = num(p, "range-filter");
  const ef = int(p, "ef");
  if (radius === undefined && range_filter === undefined && ef === undefined) return undefined;
  return { params: { ...(radius === undefined ? {} : { radius }), ...(range_filter === undefined ? {} : { range_filter }), ...(ef === undefined ? {} : { ef }) } };
}

/** --filter with its --filter-params (a JSON map filling the filter's `{name}` templates). */
function filterArgs(p: Parsed): { filter?: string; filter_params?: Record<string, unknown> } {
  const filter = str(p, "filter");
  const raw = str(p, "filter-params");
  if (raw === undefined) return { filter };
  if (filter === undefined) throw new UsageError("--filter-params fills the templates of a --filter; give --filter EXPR too");
  return { filter, filter_params: parseJsonMap(raw, "--filter-params", `of template name to value, e.g. '{"low": 10}'`) };
}

export function parseJsonMap(raw: string, flagName: string, what = `, e.g. '{"M": 16}'`): Record<string, unknown> {
  let v: unknown;
  try {
    v = parseJson(raw);
  } catch (e) {
    throw new UsageError(`${flagName} is not valid JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new UsageError(`${flagName} must be a JSON map ${what}`);
  return v as Record<string, unknown>;
}

function planHybridSearch(p: Parsed): Action {
  const ranker = rankerSpec(p);
  const offset = nonNegativeInt(p, "offset");
  const args = {
    collection_name: p.positionals[0],
    reqs: annRequests(need(p, "reqs")),
    ranker,
    limit: int(p, "limit"),
    offset,
    output_fields: list(p, "output-fields"),
    ...readScope(p),
  };
  return async (client) => hitsOutput(await client.call("hybrid_search", args), { offset, score: "score" });
}

/** --ranker rrf (the default, with --k) or weighted (with --weights, which alone also means weighted). */
function rankerSpec(p: Parsed): RankerSpec {
  const given = str(p, "ranker");
  const name = given?.trim().toLowerCase() ?? (p.values.weights !== undefined ? "weighted" : "rrf");
  const k = num(p, "k");
  const weights = numberList(p, "weights");
  if (name === "rrf") {
    if (weights !== undefined) throw new UsageError("--weights goes with --ranker weighted; --ranker rrf takes --k");
    return k === undefined ? { strategy: "rrf" } : { strategy: "rrf", params: { k } };
  }
  if (name === "weighted") {
    if (k !== undefined) throw new UsageError("--k goes with --ranker rrf; --ranker weighted takes --weights");
    if (weights === undefined) throw new UsageError("--ranker weighted needs --weights W1,W2,...: one weight from 0 to 1 per search in --reqs");
    return { strategy: "weighted", params: { weights } };
  }
  throw new UsageError(`--ranker must be rrf or weighted, got "${given}"`);
}

/** --reqs FILE.json: the list of searches to fuse, each as the API takes it; the server checks their fields. */
function annRequests(file: string): AnnSearchRequest[] {
  const v = readJsonFile(file);
  if (!Array.isArray(v) || v.length === 0 || !v.every((r) => r !== null && typeof r === "object" && !Array.isArray(r))) {
    throw new VecbusError("INVALID_ARGUMENT", `${file} must hold a non-empty JSON list of searches, each {"data": [[...]], "anns_field": "...", "limit": 10}`);
  }
  return v as AnnSearchRequest[];
}

function planQuery(p: Parsed): Action {
  const collection_name = p.positionals[0];
  const limit = int(p, "limit");
  const offset = nonNegativeInt(p, "offset");
  const filter = filterArgs(p);
  if (flag(p, "count")) {
    if (limit !== undefined || offset !== undefined || p.values["output-fields"] !== undefined) {
      throw new UsageError("--count counts every matching row: leave out --limit, --offset and --output-fields");
    }
    const args = { collection_name, ...filter, output_fields: [COUNT_FIELD], ...readScope(p) };
    return async (client) => {
      const rows = await client.call("query", args);
      const n = Number(rows[0]?.[COUNT_FIELD] ?? 0);
      return { data: rows, text: `${plural(n, "row")} match${n === 1 ? "es" : ""}` };
    };
  }
  if (filter.filter === undefined && limit === undefined) throw new UsageError("query needs --filter EXPR, or --limit N to read rows without a filter, or --count");
  if (offset !== undefined && limit === undefined) throw new UsageError("--offset needs --limit: give both to page through the rows");
  const args = { collection_name, ...filter, limit, offset, output_fields: list(p, "output-fields"), ...readScope(p) };
  return async (client) => rowsOutput(await client.call("query", args));
}

/** The output field that makes query count rows. */
const COUNT_FIELD = "count(*)";

function searchVectors(p: Parsed): number[][] {
  const inline = str(p, "vector");
  const file = str(p, "vectors-file");
  if ((inline === undefined) === (file === undefined)) throw new UsageError("search needs exactly one of --vector or --vectors-file");
  if (file !== undefined) return asVectors(readJsonFile(file), file);
  let v: unknown;
  try {
    v = JSON.parse(inline!.trim().startsWith("[") ? inline! : `[${inline}]`);
  } catch (e) {
    throw new UsageError(`--vector is not a JSON list of numbers: ${(e as Error).message}`);
  }
  return asVectors(v, "--vector");
}

/** One vector or a list of them. */
function asVectors(v: unknown, where: string): number[][] {
  const isVector = (x: unknown) => Array.isArray(x) && x.length > 0 && x.every((n) => typeof n === "number");
  if (isVector(v)) return [v as number[]];
  if (Array.isArray(v) && v.length > 0 && v.every(isVector)) return v as number[][];
  throw new VecbusError("INVALID_ARGUMENT", `${where} must hold a list of numbers or a list of such lists`);
}

/** How a list of hits is shown: ranks continue after --offset; grouped hits show their group and its value. */
interface HitsView {
  offset?: number;
  /** The header of the distance column; hybrid search's is a fused score. */
  score?: string;
  groupBy?: string;
}

function hitsOutput(results: Hit[][], view: HitsView): Output {
  const text = results.map((hits, q) => (results.length > 1 ? `query ${q + 1}\n${hitsTable(hits, view)}` : hitsTable(hits, view))).join("\n\n");
  return { data: results, text };
}

/** The primary key is always in a hit's entity; it is already the id column. */
function hitsTable(hits: Hit[], view: HitsView = {}): string {
  if (hits.length === 0) return "(no hits)";
  const first = (view.offset ?? 0) + 1;
  const score = view.score ?? "distance";
  const group = view.groupBy;
  const extra = columnsOf(hits.map((h) => h.entity)).filter((k) => k !== group && !hits.every((h) => h.entity[k] === h.id));
  const rest = (h: Hit) => extra.map((k) => h.entity[k]);
  if (group === undefined) {
    return table(["rank", "id", score, ...extra], hits.map((h, i) => [first + i, h.id, h.distance, ...rest(h)]));
  }
  // Groups come best first, each group's hits together; --offset skips whole groups.
  const numbers = new Map<unknown, number>();
  for (const h of hits) if (!numbers.has(h.entity[group])) numbers.set(h.entity[group], first + numbers.size);
  return table(["group", group, "id", score, ...extra], hits.map((h) => [numbers.get(h.entity[group]), h.entity[group], h.id, h.distance, ...rest(h)]));
}

function rowsOutput(rows: Row[]): Output {
  if (rows.length === 0) return { data: rows, text: "(no rows)" };
  const cols = columnsOf(rows);
  return { data: rows, text: table(cols, rows.map((r) => cols.map((c) => r[c]))) };
}
