export function packageVsix(dir: string): { vsix: string; extension: string };
