// PyTorch's UserWarnings raised from TypeScript (deprecated forms, eager stand-ins): each message
// once per process, as Python's default warnings filter shows a warning once per place.
const warned = new Set<string>();

export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.emitWarning(message, 'UserWarning');
}
