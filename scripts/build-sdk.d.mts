/** Builds sdk/dist (see build-sdk.mjs); resolves to the output folder. */
export function buildSdk(): Promise<string>;
