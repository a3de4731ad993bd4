// Slow and idle clients against a server: `slow` connections sending a request one byte a second
// and `idle` keep-alive connections that sent one request and then nothing. Returns a function
// that closes them all; its `cut()` counts the slow connections the server answered with 408 and
// closed (the header deadline).
import net from "node:net";

export async function holdConnections(port, { slow = 8, idle = 64, auth = "Bearer secret", path = "/v1/chat/completions" } = {}) {
  const socks = [], timers = [];
  let cut = 0;
  for (let i = 0; i < slow; i++) {
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    s.on("data", (d) => (got += d));
    s.on("end", () => { if (got.startsWith("HTTP/1.1 408")) cut++; });
    const line = `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\n`;
    let k = 0;
    timers.push(setInterval(() => { if (k < line.length) s.write(line[k++]); }, 1000));
    s.on("error", () => {});
    socks.push(s);
  }
  for (let i = 0; i < idle; i++) {
    const s = net.connect(port, "127.0.0.1");
    s.on("error", () => {});
    s.write("GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
    socks.push(s);
  }
  await new Promise((r) => setTimeout(r, 1500));  // every connection is open and holding a worker
  const release = () => {
    for (const t of timers) clearInterval(t);
    for (const s of socks) s.destroy();
  };
  release.cut = () => cut;
  return release;
}
