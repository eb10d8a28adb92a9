// Drives the server through one MCP client library and prints, as one JSON object, what it saw.
// The call to make comes from the tests, as JSON in SAMPLE_CALL: {"name": ..., "arguments": {...}}.
import { fileURLToPath } from "node:url";

export const PROJECT_DIR = fileURLToPath(new URL("../..", import.meta.url));

/** How a host launches the server: `uv run --no-dev --frozen <its file>` in the project directory. */
export const SERVER = {
  command: process.env.UV ?? "uv",
  args: ["run", "--quiet", "--no-dev", "--frozen", process.env.SERVER_FILE],
  cwd: PROJECT_DIR,
  stderr: "pipe",
};

async function outcome(call) {
  try {
    return { result: await call() };
  } catch (error) {
    return { thrown: { name: error.name, code: error.code, message: error.message } };
  }
}

const SAMPLE = JSON.parse(process.env.SAMPLE_CALL ?? "null");

export async function exercise(client, transport, negotiatedVersion) {
  let serverStderr = "";
  const connected = await outcome(() => client.connect(transport));
  transport.stderr?.on("data", (chunk) => (serverStderr += chunk));
  if (connected.thrown) return { connected };
  const report = {
    protocolVersion: negotiatedVersion(),
    serverInfo: client.getServerVersion(),
    tools: (await client.listTools()).tools,
    ok: await outcome(() => client.callTool(SAMPLE)),
    badArguments: await outcome(() =>
      client.callTool({ name: SAMPLE.name, arguments: { ...SAMPLE.arguments, no_such_argument: 1 } }),
    ),
    unknownTool: await outcome(() => client.callTool({ name: "no_such_tool", arguments: {} })),
  };
  report.closed = await outcome(() => client.close());
  report.serverStderr = serverStderr;
  return report;
}

export function print(report) {
  process.stdout.write(JSON.stringify(report) + "\n");
}
