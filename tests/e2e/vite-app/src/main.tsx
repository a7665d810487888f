import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { activeWatches } from "paywatch";
import { App } from "./App";

declare global {
  interface Window {
    /** For the test: how many watches run on this page. */
    activeWatches: () => number;
  }
}
window.activeWatches = activeWatches;

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
