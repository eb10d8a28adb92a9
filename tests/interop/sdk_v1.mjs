// The server through the TypeScript SDK v1 (@modelcontextprotocol/sdk), which also checks
// structuredContent against the tool's outputSchema.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { SERVER, exercise, print } from "./exercise.mjs";

const transport = new StdioClientTransport(SERVER);
let negotiated;
const setProtocolVersion = transport.setProtocolVersion?.bind(transport);
// v1 tells only its transport which version the handshake agreed on.
transport.setProtocolVersion = (version) => {
  negotiated = version;
  setProtocolVersion?.(version);
};
const client = new Client({ name: "heartbeat-interop-sdk-v1", version: "1.0.0" });
print(await exercise(client, transport, () => negotiated));
