// createHttpServer over real sockets: listen errors, graceful close with in-flight and keep-alive connections.
import { Agent, request } from "node:http";
import { createServer as createNetServer, type Server as NetServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HangarError } from "../../src/errors.js";
import { createHttpServer, type ShellHttpServer } from "../../src/server/http-server.js";
import { until } from "./harness.js";

const servers: ShellHttpServer[] = [];
const agents: Agent[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) server.forceClose();
  for (const agent of agents.splice(0)) agent.destroy();
});

/** A server whose `/slow` requests wait until `release()`; `/fast` answers at once. */
function slowServer(host = "127.0.0.1") {
  let entered = 0;
  const gates: Array<() => void> = [];
  const server = createHttpServer(
    (req, res) => {
      if (req.url === "/slow") {
        entered += 1;
        gates.push(() => res.end("slow done"));
        return;
      }
      res.end("fast");
    },
    { host, port: 0 },
  );
  servers.push(server);
  return {
    server,
    entered: () => entered,
    release: () => {
      for (const open of gates.splice(0)) open();
    },
  };
}

function get(
  url: string,
  agent: Agent | false = false,
): Promise<{ status: number; body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

function tracked<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  const wrapped = promise.finally(() => {
    settled = true;
  });
  return { promise: wrapped, settled: () => settled };
}

describe("listen", () => {
  it("binds port 0 to a real port and reports the URL", async () => {
    const { server } = slowServer();
    expect(server.url()).toBeNull();
    const { url, port } = await server.listen();
    expect(port).toBeGreaterThan(0);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect(server.url()).toBe(url);
    expect(server.port()).toBe(port);
    expect((await get(`${url}/fast`)).body).toBe("fast");
  });

  it("brackets an IPv6 host in the URL", async () => {
    const { server } = slowServer("::1");
    const { url, port } = await server.listen();
    expect(url).toBe(`http://[::1]:${port}`);
    expect((await get(`${url}/fast`)).body).toBe("fast");
  });

  it("rejects with HANGAR_PORT_IN_USE naming the port when another process holds it", async () => {
    const blocker: NetServer = createNetServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const server = createHttpServer((_req, res) => res.end(), { host: "127.0.0.1", port: taken });
      servers.push(server);
      const error = await server.listen().then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(HangarError);
      expect((error as HangarError).code).toBe("HANGAR_PORT_IN_USE");
      expect((error as HangarError).message).toBe(
        `Port ${taken} on 127.0.0.1 is already in use by another process. Stop it, or choose another port ` +
          "with --port / server.port (0 picks a free one).",
      );
      expect(server.url()).toBeNull();
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("rejects with HANGAR_SERVER_LISTEN for a host that is not on this machine", async () => {
    const server = createHttpServer((_req, res) => res.end(), { host: "203.0.113.7", port: 0 });
    servers.push(server);
    await expect(server.listen()).rejects.toMatchObject({
      code: "HANGAR_SERVER_LISTEN",
      message: expect.stringContaining("203.0.113.7:0"),
    });
  });
});

describe("close", () => {
  it("lets an in-flight request finish, and refuses new connections meanwhile", async () => {
    const { server, entered, release } = slowServer();
    const { url } = await server.listen();
    const slow = get(`${url}/slow`);
    await until(() => entered() === 1);

    const closing = tracked(server.close(60_000));
    await expect(get(`${url}/fast`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(closing.settled()).toBe(false);

    release();
    expect(await slow).toMatchObject({ status: 200, body: "slow done" });
    await closing.promise;
    expect(server.url()).toBeNull();
  });

  it("does not wait for idle keep-alive sockets", async () => {
    const { server } = slowServer();
    const agent = new Agent({ keepAlive: true });
    agents.push(agent);
    const { url } = await server.listen();
    expect((await get(`${url}/fast`, agent)).body).toBe("fast");
    expect(Object.keys(agent.freeSockets)).toHaveLength(1);
    // The grace period is longer than the test timeout: only closing idle sockets lets this resolve.
    await server.close(60_000);
  });

  it("closes a keep-alive socket once its in-flight request finishes", async () => {
    const { server, entered, release } = slowServer();
    const agent = new Agent({ keepAlive: true });
    agents.push(agent);
    const { url } = await server.listen();
    const slow = get(`${url}/slow`, agent);
    await until(() => entered() === 1);
    const closing = server.close(60_000);
    release();
    // Told to close, the client does not reuse the socket and the server need not wait for it to idle out.
    expect(await slow).toMatchObject({ body: "slow done", connection: "close" });
    await closing;
  });

  it("drops requests still running when the grace period ends, and still resolves", async () => {
    const { server, entered } = slowServer();
    const { url } = await server.listen();
    const slow = get(`${url}/slow`);
    await until(() => entered() === 1);
    await server.close(10);
    await expect(slow).rejects.toThrow();
  });

  it("is idempotent and resolves for a server that never listened", async () => {
    const { server } = slowServer();
    await server.close(100);
    const listened = slowServer().server;
    await listened.listen();
    const first = listened.close(100);
    expect(listened.close(100)).toBe(first);
    await first;
    await expect(listened.listen()).rejects.toMatchObject({ code: "HANGAR_SHELL_STATE" });
  });

  it("forceClose drops in-flight requests at once", async () => {
    const { server, entered } = slowServer();
    const { url } = await server.listen();
    const slow = get(`${url}/slow`);
    await until(() => entered() === 1);
    server.forceClose();
    await expect(slow).rejects.toThrow();
    await server.close(60_000);
  });
});
