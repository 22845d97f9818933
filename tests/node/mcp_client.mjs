// mcp_client.mjs - a real MCP client (the official TypeScript SDK) against
// our /mcp endpoint over Streamable HTTP, as an agent platform would use it.
//   node mcp_client.mjs URL [API_KEY]
// Prints one JSON object: the tools listed and the results of a plot, an
// error and a timeout. tests/node/test_mcp.py asserts on it.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, key] = process.argv.slice(2);
const headers = key ? { Authorization: `Bearer ${key}` } : {};
const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
const client = new Client({ name: "coderunner-test", version: "1.0.0" });
await client.connect(transport);

const summary = (r) => ({
  isError: r.isError ?? false,
  content: r.content.map((c) => ({ type: c.type, mimeType: c.mimeType, text: c.text, bytes: c.data ? Buffer.from(c.data, "base64").length : undefined, uri: c.resource?.uri, resourceText: c.resource?.text })),
  structured: r.structuredContent,
});

const { tools } = await client.listTools();
const plot = await client.callTool({ name: "run_python", arguments: {
  code: "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [3, 1, 2])\nplt.savefig('output/plot.png')\nopen('output/data.csv', 'w').write('a,b\\n1,2\\n')\nprint('plotted')",
} });
const error = await client.callTool({ name: "run_python", arguments: { code: "raise ValueError('boom')" } });
const timeout = await client.callTool({ name: "run_python", arguments: { code: "import time\ntime.sleep(30)", timeout_s: 1 } });
let badArgs;
try {
  await client.callTool({ name: "run_python", arguments: { code: "print(1)", colour: "red" } });
  badArgs = { error: null };
} catch (e) {
  badArgs = { error: String(e.message), code: e.code };
}
console.log(JSON.stringify({
  serverVersion: client.getServerVersion(),
  protocolVersion: transport.protocolVersion,
  sessionId: transport.sessionId,
  tools: tools.map((t) => ({ name: t.name, required: t.inputSchema.required, hasOutputSchema: !!t.outputSchema })),
  plot: summary(plot), error: summary(error), timeout: summary(timeout), badArgs,
}));
await transport.terminateSession();
await client.close();
