/**
 * An Express 4 app served by bunicorn's Node worker (`-k node`: the export is a Node
 * `(req, res)` handler, which an Express app is):
 *
 *     bunx bunicorn -k node examples/express.ts -w 2
 */
import express from "express";

const app = express();
app.use(express.json());

app.get("/", (_req, res) => {
  res.send("Hello from Express!");
});

app.get("/users/:id", (req, res) => {
  res.json({ id: req.params.id, fields: req.query.fields ?? null, pid: process.pid });
});

app.post("/echo", (req, res) => {
  res.status(201).json({ received: req.body });
});

// A body written over time: each chunk reaches the client as it is written.
app.get("/count", (_req, res) => {
  res.type("text/plain");
  let n = 0;
  const timer = setInterval(() => {
    res.write(`${++n}\n`);
    if (n === 3) {
      clearInterval(timer);
      res.end();
    }
  }, 100);
  res.on("close", () => clearInterval(timer));
});

export default app;
