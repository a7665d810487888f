// No plugins: Vite's built-in oxc transform handles TSX with React's
// automatic JSX runtime, and paywatch's `new URL("paywatch_bg.wasm",
// import.meta.url)` is picked up as an asset by `vite build`.
import { defineConfig } from "vite";

export default defineConfig({
  oxc: { jsx: { runtime: "automatic" } },
  build: {
    // run.mjs builds twice: production (dist) and NODE_ENV=development
    // (dist-dev, where StrictMode double-mounts and React checks more).
    outDir: process.env.NODE_ENV === "development" ? "dist-dev" : "dist",
    emptyOutDir: true,
  },
  logLevel: "warn",
});
