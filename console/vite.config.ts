/**
 * Builds the console into console/dist, served by the hub at /console/. Every asset is bundled:
 * the extranet has no internet, so nothing may load from another host (no CDN, no web fonts).
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 4096,
    sourcemap: false,
  },
  server: {
    // `npx vite console` during development: the hub on :4000 answers the API.
    proxy: { '/graphql': 'http://127.0.0.1:4000', '/console/config.json': 'http://127.0.0.1:4000', '/console/demo-token': 'http://127.0.0.1:4000', '/audit': 'http://127.0.0.1:4000' },
  },
});
