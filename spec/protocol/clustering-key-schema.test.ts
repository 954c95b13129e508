// The clustering key rules of create_collection's schema, as the README
// states them ("at most one is_clustering_key field, of a number or VarChar
// type"), each a SCHEMA_INVALID naming the field; and the key comes first
// among the fields a query node keeps scalar indexes of (it lays out the
// vector codes). The expected messages are written out here, not taken
// from the code.
import assert from "node:assert/strict";
import { it } from "node:test";
import { checkSchema } from "../../protocol/collection.js";
import { scalarIndexed } from "../../protocol/indexes.js";
import { clusteringKeyField } from "../../protocol/schema.js";
import { pk, refused, vec } from "./schema-cases.js";

it("clustering key schema - a number or VarChar field is the collection's clustering key; without the flag there is none", () => {
  for (const type of ["Int8", "Int16", "Int32", "Int64", "Float", "Double", "VarChar", "INT32", "varchar"]) {
    const s = checkSchema({ fields: [pk, vec, { name: "shop", type, max_length: 8, is_clustering_key: true }] });
    assert.equal(clusteringKeyField(s)?.name, "shop", type);
  }
  assert.equal(clusteringKeyField(checkSchema({ fields: [pk, vec, { name: "shop", type: "Int32" }] })), undefined);
  assert.equal(clusteringKeyField(checkSchema({ fields: [pk, vec, { name: "shop", type: "Int32", is_clustering_key: false }] })), undefined);
});

it("clustering key schema - two keys, a key of another type, or a flag that is not a boolean, are refused", () => {
  refused([pk, vec, { name: "c", type: "Int32", is_clustering_key: "true" }], 'field "c": is_clustering_key must be true or false; got "true"');
  refused([pk, vec, { name: "p", type: "Int64", is_partition_key: 1 }], 'field "p": is_partition_key must be true or false; got 1');
  refused([pk, vec, { name: "a", type: "Int32", is_clustering_key: true }, { name: "b", type: "Int64", is_clustering_key: true }], "at most one clustering key field; found a, b");
  for (const [field, type] of [
    [{ type: "Bool" }, "Bool"],
    [{ type: "JSON" }, "JSON"],
    [{ type: "Array", element_type: "Int64", max_capacity: 4 }, "Array"],
    [{ type: "FloatVector", dim: 2 }, "FloatVector"],
  ] as const) {
    refused([pk, vec, { name: "c", is_clustering_key: true, ...field }], `clustering key field "c" must be one of Int8, Int16, Int32, Int64, Float, Double, VarChar, not ${type}`);
  }
});

it("clustering key schema - the key is the first field a query node indexes, before those with a scalar index declared", () => {
  const schema = checkSchema({ fields: [pk, vec, { name: "a", type: "Int32" }, { name: "shop", type: "Int32", is_clustering_key: true }] });
  const indexes = { a: { field_name: "a", index_type: "STL_SORT" as const, index_name: "a", params: {} } };
  assert.deepEqual([...scalarIndexed({ schema, indexes })], ["shop", "a"]);
  assert.deepEqual([...scalarIndexed({ schema: checkSchema({ fields: [pk, vec, { name: "a", type: "Int32" }] }), indexes })], ["a"]);
});
