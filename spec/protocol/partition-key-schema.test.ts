// The partition key rules of create_collection's schema, as the README
// states them ("at most one is_partition_key field, Int64 or VarChar, not
// the primary key, not nullable"), each a SCHEMA_INVALID naming the field.
// The expected messages are written out here, not taken from the code.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkSchema } from "../../protocol/collection.js";
import { partitionKeyField } from "../../protocol/schema.js";
import { pk, refused, vec } from "./schema-cases.js";

describe("partition key schema", () => {
  it("partition key schema - an Int64 or VarChar field, in either spelling, is the collection's partition key", () => {
    for (const type of ["Int64", "INT64", "VarChar", "VARCHAR", "varchar"]) {
      const s = checkSchema({ fields: [pk, vec, { name: "tenant", type, max_length: 8, is_partition_key: true }] });
      const key = partitionKeyField(s);
      assert.equal(key?.name, "tenant", type);
      assert.equal(key?.is_partition_key, true, type);
    }
    // A VarChar primary key may sit beside an Int64 partition key.
    const s = checkSchema({ fields: [{ name: "k", type: "VarChar", is_primary: true, max_length: 4 }, vec, { name: "org", type: "Int64", is_partition_key: true }] });
    assert.equal(partitionKeyField(s)?.name, "org");
  });

  it("partition key schema - without is_partition_key: true there is no partition key", () => {
    assert.equal(partitionKeyField(checkSchema({ fields: [pk, vec, { name: "tenant", type: "Int64" }] })), undefined);
    assert.equal(partitionKeyField(checkSchema({ fields: [pk, vec, { name: "tenant", type: "Int64", is_partition_key: false }] })), undefined);
  });

  it("partition key schema - any other type is refused, naming the field and its type", () => {
    const others: [Record<string, unknown>, string][] = [
      [{ type: "Bool" }, "Bool"],
      [{ type: "Int8" }, "Int8"],
      [{ type: "Int16" }, "Int16"],
      [{ type: "Int32" }, "Int32"],
      [{ type: "Float" }, "Float"],
      [{ type: "Double" }, "Double"],
      [{ type: "JSON" }, "JSON"],
      [{ type: "Array", element_type: "Int64", max_capacity: 4 }, "Array"],
      [{ type: "FloatVector", dim: 2 }, "FloatVector"],
    ];
    for (const [field, type] of others) {
      refused([pk, vec, { name: "p", is_partition_key: true, ...field }], `partition key field "p" must be Int64 or VarChar, not ${type}`);
    }
  });

  it("partition key schema - only one partition key, naming every candidate", () => {
    refused(
      [pk, vec, { name: "a", type: "Int64", is_partition_key: true }, { name: "b", type: "VarChar", is_partition_key: true }],
      "at most one partition key field; found a, b",
    );
  });

  it("partition key schema - the primary key cannot be the partition key", () => {
    refused([{ ...pk, is_partition_key: true }, vec], 'the primary field "id" cannot also be the partition key');
  });

  it("partition key schema - a nullable partition key is refused", () => {
    refused([pk, vec, { name: "tenant", type: "VarChar", nullable: true, is_partition_key: true }], 'partition key field "tenant" cannot be nullable');
  });
});
