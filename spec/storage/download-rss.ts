// A child process of object-store.test.ts: downloads one object to a file
// and prints its peak resident memory before and after, in MiB.
import fs from "node:fs";
import { connect } from "@nats-io/transport-node";
import { BlobStore } from "../../storage/object-store.js";

const { url, user, pass, bucket, name, file } = JSON.parse(process.env.DOWNLOAD ?? "{}");
const peak = () => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))![1]) / 1024;
const nc = await connect({ servers: url, user, pass });
const store = await BlobStore.open(nc, bucket);
const before = peak();
await store.getToFile(name, file);
console.log(JSON.stringify({ before, after: peak() }));
await nc.close();
