// @sctg/sentencepiece-js imports Node's `fs` for its file loader, which the page
// never calls (it loads models from bytes); the bundle gets this empty module instead.
export default {};
