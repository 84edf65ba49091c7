/** SVG files imported by the extension's sources: @jupyter/builder's webpack loads them as text. */
declare module '*.svg' {
  const svg: string;
  export default svg;
}
