// A hub's leaf node port behind a loopback TCP proxy that plays the WAN link
// to an edge site. The hub advertises the proxy as its leaf address: told its
// own, a site's leaf node reconnects around the link after a cut.
import type { LeafnodeListener } from "../cli/nats-auth.js";
import { freePort } from "../cli/nats-server.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

export interface LeafLink {
  link: TcpProxy;
  /** startEnv's `leafnodes` option for the hub. */
  leafnodes: LeafnodeListener;
  /** The hub's leaf URL (TestEnv.nats.leafUrl, with the leaf user's credentials) by way of the link. */
  siteUrl(hubLeafUrl: string): string;
}

export async function startLeafLink(): Promise<LeafLink> {
  const port = await freePort();
  const link = await startTcpProxy(port);
  return {
    link,
    leafnodes: { port, advertise: `127.0.0.1:${link.port}` },
    siteUrl: (hubLeafUrl) => {
      const u = new URL(hubLeafUrl.replace("nats-leaf:", "http:"));
      return `nats-leaf://${u.username}:${u.password}@127.0.0.1:${link.port}`;
    },
  };
}
