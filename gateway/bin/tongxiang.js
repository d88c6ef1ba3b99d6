#!/usr/bin/env node
// `tongxiang` on the PATH (package.json "bin"): runs the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';

// A hub runs as in production unless told otherwise: graphql-js then skips its development-only
// checks (a cross-realm probe on every failed instanceof, several per resolved field). Set
// before the first import of graphql, which reads it once.
process.env.NODE_ENV ??= 'production';
register();
const { main } = await import('../cli/main.ts');
process.exit(await main(process.argv.slice(2)));
