// Drives achilles-agent with the unchanged Toxiproxy Node client (toxiproxy-node-client):
// proxies, toxics, populate, reset, version, and a latency toxic measured on a loopback echo.
// Usage: node toxiproxy_client.js PATH/TO/achilles-agent
// Exit 0 on success, 1 on failure, 77 (skipped) when node_modules is missing.
"use strict";

const path = require("path");
const fs = require("fs");
const net = require("net");
const { spawn } = require("child_process");
const assert = require("assert");

if (!fs.existsSync(path.join(__dirname, "node_modules", "toxiproxy-node-client"))) {
  console.log("WARN: skipped: run `npm ci` in tests/injector/node to install toxiproxy-node-client");
  process.exit(77);
}
const { Toxiproxy } = require("toxiproxy-node-client");

function startAgent(binary) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ["--listen", "127.0.0.1:0", "--insecure-loopback",
                                 "--state-file", "", "--audit-log", ""],
                        { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    const timer = setTimeout(() => reject(new Error("the agent did not start")), 10000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.on("exit", (code) => reject(new Error(`the agent exited with ${code}`)));
  });
}

function startEcho() {
  return new Promise((resolve) => {
    const server = net.createServer((s) => s.pipe(s));
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

function roundTrip(port) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const s = net.connect(port, "127.0.0.1", () => s.write("ping"));
    s.once("data", () => {
      resolve(Number(process.hrtime.bigint() - start) / 1e6);
      s.destroy();
    });
    s.on("error", reject);
    s.setTimeout(10000, () => reject(new Error("round trip timed out")));
  });
}

async function main() {
  const { child, port } = await startAgent(process.argv[2]);
  const echo = await startEcho();
  let failed = false;
  try {
    const toxiproxy = new Toxiproxy(`http://127.0.0.1:${port}`);
    const upstream = `127.0.0.1:${echo.address().port}`;

    const version = await toxiproxy.getVersion();
    assert.deepStrictEqual(JSON.parse(version), { version: "0.1.0" });

    const proxy = await toxiproxy.createProxy({ name: "echo", listen: "127.0.0.1:0", upstream });
    assert.strictEqual(proxy.name, "echo");
    assert.strictEqual(proxy.enabled, true);
    const proxyPort = Number(proxy.listen.split(":").pop());
    assert.ok(proxyPort > 0);
    assert.ok(await roundTrip(proxyPort) < 100);

    const all = await toxiproxy.getAll();
    assert.deepStrictEqual(Object.keys(all), ["echo"]);
    assert.strictEqual((await toxiproxy.get("echo")).upstream, upstream);

    const toxic = await proxy.addToxic({ type: "latency", attributes: { latency: 100, jitter: 0 } });
    assert.strictEqual(toxic.name, "latency_downstream");
    assert.strictEqual(toxic.stream, "downstream");
    assert.strictEqual(toxic.toxicity, 1);
    const delayed = await roundTrip(proxyPort);
    assert.ok(delayed >= 100, `round trip ${delayed} ms under the 100 ms latency`);

    const updated = await toxic.update({ ...toxic.toJson(), attributes: { latency: 10, jitter: 0 } });
    assert.strictEqual(updated.attributes.latency, 10);
    assert.strictEqual((await proxy.getToxic("latency_downstream")).attributes.latency, 10);
    await updated.remove();
    await assert.rejects(proxy.getToxic("latency_downstream"), /404/);

    const disabled = await proxy.update({ ...proxy.toJson(), enabled: false });
    assert.strictEqual(disabled.enabled, false);
    await assert.rejects(roundTrip(proxyPort));

    const populated = await toxiproxy.populate([
      { name: "echo", listen: proxy.listen, upstream, enabled: true },
      { name: "second", listen: "127.0.0.1:0", upstream },
    ]);
    assert.deepStrictEqual(Object.keys(populated).sort(), ["echo", "second"]);
    await toxiproxy.reset();
    assert.strictEqual((await toxiproxy.get("echo")).enabled, true);
    await (await toxiproxy.get("second")).remove();
    await assert.rejects(toxiproxy.get("second"), /404/);
    await assert.rejects(toxiproxy.createProxy({ name: "echo", upstream }), /409/);
    console.log("toxiproxy-node-client: every call worked");
  } catch (e) {
    console.error("FAIL:", e);
    failed = true;
  } finally {
    echo.close();
    child.removeAllListeners("exit");
    const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    const code = await exited;
    if (code !== 0) {
      console.error(`FAIL: the agent exited with ${code} on SIGTERM`);
      failed = true;
    }
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error("FAIL:", e);
  process.exit(1);
});
