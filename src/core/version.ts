// Replaced at bundle time by esbuild's `define`; the fallback serves tests that run the sources directly.
declare const __BULWARK_VERSION__: string | undefined;
export const TOOL_VERSION: string = typeof __BULWARK_VERSION__ === 'string' ? __BULWARK_VERSION__ : '0.1.0-dev';
