// The server through the TypeScript SDK v2 client (@modelcontextprotocol/client).
// Usage: node client_v2.mjs legacy|auto  (auto negotiates 2026-07-28 via server/discover).
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { SERVER, exercise, print } from "./exercise.mjs";

const mode = process.argv[2];
if (mode !== "legacy" && mode !== "auto") {
  console.error("usage: node client_v2.mjs legacy|auto");
  process.exit(2);
}
const client = new Client(
  { name: "heartbeat-interop-client-v2", version: "1.0.0" },
  { versionNegotiation: { mode } },
);
print(await exercise(client, new StdioClientTransport(SERVER), () => client.getNegotiatedProtocolVersion()));
