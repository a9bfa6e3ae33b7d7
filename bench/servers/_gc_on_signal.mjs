// Preloaded into peer servers by bench/idle_connections.ts: collect garbage on SIGUSR2.
import process from "node:process";

if (typeof globalThis.gc === "function") process.on("SIGUSR2", () => globalThis.gc());
