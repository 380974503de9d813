// What each command does, in a line: `tstorch --help` lists them without loading the commands
// (which load libtorch), and each command's own --help says the same.
export const SUMMARIES = {
  info: 'libtorch version and source, CUDA, threads, the addon in use',
  eval: 'loss and perplexity of a model (optionally with a LoRA adapter) on a data file; a classifier\'s loss and accuracy',
  generate: 'generate text from a prompt',
  chat: 'chat with a model in the terminal, through its chat template (HF\'s transformers chat)',
  serve: 'serve the model over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions; streaming; requests served together)',
  classify: 'label texts with a classifier (a classifier folder, or a base with a SEQ_CLS adapter), or tag their words with a token classifier (TOKEN_CLS)',
  train: 'fine-tune GPT-2 with LoRA (default) or fully; writes the adapter (or model) to --out',
  data: 'what a data file becomes as training data: its items, tokens and learned tokens, and the first items with the learned tokens marked',
  merge: 'merge a LoRA adapter into its base model (a plain Hugging Face GPT-2 folder; a SEQ_CLS or TOKEN_CLS adapter gives a classifier\'s)',
  run: 'run a script on N data-parallel worker processes, as torchrun: tstorch run --nproc-per-node 2 script.js [args]',
  demo: 'LoRA vs full fine-tuning of GPT-2 on news articles, offline; report in runs/demo/',
  cache: 'list the token cache (large texts\' ids, read back by later runs) or --clear it',
};
