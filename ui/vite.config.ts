import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// Tauri serves the built files from ui/dist; the dev server is for `npm run dev`.
export default defineConfig({
  plugins: [react()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { outDir: "dist", target: "safari15", chunkSizeWarningLimit: 1500 },
  // CI has two cores shared with the Rust build: screens get time to render.
  test: { environment: "jsdom", globals: true, include: ["src/**/*.test.{ts,tsx}"], testTimeout: 20_000 },
});
